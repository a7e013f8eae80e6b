import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmod, copyFile, chown, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { sql } from 'slonik';
import { z } from 'zod';
import { loadConfig } from '../src/config.ts';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { knownMigrations, migrate, migrationStatus } from '../src/db/migrate.ts';
import { createDatabasePool } from '../src/db/pool.ts';
import { foldPending } from '../src/metrics/rollup/fold-loop.ts';
import { get, startTestApp } from './helpers/app.ts';
import { makeCertificates } from './helpers/certificates.ts';
import { runScript } from './helpers/cli.ts';
import { EMBEDDED_SERVER, READS_DATA_DIR, startTestDatabase } from './helpers/database.ts';
import { nastyRows, SHOWTIME } from './helpers/nasty-rows.ts';
import { insertRows, oracle } from './helpers/rows.ts';

// Managed servers accept only TLS (RDS for PostgreSQL 15+ by default), often with a private CA. The
// drivers read the URL their own way: no sslmode failed there ("no encryption"), sslmode=require
// failed on the private CA, and sslmode=verify-full threw in slonik's URL parser (src/db/tls.ts).
const db = await startTestDatabase(t);
const openssl = spawnSync('openssl', ['version']).status === 0;
if (!db.canStopServer || !openssl) {
  const skip = !openssl ? 'openssl makes the certificates: apt-get install -y openssl' : `${READS_DATA_DIR} (the test gives the server its certificates and pg_hba.conf)`;
  t.test('a server that accepts only TLS', { skip }, () => {});
} else {
  const certificates = await makeCertificates(t);
  const rows = nastyRows();
  await insertRows(db.pool, rows);
  await foldPending(db.pool);
  await db.pool.query(sql.unsafe`CREATE DATABASE certdb`);
  await requireTls(db.url, certificates);

  const url = (path: string, params: Record<string, string> = {}, host = '127.0.0.1') => {
    const given = new URL(db.url);
    given.hostname = host;
    if (path) given.pathname = path;
    for (const [name, value] of Object.entries(params)) given.searchParams.set(name, value);
    return given.toString();
  };
  const session = z.object({ ssl: z.boolean(), version: z.string().nullable() });
  /** A pool made as the service makes its own, asked how its connection is secured. */
  async function connectVia(target: string) {
    const pool = await createDatabasePool(target, { statementTimeoutMs: 10_000, connectionTimeoutMs: 5_000, maxPoolSize: 2 });
    try {
      return await pool.one(sql.type(session)`SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()`);
    } finally {
      await pool.end();
    }
  }

  t.test('a server that accepts only TLS, reached as libpq would reach it', async (t) => {
    const reached: Record<string, string> = {
      'no sslmode (libpq: prefer)': url(''),
      'sslmode=prefer': url('', { sslmode: 'prefer' }),
      'sslmode=allow: the clear refused by pg_hba.conf, then TLS': url('', { sslmode: 'allow' }),
      'sslmode=require: encrypted, the private CA not checked': url('', { sslmode: 'require' }),
      'sslmode=no-verify (node-postgres)': url('', { sslmode: 'no-verify' }),
      'sslmode=verify-ca with the CA: the chain checked, not the host name': url('', { sslmode: 'verify-ca', sslrootcert: certificates.ca }),
      'sslmode=verify-full with the CA, by the certificate\'s name': url('', { sslmode: 'verify-full', sslrootcert: certificates.ca }, 'localhost'),
      'sslmode=require with the CA (libpq: checked as verify-ca)': url('', { sslmode: 'require', sslrootcert: certificates.ca }),
      'a client certificate where pg_hba.conf asks for one': url('/certdb', { sslmode: 'verify-full', sslrootcert: certificates.ca, sslcert: certificates.clientCert, sslkey: certificates.clientKey }, 'localhost'),
    };
    for (const [name, target] of Object.entries(reached)) {
      const found = await connectVia(target);
      t.equal(found.ssl, true, `${name}: encrypted (${found.version})`);
    }
  });

  t.test('what the URL asks for is enforced, with the reason', async (t) => {
    const refused: [string, string, RegExp][] = [
      ['sslmode=disable', url('', { sslmode: 'disable' }), /no encryption/],
      ['sslmode=verify-full by address: the certificate names localhost', url('', { sslmode: 'verify-full', sslrootcert: certificates.ca }), /IP: 127\.0\.0\.1 is not in the cert's list/],
      ['sslmode=verify-ca with a CA that signed nothing here', url('', { sslmode: 'verify-ca', sslrootcert: certificates.otherCa }), /unable to verify|self.signed/i],
      ['sslmode=verify-full with Node\'s and the system\'s CAs only', url('', { sslmode: 'verify-full' }, 'localhost'), /self-signed|unable to (verify|get local issuer)/i],
      ['no client certificate where pg_hba.conf asks for one', url('/certdb', { sslmode: 'require' }), /certificate/i],
    ];
    for (const [name, target, reason] of refused) {
      await t.rejects(connectVia(target), reason, name);
    }
  });

  t.test('the service over TLS: migrations, answers, every connection encrypted', async (t) => {
    const target = url('', { sslmode: 'verify-full', sslrootcert: certificates.ca }, 'localhost');
    t.same(await migrate(target, { direction: 'up' }), [], 'migrate up: nothing pending');
    t.same((await migrationStatus(target)).pending, [], 'migrate status');
    const pool = await createDatabasePool(target, { statementTimeoutMs: 30_000, connectionTimeoutMs: 5_000 });
    t.teardown(() => pool.end());
    const app = await startTestApp(t, { ...db, url: target, pool }, { config: loadConfig({ ROLLUP_FOLD_INTERVAL_MS: '0' }) });
    t.equal((await get(t, app, '/health/ready')).statusCode, 200, 'ready');
    for (const [path, worker] of [['/metrics/system?hours=24', undefined], [`/metrics/worker/${encodeURIComponent(SHOWTIME)}?hours=24`, SHOWTIME]] as const) {
      const answer = (await get(t, app, path)).json();
      const expected = oracle(rows, 24, worker);
      t.same([answer.executions, answer.cancellations], [expected.executions, expected.cancellations], `${path}: the oracle's counts`);
    }

    const cli = await runScript('migrate', ['status'], { DATABASE_URL: target });
    t.equal(cli.code, 0, `npm run migrate -- status over TLS: ${cli.stderr.trim()}`);
    t.match(cli.stdout, /applied, 0 pending/);
    const doctor = await runScript('doctor', [], { DATABASE_URL: target });
    t.equal(doctor.code, 0, `npm run doctor over TLS: ${doctor.stdout.split('\n').find((l) => l.startsWith('FAIL')) ?? 'no FAIL'}`);
    t.match(doctor.stdout, /PASS  database reachable: PostgreSQL [\d.]+, localhost:\d+\/job_metrics, over TLSv1\.[23]/, 'the doctor says how it is connected');
  });

  t.test('a bad TLS setting stops the CLI with one line naming it', async (t) => {
    const cli = await runScript('migrate', ['status'], { DATABASE_URL: url('', { sslmode: 'verify-full', sslrootcert: join(certificates.dir, 'missing.pem') }) });
    t.not(cli.code, 0);
    t.match(cli.stderr, /DATABASE_URL has sslrootcert=\S+missing\.pem: cannot read that root certificate \(ENOENT\)/);
    t.notMatch(cli.stderr, /\n\s+at /, 'no stack trace');
  });
}

t.test('a server without TLS: prefer connects in the clear, require refuses', async (t) => {
  const plain = await startTestDatabase(t, { migrate: false });
  const ssl = await plain.pool.oneFirst(sql.type(z.object({ ssl: z.boolean() }))`SELECT current_setting('ssl')::boolean AS ssl`);
  if (ssl) {
    t.comment('skipped: this server has TLS on');
    return;
  }
  const pool = await createDatabasePool(`${plain.url}?sslmode=prefer`, { statementTimeoutMs: 10_000, connectionTimeoutMs: 5_000, maxPoolSize: 1 });
  t.equal(await pool.oneFirst(sql.type(z.object({ n: z.number() }))`SELECT 1 AS n`), 1, 'prefer: connected');
  await pool.end();
  await t.rejects(
    createDatabasePool(`${plain.url}?sslmode=require`, { statementTimeoutMs: 10_000, connectionTimeoutMs: 5_000, maxPoolSize: 1 }),
    /does not support SSL/,
    'require: refused',
  );
});

t.test("a Unix socket, written libpq's way (postgresql:///db?host=/dir&port=…&user=…)", async (t) => {
  if (!EMBEDDED_SERVER) return t.comment(`skipped: ${READS_DATA_DIR}`);
  const socketDir = await mkdtemp(join(tmpdir(), 'job-metrics-socket-'));
  await chmod(socketDir, 0o777); // the server's own user makes the socket
  const server = await startEmbeddedPostgres({ dir: join(socketDir, 'data'), ephemeral: true, socketDir });
  t.teardown(async () => {
    await server.stop();
    await rm(socketDir, { recursive: true, force: true });
  });
  const tcp = new URL(server.url);
  const target = `postgresql:///${tcp.pathname.slice(1)}?host=${encodeURIComponent(socketDir)}&port=${tcp.port}&user=${tcp.username}&password=${tcp.password}`;
  t.same(await migrate(target, { direction: 'up' }), knownMigrations(), 'migrate over the socket');
  const pool = await createDatabasePool(target, { statementTimeoutMs: 10_000, connectionTimeoutMs: 5_000, maxPoolSize: 1 });
  t.teardown(() => pool.end());
  const found = await pool.one(sql.type(z.object({ user: z.string(), socket: z.boolean() }))`
    SELECT current_user AS user, inet_client_addr() IS NULL AS socket`);
  t.same(found, { user: tcp.username, socket: true }, "the URL's user, over the socket");

  // Google Cloud SQL's form: the credentials before an empty host, the socket directory in the query.
  const cloudSql = loadConfig({ DATABASE_URL: `postgresql://${tcp.username}:${tcp.password}@/${tcp.pathname.slice(1)}?host=${encodeURIComponent(socketDir)}&port=${tcp.port}` }).databaseUrl!;
  const second = await createDatabasePool(cloudSql, { statementTimeoutMs: 10_000, connectionTimeoutMs: 5_000, maxPoolSize: 1 });
  t.teardown(() => second.end());
  t.same(await second.one(sql.type(z.object({ user: z.string(), socket: z.boolean() }))`
    SELECT current_user AS user, inet_client_addr() IS NULL AS socket`), { user: tcp.username, socket: true }, 'user:password@ with no host, over the socket');
  t.same((await migrationStatus(cloudSql)).applied.map((m) => m.name), knownMigrations(), 'migrate status reads it too');
});

/** Gives the server the certificates and a pg_hba.conf that lets nothing in without TLS (certdb: a client certificate too). */
async function requireTls(adminUrl: string, files: Awaited<ReturnType<typeof makeCertificates>>) {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const setting = async (name: string) => (await admin.query<{ value: string }>(`SELECT current_setting($1) AS value`, [name])).rows[0]!.value;
    const dataDir = await setting('data_directory');
    const owner = await stat(dataDir);
    for (const [from, to] of [[files.serverCert, 'server.crt'], [files.serverKey, 'server.key'], [files.ca, 'root.crt']] as const) {
      await copyFile(from, join(dataDir, to));
      if (process.getuid?.() === 0) await chown(join(dataDir, to), owner.uid, owner.gid);
    }
    await writeFile(
      await setting('hba_file'),
      'hostssl certdb all 127.0.0.1/32 cert\nhostssl all all 127.0.0.1/32 scram-sha-256\n',
    );
    for (const [name, value] of [['ssl', 'on'], ['ssl_cert_file', 'server.crt'], ['ssl_key_file', 'server.key'], ['ssl_ca_file', 'root.crt']]) {
      await admin.query(`ALTER SYSTEM SET ${name} = '${value}'`);
    }
    await admin.query('SELECT pg_reload_conf()');
    // The reload is asynchronous: wait until a new connection sees it.
    for (let i = 0; i < 100 && (await setting('ssl')) !== 'on'; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    await admin.end();
  }
}

