import { sql, type DatabasePool } from 'slonik';
import { STATES, type JobState } from '../../src/schemas/common.ts';

/** JSON as it can be stored in `results`; `undefined` there means SQL NULL. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface TestRow {
  job_id: number;
  attempt?: number;
  worker: string;
  queue?: string | null;
  state: JobState;
  /** `undefined`: SQL NULL; `null`: the JSON value null. */
  results?: Json;
  duration_ms?: number | null;
  /** Seconds before the database's now(); negative means in the future. */
  age_s: number;
  /** When set, the row's inserted_at in ms since the epoch instead (`age_s` is then not used). */
  at?: number;
}

/** Plain multi-row INSERT, as a worker's telemetry handler would write it. */
export async function insertRows(pool: DatabasePool, rows: readonly TestRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) {
    const values = rows.slice(i, i + 500).map(
      (r) => sql.fragment`(
        ${r.job_id}, ${r.attempt ?? 1}, ${r.worker}, ${r.queue ?? null}, ${r.state},
        ${r.results === undefined ? null : sql.jsonb(r.results)}, ${r.duration_ms ?? null},
        ${r.at === undefined ? sql.fragment`now() - make_interval(secs => ${r.age_s})` : sql.fragment`${new Date(r.at).toISOString()}::timestamptz`}
      )`,
    );
    await pool.query(sql.unsafe`
      INSERT INTO job_execution_summaries (job_id, attempt, worker, queue, state, results, duration_ms, inserted_at)
      VALUES ${sql.join(values, sql.fragment`, `)}
    `);
  }
}

/** What `results ->> 'cancel_reason'` returns, computed without PostgreSQL. */
export function reasonOf(results: Json | undefined): string | null {
  if (results === undefined || results === null || typeof results !== 'object' || Array.isArray(results)) return null;
  const value = results.cancel_reason;
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  // jsonb's text form of containers: `{"k": 1}` / `[1, 2]` (a space after ':' and ',').
  return JSON.stringify(value).replaceAll('":', '": ').replaceAll(',', ', ');
}

/** Code-point order (PostgreSQL's COLLATE "C" on UTF-8), which JavaScript's `<` is not. */
export const codePointCompare = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

function percentileCont(sorted: number[], p: number): number {
  const position = p * (sorted.length - 1);
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (position - lower);
}

/** The contract's answer for rows inserted by a test, computed independently of the service's SQL. */
export function oracle(rows: readonly TestRow[], hours: number, worker?: string, reasonsLimit?: number) {
  const inWindow = rows.filter(
    (r) => r.age_s >= 0 && r.age_s < hours * 3600 && (worker === undefined || r.worker === worker),
  );
  const states = Object.fromEntries(STATES.map((s) => [s, inWindow.filter((r) => r.state === s).length]));
  const cancelled = inWindow.filter((r) => r.state === 'cancelled');
  const counts = new Map<string, number>();
  let unknown = 0;
  for (const row of cancelled) {
    const reason = reasonOf(row.results);
    if (reason === null) unknown += 1;
    else counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  const every = [...counts]
    .map(([reason, count]) => ({ reason, count }))
    .sort((a, b) => b.count - a.count || codePointCompare(a.reason, b.reason));
  const by_reason = every.slice(0, reasonsLimit ?? every.length);
  const left = every.slice(by_reason.length);
  const other_reasons = { count: left.reduce((sum, r) => sum + r.count, 0), reasons: left.length };
  const durations = inWindow
    .map((r) => r.duration_ms)
    .filter((d): d is number => typeof d === 'number')
    .sort((a, b) => a - b);
  return {
    executions: inWindow.length,
    states,
    success_rate: inWindow.length === 0 ? null : states.completed! / inWindow.length,
    cancellations: { total: cancelled.length, unknown, by_reason, other_reasons },
    duration_ms:
      durations.length === 0
        ? null
        : {
            avg: durations.reduce((a, b) => a + b, 0) / durations.length,
            p50: percentileCont(durations, 0.5),
            p95: percentileCont(durations, 0.95),
            p99: percentileCont(durations, 0.99),
            max: durations.at(-1)!,
          },
  };
}

type Durations = ReturnType<typeof oracle>['duration_ms'];

/**
 * How an answer's durations differ from the oracle's as the contract allows: avg (1e-9 relative) and
 * max exact, p50/p95/p99 within the answer's `meta.percentile_error_bound` (0 when exact).
 */
export function durationDifferences(found: Durations, expected: Durations, bound = 0): string[] {
  if (found === null || expected === null) return found === expected ? [] : [`duration_ms: ${JSON.stringify(found)} ≠ ${JSON.stringify(expected)}`];
  const tolerance = (key: 'avg' | 'p50' | 'p95' | 'p99') => (key === 'avg' ? 1e-9 : Math.max(1e-9, bound)) * Math.max(1, expected[key]);
  const keys = ['avg', 'p50', 'p95', 'p99'] as const;
  return [
    ...keys.filter((key) => Math.abs(found[key] - expected[key]) > tolerance(key)).map((key) => `${key}: ${found[key]} ≠ ${expected[key]}`),
    ...(found.max === expected.max ? [] : [`max: ${found.max} ≠ ${expected.max}`]),
  ];
}
