/**
 * npm run bench:windows -- [--url http://localhost:3000] [--worker NAME ...] [--connections 1,10]
 *   [--seconds 20] [--max-hours 8760] [--json FILE] [--service-pid PID] [--postgres-pid PID]
 *
 * Random different windows against a service that is already running, on your database: the load
 * that coalescing cannot help (bench/lib/random-windows.ts). Without --worker it asks the service
 * for its workers and picks the biggest and the smallest by executions over a year, beside the
 * system. For each number of connections, after a 3 s warm-up: req/s and latency, then where the
 * time went by question and by how the service answered (`meta.method`), and the slowest URLs.
 * Prints Markdown (and writes every request to --json); reads only, writes nothing to the service.
 * With the service's process id and the postmaster's (same machine), it also says how much CPU each
 * request cost the service, PostgreSQL and the load generator: what bounds req/s on these cores.
 */
import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { cpuSnapshot } from './lib/cpu.ts';
import { machineLine } from './machine.ts';
import { breakdownTable, forSeconds, load, randomQuestion, slowestTable, summarise, type Scope } from './lib/random-windows.ts';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://localhost:3000' },
    worker: { type: 'string', multiple: true },
    connections: { type: 'string', default: '1,10' },
    seconds: { type: 'string', default: '20' },
    'max-hours': { type: 'string', default: '8760' },
    json: { type: 'string' },
    'service-pid': { type: 'string' },
    'postgres-pid': { type: 'string' },
  },
});
const servicePid = args['service-pid'] === undefined ? undefined : Number(args['service-pid']);
const postgresPid = args['postgres-pid'] === undefined ? undefined : Number(args['postgres-pid']);
const base = args.url.replace(/\/$/, '');
const connections = args.connections.split(',').map(Number);
const seconds = Number(args.seconds);
const maxHours = Number(args['max-hours']);
if (connections.some((c) => !Number.isInteger(c) || c < 1) || !(seconds > 0) || !Number.isInteger(maxHours) || maxHours < 1) {
  throw new Error('--connections takes positive integers (1,10), --seconds a positive number, --max-hours a positive integer');
}
const measureCpu = servicePid !== undefined || postgresPid !== undefined;
if (measureCpu && [servicePid, postgresPid].some((pid) => pid === undefined || !(Number.isInteger(pid) && pid > 0))) {
  throw new Error('--service-pid and --postgres-pid go together and take process ids (the postmaster: the first line of postmaster.pid)');
}

/** CPU so far, or NaN everywhere when the process ids were not given. */
const cpuNow = async () =>
  servicePid === undefined || postgresPid === undefined ? { service: NaN, postgres: NaN, generator: NaN } : cpuSnapshot(servicePid, postgresPid);

async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(base + path);
  if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** The biggest and the smallest worker by executions over the year (at most the first 200 asked). */
async function pickWorkers(): Promise<string[]> {
  const { workers } = await getJson<{ workers: { worker: string }[] }>('/metrics/workers');
  const sized: [string, number][] = [];
  for (const { worker } of workers.slice(0, 200)) {
    const { executions } = await getJson<{ executions: number }>(`/metrics/worker/${encodeURIComponent(worker)}?hours=8760`);
    if (executions > 0) sized.push([worker, executions]);
  }
  sized.sort((a, b) => b[1] - a[1]);
  return [...new Set([sized[0]?.[0], sized.at(-1)?.[0]].filter((w) => w !== undefined))];
}

const workers = args.worker ?? (await pickWorkers());
const scopes: Scope[] = [
  ['system', '/metrics/system'],
  ...workers.map((w): Scope => [`worker ${w.length > 40 ? `${w.slice(0, 39)}…` : w}`, `/metrics/worker/${encodeURIComponent(w)}`]),
];
const ask = () => randomQuestion(scopes, maxHours);

const command = `npm run bench:windows -- ${process.argv.slice(2).join(' ')}`.trim();
const header = `\`${command}\` (bench/windows.ts) against ${base}: random windows 1–${maxHours} h of ${scopes.map(([label]) => label).join(', ')}; ` +
  `a time series one time in seven. ${machineLine()}.`;
const everything: Record<string, unknown> = { command, base, scopes };
const summaries: string[] = [];
const cpuRows: string[] = [];
const sections: string[] = [];
for (const clients of connections) {
  await load(base, clients, forSeconds(3), ask);
  const cpuBefore = await cpuNow();
  const { runs, seconds: took } = await load(base, clients, forSeconds(seconds), ask);
  const cpuAfter = await cpuNow();
  const s = summarise(runs, took);
  const perRequest = (key: keyof typeof cpuAfter) => (cpuAfter[key] - cpuBefore[key]) / runs.length;
  const cpu = { service: perRequest('service'), postgres: perRequest('postgres'), generator: perRequest('generator') };
  everything[`connections_${clients}`] = { summary: s, cpu_ms_per_request: cpu, runs };
  const spent = cpu.service + cpu.postgres + cpu.generator;
  cpuRows.push(
    `| ${clients} | ${s.per_s.toFixed(0)} | ${cpu.service.toFixed(2)} | ${cpu.postgres.toFixed(2)} | ${cpu.generator.toFixed(2)} | ` +
      `${(((spent * runs.length) / (took * 1000 * availableParallelism())) * 100).toFixed(0)} % | ${Math.round((availableParallelism() * 1000) / spent)} |`,
  );
  summaries.push(
    `| ${clients} | ${s.requests} | ${s.per_s.toFixed(0)} | ${s.p50.toFixed(1)} | ${s.p95.toFixed(1)} | ${s.p99.toFixed(1)} | ${s.max.toFixed(0)} | ${s.non_200} |`,
  );
  sections.push(`### ${clients} connection${clients === 1 ? '' : 's'}, ${took.toFixed(0)} s`, '', ...breakdownTable(runs), '', ...slowestTable(runs), '');
}
console.log(
  [
    header,
    '',
    '| connections | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | not 200 |',
    '|---:|---:|---:|---:|---:|---:|---:|---|',
    ...summaries,
    '',
    ...(!measureCpu
      ? []
      : [
          `CPU per request (from /proc; the ceiling divides the ${availableParallelism()} cores by all three):`,
          '',
          '| connections | req/s | service ms | PostgreSQL ms | load generator ms | of the cores | req/s ceiling |',
          '|---:|---:|---:|---:|---:|---:|---:|',
          ...cpuRows,
          '',
        ]),
    ...sections,
  ].join('\n'),
);
if (args.json) await writeFile(args.json, `${JSON.stringify(everything, null, 2)}\n`);
