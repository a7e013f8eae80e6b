/**
 * npm start: the service on DATABASE_URL, or — without it — on an embedded PostgreSQL in DATA_DIR
 * (./.data), migrated and loaded with demo data. The app itself is built in app.ts.
 */
import { buildApp } from './app.ts';
import { ConfigError, ignoredLibpqVariables, loadConfig, type Config } from './config.ts';
import { resolveDataDir, runningPort, startEmbeddedPostgres, type EmbeddedDatabase } from './db/embedded.ts';
import { postgresMajor } from './db/postgres-binaries.ts';
import { ensureDemoData } from './demo/demo-data.ts';
import { migrate } from './db/migrate.ts';
import { createDatabasePool } from './db/pool.ts';
import { checkClientServer, UnsupportedServerError } from './db/server-version.ts';
import { withClient } from './db/tls.ts';
import { loggerOptions } from './logger.ts';
import { metricsStatements } from './metrics/warm-up.ts';
import { runShutdownSteps } from './telemetry/shutdown.ts';

/** In-flight requests get this long to finish after SIGTERM before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 10_000;

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`configuration error: ${error.message}`);
    process.exit(2);
  }
}

/**
 * Refuses a server older than the schema needs (the migrations could not have run there); notes
 * one newer than tested. One that cannot be reached now is left to /health/ready, as before.
 */
async function checkServer(url: string) {
  const note = await withClient(url, checkClientServer).catch((error: unknown) => {
    if (error instanceof UnsupportedServerError) throw error;
    return undefined;
  });
  if (note) console.warn(`Note: ${note}.`);
}

async function start(config: Config) {
  let embedded: EmbeddedDatabase | undefined;
  let url = config.databaseUrl;
  if (!url) {
    const busy = await runningPort(config.dataDir);
    if (busy !== undefined) {
      throw new Error(
        `the embedded PostgreSQL in ${config.dataDir} is already running (port ${busy}), probably for another ` +
          'npm start: stop that one, or give this one its own DATA_DIR',
      );
    }
    const { dir, relocated } = resolveDataDir(config.dataDir);
    if (relocated) console.log(`Note: ${relocated}.`);
    console.log(`No DATABASE_URL: starting the embedded PostgreSQL ${postgresMajor()} in ${dir} …`);
    const libpq = ignoredLibpqVariables(process.env);
    if (libpq) console.warn(`Note: ${libpq}.`);
    embedded = await startEmbeddedPostgres({ dir: config.dataDir });
    url = embedded.url;
    await migrate(url, { direction: 'up' });
  }
  const stopEmbedded = async () => embedded?.stop();

  try {
    let warned = false;
    const poolOptions = {
      // Both pools meet the same server: say it once.
      onStartupParametersLost: (reason: string) => {
        if (warned) return;
        warned = true;
        console.warn(
          `Note: ${reason} (a pooler such as PgBouncer): ` +
            'each connection sets jit, statement_timeout and the other session settings as it opens instead. ' +
            'In transaction pooling mode set them on the role (docs/SCALING.md).',
        );
      },
      onStatementNamesLost: () =>
        console.warn(
          'Note: named prepared statements failed (a pooler in transaction mode, such as PgBouncer before 1.21 or ' +
            'without max_prepared_statements): the statements are sent unnamed from now on, each planned as it runs.',
        ),
      statementTimeoutMs: config.statementTimeoutMs,
      connectionTimeoutMs: config.poolTimeoutMs,
      maxPoolSize: config.poolSize,
      idleTimeoutMs: config.poolIdleMs,
    };
    await checkServer(url);
    const pool = await createDatabasePool(url, poolOptions);
    // The metrics reads' pool keeps DATABASE_POOL_WARM connections open, each planned for every
    // metrics statement as it opens (metrics/warm-up.ts): no request pays that first planning.
    const metricsPool = await createDatabasePool(url, {
      ...poolOptions,
      genericPlans: true,
      warmConnections: config.poolWarm,
      warmUp: metricsStatements(),
    });
    const app = await buildApp({
      pool,
      metricsPool,
      closePool: true,
      config,
      logger: loggerOptions(config.logLevel),
      server: {
        connectionTimeout: 60_000,
        keepAliveTimeout: 72_000,
        requestTimeout: 120_000,
        // Headers that stall get their 408 before the idle socket is closed unanswered at 60 s:
        // Node checks this limit every `connectionsCheckingInterval`.
        http: { headersTimeout: 30_000, connectionsCheckingInterval: 5_000 },
      },
    });
    if (embedded) app.log.info(`demo data: ${await ensureDemoData(pool)}`);

    let closing = false;
    const shutdown = async (signal: string) => {
      if (closing) return;
      closing = true;
      app.log.info(`${signal}: finishing in-flight requests, then stopping`);
      const timer = setTimeout(() => {
        app.log.error('shutdown took too long; exiting');
        process.exit(1);
      }, SHUTDOWN_GRACE_MS);
      // The app stops accepting, answers what it has read, then ends the connections
      // (plugins/app/graceful-close.ts); then the database stops, then the last spans are sent.
      let code = 0;
      for (const step of [() => app.close(), stopEmbedded, runShutdownSteps]) {
        await step().catch((error: unknown) => {
          app.log.error({ err: error }, 'error during shutdown');
          code = 1;
        });
      }
      clearTimeout(timer);
      process.exit(code);
    };
    // db/embedded.ts hooks these signals too, stopping its server at once while requests are still
    // in flight; this process stops it in order instead.
    process.removeAllListeners('SIGINT');
    process.removeAllListeners('SIGTERM');
    process.once('SIGINT', () => void shutdown('SIGINT'));
    process.once('SIGTERM', () => void shutdown('SIGTERM'));

    await app.listen({ port: config.port, host: config.host });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const base = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    console.log(`job-metrics is listening on ${base}\n  API docs:  ${base}/docs\n  Metrics:   ${base}/metrics/system?hours=24`);
  } catch (error) {
    await stopEmbedded();
    throw error;
  }
}

const config = readConfig();
start(config).catch((error: unknown) => {
  const message = error instanceof Error ? error.message || error.name : JSON.stringify(error) ?? String(error);
  console.error(`job-metrics failed to start: ${message}`);
  process.exit(1);
});
