import type { FastifyInstance } from 'fastify';
import type { Test as Tap } from 'tap';
import { buildApp } from '../../src/app.ts';
import type { TestDatabase } from './database.ts';
import { specViolations } from './openapi.ts';

type Test = Pick<Tap, 'teardown' | 'same'>;

/** The real app on a test database; closed with the test. */
export async function startTestApp(t: Test, db: TestDatabase): Promise<FastifyInstance> {
  const app = await buildApp({ pool: db.pool });
  t.teardown(() => app.close());
  return app;
}

/** GET through the app, asserting the answer is what the committed OpenAPI spec declares. */
export async function get(t: Test, app: FastifyInstance, url: string) {
  const response = await app.inject({ method: 'GET', url });
  t.same(specViolations('GET', url, response), [], `GET ${url.slice(0, 80)} → ${response.statusCode} matches the spec`);
  return response;
}
