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

/** PostgreSQL refuses offsets of 16 hours or more ("time zone displacement out of range"); RFC 3339 allows 23:59. */
const MAX_OFFSET_MINUTES = 16 * 60 - 1;

/**
 * Epoch milliseconds of an RFC 3339 date-time (a leap second rolls over, as in PostgreSQL), or null
 * when it is not one or PostgreSQL could not store it.
 */
export function rfc3339Millis(text: string): number | null {
  const m = RFC_3339.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const millis = Math.floor(Number(m[7] ?? 0) * 1000);
  let utc = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC reads years 0–99 as 1900–1999 (with the same leap years): move them back.
  if (year < 100) utc = new Date(utc).setUTCFullYear(year);
  const offsetMinutes = m[8] ? Number(m[9]) * 60 + Number(m[10] ?? 0) : 0;
  if (offsetMinutes > MAX_OFFSET_MINUTES) return null;
  return utc - (m[8] === '-' ? -offsetMinutes : offsetMinutes) * 60_000;
}

/** Why a string cannot be stored as sent, or null. PostgreSQL text and jsonb hold neither. */
function unstorable(text: string): string | null {
  if (text.includes('\u0000')) return 'must not contain U+0000 (NUL)';
  if (!text.isWellFormed()) return 'must be well-formed Unicode (no lone UTF-16 surrogates)';
  return null;
}

/** The first key or string of `results` jsonb would refuse; recursion stops at the depth limit. */
function checkResults(value: unknown, depth = 1): string | null {
  if (typeof value === 'string') {
    const why = unstorable(value);
    return why && `strings ${why}`;
  }
  if (value === null || typeof value !== 'object') return null;
  if (depth > MAX_RESULTS_DEPTH) return `must not be nested deeper than ${MAX_RESULTS_DEPTH} levels`;
  if (Array.isArray(value)) {
    for (const element of value) {
      const why = checkResults(element, depth + 1);
      if (why) return why;
    }
    return null;
  }
  for (const key of Object.keys(value)) {
    const badKey = unstorable(key);
    if (badKey) return `keys ${badKey}`;
    const why = checkResults((value as Record<string, unknown>)[key], depth + 1);
    if (why) return why;
  }
  return null;
}

function checkInsertedAt(text: string, now: number): string | null {
  const at = rfc3339Millis(text);
  // PostgreSQL has no year 0 (RFC 3339 does): reject it here rather than fail the statement.
  if (at === null || text.startsWith('0000')) return 'must be an RFC 3339 date-time from year 0001 with an offset under ±16:00, e.g. 2026-11-25T10:00:00Z';
  if (at > now + MAX_FUTURE_MS) return `must not be more than 5 minutes in the future (got ${text}, now ${new Date(now).toISOString()})`;
  return null;
}

/**
 * What the schema cannot say: strings PostgreSQL cannot store, `results` too deep, and an
 * `inserted_at` ahead of this service's clock. Every bad item is reported, none is written.
 */
export function checkExecutions(executions: readonly Execution[], now = Date.now()): ItemError[] {
  const errors: ItemError[] = [];
  const report = (index: number, field: string, message: string | null) => {
    if (message) errors.push({ index, field, message });
  };
  executions.forEach((item, index) => {
    report(index, 'worker', unstorable(item.worker));
    if (typeof item.queue === 'string') report(index, 'queue', unstorable(item.queue));
    if (item.results) report(index, 'results', checkResults(item.results));
    if (item.inserted_at !== undefined) report(index, 'inserted_at', checkInsertedAt(item.inserted_at, now));
  });
  return errors;
}
