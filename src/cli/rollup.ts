/**
 * npm run rollup -- verify [--hours N]   compare rollup answers with the raw oracle for the system and
 *                                        every worker over the window (default 24), and rebuild the
 *                                        rollups in a rolled-back transaction to compare bucket by bucket
 * npm run rollup -- rebuild              recompute the rollups from the raw rows (writers wait meanwhile)
 * npm run rollup -- fold                 move every pending inserted row into the rollups now, in batches
 * Reads DATABASE_URL; prints every difference and exits 1 if there is one.
 */
import { connectClient } from '../db/tls.ts';
import { loadConfig } from '../config.ts';
import { createDatabasePool } from '../db/pool.ts';
import { workersQuery } from '../metrics/workers-query.ts';
import { rebuildRollups } from '../metrics/rollup/backfill.ts';
import { foldPending } from '../metrics/rollup/fold-loop.ts';
import { auditRollups, verifyWindow } from '../metrics/rollup/verify.ts';
import { MAX_HOURS } from '../schemas/common.ts';
import { runCli } from './run-cli.ts';

const USAGE = 'usage: npm run rollup -- verify [--hours N] | rebuild | fold';

async function verify(databaseUrl: string, hours: number, retentionDays: number | undefined): Promise<number> {
  const pool = await createDatabasePool(databaseUrl, { statementTimeoutMs: 600_000, connectionTimeoutMs: 10_000, maxPoolSize: 2 });
  const client = await connectClient(databaseUrl);
  let failures = 0;
  try {
    const workers = (await pool.any(workersQuery())).map((w) => w.worker);
    for (const worker of [undefined, ...workers]) {
      const found = await verifyWindow(pool, hours, worker, retentionDays);
      failures += found.length;
      for (const line of found) console.log(`DIFF  ${worker ?? '(system)'} ${hours} h  ${line}`);
    }
    console.log(`${workers.length + 1} windows of ${hours} h compared with the raw oracle (the hours after the retention horizon, if any)`);
    const drift = await auditRollups(client, 50, retentionDays);
    failures += drift.length;
    for (const line of drift) console.log(`DRIFT ${line}`);
    console.log('every rollup bucket from the retention horizon on compared with a rebuild from the raw rows');
  } finally {
    await client.end();
    await pool.end();
  }
  return failures;
}

async function rebuild(databaseUrl: string): Promise<void> {
  const client = await connectClient(databaseUrl);
  try {
    const rows = await rebuildRollups(client, (message) => console.log(message));
    console.log(`rebuilt the rollups from ${rows} rows`);
  } finally {
    await client.end();
  }
}

async function fold(databaseUrl: string): Promise<void> {
  const pool = await createDatabasePool(databaseUrl, { statementTimeoutMs: 600_000, connectionTimeoutMs: 10_000, maxPoolSize: 1 });
  try {
    console.log(`folded ${await foldPending(pool)} pending rows into the rollups`);
  } finally {
    await pool.end();
  }
}

await runCli(async () => {
  const [command, ...rest] = process.argv.slice(2);
  const { databaseUrl, retentionDays } = loadConfig();
  if (!databaseUrl) throw new Error('DATABASE_URL is not set');
  if (command === 'rebuild' && rest.length === 0) return rebuild(databaseUrl);
  if (command === 'fold' && rest.length === 0) return fold(databaseUrl);
  if (command !== 'verify') throw new Error(USAGE);
  let hours = 24;
  if (rest.length > 0) {
    if (rest.length !== 2 || rest[0] !== '--hours' || !/^[1-9][0-9]{0,3}$/.test(rest[1]!) || Number(rest[1]) > MAX_HOURS) {
      throw new Error(`--hours must be a whole number from 1 to ${MAX_HOURS}. ${USAGE}`);
    }
    hours = Number(rest[1]);
  }
  const failures = await verify(databaseUrl, hours, retentionDays);
  if (failures > 0) throw new Error(`${failures} difference(s) between the rollups and the raw rows`);
  console.log('PASS: the rollups agree with the raw rows');
});
