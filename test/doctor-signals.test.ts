import t from 'tap';
import { sql } from 'slonik';
import { differences } from '../src/doctor/compare.ts';
import { UNKNOWN_SHARE } from '../src/doctor/metrics-checks.ts';
import { createMetricsRepository } from '../src/metrics/metrics-repository.ts';
import { failures, runScript } from './helpers/cli.ts';
import { startTestDatabase } from './helpers/database.ts';
import { nastyRows } from './helpers/nasty-rows.ts';
import { insertRows, type TestRow } from './helpers/rows.ts';

const db = await startTestDatabase(t);
await insertRows(db.pool, nastyRows());
const env = { DATABASE_URL: db.url };
const doctor = (extra: Record<string, string> = {}) => runScript('doctor', [], { ...env, ...extra });

t.test('§2 a writer that stopped recording reasons shows as a jump', async (t) => {
  const worker = 'Jumpy.Worker';
  const rows: TestRow[] = [];
  // The 7 days before: 40 cancellations, 8 without a reason (20 %). The last day: 30, all without.
  for (let i = 0; i < 40; i++) {
    rows.push({ job_id: 7_000_000 + i, worker, state: 'cancelled', results: i < 8 ? {} : { cancel_reason: 'gone' }, age_s: (2 + (i % 5)) * 86_400 });
  }
  for (let i = 0; i < 30; i++) rows.push({ job_id: 7_100_000 + i, worker, state: 'cancelled', results: { other: i }, age_s: 3_600 + i });
  await insertRows(db.pool, rows);
  const result = await doctor();
  t.equal(result.code, 1);
  t.match(failures(result), [/^FAIL  unknown share per worker/]);
  t.match(result.stdout, /Jumpy\.Worker: 100\.0 % unknown of 30 cancelled in the last 24 h, 20\.0 % of 40 before \(\+80\.0 points\)/);
  t.ok(UNKNOWN_SHARE.JUMP_POINTS <= 80 && UNKNOWN_SHARE.MIN_CANCELLED <= 30, 'the documented threshold is what flagged it');
  await db.pool.query(sql.unsafe`DELETE FROM job_execution_summaries WHERE worker = ${worker}`);
  t.equal((await doctor()).code, 0);
});

t.test('§2 the compare prints every figure that differs from the database', async (t) => {
  const metrics = createMetricsRepository(db.pool);
  const answer = await metrics.systemMetrics(168);
  t.same(await differences(db.pool, answer), [], 'the repository agrees with the seed’s count');
  const tampered = structuredClone(answer);
  tampered.cancellations.unknown += 1;
  tampered.cancellations.by_reason = tampered.cancellations.by_reason.slice(1);
  const dropped = answer.cancellations.by_reason[0]!;
  t.same((await differences(db.pool, tampered)).sort(), [
    `cancellations.unknown: answer ${answer.cancellations.unknown + 1}, database ${answer.cancellations.unknown}`,
    `reason ${JSON.stringify(dropped.reason)}: answer 0, database ${dropped.count}`,
  ].sort());
});

t.test('§1 SQL time over DOCTOR_MAX_MS fails both metrics questions', async (t) => {
  const result = await doctor({ DOCTOR_MAX_MS: '0' });
  t.equal(result.code, 1);
  t.match(failures(result), [/^FAIL  SQL time: system metrics \(24 h\)/, /^FAIL  SQL time: busiest worker /]);
  const bad = await doctor({ DOCTOR_MAX_MS: 'fast' });
  t.equal(bad.code, 1);
  t.match(bad.stderr, /DOCTOR_MAX_MS must be a whole number/);
});

t.test('an unreachable database is one clear failure', async (t) => {
  const result = await runScript('doctor', [], { DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:1/none' });
  t.equal(result.code, 1);
  t.match(failures(result), [/^FAIL  database reachable: 127\.0\.0\.1:1\/none: connect ECONNREFUSED/]);
  t.match(result.stdout, /doctor: 1 of 1 checks failed/);
});
