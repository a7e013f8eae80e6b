import t from 'tap';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { executeArgs, pgQuery, indexesUsed, sequentialScans, type PlanNode } from '../bench/lib/plan.ts';
import { EXPECTED_INDEXES } from '../src/db/expected-indexes.ts';
import { executionListQuery } from '../src/executions/execution-list-query.ts';
import { windowMetricsQuery } from '../src/metrics/window-metrics-query.ts';
import { workerExistsQuery, workersQuery } from '../src/metrics/workers-query.ts';
import { startTestDatabase } from './helpers/database.ts';
import { nastyRows, SHOWTIME } from './helpers/nasty-rows.ts';
import { insertRows } from './helpers/rows.ts';

const db = await startTestDatabase(t);
await insertRows(db.pool, nastyRows());
const client = new pg.Client({ connectionString: db.url });
await client.connect();
t.teardown(() => client.end());

t.test('every expected index exists and is valid', async (t) => {
  const { rows } = await client.query<{ name: string; valid: boolean }>(`
    SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid`);
  for (const expected of EXPECTED_INDEXES) {
    t.same(rows.find((r) => r.name === expected.name), { name: expected.name, valid: true }, expected.name);
  }
});

/**
 * The tables here are tiny, so the planner would rightly scan them; with scans and sorts made
 * prohibitively expensive, a plan that still avoids them proves the query can use the index at all
 * (an expression or predicate that does not match the index would fall back to them).
 */
async function planIndexes(token: { sql: string; values: readonly unknown[] }): Promise<{ used: string[]; sorts: number }> {
  await client.query('BEGIN');
  try {
    await client.query('SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off');
    const query = pgQuery(token);
    const { rows } = await client.query({ text: `EXPLAIN (FORMAT JSON) ${query.text}`, values: query.values });
    const plan = rows[0]['QUERY PLAN'][0].Plan as PlanNode;
    return { used: indexesUsed(plan), sorts: JSON.stringify(plan).match(/"Node Type":"Sort"/g)?.length ?? 0 };
  } finally {
    await client.query('ROLLBACK');
  }
}

t.test('each query shape can use the index meant for it', async (t) => {
  const cases: [string, { sql: string; values: readonly unknown[] }, string][] = [
    ['drill-down, no filter', executionListQuery({ hours: 24, limit: 50 }), 'idx_job_summaries_inserted_at'],
    ['drill-down by worker', executionListQuery({ hours: 24, limit: 50, worker: SHOWTIME }), 'idx_job_summaries_worker_inserted_at'],
    ['drill-down by reason', executionListQuery({ hours: 24, limit: 50, reason: { reason: 'movie not matched' } }), 'idx_job_summaries_cancelled_reason'],
    ['drill-down by empty reason', executionListQuery({ hours: 24, limit: 50, reason: { reason: '' } }), 'idx_job_summaries_cancelled_reason'],
    ['drill-down into Unknown', executionListQuery({ hours: 24, limit: 50, reason: { unknown: true } }), 'idx_job_summaries_unknown_reason'],
    ['system metrics', windowMetricsQuery(24), 'idx_job_summaries_inserted_at'],
    ['worker metrics', windowMetricsQuery(24, SHOWTIME), 'idx_job_summaries_worker_inserted_at'],
    ['worker exists', workerExistsQuery('Never.Seen'), 'idx_job_summaries_worker_inserted_at'],
    ['workers list', workersQuery(), 'idx_job_summaries_worker_inserted_at'],
  ];
  for (const [what, token, index] of cases) {
    const { used, sorts } = await planIndexes(token);
    t.ok(used.includes(index), `${what} uses ${index} (plan uses ${used.join(', ') || 'no index'})`);
    // The drill-down's only sort is the final one over its ≤ 51 rows: the page is read in index order.
    if (what.startsWith('drill-down')) t.ok(sorts <= 1, `${what} reads the index in keyset order (${sorts} sorts)`);
  }
});

t.test('the unknown-worker check probes the index even in a generic plan', async (t) => {
  // Real statistics this time: few workers, 20,000 rows each. A prepared statement's generic plan
  // then expects any worker to match 1 row in 2 or 3. An EXISTS scanned the table for a name with
  // no rows at all (or only recent ones); a bare max(inserted_at) sometimes read
  // idx_job_summaries_inserted_at backwards, checking every row's worker (6 plans in 100). Both
  // read the whole table for every 404. ANALYZE samples, so each count of workers is analysed and
  // planned several times.
  for (const workers of [2, 3]) {
    await client.query('BEGIN');
    try {
      await client.query(`
        INSERT INTO job_execution_summaries (job_id, attempt, worker, queue, state, results, duration_ms, inserted_at)
        SELECT 100000 + i, 1, 'W' || (i % $1), 'default', 'completed', '{}', 5, now() - make_interval(secs => i)
        FROM generate_series(1, 20000 * $1) i`, [workers]);
      await client.query('SET LOCAL plan_cache_mode = force_generic_plan');
      const query = pgQuery(workerExistsQuery('Never.Seen'));
      const wrong = new Set<string>();
      for (let round = 0; round < 30; round++) {
        await client.query('ANALYZE job_execution_summaries');
        await client.query({ text: `PREPARE known_check AS ${query.text}` });
        const { rows } = await client.query(`EXPLAIN (FORMAT JSON) EXECUTE known_check${executeArgs(query.values)}`);
        await client.query('DEALLOCATE known_check');
        const plan = rows[0]['QUERY PLAN'][0].Plan as PlanNode;
        const raw = indexesUsed(plan).filter((name) => name.startsWith('idx_job_summaries'));
        if (sequentialScans(plan).includes('job_execution_summaries')) wrong.add('a sequential scan of the raw rows');
        if (raw.join() !== 'idx_job_summaries_worker_inserted_at') wrong.add(`raw rows read by ${raw.join(', ') || 'no index'}`);
        // The workers list asks each name's newest row the same way, planned per name.
        const list = (await client.query(`EXPLAIN (FORMAT JSON) ${pgQuery(workersQuery()).text}`)).rows[0]['QUERY PLAN'][0].Plan as PlanNode;
        const listRaw = indexesUsed(list).filter((name) => name.startsWith('idx_job_summaries'));
        if (listRaw.join() !== 'idx_job_summaries_worker_inserted_at') wrong.add(`the list reads raw rows by ${listRaw.join(', ')}`);
      }
      t.same([...wrong], [], `${workers} workers: the worker index alone reads the raw rows, in 30 plans`);
    } finally {
      await client.query('ROLLBACK');
    }
  }
});

t.test('a reason longer than a B-tree entry can hold is still accepted', async (t) => {
  // Random text does not compress: 3,000 bytes exceed the 2,704-byte B-tree entry limit.
  const long = randomBytes(1500).toString('hex');
  await insertRows(db.pool, [{ job_id: 9_999, worker: 'w', state: 'cancelled', results: { cancel_reason: long }, age_s: 1 }]);
  const { rows } = await client.query(`SELECT count(*)::int AS n FROM job_execution_summaries WHERE results ->> 'cancel_reason' = $1`, [long]);
  t.equal(rows[0].n, 1, 'stored, and the prefix index found it');

  await client.query('BEGIN');
  try {
    await t.rejects(
      client.query(`CREATE INDEX plain_reason ON job_execution_summaries ((results ->> 'cancel_reason')) WHERE state = 'cancelled'`),
      /index row size/,
      'whereas an index on the whole reason cannot hold that row (and would refuse its INSERT)',
    );
  } finally {
    await client.query('ROLLBACK');
  }
});
