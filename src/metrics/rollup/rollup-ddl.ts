import { HISTOGRAM_THRESHOLDS } from './histogram.ts';

/**
 * The rollups, kept exact inside PostgreSQL. `job_rollups` holds one row per (grain, worker,
 * bucket) — grain hour, day or month in UTC, worker NULL for "every worker" — with counts per state,
 * duration count / sum / max and a sparse histogram `hist` = {{bin, count}, …} (histogram.ts).
 * `job_rollup_reasons` counts cancelled rows per reason, the NULL reason as its own key (never
 * merged with a literal "unknown").
 *
 * Statement-level triggers with transition tables see every write of any writer, in its transaction:
 * - INSERT appends the new rows' counted fields to `job_rollup_pending` (no upsert, no hot row, no
 *   histogram rewritten), which reads add like raw rows; `job_rollup_fold()` later moves them into
 *   the rollups in one transaction, so a reader sees each row exactly once, pending or folded.
 * - UPDATE and DELETE (rare) fold first, then apply their changes as signed deltas and recompute
 *   the max of every bucket that lost a row, so the pending rows never hold a stale max.
 * One advisory lock serialises folds and UPDATE/DELETE appliers; inserts never take it.
 */
export const GRAINS = ['hour', 'day', 'month'] as const;
export type Grain = (typeof GRAINS)[number];

const STATE_COLUMNS = ['completed', 'retryable', 'discarded', 'cancelled', 'snoozed'] as const;

/**
 * A day's or a month's histogram holds up to ~920 bins (7.4 kB): compressed, every hist[i][j] in a
 * merge would inflate it again, so rows stay plain up to a page (toast_tuple_target).
 */
const TABLES = `
  CREATE TABLE job_rollups (
    grain text NOT NULL CHECK (grain IN ('hour', 'day', 'month')),
    worker text,
    bucket timestamptz NOT NULL,
    ${STATE_COLUMNS.map((s) => `${s} bigint NOT NULL DEFAULT 0`).join(',\n    ')},
    dur_count bigint NOT NULL DEFAULT 0,
    dur_sum bigint NOT NULL DEFAULT 0,
    dur_max integer,
    hist integer[] NOT NULL DEFAULT '{}',
    CONSTRAINT job_rollups_key UNIQUE NULLS NOT DISTINCT (grain, worker, bucket)
  ) WITH (fillfactor = 70, toast_tuple_target = 8160);
  CREATE INDEX job_rollups_grain_bucket ON job_rollups (grain, bucket);
  CREATE TABLE job_rollup_reasons (
    grain text NOT NULL CHECK (grain IN ('hour', 'day', 'month')),
    worker text,
    bucket timestamptz NOT NULL,
    reason text,
    n bigint NOT NULL
  ) WITH (fillfactor = 70);
  -- A reason may be longer than a B-tree entry (2,704 bytes): the key holds its SHA-256. The database
  -- encoding never changes, so the conversion is as immutable as an index needs.
  CREATE FUNCTION job_rollup_reason_key(reason text) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN sha256(convert_to(reason, 'UTF8'));
  CREATE UNIQUE INDEX job_rollup_reasons_key
    ON job_rollup_reasons (grain, worker, bucket, job_rollup_reason_key(reason)) NULLS NOT DISTINCT;
  -- Inserted rows not folded yet: append-only, no index (a fold takes all of it, reads scan it whole;
  -- it stays small while a service folds every second, and the folder vacuums it after a burst).
  CREATE TABLE job_rollup_pending (
    inserted_at timestamptz NOT NULL,
    worker text NOT NULL,
    state text NOT NULL,
    reason text,
    duration_ms integer
  ) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);
`;

/** The key of the advisory lock that serialises folds and UPDATE/DELETE appliers (any constant, documented). */
export const FOLD_LOCK_KEY = 7_301_964_118;

