import type { FastifyInstance, InjectOptions } from 'fastify';
import type { Test as Tap } from 'tap';
import { buildApp, type AppOptions } from '../../src/app.ts';
import { createDatabasePool } from '../../src/db/pool.ts';
import type { TestDatabase } from './database.ts';
import { specViolations } from './openapi.ts';

type Test = Pick<Tap, 'teardown' | 'same'>;

/**
 * The real app on a test database (e.g. with `config: loadConfig({ INGEST_TOKEN })`); closed with
 * the test. Load shedding is off unless asked for: it would measure the busy test runner. As the
 * server does, the metrics reads get a pool of their own, on generic plans (src/server.ts).
 */
export async function startTestApp(
  t: Test,
  db: TestDatabase,
  options: Omit<AppOptions, 'pool'> = {},
): Promise<FastifyInstance> {
  let metricsPool = options.metricsPool;
  if (metricsPool === undefined) {
    const own = await createDatabasePool(db.url, { statementTimeoutMs: 30_000, connectionTimeoutMs: 5_000, maxPoolSize: 4, genericPlans: true });
    t.teardown(() => own.end());
    metricsPool = own;
  }
  const app = await buildApp({ shedLoad: false, ...options, pool: db.pool, metricsPool });
  t.teardown(() => app.close());
  return app;
}

type Request = InjectOptions & { method: 'GET' | 'POST'; url: string };

/** A request through the app, asserting the answer is what the committed OpenAPI spec declares. */
export async function request(t: Test, app: FastifyInstance, options: Request) {
  const response = await app.inject(options);
  t.same(
    specViolations(options.method, options.url, response),
    [],
    `${options.method} ${options.url.slice(0, 80)} → ${response.statusCode} matches the spec`,
  );
  return response;
}

export const get = (t: Test, app: FastifyInstance, url: string, headers: InjectOptions['headers'] = {}) =>
  request(t, app, { method: 'GET', url, headers });
