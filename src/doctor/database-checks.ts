import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { EXPECTED_INDEXES } from '../db/expected-indexes.ts';
import { knownMigrations, migrationStatus, MIGRATIONS_DIR } from '../db/migrate.ts';
import { checkServerVersion, serverVersionOf, UnsupportedServerError } from '../db/server-version.ts';
import { fail, pass, type Check } from './report.ts';

export function reachableCheck(pool: DatabasePool, description: string): Check {
  return {
    name: 'database reachable',
    run: async () => {
      const found = await pool.one(sql.type(z.object({ num: z.string(), version: z.string(), encoding: z.string(), tls: z.string().nullable() }))`
        SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS version,
          current_setting('server_encoding') AS encoding, (SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS tls`);
      let note: string | undefined;
      try {
        note = checkServerVersion(serverVersionOf({ num: found.num, text: found.version, encoding: found.encoding }));
      } catch (error) {
        if (!(error instanceof UnsupportedServerError)) throw error;
        return fail('database reachable', error.message, [`fix: ${error.fix}`]);
      }
      const detail = `PostgreSQL ${found.version}, ${description}, ${found.tls ? `over ${found.tls}` : 'not encrypted'}`;
      return pass('database reachable', note ? `${detail} (${note})` : detail);
    },
  };
}

export function migrationsCheck(url: string): Check {
  return {
    name: 'migrations current',
    run: async () => {
      const { applied, pending, unknown } = await migrationStatus(url);
      const latest = applied.at(-1)?.name ?? 'none';
      if (pending.length === 0 && unknown.length === 0) {
        return pass('migrations current', `${applied.length} applied, latest ${latest}`);
      }
      return fail('migrations current', `${pending.length} pending, ${unknown.length} not in this release (latest applied: ${latest})`, [
        ...pending.map((name) => `pending  ${name}  — fix: npm run migrate -- up`),
        ...unknown.map((name) => `unknown  ${name}  — applied by a newer release; deploy that release or revert it with its own code`),
      ]);
    },
  };
}

/**
 * The migration that builds an index: the newest one whose `up` step creates it (a comment that
 * mentions the name, or a `down` that restores it, does not count).
 */
export function migrationFor(indexName: string): string | undefined {
  const creates = new RegExp(`createIndexConcurrently\\(\\s*pgm,\\s*'${indexName}'`);
  return knownMigrations()
    .filter((name) => {
      const source = readFileSync(join(MIGRATIONS_DIR, `${name}.ts`), 'utf8');
      return creates.test(source.split(/export async function down/)[0]!);
    })
    .at(-1);
}

const IndexRow = z.object({ name: z.string(), table_name: z.string(), valid: z.boolean(), definition: z.string() });

export function indexesCheck(pool: DatabasePool): Check {
  return {
    name: 'expected indexes',
    run: async () => {
      const names = EXPECTED_INDEXES.map((index) => index.name);
      const applied = new Set((await pool.anyFirst(sql.type(z.object({ name: z.string() }))`
        SELECT name FROM pgmigrations
      `)));
      const found = await pool.any(sql.type(IndexRow)`
        SELECT c.relname AS name, t.relname AS table_name, i.indisvalid AS valid, pg_get_indexdef(i.indexrelid) AS definition
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid
        JOIN pg_class t ON t.oid = i.indrelid
        WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY(${sql.array(names, 'text')})
      `);
      return EXPECTED_INDEXES.map((expected) => {
        const name = `index ${expected.name}`;
        const index = found.find((row) => row.name === expected.name);
        const migration = migrationFor(expected.name);
        // A pending migration is built by `up`; `reapply` repeats one the record says already ran.
        const fix = [
          migration && !applied.has(migration)
            ? `fix: npm run migrate -- up  (${migration} is pending)`
            : `fix: npm run migrate -- reapply ${migration ?? '<the migration that creates it>'}`,
        ];
        if (!index) return fail(name, `missing on ${expected.table}`, fix);
        if (index.table_name !== expected.table) return fail(name, `is on ${index.table_name}, expected ${expected.table}`, fix);
        if (!index.valid) return fail(name, 'INVALID (a CREATE INDEX CONCURRENTLY failed); queries do not use it', fix);
        return pass(name, `present and valid: ${index.definition}`);
      });
    },
  };
}
