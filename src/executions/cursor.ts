/**
 * The keyset position of the last row of a page: inserted_at in epoch microseconds (PostgreSQL's own
 * precision, which a JavaScript Date would truncate) and the id, written `<microseconds>.<id>`.
 * Clients pass it back as given; its shape is in the spec (CURSOR_PATTERN), and every value of that
 * shape is a position, so a client or a contract tool that makes one up gets a page, never a 400.
 */
export interface Cursor {
  insertedAtUs: bigint;
  id: bigint;
}

/** Eighteen digits of microseconds reach the year 33658 (PostgreSQL ends in 294276); any bigint id. */
export const CURSOR_PATTERN = '^-?[0-9]{1,18}\\.-?[0-9]{1,19}$';
const SHAPE = new RegExp(CURSOR_PATTERN);
export const CURSOR_MAX_LENGTH = 40;

const MIN_ID = -(2n ** 63n);
const MAX_ID = 2n ** 63n - 1n;
/**
 * PostgreSQL's earliest timestamptz, 4714-11-24 00:00:00 BC UTC, in epoch microseconds: a position
 * before it would fail in SQL ("timestamp out of range").
 */
export const MIN_CURSOR_US = -210_866_803_200_000_000n;

export const encodeCursor = (cursor: Cursor): string => `${cursor.insertedAtUs}.${cursor.id}`;

/**
 * The position a cursor names, as rows strictly before `(inserted_at, id)`; `'none'` for a time
 * before PostgreSQL's first instant (nothing is older); `null` for text of another shape. An id
 * beyond bigint's range is moved to the same set of rows within it: past the largest, every row of
 * that microsecond is before it; below the smallest, none is.
 */
export function decodeCursor(text: string): Cursor | 'none' | null {
  if (!SHAPE.test(text)) return null;
  const dot = text.indexOf('.');
  const insertedAtUs = BigInt(text.slice(0, dot));
  const id = BigInt(text.slice(dot + 1));
  if (insertedAtUs < MIN_CURSOR_US) return 'none';
  if (id > MAX_ID) return { insertedAtUs: insertedAtUs + 1n, id: MIN_ID };
  return { insertedAtUs, id: id < MIN_ID ? MIN_ID : id };
}
