import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UNKNOWN_SHARE } from '../src/doctor/metrics-checks.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const plan = readFileSync(`${root}docs/ROLLBACK_PLAN.md`, 'utf8');
const scripts: Record<string, string> = JSON.parse(readFileSync(`${root}package.json`, 'utf8')).scripts;

/** Every `npm …` command quoted in the plan, from code spans (where the plan quotes commands). */
const commands = [...plan.matchAll(/`(npm [^`]+)`/g)].map((m) => m[1]!);
/** A word the reader fills in: NAME, N, <commit>, $SERVICE, or a number. */
const placeholder = (word: string) => /^([A-Z]+|<[^>]+>|\$[A-Z_]+|[0-9]+)$/.test(word) || word.startsWith('http');
/** A migration's name, quoted as an example: it must be one this release ships. */
const migrationName = /^\d{13}_[\w-]+$/;

t.test('the plan quotes the commands it is about', async (t) => {
  for (const expected of ['npm run doctor', 'npm run smoke -- --url $SERVICE', 'npm run migrate -- down 1', 'npm run explain']) {
    t.ok(commands.includes(expected), `quotes ${expected}`);
  }
  t.equal(plan.match(/^## \d\. .+$/gm)?.length, 7, 'sections 1 to 7');
});

t.test('every quoted npm command exists: the script, its file, its subcommands and options', async (t) => {
  for (const command of commands) {
    const [, run, name, ...rest] = command.split(/\s+/);
    if (run !== 'run') {
      t.ok(['start', 'test', 'ci'].includes(run!), `${command}: npm ${run} is a built-in`);
      continue;
    }
    const script = scripts[name!];
    if (!script) {
      t.fail(`${command}: package.json has no script "${name}"`);
      continue;
    }
    const entry = /^node (\S+\.ts)/.exec(script)?.[1];
    t.ok(entry && existsSync(`${root}${entry}`), `${command}: its entry file ${entry} exists`);
    if (!entry || !existsSync(`${root}${entry}`)) continue;
    const source = readFileSync(`${root}${entry}`, 'utf8');
    const args = rest[0] === '--' ? rest.slice(1) : rest;
    for (const word of args.filter((w) => migrationName.test(w))) {
      t.ok(existsSync(`${root}migrations/${word}.ts`), `${command}: migrations/${word}.ts exists`);
    }
    for (const word of args.filter((w) => !placeholder(w) && !migrationName.test(w))) {
      const bare = word.replace(/^--/, '');
      t.ok(new RegExp(`['\\s]${bare}['":]`).test(source) || source.includes(`'${word}'`), `${command}: ${entry} knows ${word}`);
    }
  }
});

t.test('every file the plan names exists', async (t) => {
  const paths = [...plan.matchAll(/`((?:src|docs|test|migrations|openapi)\/[\w./-]*)`/g)].map((m) => m[1]!);
  t.ok(paths.length > 0);
  for (const path of paths) t.ok(existsSync(`${root}${path}`), path);
});

t.test('the thresholds the plan quotes are the code’s', async (t) => {
  t.match(plan, `${UNKNOWN_SHARE.JUMP_POINTS} percentage points`);
  t.match(plan, `at least ${UNKNOWN_SHARE.MIN_CANCELLED} cancellations`);
  t.match(plan, '`DOCTOR_MAX_MS` (default 500)');
  t.match(readFileSync(`${root}src/cli/doctor.ts`, 'utf8'), "return 500;");
});

t.test('the review record has a dated entry', async (t) => {
  t.match(plan, /^\| \d{4}-\d{2}-\d{2} \| .+ \| .+ \|$/m);
});
