/**
 * The keyset position of the last row of a page: inserted_at in epoch microseconds (PostgreSQL's own
 * precision, which a JavaScript Date would truncate) and the id. Opaque to clients: base64url.
 */
export interface Cursor {
  insertedAtUs: bigint;
  id: bigint;
}

const SHAPE = /^(-?[0-9]{1,18})\.([1-9][0-9]{0,18})$/;
const MAX_ID = 2n ** 63n - 1n;
/**
 * PostgreSQL's earliest timestamptz, 4714-11-24 00:00:00 BC UTC, in epoch microseconds: a position
 * before it would fail in SQL ("timestamp out of range"). Eighteen digits end in the year 33658,
 * well inside PostgreSQL's latest (294276 AD), so the shape bounds the other side.
 */
export const MIN_CURSOR_US = -210_866_803_200_000_000n;

export const encodeCursor = (cursor: Cursor): string =>
  Buffer.from(`${cursor.insertedAtUs}.${cursor.id}`).toString('base64url');

/**
 * `null` when the text is not a cursor this service could have written (Node's base64 decoder skips
 * junk, so re-encode), including a time PostgreSQL cannot hold.
 */
export function decodeCursor(text: string): Cursor | null {
  const decoded = Buffer.from(text, 'base64url');
  if (decoded.toString('base64url') !== text) return null;
  const match = SHAPE.exec(decoded.toString('latin1'));
  if (!match) return null;
  const cursor = { insertedAtUs: BigInt(match[1]!), id: BigInt(match[2]!) };
  return cursor.id > MAX_ID || cursor.insertedAtUs < MIN_CURSOR_US ? null : cursor;
}
