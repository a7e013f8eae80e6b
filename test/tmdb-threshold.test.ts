import t from 'tap';
import { sql } from 'slonik';
import { createTmdbThresholdRepository } from '../src/analysis/tmdb-threshold-repository.ts';
import { ensureDemoData, SHOWTIME_WORKER } from '../src/demo/demo-data.ts';
import { seedSyntheticRows } from '../src/demo/synthetic-data.ts';
import { get, startTestApp } from './helpers/app.ts';
import { startTestDatabase } from './helpers/database.ts';
import { bandJobIds, matchAttemptRows, thresholdOracle } from './helpers/match-attempts.ts';
import { insertRows } from './helpers/rows.ts';

const db = await startTestDatabase(t);
const app = await startTestApp(t, db);
const repository = createTmdbThresholdRepository(db.pool);

const rows = matchAttemptRows();
await insertRows(db.pool, rows);

t.test('the endpoint equals the oracle for every band and window', async (t) => {
  // from ≥ to is an empty band, served: the spec allows any from and to from 0 to 100.
  const bands = [[45, 50], [0, 100], [0, 1], [44, 45], [49, 50], [50, 51], [99, 100], [0, 50], [50, 45], [50, 50], [100, 0]];
  for (const hours of [1, 24, 720, 8760]) {
    for (const [from, to] of bands) {
      const response = await get(t, app, `/analysis/tmdb-threshold?from=${from}&to=${to}&hours=${hours}`);
      t.equal(response.statusCode, 200);
      const { window, ...counts } = response.json();
      t.same(counts, thresholdOracle(rows, from!, to!, hours), `${from}–${to}, ${hours} h`);
      t.equal(Date.parse(window.to) - Date.parse(window.from), hours * 3_600_000);
    }
  }
  const { window: _window, ...defaults } = (await get(t, app, '/analysis/tmdb-threshold?unknown=1')).json();
  t.same(defaults, thresholdOracle(rows, 45, 50, 720), 'defaults: 45–50 over 720 hours');
  t.ok(defaults.invalid_confidence >= 9, 'numeric strings, booleans, containers and out-of-range numbers are invalid');
});

t.test('bad from, to or hours is a 400 problem naming the parameter', async (t) => {
  const cases: [string, RegExp][] = [
    ['from=101', /"from"/],
    ['to=101', /"to"/],
    ['from=-1', /"from"/],
    ['from=1.5', /"from"/],
    ['from=0x2d', /"from"/],
    ['to=abc', /"to"/],
    ['to=', /"to"/],
    ['from=1&from=2', /"from" must be given once/],
    ['hours=0', /"hours"/],
    ['hours=8761', /"hours"/],
  ];
  for (const [query, detail] of cases) {
    const response = await get(t, app, `/analysis/tmdb-threshold?${query}`);
    t.equal(response.statusCode, 400, query);
    t.match(response.json(), { status: 400, detail });
  }
});

t.test('leading zeros are plain decimal digits too: from=045&to=050 is 45–50', async (t) => {
  const padded = (await get(t, app, '/analysis/tmdb-threshold?from=045&to=050')).json();
  const plain = (await get(t, app, '/analysis/tmdb-threshold?from=45&to=50')).json();
  t.same(padded.band, plain.band);
  t.equal(padded.attempts, plain.attempts);
});

t.test('the sampler is reproducible for a seed and draws only from the band and the window', async (t) => {
  const population = new Set(bandJobIds(rows, 45, 50, 720));
  t.ok(population.size > 60, `${population.size} attempts in 45–50 within 720 h`);
  const first = await repository.sample({ from: 45, to: 50 }, 720, 40, '1');
  t.same(await repository.sample({ from: 45, to: 50 }, 720, 40, '1'), first, 'the same seed draws the same rows');
  t.equal(first.length, 40);
  t.equal(new Set(first.map((r) => r.job_id)).size, 40, 'without replacement');
  t.ok(first.every((r) => population.has(r.job_id)), 'every row is an attempt in the band and window');
  t.ok(first.every((r) => Number(r.confidence) >= 45 && Number(r.confidence) < 50));
  const other = await repository.sample({ from: 45, to: 50 }, 720, 40, '2');
  t.not(other.map((r) => r.job_id).join(), first.map((r) => r.job_id).join(), 'another seed draws another sample');
  t.same((await repository.sample({ from: 45, to: 50 }, 720, 80, '1')).slice(0, 40), first, 'a larger sample extends the smaller');
  const all = await repository.sample({ from: 45, to: 50 }, 720, 1000, '1');
  t.same(new Set(all.map((r) => r.job_id)), population, 'asking for more than there are returns all of them');
  const edges = await repository.sample({ from: 0, to: 100 }, 1, 1000, '7');
  t.same(new Set(edges.map((r) => r.job_id)), new Set(bandJobIds(rows, 0, 100, 1)), 'the edge values: 0 in, 100 out of 0–100');
  const untitled = edges.find((r) => r.title === '');
  t.match(untitled, { title: '', candidate_title: '', tmdb_id: '', confidence: '47', verdict: '' }, 'absent keys are empty fields');
});

