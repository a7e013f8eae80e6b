import t from 'tap';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../src/config.ts';
import { tlsPlan } from '../src/db/tls.ts';

// libpq's reading of the TLS settings (src/db/tls.ts), checked without a server: tls.test.ts
// connects with them.
const home = await mkdtemp(join(tmpdir(), 'job-metrics-home-'));
t.teardown(() => rm(home, { recursive: true, force: true }));
const ca = join(home, 'ca.pem');
await writeFile(ca, '-----BEGIN CERTIFICATE-----\nnot parsed here\n-----END CERTIFICATE-----\n');
const env = { HOME: home };
const URL_BASE = 'postgres://u:p@db.internal:5432/jobs';

/** What each connection tries, as `plain`, `encrypted` (not checked), `chain` (verify-ca) or `full`. */
const kinds = (url: string, extra: Record<string, string> = {}) =>
  tlsPlan(url, { ...env, ...extra }).attempts.map((tls) =>
    tls === false ? 'plain' : !tls.rejectUnauthorized ? 'encrypted' : tls.checkServerIdentity ? 'chain' : 'full',
  );

t.test('each sslmode as libpq reads it', async (t) => {
  t.same(kinds(URL_BASE), ['encrypted', 'plain'], 'none: prefer, TLS first and then the clear');
  t.same(kinds(`${URL_BASE}?sslmode=disable`), ['plain']);
  t.same(kinds(`${URL_BASE}?sslmode=allow`), ['plain', 'encrypted'], 'allow: the clear first');
  t.same(kinds(`${URL_BASE}?sslmode=prefer`), ['encrypted', 'plain']);
  t.same(kinds(`${URL_BASE}?sslmode=require`), ['encrypted'], 'require: encrypted, the certificate not checked');
  t.same(kinds(`${URL_BASE}?sslmode=no-verify`), ['encrypted'], "node-postgres's no-verify");
  t.same(kinds(`${URL_BASE}?sslmode=verify-ca&sslrootcert=${ca}`), ['chain']);
  t.same(kinds(`${URL_BASE}?sslmode=verify-full&sslrootcert=${ca}`), ['full']);
  t.same(kinds(`${URL_BASE}?sslmode=require&sslrootcert=${ca}`), ['chain'], 'require with a root certificate: verify-ca');
  t.same(kinds(`${URL_BASE}?sslrootcert=system`), ['full'], 'sslrootcert=system: verify-full');
  t.same(kinds(`${URL_BASE}?ssl=true`), ['full'], "node-postgres's ssl=true: verified, as it was");
  t.same(kinds(`${URL_BASE}?ssl=0`), ['plain']);
});

t.test('the environment as libpq reads it, the URL first', async (t) => {
  t.same(kinds(URL_BASE, { PGSSLMODE: 'require' }), ['encrypted']);
  t.same(kinds(`${URL_BASE}?sslmode=disable`, { PGSSLMODE: 'require' }), ['plain'], "the URL's sslmode wins");
  t.same(kinds(`${URL_BASE}?sslmode=verify-ca`, { PGSSLROOTCERT: ca }), ['chain']);
  t.equal((tlsPlan(`${URL_BASE}?sslmode=verify-ca`, { ...env, PGSSLROOTCERT: ca }).attempts[0] as { ca: string }).ca, await readFile(ca, 'utf8'), 'PGSSLROOTCERT read');

  await mkdir(join(home, '.postgresql'), { recursive: true });
  await writeFile(join(home, '.postgresql', 'root.crt'), 'the default root');
  t.teardown(() => rm(join(home, '.postgresql'), { recursive: true, force: true }));
  t.equal((tlsPlan(`${URL_BASE}?sslmode=verify-full`, env).attempts[0] as { ca: string }).ca, 'the default root', '~/.postgresql/root.crt');
  t.same(kinds(`${URL_BASE}?sslmode=require`), ['chain'], 'require beside ~/.postgresql/root.crt: verify-ca, as libpq');
});

t.test('the URL the drivers get has no TLS parameters left, and keeps the rest', async (t) => {
  const plan = tlsPlan(`${URL_BASE}?sslmode=verify-ca&sslrootcert=${ca}&application_name=jm&options=-c%20jit%3Doff&uselibpqcompat=true`, env);
  const params = new URL(plan.url).searchParams;
  t.same([...params.keys()].sort(), ['application_name', 'options']);
  t.equal(params.get('options'), '-c jit=off');
  t.equal(plan.mode, 'verify-ca');
});

t.test("libpq's host, port, user, password and dbname in the query reach both drivers", async (t) => {
  const moved = new URL(tlsPlan('postgresql:///ignored?host=/var/run/postgresql&port=6432&user=m%C3%A9trics&password=p%40ss%2Fw&dbname=jobs&application_name=jm', env).url);
  t.equal(decodeURIComponent(moved.hostname), '/var/run/postgresql', 'the socket directory, as one host name');
  t.same([moved.port, decodeURIComponent(moved.username), decodeURIComponent(moved.password), moved.pathname], ['6432', 'métrics', 'p@ss/w', '/jobs']);
  t.same([...moved.searchParams.keys()], ['application_name']);
  t.equal(tlsPlan('postgres://u:p@db.internal:5432/jobs?port=6543', env).url, 'postgres://u:p@db.internal:6543/jobs', "the query's port wins, as in libpq");
});

t.test('a setting that cannot work stops the start with one line naming it', async (t) => {
  const refused: [Record<string, string>, string, RegExp][] = [
    [{ DATABASE_URL: `${URL_BASE}?sslmode=verify` }, 'DATABASE_URL', /^DATABASE_URL has sslmode=verify: an sslmode is one of disable, allow, prefer, require, verify-ca, verify-full, no-verify$/],
    [{ DATABASE_URL: URL_BASE, PGSSLMODE: 'on' }, 'PGSSLMODE', /^PGSSLMODE is "on": an sslmode is one of /],
    [{ DATABASE_URL: `${URL_BASE}?sslmode=verify-full&sslrootcert=${home}/nope.pem` }, 'DATABASE_URL', /has sslrootcert=\S+nope\.pem: cannot read that root certificate \(ENOENT\)$/],
    [{ DATABASE_URL: URL_BASE, PGSSLROOTCERT: `${home}/nope.pem`, PGSSLMODE: 'verify-ca' }, 'PGSSLROOTCERT', /^PGSSLROOTCERT is "\S+nope\.pem": cannot read that root certificate/],
    [{ DATABASE_URL: `${URL_BASE}?sslmode=require&sslrootcert=system` }, 'DATABASE_URL', /has sslmode=require, which libpq refuses with sslrootcert=system: use verify-full/],
    [{ DATABASE_URL: `${URL_BASE}?sslcert=${ca}` }, 'DATABASE_URL', /has sslcert=\S+ alone: a client certificate .* needs its key/],
    [{ DATABASE_URL: `${URL_BASE}?ssl=yes` }, 'DATABASE_URL', /has ssl=yes: use sslmode=/],
    [{ DATABASE_URL: `${URL_BASE}?sslnegotiation=direct` }, 'DATABASE_URL', /sslnegotiation=direct: node-postgres negotiates TLS the standard way only/],
  ];
  for (const [given, variable, message] of refused) {
    const error = catchError(() => loadConfig({ ...env, ...given }));
    t.type(error, ConfigError, JSON.stringify(given));
    t.equal((error as ConfigError).variable, variable);
    t.match((error as Error).message, message);
  }
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}
