import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { StandbyError } from '../../db/standby.ts';
import { startPruner } from '../../retention/prune.ts';

/** Prunes raw rows past RETENTION_DAYS in the background; off without retention or with interval 0. */
async function retentionPruner(fastify: FastifyInstance, options: { retentionDays: number | undefined; intervalMs: number }) {
  const { retentionDays, intervalMs } = options;
  if (retentionDays === undefined || intervalMs === 0) return;
  let pruner: ReturnType<typeof startPruner> | undefined;
  fastify.addHook('onReady', async () => {
    pruner = startPruner(fastify.db, retentionDays, intervalMs, {
      failed: (error) =>
        error instanceof StandbyError
          ? fastify.log.info('the database is a standby: the primary prunes, this instance only reads')
          : fastify.log.warn({ err: error }, 'pruning failed; answers are unaffected, retrying'),
      recovered: () => fastify.log.info('pruning works again'),
    });
  });
  fastify.addHook('preClose', async () => pruner?.stop());
}

export default fp(retentionPruner, { name: 'retention-pruner', dependencies: ['database'] });
