import type { DatabasePool } from 'slonik';
import { retentionStatusQuery } from '../retention/status.ts';
import { fail, pass, type Check } from './report.ts';

/** A day past the horizon: a service prunes every 10 minutes and cron daily, so more means nobody does. */
export const PRUNE_LAG_MAX_HOURS = 24;

const hoursBetween = (later: string, earlier: string) => (Date.parse(later) - Date.parse(earlier)) / 3_600_000;

/** With RETENTION_DAYS set, no raw row may be much older than the horizon; without it, nothing to check. */
export function pruneCheck(pool: DatabasePool, retentionDays: number | undefined): Check {
  const name = 'pruning keeps up';
  return {
    name,
    run: async () => {
      const status = await pool.one(retentionStatusQuery(retentionDays));
      const record = status.pruned_before === null ? 'never pruned' : `pruned before ${status.pruned_before}, last run ${status.last_run_at} (${status.last_run_rows} rows)`;
      if (retentionDays === undefined || status.due_before === null) return pass(name, `RETENTION_DAYS not set: every raw row is kept (${record})`);
      const lag = status.oldest_raw_row === null ? 0 : hoursBetween(status.due_before, status.oldest_raw_row);
      const detail = `RETENTION_DAYS=${retentionDays}: oldest raw row ${status.oldest_raw_row ?? 'none'}, horizon ${status.due_before}; ${record}`;
      if (lag <= PRUNE_LAG_MAX_HOURS) return pass(name, detail);
      return fail(name, `${detail}: raw rows ${lag.toFixed(1)} h older than the horizon (limit ${PRUNE_LAG_MAX_HOURS} h)`, [
        'cause: no service prunes (none running, or RETENTION_PRUNE_INTERVAL_MS=0 or RETENTION_DAYS unset there) and no cron runs npm run prune, or its runs fail (see its log)',
        'fix: npm run prune   (deletes them now, in batches; the rollups keep their counts)',
      ]);
    },
  };
}