t.test('the demo data keeps the seed figures and has match attempts in every 5-point band', async (t) => {
  await db.pool.query(sql.unsafe`DELETE FROM job_execution_summaries`);
  const empty = (await get(t, app, '/analysis/tmdb-threshold')).json();
  t.match(empty, { attempts: 0, matched: 0, in_band: 0, match_rate: null, projected_match_rate: null }, 'no attempts: zeros and null rates');
  t.equal(await ensureDemoData(db.pool), 'loaded');
  const metrics = (await get(t, app, '/metrics/system?hours=24')).json();
  t.match(metrics, { executions: 2991, states: { cancelled: 2419 }, cancellations: { total: 2419, unknown: 479 } });
  t.same(metrics.cancellations.by_reason[0], { reason: 'movie not matched', count: 1935 });
  const body = (await get(t, app, '/analysis/tmdb-threshold')).json();
  t.match(body, { band: { from: 45, to: 50 }, attempts: 2035, matched: 100, in_band: 366, invalid_confidence: 0 });
  t.equal(body.window.hours, 720, 'the default window is 720 hours');
  for (let from = 0; from < 100; from += 5) {
    const { in_band } = (await get(t, app, `/analysis/tmdb-threshold?from=${from}&to=${from + 5}&hours=24`)).json();
    t.ok(in_band >= 9, `${from}–${from + 5}: ${in_band} attempts`);
  }
});

t.test('npm run seed rows carry match attempts: hundreds in 45–50 at 20k rows, some in every 5-point band', async (t) => {
  await db.pool.query(sql.unsafe`DELETE FROM job_execution_summaries`);
  await seedSyntheticRows(db.pool, { rows: 20_000, days: 90, workers: 12 });
  const hours = 24 * 91;
  const all = (await get(t, app, `/analysis/tmdb-threshold?from=0&to=100&hours=${hours}`)).json();
  t.equal(all.invalid_confidence, 0);
  t.ok(all.attempts > 8000, `${all.attempts} attempts`);
  for (let from = 0; from < 100; from += 5) {
    const { in_band } = (await get(t, app, `/analysis/tmdb-threshold?from=${from}&to=${from + 5}&hours=${hours}`)).json();
    t.ok(in_band >= (from === 45 ? 300 : 30), `${from}–${from + 5}: ${in_band} attempts`);
  }
  const sample = await repository.sample({ from: 45, to: 50 }, hours, 80, '1');
  t.equal(sample.length, 80);
  t.ok(sample.every((r) => r.worker === SHOWTIME_WORKER && r.title !== '' && r.tmdb_id !== ''));
});

t.test('from ≥ to is an empty band: nothing in it, and the rate at threshold from', async (t) => {
  const raised = (await get(t, app, '/analysis/tmdb-threshold?from=50&to=45&hours=8760')).json();
  const lowered = (await get(t, app, '/analysis/tmdb-threshold?from=45&to=50&hours=8760')).json();
  t.equal(raised.in_band, 0);
  t.equal(raised.matched, lowered.matched + lowered.in_band, 'matched at 45 is what lowering 50 to 45 gives');
  t.ok(raised.projected_match_rate < raised.match_rate, 'raising the threshold from 45 to 50 loses matches');
  t.equal(raised.projected_match_rate, lowered.match_rate, 'the rate at 50 either way');
});