const FUNCTIONS = `
  CREATE FUNCTION job_rollup_bin(duration_ms integer) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN width_bucket(duration_ms, '{${HISTOGRAM_THRESHOLDS.join(',')}}'::integer[]);

  -- A histogram is a sparse N × 2 array {{bin, count}, …}, bins ascending, no zero counts.
  CREATE FUNCTION job_rollup_hist(bins integer[], counts bigint[]) RETURNS integer[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (
      SELECT coalesce(array_agg(ARRAY[b, s::integer] ORDER BY b), '{}')
      FROM (SELECT b, sum(c) AS s FROM unnest(bins, counts) AS u (b, c) GROUP BY b HAVING sum(c) <> 0) g
    );

  -- Adds histogram b into a: a binary search per bin when b is a few bins (one statement's rows).
  CREATE FUNCTION job_rollup_hist_add(a integer[], b integer[]) RETURNS integer[]
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
  DECLARE
    lo integer;
    hi integer;
    mid integer;
  BEGIN
    IF cardinality(a) = 0 THEN RETURN b; END IF;
    -- A big batch brings hundreds of bins: one hashed merge instead of an array copy per new bin.
    IF array_length(b, 1) > 16 THEN
      RETURN job_rollup_hist(a[:][1:1] || b[:][1:1], (a[:][2:2] || b[:][2:2])::bigint[]);
    END IF;
    FOR k IN 1 .. coalesce(array_length(b, 1), 0) LOOP
      lo := 1;
      hi := coalesce(array_length(a, 1), 0);
      WHILE lo <= hi LOOP
        mid := (lo + hi) / 2;
        IF a[mid][1] < b[k][1] THEN lo := mid + 1;
        ELSIF a[mid][1] > b[k][1] THEN hi := mid - 1;
        ELSE EXIT;
        END IF;
      END LOOP;
      IF lo > hi THEN
        a := a[1 : lo - 1][1 : 2] || ARRAY[[b[k][1], b[k][2]]] || a[lo :][1 : 2];
      ELSIF a[mid][2] + b[k][2] = 0 THEN
        a := a[1 : mid - 1][1 : 2] || a[mid + 1 :][1 : 2];
      ELSE
        a[mid][2] := a[mid][2] + b[k][2];
      END IF;
    END LOOP;
    RETURN a;
  END $$;
`;

/** The changed rows of one statement as (row, sign): +1 for rows that now exist, −1 for rows that no longer do. */
const rowFields = (alias: string) =>
  `${alias}.worker, ${alias}.state, CASE WHEN ${alias}.state = 'cancelled' THEN ${alias}.results ->> 'cancel_reason' END AS reason, ${alias}.duration_ms, ${alias}.inserted_at`;
const sameRow = `(n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms, n.inserted_at)
  IS NOT DISTINCT FROM (o.worker, o.state, CASE WHEN o.state = 'cancelled' THEN o.results ->> 'cancel_reason' END, o.duration_ms, o.inserted_at)`;

export const CHANGES = {
  delete: `SELECT ${rowFields('o')}, -1 AS sign FROM old_rows o`,
  // Rows whose counted fields did not change cancel out before they cost an upsert.
  update: `SELECT ${rowFields('o')}, -1 AS sign FROM old_rows o
             WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id AND ${sameRow})
           UNION ALL
           SELECT ${rowFields('n')}, 1 AS sign FROM new_rows n
             WHERE NOT EXISTS (SELECT 1 FROM old_rows o WHERE o.id = n.id AND ${sameRow})`,
};

/** Pre-aggregated per (hour, worker, state, reason, bin), then spread to every grain and to "every worker". */
const keyed = (changes: string) => `
  changes AS (${changes}),
  fine AS (
    SELECT date_trunc('hour', inserted_at, 'UTC') AS hour, worker, state, reason, job_rollup_bin(duration_ms) AS bin,
           sum(sign) AS n, sum(sign * duration_ms::bigint) AS dur_sum, max(duration_ms) FILTER (WHERE sign > 0) AS dur_max
    FROM changes GROUP BY 1, 2, 3, 4, 5
  ),
  keyed AS (
    SELECT g.grain, k.worker, date_trunc(g.grain, f.hour, 'UTC') AS bucket, f.state, f.reason, f.bin, f.n, f.dur_sum, f.dur_max
    FROM fine f
    CROSS JOIN (VALUES ${GRAINS.map((g) => `('${g}')`).join(', ')}) AS g (grain)
    CROSS JOIN LATERAL (VALUES (f.worker), (NULL::text)) AS k (worker)
  )`;

