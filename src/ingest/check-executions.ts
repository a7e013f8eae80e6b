import { MAX_FUTURE_MS, type Execution } from '../schemas/executions.ts';

export interface ItemError {
  index: number;
  field: string;
  message: string;
}

/** Deeper `results` would exhaust the stack of the JSON parsers on the way to jsonb and back. */
export const MAX_RESULTS_DEPTH = 64;
/** The date-time format as Ajv accepts it (RFC 3339: `T` or a space, `Z` or an offset, any case). */
const RFC_3339 = /^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(\.\d+)?(?:[Zz]|([+-])(\d\d)(?::?(\d\d))?)$/;

/** Epoch milliseconds of an RFC 3339 date-time (a leap second rolls over, as in PostgreSQL), or null. */
export function rfc3339Millis(text: string): number | null {
  const m = RFC_3339.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, Math.floor(Number(m[7] ?? 0) * 1000));
  const offsetMinutes = m[8] ? (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10] ?? 0)) : 0;
  return date.getTime() - offsetMinutes * 60_000;
}

/** Why a string cannot be stored as sent, or null. PostgreSQL text and jsonb hold neither. */
function unstorable(text: string): string | null {
  if (text.includes('\u0000')) return 'must not contain U+0000 (NUL)';
  if (!text.isWellFormed()) return 'must be well-formed Unicode (no lone UTF-16 surrogates)';
  return null;
}

/** Walks `results` without recursion; reports the first key or string jsonb would refuse. */
function checkResults(results: object): string | null {
  const pending: [unknown, number][] = [[results, 1]];
  while (pending.length > 0) {
    const [value, depth] = pending.pop()!;
    if (typeof value === 'string') {
      const why = unstorable(value);
      if (why) return `strings ${why}`;
    } else if (value !== null && typeof value === 'object') {
      if (depth > MAX_RESULTS_DEPTH) return `must not be nested deeper than ${MAX_RESULTS_DEPTH} levels`;
      for (const [key, child] of Object.entries(value)) {
        const why = Array.isArray(value) ? null : unstorable(key);
        if (why) return `keys ${why}`;
        pending.push([child, depth + 1]);
      }
    }
  }
  return null;
}

function checkInsertedAt(text: string, now: number): string | null {
  const at = rfc3339Millis(text);
  // PostgreSQL has no year 0 (RFC 3339 does): reject it here rather than fail the statement.
  if (at === null || text.startsWith('0000')) return 'must be an RFC 3339 date-time from year 0001, e.g. 2026-11-25T10:00:00Z';
  if (at > now + MAX_FUTURE_MS) return `must not be more than 5 minutes in the future (got ${text}, now ${new Date(now).toISOString()})`;
  return null;
}

/**
 * What the schema cannot say: strings PostgreSQL cannot store, `results` too deep, and an
 * `inserted_at` ahead of this service's clock. Every bad item is reported, none is written.
 */
export function checkExecutions(executions: readonly Execution[], now = Date.now()): ItemError[] {
  const errors: ItemError[] = [];
  executions.forEach((item, index) => {
    const checks: [string, string | null][] = [
      ['worker', unstorable(item.worker)],
      ['queue', typeof item.queue === 'string' ? unstorable(item.queue) : null],
      ['results', item.results ? checkResults(item.results) : null],
      ['inserted_at', item.inserted_at === undefined ? null : checkInsertedAt(item.inserted_at, now)],
    ];
    for (const [field, message] of checks) if (message) errors.push({ index, field, message });
  });
  return errors;
}
