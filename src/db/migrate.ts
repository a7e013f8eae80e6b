import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import pg from 'pg';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations', import.meta.url));
export const MIGRATIONS_TABLE = 'pgmigrations';

/** Migration names (file names without extension) this release ships, oldest first. */
export function knownMigrations(dir: string = MIGRATIONS_DIR): string[] {
  return readdirSync(dir)
    .filter((file) => /^\d+_.+\.ts$/.test(file))
    .map((file) => file.replace(/\.ts$/, ''))
    .sort();
}

/** The migration the running code expects to be the latest applied one. */
export const expectedMigration = (): string => knownMigrations().at(-1) ?? '';

export interface MigrateOptions {
  direction: 'up' | 'down';
  /** How many steps; `up` defaults to all pending, `down` to one. */
  count?: number;
  log?: (message: string) => void;
  /** Where the migration files are; tests point this at a folder of their own. */
  dir?: string;
}

export const runnerDefaults = (databaseUrl: string, dir: string) =>
  ({
    databaseUrl,
    dir,
    ignorePattern: '(\\..*)|(.*\\.d\\.ts)',
    migrationsTable: MIGRATIONS_TABLE,
    singleTransaction: false,
    checkOrder: true,
    log: () => {},
  }) as const;

/**
 * Each migration runs in its own transaction (or none, for CONCURRENTLY), so a failure rolls back
 * that step completely and leaves the steps before it applied.
 */
export async function migrate(databaseUrl: string, options: MigrateOptions): Promise<string[]> {
  const done = await runner({
    ...runnerDefaults(databaseUrl, options.dir ?? MIGRATIONS_DIR),
    direction: options.direction,
    count: options.count ?? (options.direction === 'up' ? Infinity : 1),
    log: options.log ?? (() => {}),
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
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
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
  } finally {
    await client.end();
  }
}
