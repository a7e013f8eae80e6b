import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { StandbyError } from '../../db/standby.ts';
import { startFoldLoop } from '../../metrics/rollup/fold-loop.ts';

/** Folds inserted rows into the rollups in the background while the app runs; 0 turns it off. */
async function rollupFoldLoop(fastify: FastifyInstance, options: { intervalMs: number }) {
  if (options.intervalMs === 0) return;
  let loop: ReturnType<typeof startFoldLoop> | undefined;
  fastify.addHook('onReady', async () => {
    loop = startFoldLoop(fastify.db, options.intervalMs, {
      failed: (error) =>
        error instanceof StandbyError
          ? fastify.log.info('the database is a standby: the primary folds, this instance only reads (ROLLUP_FOLD_INTERVAL_MS=0 says so)')
          : fastify.log.warn({ err: error }, 'rollup fold failed; reads stay exact, retrying'),
      recovered: () => fastify.log.info('rollup fold works again'),
    });
  });
  // preClose runs before every onClose hook, so the pool is still open for a fold in flight.
  fastify.addHook('preClose', async () => loop?.stop());
}

export default fp(rollupFoldLoop, { name: 'rollup-fold-loop', dependencies: ['database'] });
