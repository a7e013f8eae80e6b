import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatCsv, parseCsv } from '../src/analysis/csv.ts';
import { decideThreshold } from '../src/analysis/threshold-decision.ts';
import { freePort } from '../src/db/embedded.ts';
import { EMBEDDED_SERVER, READS_DATA_DIR, startTestDatabase } from './helpers/database.ts';
import { bandJobIds, matchAttemptRows } from './helpers/match-attempts.ts';
import { insertRows } from './helpers/rows.ts';

const db = await startTestDatabase(t);
const rows = matchAttemptRows();
await insertRows(db.pool, rows);
const dir = await mkdtemp(join(tmpdir(), 'job-metrics-tmdb-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const file = (name: string) => join(dir, name);

/** Runs an npm script's entry point as a user would: its own process, configured by the environment. */
function run(script: 'tmdb-sample' | 'tmdb-decide', args: string[], env: Record<string, string> = {}) {
  const entry = new URL(`../src/cli/${script}.ts`, import.meta.url).pathname;
  const child = spawn(process.execPath, [entry, ...args], {
    // DATA_DIR points nowhere, so no `npm start` database of the developer's is ever found.
    env: { ...process.env, DATABASE_URL: db.url, DATA_DIR: file('no-data'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
}

const byJob = new Map(rows.map((r) => [String(r.job_id), r.results as Record<string, unknown>]));
const population = bandJobIds(rows, 45, 50, 720);

t.test('sample → review → decide, on real PostgreSQL', async (t) => {
  const args = ['--from', '45', '--to', '50', '--size', '60', '--seed', '3', '--out', file('sample.csv')];
  const sampled = await run('tmdb-sample', args);
  t.equal(sampled.code, 0, sampled.stderr);
  t.match(sampled.stderr, `60 of ${population.length} attempts with 45 ≤ confidence < 50 in the last 720 h`);
  const csv = await readFile(file('sample.csv'), 'utf8');
  const [header, ...records] = parseCsv(csv);
  t.equal(header!.fields.join(), 'job_id,worker,inserted_at,title,candidate_title,tmdb_id,confidence,verdict');
  t.equal(records.length, 60);
  for (const { fields } of records) {
    const stored = byJob.get(fields[0]!)!;
    t.ok(population.includes(fields[0]!), `job ${fields[0]} is in the band`);
    const text = (value: unknown) => (value === undefined || value === null ? '' : String(value));
    t.same(fields.slice(3), [text(stored.title), text(stored.candidate_title), text(stored.tmdb_id), text(stored.confidence), ''],
      'titles with commas, quotes and line breaks read back exactly');
  }
  t.ok(records.some(({ fields }) => /[",\n]/.test(fields[3]!)), 'the sample holds titles that need quoting');

  const again = await run('tmdb-sample', [...args, '--force']);
  t.equal(again.code, 0);
  t.equal(await readFile(file('sample.csv'), 'utf8'), csv, 'the same seed writes the same file');

  // The reviewer: 3 wrong, 5 left blank, the rest correct.
  const verdict = (i: number) => (i < 3 ? 'wrong' : i < 8 ? '' : 'correct');
  await writeFile(file('reviewed.csv'), formatCsv([header!.fields, ...records.map(({ fields }, i) => [...fields.slice(0, 7), verdict(i)])]));
  const decided = await run('tmdb-decide', [file('reviewed.csv'), '--out', file('report.md')]);
  t.equal(decided.code, 0, decided.stderr);
  const report = await readFile(file('report.md'), 'utf8');
  t.equal(decided.stdout, report, 'the report is printed and written');
  const expected = decideThreshold(3, 55);
  t.match(report, `## Decision: ${expected.decision}`);
  t.match(report, '| reviewed | 55 (correct 52, wrong 3) |');
  t.match(report, '| unreviewed (blank verdict, left out) | 5 |');
  t.match(report, `| false-positive rate | ${((3 / 55) * 100).toFixed(1)} % |`);
  t.match(report, `| added by the change (45 ≤ confidence < 50) | ${population.length} |`);
  t.match(report, /\| projected match rate at 45 \| \d+\.\d %/);
});

t.test('fewer than 30 reviewed rows: "insufficient sample", exit 0; without a database the counts are left out', async (t) => {
  const header = 'job_id,worker,inserted_at,title,candidate_title,tmdb_id,confidence,verdict';
  const sheet = [header, ...Array.from({ length: 12 }, (_, i) => `${i},W,t,a,b,1,46,${i < 10 ? 'correct' : ''}`)].join('\n');
  await writeFile(file('small.csv'), sheet);
  const decided = await run('tmdb-decide', [file('small.csv'), '--out', file('small.md')], { DATABASE_URL: '' });
  t.equal(decided.code, 0, decided.stderr);
  t.match(decided.stdout, /## Decision: insufficient sample\n\nOnly 10 reviewed rows; the rule needs at least 30\. For information, the 95 % interval 0\.0 % – 27\.8 %\./);
  t.match(decided.stdout, 'No database was given (DATABASE_URL), so the band was not counted.');
  t.match(decided.stderr, /^note: no DATABASE_URL/);
});

t.test('without DATABASE_URL the tools use the embedded database running in DATA_DIR', { skip: EMBEDDED_SERVER ? false : READS_DATA_DIR }, async (t) => {
  const sampled = await run('tmdb-sample', ['--size', '5', '--seed', '1'], { DATABASE_URL: '', DATA_DIR: db.dataDir });
  t.equal(sampled.code, 0, sampled.stderr);
  t.equal(parseCsv(sampled.stdout).length, 6, 'header and 5 rows on stdout');
});

t.test('each bad input is one clear line and a non-zero exit', async (t) => {
  const header = 'job_id,worker,inserted_at,title,candidate_title,tmdb_id,confidence,verdict';
  await writeFile(file('no-verdict.csv'), 'job_id,worker,inserted_at,title,candidate_title,tmdb_id,confidence\n1,W,t,a,b,1,46\n');
  await writeFile(file('maybe.csv'), `${header}\n1,W,t,a,b,1,46,correct\n2,W,t,a,b,1,47,maybe\n`);
  await writeFile(file('exists.csv'), 'reviewed work\n');
  await writeFile(file('valid.csv'), `${header}\n1,W,t,a,b,1,46,correct\n`);
  const closedPort = await freePort();
  const cases: [string, 'tmdb-sample' | 'tmdb-decide', string[], RegExp, Record<string, string>?][] = [
    ['from ≥ to', 'tmdb-sample', ['--from', '50', '--to', '45'], /--from must be less than --to \(got --from 50 --to 45\)/],
    ['from = to', 'tmdb-decide', [file('maybe.csv'), '--from', '50'], /--from must be less than --to/],
    ['from over 100', 'tmdb-sample', ['--from', '101'], /--from must be a whole number from 0 to 100 \(got "101"\)/],
    ['to not a number', 'tmdb-decide', [file('maybe.csv'), '--to', '4e1'], /--to must be a whole number/],
    ['size 0', 'tmdb-sample', ['--size', '0'], /--size must be a whole number from 1 to 1000/],
    ['hours over a year', 'tmdb-sample', ['--hours', '8761'], /--hours must be a whole number from 1 to 8760/],
    ['seed not digits', 'tmdb-sample', ['--seed=abc'], /--seed must be a whole number/],
    ['unknown option', 'tmdb-sample', ['--sise', '80'], /Unknown option '--sise'.*usage: npm run tmdb:sample/],
    ['an existing --out', 'tmdb-sample', ['--out', file('exists.csv')], /exists \(a filled-in review\?\).*--force/],
    ['no database', 'tmdb-sample', [], /DATABASE_URL is not set and DATA_DIR \(.*no-data\) holds no database/, { DATABASE_URL: '' }],
    ['database down', 'tmdb-sample', [], /cannot reach the database at 127\.0\.0\.1:\d+/,
      { DATABASE_URL: `postgres://postgres:postgres@127.0.0.1:${closedPort}/x` }],
    // libpq's way to a Unix socket: the host sits in the query, and the message names it there.
    ['socket down', 'tmdb-sample', [], /cannot reach the database at \/nonexistent\/socket-dir:\d+\/x:/,
      { DATABASE_URL: `postgres://postgres:postgres@/x?host=/nonexistent/socket-dir&port=${closedPort}` }],
    ['no file', 'tmdb-decide', [], /give exactly one sample file/],
    ['unreadable file', 'tmdb-decide', [file('missing.csv')], /cannot read .*missing\.csv: ENOENT/],
    ['a directory', 'tmdb-decide', [dir], /cannot read .*: EISDIR/],
    ['missing column', 'tmdb-decide', [file('no-verdict.csv')], /no-verdict\.csv, line 1: missing column verdict$/],
    ['unknown verdict', 'tmdb-decide', [file('maybe.csv')], /maybe\.csv, line 3: unknown verdict "maybe"/],
    ['report path under a file', 'tmdb-decide', [file('valid.csv'), '--out', file('exists.csv/report.md')], /cannot write .*report\.md: EEXIST/],
    ['sheet from another band', 'tmdb-decide', [file('maybe.csv'), '--from', '40', '--to', '45'], /line 2: confidence "46" is not in the band 40 ≤ confidence < 45/],
  ];
  const results = await Promise.all(cases.map(([, script, args, , env]) => run(script, args, env)));
  cases.forEach(([name, , , message], i) => {
    const { code, stdout, stderr } = results[i]!;
    t.not(code, 0, `${name}: non-zero exit`);
    t.match(stderr, new RegExp(`^error: .*${message.source}`, 'm'), `${name}: ${stderr.trim()}`);
    t.equal(stderr.trim().split('\n').length, 1, `${name}: one line`);
    t.equal(stdout, '', `${name}: nothing on stdout`);
  });
  t.equal(await readFile(file('exists.csv'), 'utf8'), 'reviewed work\n', 'a reviewed sheet is never overwritten');
});
