import t from 'tap';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MIGRATIONS_DIR } from '../src/db/migrate.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SUMS_FILE = 'test/fixtures/released-migrations.sha256';

/** `sha256sum` lines: "<hex>  <path from the repository root>". */
const released = new Map(
  readFileSync(join(ROOT, SUMS_FILE), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [sum, path] = line.split(/\s+\*?/);
      return [path!, sum!] as const;
    }),
);

const files = readdirSync(MIGRATIONS_DIR, { recursive: true, withFileTypes: true })
  .filter((entry) => entry.isFile())
  .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)))
  .sort();
const sha256 = (path: string) => createHash('sha256').update(readFileSync(join(ROOT, path))).digest('hex');

t.test('a released migration never changes: every file under migrations/ matches its committed checksum', async (t) => {
  for (const path of files) {
    const sum = released.get(path);
    if (sum === undefined) {
      t.fail(`${path} has no checksum: once it is final, release it with \`sha256sum ${path} >> ${SUMS_FILE}\``);
    } else {
      t.equal(sha256(path), sum, `${path} is as released (a change to the schema is a new migration)`);
    }
  }
  for (const path of released.keys()) t.ok(files.includes(path), `${path} was released and is still here`);
});

t.test('a migration imports nothing that can change: only node builtins, node-pg-migrate types and migrations/', async (t) => {
  for (const path of files.filter((file) => file.endsWith('.ts'))) {
    const specifiers = [...readFileSync(join(ROOT, path), 'utf8').matchAll(/\bfrom\s+'([^']+)'|\bimport\(\s*'([^']+)'/g)].map(
      (match) => match[1] ?? match[2]!,
    );
    for (const specifier of specifiers) {
      const allowed =
        specifier.startsWith('node:') || specifier === 'node-pg-migrate' || (specifier.startsWith('./') && !specifier.includes('..'));
      t.ok(allowed, `${path} imports ${specifier}`);
    }
  }
});