/** Rows are locked in one global order (grain, worker, bucket[, reason]): concurrent writers queue, never deadlock. */
export function applyChangesSql(changes: string): string[] {
  const stats = `
    WITH ${keyed(changes)}
    INSERT INTO job_rollups AS r (grain, worker, bucket, ${STATE_COLUMNS.join(', ')}, dur_count, dur_sum, dur_max, hist)
    SELECT grain, worker, bucket,
      ${STATE_COLUMNS.map((s) => `coalesce(sum(n) FILTER (WHERE state = '${s}'), 0)`).join(',\n      ')},
      coalesce(sum(n) FILTER (WHERE bin IS NOT NULL), 0), coalesce(sum(dur_sum), 0), max(dur_max),
      job_rollup_hist(array_agg(bin) FILTER (WHERE bin IS NOT NULL), array_agg(n) FILTER (WHERE bin IS NOT NULL))
    FROM keyed
    GROUP BY grain, worker, bucket
    ORDER BY grain, worker COLLATE "C", bucket
    ON CONFLICT (grain, worker, bucket) DO UPDATE SET
      ${STATE_COLUMNS.map((s) => `${s} = r.${s} + EXCLUDED.${s}`).join(',\n      ')},
      dur_count = r.dur_count + EXCLUDED.dur_count,
      dur_sum = r.dur_sum + EXCLUDED.dur_sum,
      dur_max = greatest(r.dur_max, EXCLUDED.dur_max),
      hist = job_rollup_hist_add(r.hist, EXCLUDED.hist)`;
  const reasons = `
    WITH ${keyed(changes)}
    INSERT INTO job_rollup_reasons AS r (grain, worker, bucket, reason, n)
    SELECT grain, worker, bucket, reason, sum(n)
    FROM keyed WHERE state = 'cancelled'
    GROUP BY grain, worker, bucket, reason
    HAVING sum(n) <> 0
    ORDER BY grain, worker COLLATE "C", bucket, reason COLLATE "C"
    ON CONFLICT (grain, worker, bucket, job_rollup_reason_key(reason)) DO UPDATE SET n = r.n + EXCLUDED.n`;
  return [stats, reasons];
}

/** The end of a bucket, in UTC whatever the session's time zone. */
const bucketEnd = (grain: Grain, bucket: string) => `date_add(${bucket}, interval '1 ${grain}', 'UTC')`;

/**
 * A removed row may have held a bucket's max: recompute exactly those buckets, the hour of one
 * worker from its raw rows, every coarser or all-worker bucket from the finer rollups just fixed.
 * Each UPDATE is its own statement (a fresh snapshot under READ COMMITTED), after the upsert that
 * locked the rows, so a concurrent writer's larger value is either seen or applied after us.
 */
function recomputeMaxSql(changes: string): string[] {
  const oldMax = (grain: Grain, scope: 'worker' | 'all') => `
    WITH changes AS (${changes}), removed AS (
      SELECT date_trunc('${grain}', inserted_at, 'UTC') AS bucket, ${scope === 'worker' ? 'worker' : 'NULL::text AS worker'},
             max(duration_ms) AS m
      FROM changes WHERE sign < 0 AND duration_ms IS NOT NULL GROUP BY 1, 2
    )`;
  const target = (grain: Grain, scope: 'worker' | 'all') =>
    `r.grain = '${grain}' AND r.bucket = x.bucket AND r.worker IS NOT DISTINCT FROM x.worker AND x.m >= r.dur_max
     ${scope === 'worker' ? 'AND r.worker IS NOT NULL' : 'AND r.worker IS NULL'}`;
  const steps: string[] = [
    `${oldMax('hour', 'worker')}
     UPDATE job_rollups r SET dur_max = (
       SELECT max(s.duration_ms) FROM job_execution_summaries s
       WHERE s.worker = r.worker AND s.inserted_at >= r.bucket AND s.inserted_at < ${bucketEnd('hour', 'r.bucket')})
     FROM removed x WHERE ${target('hour', 'worker')}`,
  ];
  const finer: Record<Grain, Grain | null> = { hour: null, day: 'hour', month: 'day' };
  for (const grain of GRAINS) {
    const from = finer[grain];
    if (from) {
      steps.push(`${oldMax(grain, 'worker')}
        UPDATE job_rollups r SET dur_max = (
          SELECT max(f.dur_max) FROM job_rollups f
          WHERE f.grain = '${from}' AND f.worker = r.worker AND f.bucket >= r.bucket AND f.bucket < ${bucketEnd(grain, 'r.bucket')})
        FROM removed x WHERE ${target(grain, 'worker')}`);
    }
    steps.push(`${oldMax(grain, 'all')}
      UPDATE job_rollups r SET dur_max = (
        SELECT max(f.dur_max) FROM job_rollups f WHERE f.grain = '${grain}' AND f.bucket = r.bucket AND f.worker IS NOT NULL)
      FROM removed x WHERE ${target(grain, 'all')}`);
  }
  return steps;
}

const statementsOf = (statements: string[]) => statements.map((s) => `${s.trim()};`).join('\n    ');

const pendingChanges = (from: string) => `SELECT u.worker, u.state, u.reason, u.duration_ms, u.inserted_at, 1 AS sign FROM ${from} u`;

/** The upserts that add every pending row to whatever tables `job_rollups` names (the audit's copies). */
export const foldPendingSql = (): string[] => applyChangesSql(pendingChanges('public.job_rollup_pending'));

