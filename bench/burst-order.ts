/**
 * npm run bench:burst-order — what the order of a burst's rows costs the 1 h window. Two fresh
 * embedded databases, each 1M rows over a year (the seed's shape) plus 1M rows in the last hour,
 * stamped at random within the hour (as bench:shapes does) or in arrival order (as rows written
 * when they happen are). The 1 h window's start reads its partial minute from raw rows: at random,
 * those rows lie on nearly as many heap pages. Runs the system window query (1, 2, 24 h) 21 times
 * each, straight on PostgreSQL, and prints p50 and p95 (docs/BENCHMARKS.md, run 3).
 */
import { rollupMetricsQuery } from '../src/metrics/rollup/rollup-metrics-query.ts';
import { loadSql } from './lib/seed-shape.ts';
import { yearDatabase } from './lib/year-database.ts';

const ROWS = 1_000_000;
const BURST = 1_000_000;
for (const order of ['random', 'arrival'] as const) {
  const db = await yearDatabase(ROWS, 'burst-order');
  const c = db.client;
  const stamp = order === 'random' ? `now() - make_interval(secs => 3600 * random())` : `now() - make_interval(secs => 3600.0 * (${ROWS + BURST} - i) / ${BURST})`;
  await c.query(loadSql(ROWS + 1, ROWS + BURST, stamp));
  await c.query('VACUUM ANALYZE job_execution_summaries');
  for (const hours of [1, 2, 24]) {
    const q = rollupMetricsQuery(hours, 0);
    const text = q.sql.replaceAll('$slonik_', '$');
    const ms: number[] = [];
    for (let i = 0; i < 21; i++) {
      const t = performance.now();
      const r = await c.query({ name: `w${hours}`, text, values: q.values as unknown[] });
      ms.push(performance.now() - t);
      if (i === 20) console.log(order, `${hours} h`, 'raw rows', r.rows[0].raw_rows);
    }
    ms.sort((a, b) => a - b);
    console.log(order, `${hours} h`, `p50 ${ms[10]!.toFixed(1)} ms, p95 ${ms[19]!.toFixed(1)} ms`);
  }
  await db.stop();
}
