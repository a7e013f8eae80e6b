import { execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createDatabasePool } from '../../src/db/pool.ts';
import { seedSyntheticRows } from '../../src/demo/synthetic-data.ts';

export const BENCH_ROOT = '.tmp/bench';
export const DAYS = 90;
export const WORKERS = 12;

export interface SeededDatabase {
  url: string;
  seedSeconds: number;
  stop(): Promise<void>;
}

/**
 * A fresh embedded PostgreSQL (no fsync: the data is thrown away) migrated to the latest schema and
 * seeded with `rows` synthetic executions over 90 days, vacuumed and analysed as a settled table is.
 */
export async function seededDatabase(rows: number, log: (line: string) => void = () => {}): Promise<SeededDatabase> {
  const dir = join(BENCH_ROOT, `pg-${rows}`);
  await rm(dir, { recursive: true, force: true });
  const server = await startEmbeddedPostgres({ dir, ephemeral: true });
  try {
    await migrate(server.url, { direction: 'up' });
    const pool = await createDatabasePool(server.url, { statementTimeoutMs: 3_600_000, connectionTimeoutMs: 10_000 });
    const started = performance.now();
    try {
      await seedSyntheticRows(pool, {
        rows,
        days: DAYS,
        workers: WORKERS,
        onProgress: (done, total) => done < total && log(`  seeded ${done.toLocaleString('en')} / ${total.toLocaleString('en')}`),
      });
    } finally {
      await pool.end();
    }
    await withClient(server.url, (client) => client.query('VACUUM (ANALYZE) job_execution_summaries'));
    const seedSeconds = (performance.now() - started) / 1000;
    log(`  ${rows.toLocaleString('en')} rows seeded and vacuumed in ${seedSeconds.toFixed(1)} s`);
    return {
      url: server.url,
      seedSeconds,
      stop: async () => {
        await server.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await server.stop();
    throw error;
  }
}

export async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

function git(...args: string[]): string {
  try {
    return execFileSync('git', args, { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** What the numbers were measured on: they mean nothing without it. */
export async function machine(url: string) {
  const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';
  return {
    commit: `${git('rev-parse', '--short', 'HEAD')}${dirty ? ' (+ uncommitted changes)' : ''}`,
    date: new Date().toISOString(),
    node: process.version,
    postgres: await withClient(url, async (c) => (await c.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v),
    cpus: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}`,
    memory_gib: Math.round(totalmem() / 2 ** 30),
    load: loadavg().map((l) => l.toFixed(2)).join(' '),
  };
}
export type Machine = Awaited<ReturnType<typeof machine>>;
