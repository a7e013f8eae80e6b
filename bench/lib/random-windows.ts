/**
 * Random different windows, as many clients at once: the load that coalescing cannot help, since no
 * two requests in flight ask the same question. Shared by bench/shapes.ts and bench/windows.ts.
 */

/** A scope to ask: its label and its path (`/metrics/system`, `/metrics/worker/{name}`). */
export type Scope = readonly [label: string, path: string];

export interface Timed {
  ms: number;
  status: number;
  path: string;
  label: string;
  meta?: { method: string; rows: number };
}

export const quantile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? NaN;
};

export async function timed(base: string, [label, path]: readonly [string, string]): Promise<Timed> {
  const start = performance.now();
  const response = await fetch(base + path);
  const body = (await response.json().catch(() => ({}))) as { meta?: { method: string; rows: number } };
  return { ms: performance.now() - start, status: response.status, path, label, meta: body.meta };
}

/**
 * A random question: a window of 1 to `maxHours` of any scope, short windows the likelier (hours =
 * 1 + ⌊u² · max⌋, so a third of them are a month or less), a time series one time in seven (by
 * hour up to 720 h, by day beyond, at most 2160 h).
 */
export function randomQuestion(scopes: readonly Scope[], maxHours = 8760): [label: string, path: string] {
  const hours = 1 + Math.floor(Math.random() ** 2 * maxHours);
  const [label, path] = scopes[Math.floor(Math.random() * scopes.length)]!;
  if (Math.random() < 1 / 7) {
    return [`${label} timeseries`, `${path}/timeseries?hours=${Math.min(hours, 2160)}&bucket=${hours > 720 ? 'day' : 'hour'}`];
  }
  return [label, `${path}?hours=${hours}`];
}

export interface LoadSummary {
  requests: number;
  per_s: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  non_200: string;
}

export function summarise(runs: readonly Timed[], seconds: number): LoadSummary {
  const times = runs.map((r) => r.ms);
  const statuses = new Map<number, number>();
  for (const r of runs) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
  return {
    requests: runs.length,
    per_s: runs.length / seconds,
    p50: quantile(times, 0.5),
    p95: quantile(times, 0.95),
    p99: quantile(times, 0.99),
    // Not Math.max(...times): the hello-world route answers 120k+ requests in 5 s, past the call stack.
    max: times.reduce((a, b) => Math.max(a, b), -Infinity),
    non_200: [...statuses].filter(([s]) => s !== 200).map(([s, n]) => `${n} × ${s}`).join(', ') || '0',
  };
}

/** `clients` loops of questions until `until()` says stop: every request timed, and the wall time. */
export async function load(
  base: string,
  clients: number,
  until: () => boolean | Promise<boolean>,
  question: () => readonly [string, string],
): Promise<{ runs: Timed[]; seconds: number }> {
  const runs: Timed[] = [];
  let stop = false;
  const watcher = (async () => {
    while (!(await until())) await new Promise((r) => setTimeout(r, 100));
    stop = true;
  })();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (!stop) runs.push(await timed(base, question()));
    }),
  );
  await watcher;
  return { runs, seconds: (performance.now() - started) / 1000 };
}

export const forSeconds = (s: number) => {
  const end = performance.now() + s * 1000;
  return () => performance.now() >= end;
};

/**
 * Where the time goes: a Markdown table of the runs by question (scope, and time series or not) and
 * by how the service answered (`meta.method`), slowest p95 first, with each group's share of the
 * total time spent waiting.
 */
export function breakdownTable(runs: readonly Timed[]): string[] {
  const groups = new Map<string, number[]>();
  for (const r of runs) {
    const key = `${r.label} | ${r.status === 200 ? (r.meta?.method ?? '—') : `status ${r.status}`}`;
    groups.set(key, [...(groups.get(key) ?? []), r.ms]);
  }
  const total = runs.reduce((sum, r) => sum + r.ms, 0);
  const rows = [...groups]
    .map(([key, times]) => ({ key, times, p95: quantile(times, 0.95) }))
    .sort((a, b) => b.p95 - a.p95)
    .map(({ key, times, p95 }) => {
      const share = (times.reduce((a, b) => a + b, 0) / total) * 100;
      return `| ${key} | ${times.length} | ${quantile(times, 0.5).toFixed(1)} | ${p95.toFixed(1)} | ${quantile(times, 0.99).toFixed(1)} | ${share.toFixed(0)} % |`;
    });
  return ['| question | answered by | requests | p50 ms | p95 ms | p99 ms | share of time |', '|---|---|---:|---:|---:|---:|---:|', ...rows];
}

/** The slowest requests, with what the service said it read. */
export function slowestTable(runs: readonly Timed[], n = 10): string[] {
  const rows = [...runs]
    .sort((a, b) => b.ms - a.ms)
    .slice(0, n)
    .map((r) => `| \`${r.path}\` | ${r.ms.toFixed(1)} | ${r.status} | ${r.meta ? `${r.meta.method}, ${r.meta.rows} rows` : ''} |`);
  return ['| URL | ms | status | meta |', '|---|---:|---:|---|', ...rows];
}
