/**
 * npm run migrate -- up                  apply every pending migration
 * npm run migrate -- down [N]            revert the last N applied migrations (default 1)
 * npm run migrate -- status              list applied and pending migrations
 * npm run migrate -- reapply NAME        run an applied (idempotent) migration's up again: rebuilds a
 *                                        missing or INVALID index; the record is left as it is
 * npm run migrate -- mark-applied NAME   record the next pending migration as applied, without running it
 * npm run migrate -- unmark NAME         forget the latest applied migration, without running its down
 * Reads DATABASE_URL. docs/ROLLBACK_PLAN.md says when each one is the right tool.
 */
import { loadConfig } from '../config.ts';
import { migrate, migrationStatus } from '../db/migrate.ts';
import { markApplied, reapplyMigration, unmarkMigration } from '../db/migration-repair.ts';
import { runCli } from './run-cli.ts';

const USAGE = 'usage: npm run migrate -- up | down [N] | status | reapply NAME | mark-applied NAME | unmark NAME';

const REPAIRS = {
  reapply: { run: reapplyMigration, done: 'reapplied' },
  'mark-applied': { run: markApplied, done: 'marked applied' },
  unmark: { run: unmarkMigration, done: 'unmarked' },
} as const;

await runCli(async () => {
  const [command, arg, ...rest] = process.argv.slice(2);
  const { databaseUrl } = loadConfig();
  if (!databaseUrl) throw new Error('DATABASE_URL is not set: migrations need the database to change');
  if (rest.length > 0) throw new Error(USAGE);
  if (command === 'status') {
    const status = await migrationStatus(databaseUrl);
    for (const m of status.applied) console.log(`applied  ${m.name}  (${m.run_on})`);
    for (const name of status.pending) console.log(`pending  ${name}`);
    for (const name of status.unknown) console.log(`unknown  ${name}  (applied, but not in this release)`);
    console.log(`${status.applied.length} applied, ${status.pending.length} pending`);
    return;
  }
  if (command !== undefined && Object.hasOwn(REPAIRS, command)) {
    if (arg === undefined) throw new Error(USAGE);
    const repair = REPAIRS[command as keyof typeof REPAIRS];
    await repair.run(databaseUrl, arg);
    console.log(`${repair.done} ${arg}`);
    return;
  }
  if (command !== 'up' && command !== 'down') throw new Error(USAGE);
  if (command === 'up' && arg !== undefined) throw new Error(USAGE);
  if (arg !== undefined && !/^[1-9][0-9]*$/.test(arg)) throw new Error(`N must be a positive integer. ${USAGE}`);
  const names = await migrate(databaseUrl, {
    direction: command,
    count: arg === undefined ? undefined : Number(arg),
  });
  if (names.length === 0) console.log(command === 'up' ? 'no pending migrations' : 'no migration to revert');
  for (const name of names) console.log(`${command === 'up' ? 'applied ' : 'reverted'} ${name}`);
});
