import t from 'tap';
import { ConfigError, loadConfig } from '../src/config.ts';

t.test('defaults need no environment at all', async (t) => {
  t.match(loadConfig({}), {
    databaseUrl: undefined,
    port: 3000,
    host: '127.0.0.1',
    logLevel: 'info',
    dataDir: '.data',
    statementTimeoutMs: 15_000,
    poolTimeoutMs: 2_000,
    poolIdleMs: 60_000,
    poolSize: 10,
    poolWarm: 10,
    ingestToken: undefined,
    readToken: undefined,
    exactMaxRows: 2_000,
    prometheusMaxReasons: 20,
  });
  t.equal(loadConfig({ PROMETHEUS_MAX_REASONS: '0' }).prometheusMaxReasons, 0, 'every reason summed as "other"');
});

t.test('the warm connections default to the pool size and stay within it', async (t) => {
  t.match(loadConfig({ DATABASE_POOL_SIZE: '4' }), { poolSize: 4, poolWarm: 4 });
  t.match(loadConfig({ DATABASE_POOL_SIZE: '4', DATABASE_POOL_WARM: '0' }), { poolSize: 4, poolWarm: 0 });
  t.throws(() => loadConfig({ DATABASE_POOL_SIZE: '4', DATABASE_POOL_WARM: '5' }), {
    message: 'DATABASE_POOL_WARM must be an integer from 0 to 4 (got "5")',
  });
});

t.test('retention is off unless RETENTION_DAYS is set', async (t) => {
  t.match(loadConfig({}), { retentionDays: undefined, retentionPruneIntervalMs: 600_000 });
  t.match(loadConfig({ RETENTION_DAYS: '30', RETENTION_PRUNE_INTERVAL_MS: '0' }), { retentionDays: 30, retentionPruneIntervalMs: 0 });
});

t.test('tokens are read as given', async (t) => {
  const config = loadConfig({ INGEST_TOKEN: 'a'.repeat(64), READ_TOKEN: 'AbC-._~+/0123456789==' });
  t.equal(config.ingestToken, 'a'.repeat(64));
  t.equal(config.readToken, 'AbC-._~+/0123456789==');
});

t.test('valid values are read', async (t) => {
  const config = loadConfig({ PORT: '8080', HOST: '0.0.0.0', LOG_LEVEL: 'debug', DATABASE_URL: 'postgres://u:p@db:5432/jobs' });
  t.match(config, { port: 8080, host: '0.0.0.0', logLevel: 'debug', databaseUrl: 'postgres://u:p@db:5432/jobs' });
});

t.test('DATABASE_URL with an IPv6 address as its host: percent-encoded for the drivers, the rest as given', async (t) => {
  const url = new URL(loadConfig({ DATABASE_URL: 'postgres://app:pw@[fd00::2]:6432/jobs?sslmode=require' }).databaseUrl!);
  t.same(
    [decodeURIComponent(url.hostname), url.port, url.username, url.password, url.pathname, url.searchParams.get('sslmode')],
    ['fd00::2', '6432', 'app', 'pw', '/jobs', 'require'],
  );
  t.equal(loadConfig({ DATABASE_URL: 'postgres://app:pw@db:5432/jobs' }).databaseUrl, 'postgres://app:pw@db:5432/jobs', 'a host name: the URL unchanged');
});

