/**
 * npm run bench:burst-order — what a dense hour costs the windows that start or end inside it.
 * Fresh embedded databases, each 1M rows over a year (the seed's shape) plus 1M rows in the last
 * hour, stamped at random within the hour (as bench:shapes does), in arrival order (as rows written
 * when they happen are), or at random from 58 minutes back to 2 minutes ahead (a writer whose clock
 * runs ahead: the minute holding now() is dense and has rows after now()).
 *
 * A window's first partial minute is read from raw rows (at random, those rows lie on nearly as
 * many heap pages), or, in the first half of the minute, the minute's rollup row minus the rows
 * before the window (window-pieces.ts, `flip`); the last minute likewise when rows lie after now()
 * (`end_flip`). For 60 s, once a second (so the window's start sweeps every second of a minute),
 * runs the system window query for 1, 2 and 24 h straight on PostgreSQL, as it is and with both flips
 * turned off, and prints p50, p95 and the raw rows read of each (docs/BENCHMARKS.md).
 */
import { rollupMetricsQuery } from '../src/metrics/rollup/rollup-metrics-query.ts';
import { FLIP_MIN_ROWS } from '../src/metrics/rollup/window-pieces.ts';
import { machine } from './lib/seeded-database.ts';
import { loadSql } from './lib/seed-shape.ts';
import { yearDatabase } from './lib/year-database.ts';

const ROWS = 1_000_000;
const BURST = 1_000_000;
const SECONDS = 60;
const WINDOWS = [1, 2, 24];
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

const STAMPS = {
  random: `now() - make_interval(secs => 3600 * random())`,
  arrival: `now() - make_interval(secs => 3600.0 * (${ROWS + BURST} - i) / ${BURST})`,
  'skewed clock': `now() - make_interval(secs => 3600 * random() - 120)`,
};

for (const [order, stamp] of Object.entries(STAMPS)) {
  const db = await yearDatabase(ROWS, 'burst-order');
  const c = db.client;
  await c.query(loadSql(ROWS + 1, ROWS + BURST, stamp));
  await c.query('VACUUM ANALYZE job_execution_summaries');
  if (order === 'random') {
    const info = await machine(db.url);
    console.log(`npm run bench:burst-order: commit ${info.commit}, ${info.cpus}, PostgreSQL ${info.postgres}, load ${info.load}`);
  }
  const variants = WINDOWS.flatMap((hours) => {
    const q = rollupMetricsQuery(hours, 0);
    const text = q.sql.replaceAll('$slonik_', '$');
    const values = q.values as unknown[];
    // The flips off: their threshold (the two bound values equal to FLIP_MIN_ROWS) out of reach.
    const off = values.map((v) => (v === FLIP_MIN_ROWS ? Number.MAX_SAFE_INTEGER : v));
    if (off.filter((v, i) => v !== values[i]).length !== 2) throw new Error('cannot find the flip thresholds among the bound values');
    return [
      { label: `${hours} h`, name: `w${hours}`, text, values, ms: [] as number[], raw: [] as number[] },
      { label: `${hours} h, no flip`, name: `n${hours}`, text, values: off, ms: [] as number[], raw: [] as number[] },
    ];
  });
  for (let second = 0; second < SECONDS; second++) {
    const started = Date.now();
    for (const v of variants) {
      const t = performance.now();
      const r = await c.query({ name: v.name, text: v.text, values: v.values });
      v.ms.push(performance.now() - t);
      v.raw.push(Number(r.rows[0].raw_rows));
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1000 - (Date.now() - started))));
  }
  for (const v of variants) {
    console.log(`${order}, ${v.label}: p50 ${pct(v.ms, 0.5).toFixed(1)} ms, p95 ${pct(v.ms, 0.95).toFixed(1)} ms; raw rows p50 ${pct(v.raw, 0.5)}, max ${Math.max(...v.raw)}`);
  }
  await db.stop();
}
