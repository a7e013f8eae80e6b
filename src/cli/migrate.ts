/**
 * npm run migrate -- up          apply every pending migration
 * npm run migrate -- down [N]    revert the last N applied migrations (default 1)
 * npm run migrate -- status      list applied and pending migrations
 * Reads DATABASE_URL.
 */
import { loadConfig } from '../config.ts';
import { migrate, migrationStatus } from '../db/migrate.ts';
import { runCli } from './run-cli.ts';

const USAGE = 'usage: npm run migrate -- up | down [N] | status';

await runCli(async () => {
  const [command, countArg, ...rest] = process.argv.slice(2);
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
  if (command !== 'up' && command !== 'down') throw new Error(USAGE);
  if (command === 'up' && countArg !== undefined) throw new Error(USAGE);
  if (countArg !== undefined && !/^[1-9][0-9]*$/.test(countArg)) throw new Error(`N must be a positive integer. ${USAGE}`);
  const names = await migrate(databaseUrl, {
    direction: command,
    count: countArg === undefined ? undefined : Number(countArg),
  });
  if (names.length === 0) console.log(command === 'up' ? 'no pending migrations' : 'no migration to revert');
  for (const name of names) console.log(`${command === 'up' ? 'applied ' : 'reverted'} ${name}`);
});
