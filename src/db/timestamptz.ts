/**
 * PostgreSQL's text for a timestamptz (DateStyle ISO) as the RFC 3339 text the API answers, in UTC
 * with milliseconds (microseconds truncated).
 *
 * Hand-written because `new Date(text)` is wrong at the edges of what writers store: it reads years
 * below 100 as 19xx or 20xx (Go's zero time, 0001-01-01, came back as 2001-01-01), and throws on
 * `infinity`, on BC dates and on offsets with seconds (a zone's local mean time before 1900), which
 * made a whole list answer 500 for one such row. RFC 3339 has four-digit years only, so a time
 * before 0001-01-01 or after 9999-12-31 (PostgreSQL's ±infinity among them) is answered as that
 * bound (docs/CONTRACT.md, "Timestamps").
 */
export const EARLIEST = '0001-01-01T00:00:00.000Z';
export const LATEST = '9999-12-31T23:59:59.999Z';

const EARLIEST_MS = Date.parse(EARLIEST);
const LATEST_MS = Date.parse(LATEST);

/** 2026-12-03 06:18:32.403123+05:30, 0001-12-31 20:29:08-03:30:52 BC, 294276-12-31 00:00:00+00. */
const ISO_TEXT = /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?([+-])(\d\d)(?::(\d\d))?(?::(\d\d))?( BC)?$/;

export function timestamptzToIso(text: string): string {
  if (text === 'infinity') return LATEST;
  if (text === '-infinity') return EARLIEST;
  const parts = ISO_TEXT.exec(text);
  if (!parts) throw new Error(`cannot read the timestamp "${text}": the session's DateStyle must be ISO`);
  const [year, month, day, hour, minute, second] = parts.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  // Year n BC is year 1 − n on the proleptic Gregorian calendar that Date and PostgreSQL share.
  const fullYear = parts[12] ? 1 - year : year;
  if (fullYear > 275_000) return LATEST; // beyond Date's range; far beyond RFC 3339's anyway
  if (fullYear < -270_000) return EARLIEST;
  const millis = Number((parts[7] ?? '').padEnd(3, '0').slice(0, 3));
  const offsetSeconds = (parts[8] === '-' ? -1 : 1) * (Number(parts[9]) * 3600 + Number(parts[10] ?? 0) * 60 + Number(parts[11] ?? 0));
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, takes years 0–99 as they are.
  date.setUTCFullYear(fullYear, month - 1, day);
  date.setUTCHours(hour, minute, second, millis);
  const ms = date.getTime() - offsetSeconds * 1000;
  if (ms < EARLIEST_MS) return EARLIEST;
  if (ms > LATEST_MS) return LATEST;
  return new Date(ms).toISOString();
}
