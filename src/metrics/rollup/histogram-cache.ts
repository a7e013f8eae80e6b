import { LRUCache } from 'lru-cache';
import { HISTOGRAM_THRESHOLDS } from './histogram.ts';

/**
 * Histograms of rollup rows, kept in the service between reads of a window. Summing a long window's
 * 60–250 histograms in SQL was 70 % of its query (5.4 of 7.4 ms for a year at 5.7M rows), and a
 * window asked again reads mostly the same rows.
 *
 * An entry is one row version, named `ctid/xmin`: PostgreSQL never changes a stored version (a fold
 * or a late row writes a new one, stamped with its transaction's xid), so an entry is exact as long
 * as it exists. A window's query is told which versions the service holds (those its last read of
 * the same window used) and sends the histograms of the others, in the same statement and snapshot.
 * A window not read before is told the versions of the nearest shorter and longer windows read in
 * its scope: windows ending together share their months, days and recent hours, and random windows
 * sent every histogram otherwise (17 against 7 ms a request, docs/BENCHMARKS.md).
 * Entries expire after an hour, long before an xid could come round again.
 */
export class HistogramCache {
  readonly #histograms: LRUCache<string, Int32Array>;
  /** The versions each window's last read used, by `JSON.stringify([scope, hours])`. */
  readonly #windows: LRUCache<string, readonly string[]>;
  /** The hours of the windows in `#windows`, sorted, by scope. */
  readonly #hours = new Map<string, number[]>();
  /** Histograms reads used, by where they came from (for /metrics). */
  readonly used = { held: 0, sent: 0 };

  /**
   * Bounded by bytes: a histogram holds up to ≈ 920 bins (7.4 kB) in a busy bucket, a few dozen in
   * a quiet worker's. 32 MB hold every row a year window reads for ≈ 20 scopes at the largest size.
   */
  constructor(maxBytes = 32 * 2 ** 20, maxWindows = 1_000) {
    this.#histograms = new LRUCache({ maxSize: maxBytes, sizeCalculation: (histogram) => Math.max(1, histogram.byteLength), ttl: 3_600_000 });
    this.#windows = new LRUCache({
      max: maxWindows,
      dispose: (_versions, key, reason) => {
        if (reason === 'set') return; // the same window read again: its hours stay listed
        const [scope, hours] = JSON.parse(key) as [string, number];
        const listed = this.#hours.get(scope) ?? [];
        const at = sortedIndex(listed, hours);
        if (listed[at] === hours) listed.splice(at, 1);
        if (listed.length === 0) this.#hours.delete(scope);
      },
    });
  }

  /** Row versions held now, and their histograms' bytes. */
  get size(): number {
    return this.#histograms.size;
  }

  get bytes(): number {
    return this.#histograms.calculatedSize;
  }

  /**
   * The histograms held, keyed `ctid/xmin`, of the versions the last read of the window of `hours`
   * in `scope` used; for a window not read yet, of those of its nearest neighbours in the scope.
   */
  held(scope: string, hours: number): Map<string, Int32Array> {
    const held = new Map<string, Int32Array>();
    for (const key of this.#versions(scope, hours)) {
      const histogram = this.#histograms.get(key);
      if (histogram !== undefined) held.set(key, histogram);
    }
    return held;
  }

  #versions(scope: string, hours: number): readonly string[] {
    const own = this.#windows.get(JSON.stringify([scope, hours]));
    if (own !== undefined) return own;
    const listed = this.#hours.get(scope) ?? [];
    const at = sortedIndex(listed, hours);
    const near = [listed[at - 1], listed[at]].flatMap((h) => (h === undefined ? [] : (this.#windows.peek(JSON.stringify([scope, h])) ?? [])));
    return [...new Set(near)];
  }

  /**
   * The histograms of a read of the window (`pieces`: key, and `array_to_json(hist)` text unless
   * held), each kept for the next read.
   */
  resolve(scope: string, hours: number, held: ReadonlyMap<string, Int32Array>, pieces: readonly (readonly [string, string | null])[]): Int32Array[] {
    const histograms = pieces.map(([key, json]) => {
      const histogram = json === null ? held.get(key) : flatten(json);
      this.used[json === null ? 'held' : 'sent'] += 1;
      if (histogram === undefined) throw new Error(`rollup row version ${key} was neither held nor sent`);
      this.#histograms.set(key, histogram);
      return histogram;
    });
    const window = JSON.stringify([scope, hours]);
    if (!this.#windows.has(window)) {
      const listed = this.#hours.get(scope) ?? [];
      listed.splice(sortedIndex(listed, hours), 0, hours);
      this.#hours.set(scope, listed);
    }
    this.#windows.set(window, pieces.map(([key]) => key));
    return histograms;
  }
}

/** Where `value` is or would go in the ascending `sorted`. */
function sortedIndex(sorted: readonly number[], value: number): number {
  let [low, high] = [0, sorted.length];
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Flat [bin, n, bin, n, …] from `array_to_json(hist)`: JSON.parse is native, a zod tuple per bin is not. */
const flatten = (json: string) => Int32Array.from((JSON.parse(json) as [number, number][]).flat());

/** Bins 0 … thresholds.length: what `width_bucket(duration_ms, thresholds)` returns. */
const BINS = HISTOGRAM_THRESHOLDS.length + 1;

/**
 * The signed [bin, n] pairs of `loose` plus every histogram, summed, by bin, zeros dropped. Summed
 * in a dense array: 61 histograms of 250 bins in 0.05–0.09 ms, a Map 0.3 ms (same run).
 */
export function sumHistograms(loose: readonly (readonly [number, number])[], histograms: readonly Int32Array[]): [number, number][] {
  const sums = new Float64Array(BINS);
  const add = (bin: number, n: number) => {
    if (!(bin >= 0 && bin < BINS)) throw new Error(`histogram bin ${bin} is outside 0…${BINS - 1}`);
    sums[bin]! += n;
  };
  for (const [bin, n] of loose) add(bin, n);
  for (const flat of histograms) for (let i = 0; i < flat.length; i += 2) add(flat[i]!, flat[i + 1]!);
  const pairs: [number, number][] = [];
  for (let bin = 0; bin < BINS; bin++) if (sums[bin] !== 0) pairs.push([bin, sums[bin]!]);
  return pairs;
}
