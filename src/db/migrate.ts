import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import type pg from 'pg';
import { checkClientServer } from './server-version.ts';
import { withClient } from './tls.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));
export const MIGRATIONS_TABLE = 'pgmigrations';

/** Migration names (file names without extension) this release ships, oldest first. */
export function knownMigrations(dir: string = MIGRATIONS_DIR): string[] {
  return readdirSync(dir)
    .filter((file) => /^\d+_.+\.ts$/.test(file))
    .map((file) => file.replace(/\.ts$/, ''))
    .sort();
}

/**
 * Why a database's applied migrations are not exactly this release's, naming each missing and
 * extra one (at most 5 of each); undefined when they match. Every migration counts, not only the
 * latest: a database can hold the latest name and still miss an earlier step.
 */
export function schemaDrift(applied: readonly string[], expected: readonly string[] = knownMigrations()): string | undefined {
  const missing = expected.filter((name) => !applied.includes(name));
  const extra = applied.filter((name) => !expected.includes(name));
  if (missing.length === 0 && extra.length === 0) return undefined;
  const list = (names: string[]) => names.slice(0, 5).join(', ') + (names.length > 5 ? `, … (${names.length} in all)` : '');
  return [
    missing.length > 0 ? `not applied: ${list(missing)} (run npm run migrate -- up)` : '',
    extra.length > 0 ? `applied but not in this release: ${list(extra)} (a newer release migrated this database)` : '',
  ].filter(Boolean).join('; ');
}

export interface MigrateOptions {
  direction: 'up' | 'down';
  /** How many steps; `up` defaults to all pending, `down` to one. */
  count?: number;
  log?: (message: string) => void;
  /** Where the migration files are; tests point this at a folder of their own. */
  dir?: string;
}

/**
 * The schema of the migrations' own table: where the session's search_path finds it (as every
 * reader here does: status, readiness, doctor), else where the migrations create their tables
 * (current_schema()). node-pg-migrate's own default, "public", failed for a role whose search_path
 * is a schema of its own and that may not create in public (PostgreSQL 15's default for all but
 * the database's owner): "permission denied for schema public" before the first step.
 */
async function migrationsSchema(client: pg.ClientBase): Promise<string> {
  const { rows } = await client.query<{ schema: string | null; path: string }>(
    `SELECT coalesce((SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)),
       current_schema()) AS schema, current_setting('search_path') AS path`,
    [MIGRATIONS_TABLE],
  );
  const { schema, path } = rows[0]!;
  if (schema === null) {
    throw new Error(`no schema to create the tables in: the search_path (${path}) names none that exists; create it, or set the role's search_path`);
  }
  return schema;
}

/**
 * Readies a session of ours for node-pg-migrate (its own client would read the URL's TLS settings
 * as node-postgres does, tls.ts) and gives the runner's options. The session has no statement
 * timeout: a step on a big table takes minutes (the rollup backfill: 135–229 s at 10M rows,
 * docs/BENCHMARKS.md), and a role's own `statement_timeout` (managed services often set one)
 * cancelled it half-way with a bare "canceling statement due to statement timeout".
 */
export async function runnerSession(dbClient: pg.ClientBase, dir: string) {
  await dbClient.query('SET statement_timeout = 0');
  return {
    dbClient,
    dir,
    ignorePattern: '(\\..*)|(.*\\.d\\.ts)',
    migrationsTable: MIGRATIONS_TABLE,
    migrationsSchema: await migrationsSchema(dbClient),
    singleTransaction: false,
    checkOrder: true,
    log: () => {},
  } as const;
}

/**
 * Each migration runs in its own transaction (or none, for CONCURRENTLY), so a failure rolls back
 * that step completely and leaves the steps before it applied. `up` first checks the server's
 * version (server-version.ts): on one too old it changes nothing; `down` runs on any.
 */
export async function migrate(databaseUrl: string, options: MigrateOptions): Promise<string[]> {
  const done = await withClient(databaseUrl, async (client) => {
    if (options.direction === 'up') {
      const note = await checkClientServer(client);
      if (note) options.log?.(`Note: ${note}.`);
    }
    return runner({
      ...(await runnerSession(client, options.dir ?? MIGRATIONS_DIR)),
      direction: options.direction,
      count: options.count ?? (options.direction === 'up' ? Infinity : 1),
      log: options.log ?? (() => {}),
    });
  });
  return done.map((m) => m.name);
}

export interface MigrationStatus {
  applied: { name: string; run_on: string }[];
  pending: string[];
  /** Applied in the database but unknown to this release (a newer release ran, or a file was removed). */
  unknown: string[];
}

export async function migrationStatus(databaseUrl: string, dir: string = MIGRATIONS_DIR): Promise<MigrationStatus> {
  return withClient(databaseUrl, async (client) => {
    const exists = await client.query(`SELECT to_regclass($1) IS NOT NULL AS present`, [MIGRATIONS_TABLE]);
    const rows = exists.rows[0]?.present
      ? (await client.query<{ name: string; run_on: Date }>(`SELECT name, run_on FROM ${MIGRATIONS_TABLE} ORDER BY id`)).rows
      : [];
    const known = knownMigrations(dir);
    const appliedNames = new Set(rows.map((r) => r.name));
    return {
      applied: rows.map((r) => ({ name: r.name, run_on: r.run_on.toISOString() })),
      pending: known.filter((name) => !appliedNames.has(name)),
      unknown: rows.map((r) => r.name).filter((name) => !known.includes(name)),
    };
  });
}
