/**
 * npm run bench:replica-triggers -- [--rows N] [--seconds S] [--rounds R]
 * What migration 1764110000000's row triggers cost, on a fresh embedded PostgreSQL (fsync off):
 * - ordinary writers (session_replication_role = origin, where they never fire): INSERT rows/s of
 *   1-row and 1,000-row statements with the row triggers installed (A) and dropped (B), in
 *   alternating rounds of S seconds, one client, the fold running beside as the service runs it;
 * - writes in replica mode (as a logical replication apply worker makes them, one row at a time):
 *   ms per row for INSERT, and for UPDATE and DELETE of U rows in one transaction, against the same
 *   statements on origin.
 * Checks every window against the raw rows at the end.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { migrate } from '../src/db/migrate.ts';
import { auditRollups } from '../src/metrics/rollup/verify.ts';
import { machineLine } from './machine.ts';
import { loadSql } from './lib/seed-shape.ts';

const { values } = parseArgs({
  options: { rows: { type: 'string', default: '1000000' }, seconds: { type: 'string', default: '10' }, rounds: { type: 'string', default: '3' }, changes: { type: 'string', default: '500,5000' } },
});
const CHANGES = values.changes.split(',').map(Number);
const ROWS = Number(values.rows);
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const log = (message: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${message}`);

const PRUNING = `WHEN (current_setting('job_metrics.pruning', true) IS DISTINCT FROM 'on')`;
/** The triggers enabled on replica (migrations 1764110000000 and 1764120000000), as CREATE statements. */
const ROW_TRIGGERS: [name: string, create: string][] = [
  ['job_rollup_insert_row', 'CREATE TRIGGER job_rollup_insert_row AFTER INSERT ON job_execution_summaries FOR EACH ROW EXECUTE FUNCTION job_rollup_on_insert_row()'],
  ['job_rollup_update_row', 'CREATE TRIGGER job_rollup_update_row AFTER UPDATE ON job_execution_summaries FOR EACH ROW EXECUTE FUNCTION job_rollup_on_update_row()'],
  ['job_rollup_delete_row', `CREATE TRIGGER job_rollup_delete_row AFTER DELETE ON job_execution_summaries FOR EACH ROW ${PRUNING} EXECUTE FUNCTION job_rollup_on_delete_row()`],
  ['job_rollup_replica_commit', `CREATE CONSTRAINT TRIGGER job_rollup_replica_commit AFTER UPDATE OR DELETE ON job_execution_summaries
     DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION job_rollup_apply_replica_changes()`],
];
const dropRowTriggers = ROW_TRIGGERS.map(([name]) => `DROP TRIGGER ${name} ON job_execution_summaries;`).join('\n');
const createRowTriggers = ROW_TRIGGERS.map(([name, create]) => `${create}; ALTER TABLE job_execution_summaries ENABLE REPLICA TRIGGER ${name};`).join('\n');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = await mkdtemp(join(tmpdir(), 'job-metrics-bench-'));
const server = await startEmbeddedPostgres({ dir, ephemeral: true });
const admin = new pg.Client({ connectionString: server.url });
let nextJob = ROWS + 1;
try {
  await migrate(server.url, { direction: 'up' });
  await admin.connect();
  await admin.query('SET statement_timeout = 0');
  log(`loading ${ROWS} rows over a year`);
  for (let from = 1; from <= ROWS; from += 500_000) {
    await admin.query(loadSql(from, Math.min(ROWS, from + 499_999), `now() - make_interval(secs => 365 * 86400.0 * random())`));
  }
  await admin.query('VACUUM ANALYZE');

  /** rows/s of INSERT statements of `batch` rows (stamped now), one client, folding every second beside. */
  async function ingestRate(batch: number): Promise<number> {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    let folding = true;
    const folder = (async () => {
      const f = new pg.Client({ connectionString: server.url });
      await f.connect();
      while (folding) {
        await f.query('SELECT job_rollup_fold(200000)');
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      await f.end();
    })();
    let rows = 0;
    const start = performance.now();
    const end = start + SECONDS * 1000;
    while (performance.now() < end) {
      await client.query(loadSql(nextJob, nextJob + batch - 1, 'now()'));
      nextJob += batch;
      rows += batch;
    }
    const rate = rows / ((performance.now() - start) / 1000);
    folding = false;
    await folder;
    await client.end();
    return rate;
  }

  const rates: Record<string, { A: number[]; B: number[] }> = { '1': { A: [], B: [] }, '1000': { A: [], B: [] } };
  for (let round = 1; round <= ROUNDS; round++) {
    for (const variant of ['A', 'B'] as const) {
      if (variant === 'B') await admin.query(dropRowTriggers);
      for (const batch of ['1', '1000']) {
        const rate = await ingestRate(Number(batch));
        rates[batch]![variant].push(rate);
        log(`round ${round}, ${variant === 'A' ? 'row triggers installed' : 'row triggers dropped'}, ${batch}-row INSERTs: ${Math.round(rate)} rows/s`);
      }
      if (variant === 'B') await admin.query(createRowTriggers);
    }
  }

  /** ms per row of `statement` over `n` rows, in the given mode, as one statement per row or one in all. */
  async function perRow(mode: 'origin' | 'replica', statements: string[]): Promise<number> {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    await client.query(`SET session_replication_role = ${mode}`);
    const start = performance.now();
    for (const statement of statements) await client.query(statement);
    const ms = performance.now() - start;
    await client.end();
    await admin.query('SELECT job_rollup_fold()');
    return ms;
  }
  const single = (n: number) => Array.from({ length: n }, () => loadSql(nextJob, nextJob++, 'now() - random() * interval \'2 hours\''));
  const N = 2000;
  const writes: { what: string; origin: number; replica: number; rows: number }[] = [];
  writes.push({ what: `INSERT, ${N} one-row statements`, rows: N, origin: await perRow('origin', single(N)), replica: await perRow('replica', single(N)) });
  const byIds = async (n: number) => {
    const { rows } = await admin.query<{ ids: string }>(`SELECT string_agg(id::text, ',') AS ids FROM (SELECT id FROM job_execution_summaries ORDER BY random() LIMIT ${n}) x`);
    return rows[0]!.ids;
  };
  for (const U of CHANGES) {
    const update = async () => `UPDATE job_execution_summaries SET state = 'cancelled', results = '{"cancel_reason": "bench"}' WHERE id IN (${await byIds(U)})`;
    const remove = async () => `DELETE FROM job_execution_summaries WHERE id IN (${await byIds(U)})`;
    writes.push({ what: `UPDATE of ${U} rows (state and reason), one statement`, rows: U, origin: await perRow('origin', [await update()]), replica: await perRow('replica', [await update()]) });
    writes.push({ what: `DELETE of ${U} rows, one statement`, rows: U, origin: await perRow('origin', [await remove()]), replica: await perRow('replica', [await remove()]) });
  }

  const audit = await auditRollups(admin, 5);

  const lines = [
    `\`npm run bench:replica-triggers -- --rows ${ROWS} --seconds ${SECONDS} --rounds ${ROUNDS} --changes ${CHANGES.join(",")}\` (bench/replica-triggers.ts): ${machineLine()}.`,
    '',
    `Ordinary writers (origin), ${ROWS.toLocaleString('en')} rows loaded, one client, ${SECONDS} s a round, ${ROUNDS} rounds of A then B, the fold every second beside; median (rounds):`,
    '',
    '| rows per INSERT | row triggers installed (A) | dropped (B) | A against B |',
    '|---:|---:|---:|---:|',
    ...Object.entries(rates).map(([batch, { A, B }]) =>
      `| ${batch} | ${Math.round(median(A)).toLocaleString('en')} rows/s (${A.map(Math.round).join(', ')}) | ${Math.round(median(B)).toLocaleString('en')} rows/s (${B.map(Math.round).join(', ')}) | ${(((median(A) - median(B)) / median(B)) * 100).toFixed(1)} % |`),
    '',
    'Writes in replica mode (row triggers) against origin (statement triggers), ms per row:',
    '',
    '| write | origin | replica |',
    '|---|---:|---:|',
    ...writes.map((w) => `| ${w.what} | ${(w.origin / w.rows).toFixed(3)} | ${(w.replica / w.rows).toFixed(3)} |`),
    '',
    `The rollups against a rebuild from the raw rows at the end: ${audit.length === 0 ? 'equal' : `${audit.length} difference(s): ${audit.join('; ')}`}.`,
  ];
  console.log(lines.join('\n'));
  if (audit.length > 0) process.exitCode = 1;
} finally {
  await admin.end().catch(() => undefined);
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
