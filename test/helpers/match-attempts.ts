import { SHOWTIME_WORKER } from '../../src/demo/demo-data.ts';
import type { Json, TestRow } from './rows.ts';

/** Confidences on and around every edge the definition has, and values that are no number 0–100. */
export const VALID_CONFIDENCES = [0, 0.5, 44.9999, 45, 45.5, 47, 49.99, 50, 50.01, 99.9, 100];
export const INVALID_CONFIDENCES: Json[] = ['47.5', '', true, { value: 47 }, [47], -0.01, 100.01, 150, 1e300];

export const NASTY_TITLES = [
  'Crouching Tiger, Hidden Dragon', 'The "Burbs"', 'line one\nline two', 'crlf\r\nend', '"', ',', ' padded ',
  'Léon 🎬 千と千尋', "'; DROP TABLE job_execution_summaries; --",
];

const HOUR = 3600;

/**
 * Showtime rows with match attempts spread over the confidence scale and over window edges, plus rows
 * that must never count: other workers, no confidence, invalid confidences, rows from the future.
 */
export function matchAttemptRows(): TestRow[] {
  const rows: TestRow[] = [];
  let job = 1;
  const add = (results: Json | undefined, age_s: number, worker = SHOWTIME_WORKER) =>
    rows.push({ job_id: job++, worker, state: 'cancelled', results, age_s, duration_ms: 10 });
  const ages = [60, 2 * HOUR, 30 * HOUR, 700 * HOUR, 800 * HOUR, 9000 * HOUR];
  for (let i = 0; i < 400; i++) {
    // A spread of 0.0–99.9 with every band filled, a little denser just below 50.
    const confidence = i < 300 ? ((i * 37) % 1000) / 10 : 45 + ((i * 7) % 50) / 10;
    const title = NASTY_TITLES[i % NASTY_TITLES.length]!;
    add({ title, candidate_title: `${title} (${i})`, tmdb_id: 1000 + i, confidence }, ages[i % ages.length]! + i);
  }
  for (const confidence of VALID_CONFIDENCES) add({ title: `edge ${confidence}`, confidence }, 90);
  for (const confidence of INVALID_CONFIDENCES) add({ title: 'invalid', confidence }, 90);
  add({ title: 'no confidence' }, 90);
  add({ title: 'JSON null', confidence: null }, 90);
  add(undefined, 90);
  add(null, 90);
  add([{ confidence: 47 }], 90);
  add('confidence', 90);
  add({ confidence: 47 }, -HOUR); // stamped in the future
  add({ confidence: 47 }, 90, 'Other.Worker');
  add({ confidence: 47, tmdb_id: null }, 95); // an attempt without a title or tmdb_id
  return rows;
}

/** `results -> 'confidence'`, read as docs/TMDB_THRESHOLD.md defines it, without PostgreSQL. */
export function confidenceOf(results: Json | undefined): { kind: 'none' } | { kind: 'invalid' } | { kind: 'valid'; value: number } {
  if (results === undefined || results === null || typeof results !== 'object' || Array.isArray(results)) return { kind: 'none' };
  const value = results.confidence;
  if (value === undefined || value === null) return { kind: 'none' };
  return typeof value === 'number' && value >= 0 && value <= 100 ? { kind: 'valid', value } : { kind: 'invalid' };
}

/** The showtime rows of the window `(now - hours, now]`. */
export const inWindow = (rows: readonly TestRow[], hours: number) =>
  rows.filter((r) => r.worker === SHOWTIME_WORKER && r.age_s >= 0 && r.age_s < hours * HOUR);

/** The endpoint's counts, computed independently of its SQL. */
export function thresholdOracle(rows: readonly TestRow[], from: number, to: number, hours: number) {
  const scoped = inWindow(rows, hours).map((r) => confidenceOf(r.results));
  const values = scoped.flatMap((c) => (c.kind === 'valid' ? [c.value] : []));
  const matched = values.filter((v) => v >= to).length;
  const inBand = values.filter((v) => v >= from && v < to).length;
  return {
    band: { from, to },
    attempts: values.length,
    matched,
    in_band: inBand,
    invalid_confidence: scoped.filter((c) => c.kind === 'invalid').length,
    match_rate: values.length === 0 ? null : matched / values.length,
    projected_match_rate: values.length === 0 ? null : values.filter((v) => v >= from).length / values.length,
  };
}

/** The job_ids the sampler may draw from. */
export const bandJobIds = (rows: readonly TestRow[], from: number, to: number, hours: number) =>
  inWindow(rows, hours)
    .filter((r) => {
      const c = confidenceOf(r.results);
      return c.kind === 'valid' && c.value >= from && c.value < to;
    })
    .map((r) => String(r.job_id));
