import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { verifyWindow } from '../metrics/rollup/verify.ts';
import { fail, pass, type Check } from './report.ts';

/** The rollups kept by triggers against the raw oracle over the doctor's window (system-wide). */
export function rollupsCheck(pool: DatabasePool, hours: number, retentionDays?: number): Check {
  const name = `rollups match the raw rows (${hours} h)`;
  return {
    name,
    run: async () => {
      const differences = await verifyWindow(pool, hours, undefined, retentionDays);
      if (differences.length === 0) return pass(name, 'counts, reasons, avg and max equal; percentiles within the bound (raw rows after the retention horizon)');
      return fail(name, `${differences.length} difference(s)`, [
        ...differences,
        'fix: npm run rollup -- verify --hours N for every worker, then npm run rollup -- rebuild',
      ]);
    },
  };
}

/** A backlog past this many rows means no folder runs: reads stay exact but scan it on every request. */
export const PENDING_MAX_ROWS = 100_000;

/** Inserted rows waiting in job_rollup_pending: a service folds them every ROLLUP_FOLD_INTERVAL_MS. */
export function foldBacklogCheck(pool: DatabasePool): Check {
  const name = 'rollup fold keeps up';
  return {
    name,
    run: async () => {
      const pending = await pool.oneFirst(sql.type(z.object({ n: z.number() }))`
        SELECT count(*)::int AS n FROM (SELECT 1 FROM job_rollup_pending LIMIT ${PENDING_MAX_ROWS + 1}) p
      `);
      if (pending <= PENDING_MAX_ROWS) return pass(name, `${pending} inserted rows waiting to be folded (limit ${PENDING_MAX_ROWS})`);
      return fail(name, `more than ${PENDING_MAX_ROWS} inserted rows wait in job_rollup_pending; every metrics read scans them`, [
        'cause: no service folds (none running, or all started with ROLLUP_FOLD_INTERVAL_MS=0), or its folds fail (see its log)',
        'fix: npm run rollup -- fold   (moves them now, in batches; then keep one service running with folding on)',
        // Run 14 of docs/BENCHMARKS.md: a 1M backlog drained in 41 s beside a vacuum of the big table, 12 s without.
        'slow to drain while a service folds (≈ 180k rows/s alone): psql `SELECT relid::regclass, phase FROM pg_stat_progress_vacuum;` shows a vacuum sharing the cores; let it finish',
      ]);
    },
  };
}
