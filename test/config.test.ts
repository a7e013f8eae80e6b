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
  });
});

t.test('valid values are read', async (t) => {
  const config = loadConfig({ PORT: '8080', HOST: '0.0.0.0', LOG_LEVEL: 'debug', DATABASE_URL: 'postgres://u:p@db:5432/jobs' });
  t.match(config, { port: 8080, host: '0.0.0.0', logLevel: 'debug', databaseUrl: 'postgres://u:p@db:5432/jobs' });
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
    [{ STATEMENT_TIMEOUT_MS: '0' }, 'STATEMENT_TIMEOUT_MS'],
    [{ POOL_TIMEOUT_MS: 'soon' }, 'POOL_TIMEOUT_MS'],
  ];
  for (const [env, variable] of cases) {
    t.throws(() => loadConfig(env), { name: 'ConfigError', variable, message: new RegExp(`^${variable} `) }, JSON.stringify(env));
  }
  t.ok(new ConfigError('X', 'y') instanceof Error);
});
