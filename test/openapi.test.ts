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
