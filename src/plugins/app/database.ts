import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { DatabasePool } from 'slonik';

declare module 'fastify' {
  interface FastifyInstance {
    db: DatabasePool;
    /** The metrics windows' and time series' reads: a pool of its own, or `db` (app.ts, AppOptions). */
    metricsDb: DatabasePool;
  }
}

export interface DatabasePluginOptions {
  pool: DatabasePool;
  metricsPool?: DatabasePool;
  /** Close the pool with the app (the server owns it); tests that share a pool pass false. */
  closePool?: boolean;
}

async function database(fastify: FastifyInstance, options: DatabasePluginOptions) {
  const metricsPool = options.metricsPool ?? options.pool;
  fastify.decorate('db', options.pool);
  fastify.decorate('metricsDb', metricsPool);
  if (options.closePool) {
    fastify.addHook('onClose', async () => {
      await Promise.all([...new Set([options.pool, metricsPool])].map((pool) => pool.end()));
    });
  }
}

export default fp(database, { name: 'database' });