/**
 * Moves up to `max_rows` pending rows (all when NULL) into the rollups and returns how many: the
 * DELETE … RETURNING and the upserts are one transaction, so readers see every row once.
 */
const FOLD = `
  CREATE FUNCTION job_rollup_fold(max_rows integer DEFAULT NULL) RETURNS bigint LANGUAGE plpgsql AS $fn$
  DECLARE
    folding job_rollup_pending[];
  BEGIN
    PERFORM pg_advisory_xact_lock(${FOLD_LOCK_KEY});
    WITH moved AS (
      DELETE FROM job_rollup_pending
      WHERE ctid = ANY (ARRAY(SELECT ctid FROM job_rollup_pending LIMIT max_rows))
      RETURNING job_rollup_pending AS pending_row
    )
    SELECT array_agg(pending_row) INTO folding FROM moved;
    IF folding IS NULL THEN RETURN 0; END IF;
    ${statementsOf(applyChangesSql(pendingChanges('unnest(folding)')))}
    RETURN cardinality(folding);
  END $fn$;`;

/** UPDATE and DELETE: fold (a pending row may be the one changed), then apply the changes synchronously. */
function applyingTrigger(name: string, changes: string): string {
  return `
  CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $fn$
  BEGIN
    PERFORM job_rollup_fold();
    ${statementsOf([...applyChangesSql(changes), ...recomputeMaxSql(changes)])}
    RETURN NULL;
  END $fn$;`;
}

const TRIGGERS = `
  ${FOLD}
  CREATE FUNCTION job_rollup_on_insert() RETURNS trigger LANGUAGE plpgsql AS $fn$
  BEGIN
    INSERT INTO job_rollup_pending (inserted_at, worker, state, reason, duration_ms)
    SELECT n.inserted_at, n.worker, n.state, CASE WHEN n.state = 'cancelled' THEN n.results ->> 'cancel_reason' END, n.duration_ms
    FROM new_rows n;
    RETURN NULL;
  END $fn$;
  ${applyingTrigger('job_rollup_on_update', CHANGES.update)}
  ${applyingTrigger('job_rollup_on_delete', CHANGES.delete)}
  CREATE FUNCTION job_rollup_on_truncate() RETURNS trigger LANGUAGE plpgsql AS $fn$
  BEGIN
    PERFORM pg_advisory_xact_lock(${FOLD_LOCK_KEY});
    DELETE FROM job_rollups;
    DELETE FROM job_rollup_reasons;
    DELETE FROM job_rollup_pending;
    RETURN NULL;
  END $fn$;
  CREATE TRIGGER job_rollup_insert AFTER INSERT ON job_execution_summaries
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION job_rollup_on_insert();
  CREATE TRIGGER job_rollup_update AFTER UPDATE ON job_execution_summaries
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION job_rollup_on_update();
  CREATE TRIGGER job_rollup_delete AFTER DELETE ON job_execution_summaries
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION job_rollup_on_delete();
  CREATE TRIGGER job_rollup_truncate AFTER TRUNCATE ON job_execution_summaries
    FOR EACH STATEMENT EXECUTE FUNCTION job_rollup_on_truncate();
`;

export const CREATE_ROLLUPS_SQL = TABLES + FUNCTIONS + TRIGGERS;

export const DROP_ROLLUPS_SQL = `
  DROP TRIGGER IF EXISTS job_rollup_insert ON job_execution_summaries;
  DROP TRIGGER IF EXISTS job_rollup_update ON job_execution_summaries;
  DROP TRIGGER IF EXISTS job_rollup_delete ON job_execution_summaries;
  DROP TRIGGER IF EXISTS job_rollup_truncate ON job_execution_summaries;
  DROP FUNCTION IF EXISTS job_rollup_on_insert(), job_rollup_on_update(), job_rollup_on_delete(), job_rollup_on_truncate(),
    job_rollup_fold(integer), job_rollup_hist(integer[], bigint[]), job_rollup_hist_add(integer[], integer[]), job_rollup_bin(integer);
  DROP TABLE IF EXISTS job_rollups, job_rollup_reasons, job_rollup_pending;
  DROP FUNCTION IF EXISTS job_rollup_reason_key(text);
`;

/** The backfill of one range of raw rows, through the same upserts the triggers use. */
export const backfillSql = (from: string, to: string): string[] =>
  applyChangesSql(`SELECT ${rowFields('s')}, 1 AS sign FROM job_execution_summaries s
    WHERE s.inserted_at >= '${from}'::timestamptz AND s.inserted_at < '${to}'::timestamptz`);
