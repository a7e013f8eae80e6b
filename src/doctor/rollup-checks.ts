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
      const { pending, readOnly } = await pool.one(sql.type(z.object({ pending: z.number(), readOnly: z.boolean() }))`
        SELECT (SELECT count(*)::int FROM (SELECT 1 FROM job_rollup_pending LIMIT ${PENDING_MAX_ROWS + 1}) p) AS pending,
               current_setting('transaction_read_only')::boolean AND NOT pg_is_in_recovery() AS "readOnly"
      `);
      // A primary whose sessions are read-only for this role: the service's fold fails on every
      // tick, and the backlog grows until it passes the limit below, maybe days later.
      if (readOnly) {
        return fail(name, `this role's sessions are read-only on a primary: a service connected as it cannot fold (${pending} rows waiting)`, [
          "cause: default_transaction_read_only is on for this role or database (psql: SELECT setting, source FROM pg_settings WHERE name = 'default_transaction_read_only';)",
          'fix: ALTER ROLE <role> RESET default_transaction_read_only; or give the service a role that may write, or fold from another instance',
        ]);
      }
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

/**
 * The rollup triggers and when each fires (pg_trigger.tgenabled): statement triggers on origin
 * (ordinary sessions), their row twins on replica (a logical replication apply worker, a loader
 * that sets session_replication_role = replica; migrations 1764110000000 and 1764120000000),
 * TRUNCATE always. One disabled, or fired in another mode, and writes go uncounted or are counted
 * twice.
 */
const ORIGIN = { mode: 'O', enable: 'ENABLE TRIGGER' } as const;
const REPLICA = { mode: 'R', enable: 'ENABLE REPLICA TRIGGER' } as const;
const EXPECTED_TRIGGERS: Record<string, { mode: 'O' | 'R' | 'A'; enable: string }> = {
  job_rollup_insert: ORIGIN,
  job_rollup_update: ORIGIN,
  job_rollup_delete: ORIGIN,
  job_rollup_update_ten_seconds: ORIGIN,
  job_rollup_delete_ten_seconds: ORIGIN,
  job_rollup_insert_row: REPLICA,
  job_rollup_update_row: REPLICA,
  job_rollup_delete_row: REPLICA,
  // Applies the transaction's replica-mode UPDATEs and DELETEs at commit (migration 1764120000000).
  job_rollup_replica_commit: REPLICA,
  job_rollup_truncate: { mode: 'A', enable: 'ENABLE ALWAYS TRIGGER' },
};
const MODES: Record<string, string> = { O: 'on origin', R: 'on replica', A: 'always', D: 'never (disabled)' };

export function triggersCheck(pool: DatabasePool): Check {
  const name = 'rollup triggers fire';
  return {
    name,
    run: async () => {
      const found = new Map(
        (await pool.any(sql.type(z.object({ name: z.string(), mode: z.string() }))`
          SELECT tgname AS name, tgenabled::text AS mode FROM pg_trigger
          WHERE tgrelid = to_regclass('job_execution_summaries') AND NOT tgisinternal
        `)).map((row) => [row.name, row.mode]),
      );
      const wrong = Object.entries(EXPECTED_TRIGGERS).filter(([trigger, expected]) => found.get(trigger) !== expected.mode);
      if (wrong.length > 0) {
        return fail(name, `${wrong.length} of ${Object.keys(EXPECTED_TRIGGERS).length} rollup triggers do not fire as installed: writes since are missing from the rollups or counted twice`, [
          ...wrong.map(([trigger, expected]) => {
            const mode = found.get(trigger);
            return mode === undefined
              ? `${trigger}: missing (fix: npm run migrate -- up)`
              : `${trigger}: fires ${MODES[mode] ?? mode}, expected ${MODES[expected.mode]} (fix: psql \`ALTER TABLE job_execution_summaries ${expected.enable} ${trigger};\`)`;
          }),
          'then: npm run rollup -- rebuild   (sums the rollups again from the raw rows)',
        ]);
      }
      // Which subscriptions write the table (pg_subscription_rel is readable by every role).
      const subscriptions = await pool.anyFirst(sql.type(z.object({ name: z.string() }))`
        SELECT s.subname AS name FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid
        WHERE r.srrelid = to_regclass('job_execution_summaries') ORDER BY 1
      `);
      const detail = 'statement triggers on origin, row triggers on replica, TRUNCATE always';
      if (subscriptions.length === 0) return pass(name, detail);
      return pass(name, `${detail}; rows arrive by logical replication (subscription ${subscriptions.join(', ')})`, [
        "its inserts, updates and deletes are counted (row triggers); a replicated TRUNCATE is not (the apply worker fires no statement trigger): publish with (publish = 'insert, update, delete')",
      ]);
    },
  };
}
