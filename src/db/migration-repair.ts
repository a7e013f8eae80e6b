import { runner } from 'node-pg-migrate';
import { MIGRATIONS_DIR, migrationStatus, runnerSession } from './migrate.ts';
import { checkClientServer } from './server-version.ts';
import { withClient } from './tls.ts';

/**
 * Runs the `up` step of one applied migration again, leaving pgmigrations as it is: the runner
 * records the step in a temporary table of its own session, gone when it disconnects. Meant for
 * the index migrations, which are idempotent (they drop their INVALID leftover, then
 * CREATE INDEX CONCURRENTLY IF NOT EXISTS); a step that is not idempotent fails and, if it runs in a
 * transaction, changes nothing.
 */
export async function reapplyMigration(databaseUrl: string, name: string, dir: string = MIGRATIONS_DIR): Promise<void> {
  const status = await migrationStatus(databaseUrl, dir);
  if (!status.applied.some((m) => m.name === name)) {
    throw new Error(`${name} is not applied: npm run migrate -- up applies pending migrations`);
  }
  await withClient(databaseUrl, async (client) => {
    await checkClientServer(client);
    return runner({ ...(await runnerSession(client, dir)), migrationsSchema: 'pg_temp', file: name, direction: 'up', checkOrder: false });
  });
}

/**
 * Records a migration as applied without running it, for a step whose change is already in the
 * database (applied by hand). Only the next pending one, so the record keeps the release's order.
 */
export async function markApplied(databaseUrl: string, name: string, dir: string = MIGRATIONS_DIR): Promise<void> {
  const next = (await migrationStatus(databaseUrl, dir)).pending[0];
  if (name !== next) {
    throw new Error(`only the next pending migration (${next ?? 'none'}) can be marked applied, not ${name}`);
  }
  await withClient(databaseUrl, async (client) => runner({ ...(await runnerSession(client, dir)), fake: true, file: name, direction: 'up' }));
}

/** Forgets that a migration ran, without running its `down`. Only the latest applied one. */
export async function unmarkMigration(databaseUrl: string, name: string, dir: string = MIGRATIONS_DIR): Promise<void> {
  const latest = (await migrationStatus(databaseUrl, dir)).applied.at(-1)?.name;
  if (name !== latest) {
    throw new Error(`only the latest applied migration (${latest ?? 'none'}) can be unmarked, not ${name}`);
  }
  await withClient(databaseUrl, async (client) => runner({ ...(await runnerSession(client, dir)), fake: true, file: name, direction: 'down' }));
}
