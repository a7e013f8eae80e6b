import t from 'tap';
import net from 'node:net';
import { sql } from 'slonik';
import { z } from 'zod';
import { loadConfig } from '../src/config.ts';
import { connectClient } from '../src/db/tls.ts';
import { openTarget } from '../src/doctor/target.ts';
import { createDatabasePool } from '../src/db/pool.ts';
import { runScript } from './helpers/cli.ts';
import { startTestDatabase } from './helpers/database.ts';

// An IPv6 address as the host (`postgres://…@[fd00::2]:5432/db`, as IPv6-only clusters hand it out)
// stopped the start: slonik's URL parser kept the brackets and looked up "[::1]" as a name. The
// test database listens on 127.0.0.1 only, so a relay on [::1] stands in for a server reached by
// its IPv6 address; the relay counts the connections it carried, so a test cannot pass beside it.
const db = await startTestDatabase(t);

/** Listens on [::1]:random and pipes each connection to the database; undefined without IPv6 loopback. */
async function relayOnIpv6Loopback(to: URL): Promise<{ port: number; carried: () => number; close: () => Promise<void> } | undefined> {
  let carried = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    carried++;
    const upstream = net.connect(Number(to.port), to.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  const listening = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(0, '::1', () => resolve(true));
  });
  if (!listening) return undefined;
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    carried: () => carried,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

t.test('an IPv6 address as the host: config, pool, CLI clients and doctor all reach it', async (t) => {
  const target = new URL(db.url);
  const relay = await relayOnIpv6Loopback(target);
  if (!relay) return t.comment('skipped: this machine has no IPv6 loopback (::1)');
  t.teardown(relay.close);
  const given = `postgres://${target.username}:${target.password}@[::1]:${relay.port}${target.pathname}`;
  const url = loadConfig({ DATABASE_URL: given }).databaseUrl!;

  const pool = await createDatabasePool(url, { statementTimeoutMs: 5_000, connectionTimeoutMs: 5_000, maxPoolSize: 1 });
  t.teardown(() => pool.end());
  t.equal(await pool.oneFirst(sql.type(z.object({ one: z.number() }))`SELECT 1 AS one`), 1, "the service's pool answers");
  const afterPool = relay.carried();
  t.ok(afterPool > 0, 'through [::1]');
  const client = await connectClient(url);
  t.teardown(() => client.end());
  t.equal((await client.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one, 1, "the CLIs' client answers");
  t.equal(relay.carried(), afterPool + 1, 'through [::1] too');

  const status = await runScript('migrate', ['status'], { DATABASE_URL: given });
  t.equal(status.code, 0, `migrate status with the URL as given: ${status.stderr}`);
  const doctor = await runScript('doctor', [], { DATABASE_URL: given });
  t.match(doctor.stdout, `[::1]:${relay.port}${target.pathname}`, 'doctor names the address as written');
  t.ok(relay.carried() > afterPool + 1, 'the CLIs went through [::1] too');
});

t.test('an IPv6 address the URL cannot hold is refused at start, naming DATABASE_URL', async (t) => {
  t.throws(() => loadConfig({ DATABASE_URL: 'postgres://u:p@[::1:5432/db' }), /DATABASE_URL/);
  t.throws(() => loadConfig({ DATABASE_URL: 'postgres://u:p@[fe80::1%eth0]:5432/db' }), /DATABASE_URL has an IPv6 zone index \(%eth0\)/, 'a zone index: WHATWG URL has no room for it');
});

t.test('doctor names each kind of host as it was written', async (t) => {
  const described = async (url: string) => (await openTarget(loadConfig({ DATABASE_URL: url }))).description;
  t.equal(await described('postgres://u:p@[fd00::2]:6432/jobs'), '[fd00::2]:6432/jobs');
  t.equal(await described('postgresql://u:p@/jobs?host=/cloudsql/proj:eu-west1:db'), '/cloudsql/proj:eu-west1:db/jobs', "a socket directory with colons (Cloud SQL's) is no IPv6 address");
  t.equal(await described('postgres://u:p@db.internal:5432/jobs'), 'db.internal:5432/jobs');
});
