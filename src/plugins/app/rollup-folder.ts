import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { startFolder } from '../../metrics/rollup/folder.ts';

/** Folds inserted rows into the rollups in the background while the app runs; 0 turns it off. */
async function rollupFolder(fastify: FastifyInstance, options: { intervalMs: number }) {
  if (options.intervalMs === 0) return;
  let folder: ReturnType<typeof startFolder> | undefined;
  fastify.addHook('onReady', async () => {
    folder = startFolder(fastify.db, options.intervalMs, {
      failed: (error) => fastify.log.warn({ err: error }, 'rollup fold failed; reads stay exact, retrying'),
      recovered: () => fastify.log.info('rollup fold works again'),
    });
  });
  // preClose runs before every onClose hook, so the pool is still open for a fold in flight.
  fastify.addHook('preClose', async () => folder?.stop());
}

export default fp(rollupFolder, { name: 'rollup-folder', dependencies: ['database'] });
