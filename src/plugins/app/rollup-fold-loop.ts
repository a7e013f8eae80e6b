import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { hasCode } from '../../db/error-codes.ts';
import { StandbyError } from '../../db/standby.ts';
import { startFoldLoop } from '../../metrics/rollup/fold-loop.ts';

/** read_only_sql_transaction */
const READ_ONLY = new Set(['25006']);

/** Folds inserted rows into the rollups in the background while the app runs; 0 turns it off. */
async function rollupFoldLoop(fastify: FastifyInstance, options: { intervalMs: number }) {
  if (options.intervalMs === 0) return;
  let loop: ReturnType<typeof startFoldLoop> | undefined;
  fastify.addHook('onReady', async () => {
    loop = startFoldLoop(fastify.db, options.intervalMs, {
      failed: (error) => {
        if (error instanceof StandbyError) {
          return fastify.log.info('the database is a standby: the primary folds, this instance only reads (ROLLUP_FOLD_INTERVAL_MS=0 says so)');
        }
        // A primary whose sessions are read-only for this role (default_transaction_read_only):
        // no promotion will end it, and the pending table grows until reads slow down.
        if (hasCode(error, READ_ONLY)) {
          return fastify.log.error(
            "rollup fold cannot write: this role's sessions are read-only (default_transaction_read_only). Reads stay exact but slow " +
              'as rows pile up unfolded; give the service a role that may write, or set ROLLUP_FOLD_INTERVAL_MS=0 where another instance folds',
          );
        }
        fastify.log.warn({ err: error }, 'rollup fold failed; reads stay exact, retrying');
      },
      recovered: () => fastify.log.info('rollup fold works again'),
    });
  });
  // preClose runs before every onClose hook, so the pool is still open for a fold in flight.
  fastify.addHook('preClose', async () => loop?.stop());
}

export default fp(rollupFoldLoop, { name: 'rollup-fold-loop', dependencies: ['database'] });
