import type { TestRow } from './rows.ts';

export const SHOWTIME = 'EventasaurusDiscovery.Sources.Cinema.Jobs.ShowtimeProcessJob';
export const MAILER = 'Mailer.Worker';
export const UNICODE_WORKER = 'Ünïcødé/“quoted” \'single\' 🚀 Worker';
export const LONG_WORKER = 'W'.repeat(254) + '界'; // 255 characters
export const IDLE_WORKER = 'Idle.Worker'; // has rows, none in the last 8760 hours

const HOUR = 3600;
let nextJob = 1;
const row = (partial: Omit<TestRow, 'job_id'>): TestRow => ({ job_id: nextJob++, ...partial });

/**
 * Every shape of cancel reason the contract names, spread over workers and window edges.
 * Ages sit well inside or outside each window (never on an edge that a slow test could cross).
 */
export function nastyRows(): TestRow[] {
  const rows: TestRow[] = [];
  const cancelled = (worker: string, results: TestRow['results'], age_s: number, duration_ms: number | null = 100) =>
    rows.push(row({ worker, state: 'cancelled', results, age_s, duration_ms }));

  for (let i = 0; i < 12; i++) cancelled(SHOWTIME, { cancel_reason: 'movie not matched' }, 60 * (i + 1), 200 + i * 37);
  cancelled(SHOWTIME, {}, 120); // key missing
  cancelled(SHOWTIME, { cancel_reason: null }, 180); // JSON null
  cancelled(SHOWTIME, undefined, 240); // results SQL NULL
  cancelled(SHOWTIME, null, 300); // results is the JSON value null
  cancelled(SHOWTIME, ['cancel_reason'], 360); // not an object
  cancelled(SHOWTIME, 'cancel_reason', 420); // a JSON string
  cancelled(SHOWTIME, { cancel_reason: 'unknown' }, 480); // a literal reason, not a NULL
  cancelled(SHOWTIME, { cancel_reason: 'Unknown' }, 540); // case matters
  cancelled(SHOWTIME, { cancel_reason: '' }, 600); // empty string is a reason
  cancelled(SHOWTIME, { cancel_reason: 42 }, 660); // number → "42"
  cancelled(SHOWTIME, { cancel_reason: '42' }, 720); // same text as the number
  cancelled(SHOWTIME, { cancel_reason: true }, 780);
  cancelled(SHOWTIME, { cancel_reason: { code: 7 } }, 840);
  cancelled(SHOWTIME, { cancel_reason: 'quote \' and "double" and \\ backslash' }, 900);
  cancelled(SHOWTIME, { cancel_reason: 'Ünïcødé 🎬 reason' }, 960);
  cancelled(SHOWTIME, { cancel_reason: '\uFFFD replacement' }, 1020); // UTF-16 and code-point order disagree
  cancelled(SHOWTIME, { cancel_reason: '😀 emoji' }, 1080);
  cancelled(SHOWTIME, { cancel_reason: 'x'.repeat(2000) }, 1140);
  cancelled(SHOWTIME, { cancel_reason: "'; DROP TABLE job_execution_summaries; --" }, 1200);
  cancelled(SHOWTIME, { cancel_reason: 'movie not matched ' }, 1260); // trailing space: another reason
  cancelled(SHOWTIME, { cancel_reason: 'b' }, 1320);
  cancelled(SHOWTIME, { cancel_reason: 'B' }, 1380);
  cancelled(SHOWTIME, { cancel_reason: 'a' }, 1440);
  cancelled(SHOWTIME, { cancel_reason: 'a' }, 1500);
  cancelled(SHOWTIME, { cancel_reason: 'movie not matched', other: 1 }, 2 * HOUR, null); // no duration

  // A reason on a row that is not cancelled is ignored.
  rows.push(row({ worker: SHOWTIME, state: 'completed', results: { cancel_reason: 'ignored' }, age_s: 100, duration_ms: 0 }));
  rows.push(row({ worker: SHOWTIME, state: 'discarded', results: { cancel_reason: null }, age_s: 200, duration_ms: 5 }));
  rows.push(row({ worker: SHOWTIME, state: 'snoozed', age_s: 300, duration_ms: null }));
  rows.push(row({ worker: SHOWTIME, state: 'retryable', results: { error: 'timeout' }, age_s: 400, duration_ms: 19_980 }));

  // Older rows: inside 24 h / 7 d / a year, outside shorter windows.
  cancelled(SHOWTIME, { cancel_reason: 'movie not matched' }, 5 * HOUR);
  cancelled(SHOWTIME, {}, 20 * HOUR);
  cancelled(MAILER, { cancel_reason: 'bounced' }, 30 * HOUR, 7);
  cancelled(MAILER, { cancel_reason: null }, 100 * HOUR, 9);
  rows.push(row({ worker: MAILER, state: 'completed', age_s: 0.5 * HOUR, duration_ms: 12 }));
  rows.push(row({ worker: MAILER, state: 'completed', age_s: 3 * HOUR, duration_ms: 15 }));
  rows.push(row({ worker: MAILER, state: 'completed', age_s: 2000 * HOUR, duration_ms: 1 }));
  rows.push(row({ worker: MAILER, state: 'retryable', attempt: 1, age_s: 1000 * HOUR, duration_ms: null }));

  // Window edges: 50 minutes in, 61 minutes out of the 1 h window; a day and a year likewise. A row
  // inside keeps 10 minutes from the edge: a file on a loaded machine can take minutes from the
  // insert to its last query (a row outside only moves further out).
  rows.push(row({ worker: UNICODE_WORKER, state: 'completed', age_s: 50 * 60, duration_ms: 3 }));
  rows.push(row({ worker: UNICODE_WORKER, state: 'cancelled', results: { cancel_reason: 'edge' }, age_s: 61 * 60 }));
  rows.push(row({ worker: UNICODE_WORKER, state: 'cancelled', results: {}, age_s: 24 * HOUR - 600 }));
  rows.push(row({ worker: UNICODE_WORKER, state: 'completed', age_s: 24 * HOUR + 120, duration_ms: 4 }));
  rows.push(row({ worker: UNICODE_WORKER, state: 'completed', age_s: 8760 * HOUR - 600, duration_ms: 6 }));
  rows.push(row({ worker: UNICODE_WORKER, state: 'completed', age_s: 8760 * HOUR + 600, duration_ms: 8 }));
  // Stamped in the future by a skewed clock: not counted yet.
  rows.push(row({ worker: UNICODE_WORKER, state: 'cancelled', results: {}, age_s: -HOUR, duration_ms: 1 }));

  rows.push(row({ worker: LONG_WORKER, state: 'cancelled', results: { cancel_reason: 'long' }, age_s: 10, duration_ms: 2 }));
  rows.push(row({ worker: IDLE_WORKER, state: 'completed', age_s: 9000 * HOUR, duration_ms: 1 }));
  return rows;
}

export const WORKERS = [SHOWTIME, MAILER, UNICODE_WORKER, LONG_WORKER, IDLE_WORKER];
export const WINDOWS = [1, 2, 24, 168, 720, 8760];
