/**
 * npm run bench:pending-shrink — does the pending table keep its empty pages after a burst drained
 * under reads? 1M rows over a year (the seed's shape), the service folding every second, then 300k
 * rows in the last hour by plain SQL while two clients read random windows until the fold drains
 * them. Prints job_rollup_pending's size on disk and the big worker's 8760 h window (p50 of 20)
 * before the burst, after the drain, and after a VACUUM with no readers. fold-loop.ts's
 * shrinkPending is what keeps the second line at 0 bytes (docs/BENCHMARKS.md, "run 1" at 10M).
 */
import { BIG_WORKER, loadSql } from './lib/seed-shape.ts';
import { yearDatabase } from './lib/year-database.ts';
import { startService } from './service.ts';

const ROWS = 1_000_000;
const db = await yearDatabase(ROWS, 'pending-shrink');
const admin = db.client;
const svc = await startService({ DATABASE_URL: db.url, LOG_LEVEL: 'warn', METRICS_COALESCE: 'off' });
const size = async () => (await admin.query(`SELECT pg_relation_size('job_rollup_pending') AS s, (SELECT count(*) FROM job_rollup_pending) AS n`)).rows[0];
const url = `${svc.base}/metrics/worker/${encodeURIComponent(BIG_WORKER)}?hours=8760`;
const time = async () => {
  const ms: number[] = [];
  for (let i = 0; i < 20; i++) { const t = performance.now(); await (await fetch(url)).json(); ms.push(performance.now() - t); }
  ms.sort((a, b) => a - b);
  return `p50 ${ms[10]!.toFixed(1)} ms`;
};
console.log('before burst', await size(), await time());
await admin.query(loadSql(ROWS + 1, ROWS + 300_000, `now() - make_interval(secs => 3600 * random())`));
let stop = false;
const readers = Array.from({ length: 2 }, async () => {
  while (!stop) await (await fetch(`${svc.base}/metrics/system?hours=${1 + Math.floor(Math.random() * 8760)}`)).text();
});
while (Number((await size()).n) > 0) await new Promise((r) => setTimeout(r, 200));
stop = true;
await Promise.all(readers);
await new Promise((r) => setTimeout(r, 3000));
console.log('drained under reads', await size(), await time());
await admin.query('VACUUM job_rollup_pending');
console.log('after a VACUUM with no readers', await size(), await time());
await svc.stop();
await db.stop();
