import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { DatabasePool } from 'slonik';

declare module 'fastify' {
  interface FastifyInstance {
    db: DatabasePool;
  }
}

export interface DatabasePluginOptions {
  pool: DatabasePool;
  /** Close the pool with the app (the server owns it); tests that share a pool pass false. */
  closePool?: boolean;
}

async function database(fastify: FastifyInstance, options: DatabasePluginOptions) {
  fastify.decorate('db', options.pool);
  if (options.closePool) fastify.addHook('onClose', async () => options.pool.end());
}

export default fp(database, { name: 'database' });
