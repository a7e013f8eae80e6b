/**
 * Every request the committed spec allows is served: requests drawn from each GET operation's own
 * parameter schemas (any subset of the optional parameters, values across their whole ranges,
 * bounds included) must get a 2xx, or a 404 for a worker never seen, and an answer the spec
 * declares. This is what a contract tool's positive phase checks (Schemathesis's
 * positive_data_acceptance): a combination the schemas allow but the server refuses is a failure.
 */
import t from 'tap';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { OPENAPI_PATH } from '../src/openapi-document.ts';
import { request, startTestApp } from './helpers/app.ts';
import { startTestDatabase } from './helpers/database.ts';
import { MAILER, nastyRows, SHOWTIME, UNICODE_WORKER } from './helpers/nasty-rows.ts';
import { insertRows } from './helpers/rows.ts';

interface Schema {
  type?: string;
  enum?: unknown[];
  anyOf?: Schema[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
}
interface Parameter {
  name: string;
  in: 'query' | 'path';
  required?: boolean;
  schema: Schema;
}
const spec = JSON.parse(readFileSync(OPENAPI_PATH, 'utf8')) as {
  paths: Record<string, Record<string, { parameters?: Parameter[] }>>;
};

const db = await startTestDatabase(t);
await insertRows(db.pool, nastyRows());
const app = await startTestApp(t, db);

const NO_NUL = '^[^\\u0000]*$';

/** Values a parameter's schema allows, bounds and edges weighted in. */
function arbitrary(schema: Schema): fc.Arbitrary<string> {
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map(arbitrary));
  if (schema.enum) return fc.constantFrom(...schema.enum.map(String));
  if (schema.type === 'integer') {
    const min = schema.minimum ?? -1_000_000;
    const max = schema.maximum ?? 1_000_000;
    return fc.oneof(fc.constantFrom(min, max), fc.integer({ min, max })).map(String);
  }
  if (schema.type === 'string') {
    if (schema.pattern && schema.pattern !== NO_NUL) return fc.stringMatching(new RegExp(schema.pattern));
    const text = fc.string({ unit: 'grapheme', minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 40, 40) });
    return text.filter((s) => !s.includes('\u0000') && s.length >= (schema.minLength ?? 0) && [...s].length <= (schema.maxLength ?? Infinity));
  }
  throw new Error(`no generator for ${JSON.stringify(schema)}`);
}

const workerName = fc.oneof(fc.constantFrom(SHOWTIME, MAILER, UNICODE_WORKER), arbitrary({ type: 'string', minLength: 1, maxLength: 255, pattern: NO_NUL }));

for (const [template, item] of Object.entries(spec.paths)) {
  const operation = item.get;
  if (!operation) continue;
  const parameters = operation.parameters ?? [];
  const query = parameters.filter((p) => p.in === 'query');
  const pathParams = parameters.filter((p) => p.in === 'path');

  t.test(`GET ${template}: every allowed request is served`, async (t) => {
    const queryArb = fc.record(
      Object.fromEntries(query.map((p) => [p.name, arbitrary(p.schema)])),
      { requiredKeys: query.filter((p) => p.required).map((p) => p.name) },
    );
    const pathArb = fc.record(Object.fromEntries(pathParams.map((p) => [p.name, workerName])));
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(pathArb, queryArb, async (path, search) => {
        let url = template;
        for (const [name, value] of Object.entries(path)) url = url.replace(`{${name}}`, encodeURIComponent(value));
        const params = new URLSearchParams(search as Record<string, string>).toString();
        const response = await request(t, app, { method: 'GET', url: params ? `${url}?${params}` : url });
        statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
        const allowed = response.statusCode < 300 || (response.statusCode === 404 && pathParams.length > 0);
        if (!allowed) throw new Error(`${url}?${params} → ${response.statusCode}: ${response.body.slice(0, 300)}`);
      }),
      { numRuns: 60, seed: Number(process.env.FUZZ_SEED ?? 20261203) },
    );
    t.comment(`statuses: ${JSON.stringify(Object.fromEntries(statuses))}`);
  });
}
