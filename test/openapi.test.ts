import t from 'tap';
import { readFile } from 'node:fs/promises';
import { buildApp } from '../src/app.ts';
import { OPENAPI_PATH, openapiDocument } from '../src/openapi-document.ts';

t.test('the committed spec is the one the service serves', async (t) => {
  const committed = await readFile(OPENAPI_PATH, 'utf8');
  t.equal(await openapiDocument(), committed, 'openapi/openapi.json is current (run npm run openapi)');

  const app = await buildApp({ pool: {} as never, shedLoad: false });
  t.teardown(() => app.close());
  const served = await app.inject({ method: 'GET', url: '/openapi.json' });
  t.equal(served.statusCode, 200);
  t.same(served.json(), JSON.parse(committed));
  const docs = await app.inject({ method: 'GET', url: '/docs' });
  t.ok(docs.statusCode < 400, 'interactive docs are served');
});

t.test('every operation declares its answers and problem documents', async (t) => {
  const spec = JSON.parse(await readFile(OPENAPI_PATH, 'utf8'));
  const declaredTags = new Set((spec.tags as { name: string }[]).map((tag) => tag.name));
  for (const [path, item] of Object.entries<Record<string, { operationId?: string; responses: object }>>(spec.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      t.ok(operation.operationId, `${method} ${path} has an operationId (generated clients name methods after it)`);
      for (const tag of (operation as { tags?: string[] }).tags ?? []) {
        t.ok(declaredTags.has(tag), `${method} ${path}: tag ${tag} is declared in the top-level tags`);
      }
      for (const [status, response] of Object.entries<{ content?: object }>(operation.responses as never)) {
        if (Number(status) >= 400) {
          t.ok(response.content && 'application/problem+json' in response.content, `${method} ${path} ${status} is problem+json`);
        }
      }
    }
  }
});

t.test('answer schemas declare no maxLength on strings', async (t) => {
  // zod, which several client generators emit, counts maxLength in UTF-16 units where JSON Schema
  // counts characters: a stored 255-character name of emoji would fail a whole answer there.
  const document = JSON.parse(await openapiDocument()) as { paths: Record<string, Record<string, { responses?: unknown }>> };
  const found: string[] = [];
  const walk = (node: unknown, at: string) => {
    if (Array.isArray(node)) return node.forEach((item, i) => walk(item, `${at}/${i}`));
    if (node === null || typeof node !== 'object') return;
    if ('maxLength' in node) found.push(at);
    for (const [key, value] of Object.entries(node)) walk(value, `${at}/${key}`);
  };
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) walk(operation.responses, `${method} ${path}`);
  }
  t.same(found, []);
});

t.test('a method the spec does not list for a path is 405 with Allow; OPTIONS lists the spec\'s methods', async (t) => {
  const spec = JSON.parse(await readFile(OPENAPI_PATH, 'utf8')) as { paths: Record<string, Record<string, unknown>> };
  const app = await buildApp({ pool: {} as never, shedLoad: false });
  t.teardown(() => app.close());
  const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE'] as const;
  for (const [path, item] of Object.entries(spec.paths)) {
    const url = path.replace(/\{[^}]+\}/g, encodeURIComponent('Mailer.Worker/“x”'));
    const documented = new Set(Object.keys(item).map((m) => m.toUpperCase()).filter((m) => (METHODS as readonly string[]).includes(m)));
    const expected = new Set([...documented, 'OPTIONS', ...(documented.has('GET') ? ['HEAD'] : [])]);

    const options = await app.inject({ method: 'OPTIONS', url });
    t.equal(options.statusCode, 204, `OPTIONS ${path}`);
    const listed = new Set(String(options.headers.allow).split(/,\s*/));
    t.same([...listed].sort(), [...expected].sort(), `OPTIONS ${path}: Allow lists the documented methods`);

    for (const method of METHODS.filter((m) => !expected.has(m))) {
      const response = await app.inject({ method, url });
      t.equal(response.statusCode, 405, `${method} ${path}`);
      t.same(String(response.headers.allow).split(/,\s*/).sort(), [...expected].sort(), `${method} ${path}: Allow`);
      t.match(response.headers['content-type'], /^application\/problem\+json/);
      t.match(response.json(), { type: 'tag:job-metrics,2026:problem:method-not-allowed', status: 405, detail: new RegExp(`^${method} is not answered at `) });
    }
  }
  const unknown = await app.inject({ method: 'DELETE', url: '/metrics/nothing-here' });
  t.equal(unknown.statusCode, 404, 'a path no route answers is still 404');
  t.equal(unknown.headers.allow, undefined);
  t.equal((await app.inject({ method: 'OPTIONS', url: '/nothing-here' })).statusCode, 404);
});
