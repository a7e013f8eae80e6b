/**
 * Which PostgreSQL servers the schema and the queries are written for. The migrations need 15
 * (their unique indexes are NULLS NOT DISTINCT), so on 14 `migrate up` stopped half-way with
 * "syntax error at or near NULLS" after 7 of its steps. They also need a database that can hold
 * any Unicode text: in a LATIN1 (or any other single-language) database the 8th stopped at a
 * character of its own comments ("has no equivalent in encoding LATIN1"), and worker names and
 * reasons outside that language could never be stored. UTF8 is served, and SQL_ASCII too (it
 * stores the bytes it is given; test/database-encodings.test.ts). Both are checked before anything
 * is changed, and at start.
 */
import type pg from 'pg';
import { SUPPORTED_MAJORS } from './postgres-binaries.ts';

export const OLDEST_SUPPORTED_MAJOR = SUPPORTED_MAJORS[0];
export const NEWEST_TESTED_MAJOR = SUPPORTED_MAJORS.at(-1)!;

/** The server's version, as `server_version_num` and `server_version` give it. */
export interface ServerVersion {
  /** e.g. 140023 for 14.23, 180004 for 18.4. */
  num: number;
  /** e.g. "14.23", "18.4 (Debian 18.4-1)". */
  text: string;
  /** The database's `server_encoding`, e.g. "UTF8"; not checked when absent. */
  encoding?: string;
}

/** Encodings whose databases store any text a writer sends in UTF-8. */
export const SERVED_ENCODINGS = ['UTF8', 'SQL_ASCII'];

/** A server this release cannot run on: the message says which and what to use instead. */
export class UnsupportedServerError extends Error {
  override name = 'UnsupportedServerError';
  /** What to do instead, as doctor prints it. */
  readonly fix: string;
  constructor(message: string, fix: string) {
    super(message);
    this.fix = fix;
  }
}

export const majorOf = (version: ServerVersion) => Math.floor(version.num / 10_000);

const TESTED = `${OLDEST_SUPPORTED_MAJOR} to ${NEWEST_TESTED_MAJOR} are tested`;

/**
 * undefined for a tested major; a note for a newer one (it may well work: nothing is refused);
 * throws UnsupportedServerError for an older one.
 */
export function checkServerVersion(version: ServerVersion): string | undefined {
  const major = majorOf(version);
  if (!Number.isInteger(major) || major < OLDEST_SUPPORTED_MAJOR) {
    throw new UnsupportedServerError(
      `PostgreSQL ${version.text} is not supported: job-metrics needs PostgreSQL ${OLDEST_SUPPORTED_MAJOR} or later (${TESTED}); ` +
        'upgrade the server, or point DATABASE_URL at a newer one',
      `run job-metrics on PostgreSQL ${OLDEST_SUPPORTED_MAJOR} or later`,
    );
  }
  if (version.encoding !== undefined && !SERVED_ENCODINGS.includes(version.encoding)) {
    throw new UnsupportedServerError(
      `the database's encoding is ${version.encoding}: job-metrics needs UTF8, as worker names and reasons may be any Unicode text; ` +
        "create the database with ENCODING 'UTF8' (and TEMPLATE template0) and point DATABASE_URL at it",
      "a database created with ENCODING 'UTF8'",
    );
  }
  if (major > NEWEST_TESTED_MAJOR) return `PostgreSQL ${version.text} is newer than the versions tested (${TESTED})`;
  return undefined;
}

/** The statement that reads a ServerVersion (both columns text, for any driver). */
export const SERVER_VERSION_SQL = `SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS text,
  current_setting('server_encoding') AS encoding`;

export const serverVersionOf = (row: { num: string | number; text: string; encoding?: string }): ServerVersion => ({
  num: Number(row.num),
  text: row.text,
  ...(row.encoding === undefined ? {} : { encoding: row.encoding }),
});

/** Reads the server's version on `client` and checks it (checkServerVersion). */
export async function checkClientServer(client: pg.ClientBase): Promise<string | undefined> {
  const { rows } = await client.query<{ num: string; text: string; encoding: string }>(SERVER_VERSION_SQL);
  return checkServerVersion(serverVersionOf(rows[0]!));
}
