import type { CommonQueryMethods } from 'slonik';
import type { Compare, SystemMetrics } from '../schemas/metrics.ts';
import { statesOf } from './state-counts.ts';
import { windowMetricsQuery } from './window-metrics-query.ts';
import { LRUCache } from 'lru-cache';
import { HistogramCache } from './rollup/histogram-cache.ts';
import { exactWindow, readRollupRow, rollupWindow, type ComputedWindow } from './rollup/rollup-metrics.ts';
import { windowSizeQuery } from './rollup/window-size-query.ts';

/**
 * How a metrics window is answered (the strategy behind GET /metrics/system and /metrics/worker):
 * - a window that holds few rows (≤ `exactMaxRows`), however long, from the raw rows: exact
 *   percentile_cont (`meta.method: "exact"`);
 * - a larger one, however short (an hour can hold a million rows), from the rollups plus under a
 *   minute of raw rows at each end, percentiles within the bound (`"rollup"`);
 * - a window reaching before the retention horizon from the rollups whatever its size: its oldest
 *   raw rows may be gone.
 * The size comes from the rollup counts and a bounded look at the pending rows, so only one of the
 * two window queries runs. A window at least as long as one last found large in its scope is read
 * from the rollups at once, the size asked in the same statement; should it be small after all, the
 * exact query runs.
 */
export interface WindowStrategy {
  exactMaxRows: number;
  retentionDays?: number;
  /** The rollup rows' histograms the service holds between reads. */
  histograms: HistogramCache;
  /**
   * Per scope (worker, or the system), the shortest window last found large. Windows share their end,
   * now(), so a longer window holds every row of a shorter one (and reaches further back, past the
   * retention horizon if it did): a window at least that long goes straight to the rollup query,
   * which brings the size check along (one round trip instead of two), even the first time it is
   * asked, as random windows always are.
   */
  largeFrom: LRUCache<string, number>;
}

export const createWindowStrategy = (exactMaxRows: number, retentionDays?: number): WindowStrategy => ({
  exactMaxRows,
  retentionDays,
  histograms: new HistogramCache(),
  largeFrom: new LRUCache({ max: 1_000 }),
});

/** A window ending now: its length, its scope (a worker, or the system) and how many reasons to list. */
export interface WindowQuestion {
  hours: number;
  worker?: string;
  /** At most this many reasons in by_reason, the largest; undefined: every one. */
  reasonsLimit?: number;
}

/** The window's metrics; `null` when `worker` has never been seen (a 404, not an idle 200). */
export async function windowMetrics(db: CommonQueryMethods, strategy: WindowStrategy, question: WindowQuestion): Promise<SystemMetrics | null> {
  const { hours, worker, reasonsLimit } = question;
  const { exactMaxRows, retentionDays } = strategy;
  const scope = JSON.stringify(worker ?? null);
  const readRollups = () => readRollupRow(db, strategy.histograms, { hours, worker, retentionDays, exactMaxRows, reasonsLimit });
  const readExact = async () => toMetrics(hours, exactWindow(await db.one(windowMetricsQuery(hours, worker, reasonsLimit ?? null))));
  const isLarge = ({ rows, pruned }: { rows: number; pruned: boolean }) => rows > exactMaxRows || pruned;

  const largeFrom = strategy.largeFrom.get(scope);
  if (largeFrom !== undefined && hours >= largeFrom) {
    const row = await readRollups();
    if (!row.size.known) return null;
    if (isLarge(row.size)) return toMetrics(hours, rollupWindow(row));
    // The scope shrank below the line here (pruned, deleted, or time moved on): shorter windows are
    // smaller still, so only longer ones keep the shortcut.
    strategy.largeFrom.set(scope, hours + 1);
    return readExact();
  }
  const size = await db.one(windowSizeQuery(hours, exactMaxRows, worker, retentionDays));
  if (!size.known) return null;
  if (!isLarge(size)) return readExact();
  strategy.largeFrom.set(scope, hours);
  return toMetrics(hours, rollupWindow(await readRollups()));
}

/**
 * The window and the one before it, compared. Run both in one transaction (the caller's `db`): one
 * now(), so the previous window ends exactly where this one starts. The previous window always
 * comes from the rollups.
 */
export async function comparedWindowMetrics(db: CommonQueryMethods, strategy: WindowStrategy, question: WindowQuestion): Promise<SystemMetrics | null> {
  const current = await windowMetrics(db, strategy, question);
  if (current === null) return null;
  const { hours, worker, reasonsLimit } = question;
  const previous = toMetrics(
    hours,
    rollupWindow(await readRollupRow(db, strategy.histograms, { hours, offsetHours: hours, worker, retentionDays: strategy.retentionDays, reasonsLimit })),
  );
  return { ...current, compare: compareWith(current, previous) };
}

function toMetrics(hours: number, { row, meta }: ComputedWindow): SystemMetrics {
  const [p50, p95, p99] = row.duration_pct ?? [];
  return {
    window: { hours, from: row.window_from, to: row.window_to },
    executions: row.executions,
    states: statesOf(row),
    success_rate: row.executions === 0 ? null : row.completed / row.executions,
    cancellations: { total: row.cancelled, unknown: row.unknown_reasons, by_reason: row.by_reason, other_reasons: row.other_reasons },
    duration_ms:
      row.durations === 0 || p50 === undefined || p95 === undefined || p99 === undefined
        ? null
        : { avg: row.duration_avg ?? 0, p50, p95, p99, max: row.duration_max ?? 0 },
    meta,
  };
}

const difference = (a: number | null | undefined, b: number | null | undefined) =>
  a === null || a === undefined || b === null || b === undefined ? null : a - b;
const unknownShare = (m: SystemMetrics) => (m.cancellations.total === 0 ? null : m.cancellations.unknown / m.cancellations.total);

function compareWith(current: SystemMetrics, previous: SystemMetrics): Compare {
  return {
    previous,
    deltas: {
      success_rate: difference(current.success_rate, previous.success_rate),
      unknown_share: difference(unknownShare(current), unknownShare(previous)),
      p95: difference(current.duration_ms?.p95, previous.duration_ms?.p95),
    },
  };
}