t.test("DATABASE_URL as libpq reads it: credentials without a host; several hosts refused, saying why", async (t) => {
  // Google Cloud SQL's socket form: WHATWG URL refuses credentials without a host, libpq does not.
  const cloudSql = loadConfig({ DATABASE_URL: 'postgresql://app:s%40cret@/jobs?host=/cloudsql/proj:eu-west1:db' }).databaseUrl!;
  const moved = new URL(cloudSql);
  t.same(
    [moved.searchParams.get('user'), moved.searchParams.get('password'), moved.searchParams.get('host'), moved.pathname],
    ['app', 's@cret', '/cloudsql/proj:eu-west1:db', '/jobs'],
    'the user and password move into the query, beside the socket directory',
  );
  t.equal(
    new URL(loadConfig({ DATABASE_URL: 'postgres://app:pw@/jobs?host=/run/pg&password=other' }).databaseUrl!).searchParams.get('password'),
    'other',
    "the query's value wins, as in libpq",
  );
  t.equal(loadConfig({ DATABASE_URL: 'postgres://u:p@db:5432/jobs?x=1' }).databaseUrl, 'postgres://u:p@db:5432/jobs?x=1', 'any other URL is kept as given');
  for (const url of ['postgres://u:p@h1:5432,h2:5432/jobs', 'postgres://u:p@h1,h2/jobs', 'postgresql://u:p@/jobs?host=h1,h2']) {
    t.throws(() => loadConfig({ DATABASE_URL: url }), { message: /^DATABASE_URL names several hosts \(.*h1.*h2.*\): libpq's failover list/ }, url);
  }
});

t.test('a bad value names its variable', async (t) => {
  const cases: [Record<string, string>, string][] = [
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ PORT: '-1' }, 'PORT'],
    [{ PORT: '80.5' }, 'PORT'],
    [{ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL'],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'mysql://u@h/db' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'postgres://u:p@db:5432/jobs?sslmode=on' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'postgres://u:p@db:5432/jobs', PGSSLMODE: 'on' }, 'PGSSLMODE'],
    [{ STATEMENT_TIMEOUT_MS: '0' }, 'STATEMENT_TIMEOUT_MS'],
    [{ PROMETHEUS_MAX_REASONS: '-1' }, 'PROMETHEUS_MAX_REASONS'],
    [{ PROMETHEUS_MAX_REASONS: '1001' }, 'PROMETHEUS_MAX_REASONS'],
    [{ PROMETHEUS_MAX_REASONS: 'all' }, 'PROMETHEUS_MAX_REASONS'],
    [{ POOL_TIMEOUT_MS: 'soon' }, 'POOL_TIMEOUT_MS'],
    [{ DATABASE_POOL_SIZE: '1' }, 'DATABASE_POOL_SIZE'],
    [{ DATABASE_POOL_SIZE: 'ten' }, 'DATABASE_POOL_SIZE'],
    [{ DATABASE_POOL_IDLE_MS: '999' }, 'DATABASE_POOL_IDLE_MS'],
    [{ DATABASE_POOL_IDLE_MS: '10m' }, 'DATABASE_POOL_IDLE_MS'],
    [{ DATABASE_POOL_WARM: '11' }, 'DATABASE_POOL_WARM'],
    [{ DATABASE_POOL_WARM: 'all' }, 'DATABASE_POOL_WARM'],
    [{ METRICS_EXACT_MAX_ROWS: '-5' }, 'METRICS_EXACT_MAX_ROWS'],
    [{ METRICS_COALESCE: 'yes' }, 'METRICS_COALESCE'],
    [{ ROLLUP_FOLD_INTERVAL_MS: '1s' }, 'ROLLUP_FOLD_INTERVAL_MS'],
    [{ RETENTION_DAYS: '0' }, 'RETENTION_DAYS'],
    [{ RETENTION_DAYS: '30d' }, 'RETENTION_DAYS'],
    [{ RETENTION_DAYS: '36501' }, 'RETENTION_DAYS'],
    [{ RETENTION_PRUNE_INTERVAL_MS: '-1' }, 'RETENTION_PRUNE_INTERVAL_MS'],
    [{ INGEST_TOKEN: 'short' }, 'INGEST_TOKEN'],
    [{ INGEST_TOKEN: 'has a space in it 0123456789' }, 'INGEST_TOKEN'],
    [{ INGEST_TOKEN: 'x'.repeat(1025) }, 'INGEST_TOKEN'],
    [{ READ_TOKEN: 'quote"0123456789abcdef' }, 'READ_TOKEN'],
    [{ READ_TOKEN: 'padding=in-the-middle-0123' }, 'READ_TOKEN'],
  ];
  for (const [env, variable] of cases) {
    t.throws(() => loadConfig(env), { name: 'ConfigError', variable, message: new RegExp(`^${variable} `) }, JSON.stringify(env));
  }
  t.ok(new ConfigError('X', 'y') instanceof Error);
  const secret = 'secret token with spaces';
  t.throws(() => loadConfig({ INGEST_TOKEN: secret }), { message: /^(?!.*secret token)/ }, 'a bad token is never printed');
});

t.test('TRUST_PROXY: hops, addresses and ranges; anything else stops the start naming the variable', async (t) => {
  t.equal(loadConfig({}).trustProxy, false, 'unset: the peer is the client');
  t.equal(loadConfig({ TRUST_PROXY: '0' }).trustProxy, false);
  t.equal(loadConfig({ TRUST_PROXY: 'true' }).trustProxy, true);
  t.equal(loadConfig({ TRUST_PROXY: '2' }).trustProxy, 2);
  t.same(loadConfig({ TRUST_PROXY: ' 10.0.0.0/8, fd00::/8 ,loopback,192.0.2.7' }).trustProxy, ['10.0.0.0/8', 'fd00::/8', 'loopback', '192.0.2.7']);
  for (const bad of ['yes', '10.0.0.0/33', 'fd00::/129', '10.0.0.300', '10.0.0.0/8,nginx', '10.0.0.0/8/1', '101', '-1', ',']) {
    t.throws(() => loadConfig({ TRUST_PROXY: bad }), { name: 'ConfigError', variable: 'TRUST_PROXY', message: /^TRUST_PROXY must / }, JSON.stringify(bad));
  }
});
