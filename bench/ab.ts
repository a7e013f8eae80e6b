/**
 * npm run bench:ab -- --a http://localhost:3101 --b http://localhost:3100 [--worker NAME]
 *   [--hours 24,168,720,2160,8760] [--connections 10] [--duration 15] [--rounds 2] [--sequential 40]
 *
 * Two running services (say, two commits on the same database, both with METRICS_COALESCE=off)
 * asked the same questions in turn, so their ratio comes from one run on one machine: first each
 * window one request at a time (p50/p95), then `connections` clients cycling through every window
 * of the system and the worker at once (req/s, p50/p99), A then B, `rounds` times after a 3 s
 * warm-up of each. Prints a Markdown table; nothing is written.
 */
import autocannon from 'autocannon';
import { parseArgs } from 'node:util';
import { machineLine } from './machine.ts';

const { values: args } = parseArgs({
  options: {
    a: { type: 'string', default: 'http://localhost:3101' },
    b: { type: 'string', default: 'http://localhost:3100' },
    worker: { type: 'string', default: 'EventasaurusDiscovery.Sources.Cinema.Jobs.ShowtimeProcessJob' },
    hours: { type: 'string', default: '24,168,720,2160,8760' },
    connections: { type: 'string', default: '10' },
    duration: { type: 'string', default: '15' },
    rounds: { type: 'string', default: '2' },
    sequential: { type: 'string', default: '40' },
  },
});
const services = { A: args.a, B: args.b };
const hours = args.hours.split(',').map(Number);
const paths = hours.flatMap((h) => [`/metrics/system?hours=${h}`, `/metrics/worker/${encodeURIComponent(args.worker)}?hours=${h}`]);

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

async function sequential(base: string, path: string, n: number) {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    const response = await fetch(base + path);
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`${base}${path}: ${response.status}`);
    times.push(performance.now() - start);
  }
  return times.sort((x, y) => x - y);
}

const concurrent = (base: string, duration: number) =>
  autocannon({ url: base, connections: Number(args.connections), duration, requests: paths.map((path) => ({ path })) }) as unknown as Promise<autocannon.Result>;

console.log(`# A: ${args.a}, B: ${args.b}\n\n${machineLine()}\n`);
console.log('| window, one client | A p50 / p95 ms | B p50 / p95 ms |\n|---|---:|---:|');
for (const path of paths) {
  const cells: string[] = [];
  for (const base of Object.values(services)) {
    const times = await sequential(base, path, Number(args.sequential));
    cells.push(`${quantile(times, 0.5).toFixed(1)} / ${quantile(times, 0.95).toFixed(1)}`);
  }
  console.log(`| ${decodeURIComponent(path)} | ${cells.join(' | ')} |`);
}

console.log(`\n| ${args.connections} connections, ${paths.length} windows | req/s | p50 ms | p99 ms | non-2xx |\n|---|---:|---:|---:|---:|`);
for (let round = 1; round <= Number(args.rounds); round++) {
  for (const [name, base] of Object.entries(services)) {
    await concurrent(base, 3);
    const result = await concurrent(base, Number(args.duration));
    console.log(`| ${name}, round ${round} | ${result.requests.average.toFixed(0)} | ${result.latency.p50} | ${result.latency.p99} | ${result.non2xx} |`);
  }
}
