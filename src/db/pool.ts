import { createPgDriverFactory } from '@slonik/pg-driver';
import { gatePool } from './pool-gate.ts';
import { statementNames } from './statement-names.ts';
import { applySettings, startupParametersLost, withoutOptions, withSessionOptions, type SessionSetting } from './session-settings.ts';
import { resolveTls, type Tls } from './tls.ts';
import { timestamptzToIso } from './timestamptz.ts';
import {
  createPool,
  createTypeParserPreset,
  SchemaValidationError,
  type DatabasePool,
  type DriverFactory,
  type Interceptor,
  type QuerySqlToken,
} from 'slonik';

export interface PoolOptions {
  statementTimeoutMs: number;
  /** How long a caller may wait for a free connection (or a new one) before failing. */
  connectionTimeoutMs: number;
  maxPoolSize?: number;
  /**
   * Idle connections are closed after this long (default 1 minute; slonik's own is 5 s). A new
   * connection plans each statement afresh: ≈ 100 ms for a metrics window's first read on generic
   * plans, and its first five runs at ≈ 130 ms each on custom plans (without `genericPlans`), so a
   * client asking every few seconds met a fresh connection, and that cost, on every request
   * (docs/BENCHMARKS.md). Not
   * longer: load balancers and NATs drop idle TCP flows silently after 4–6 minutes (Azure, AWS
   * NLB), and a request sent on such a connection would wait for its deadline. A connection the
   * server itself closes (idle_session_timeout, a restart) is replaced (test/session-options.test.ts).
   */
  idleTimeoutMs?: number;
  /**
   * Sessions plan every prepared statement once, generically (plan_cache_mode=force_generic_plan).
   * For the metrics reads only (the server's second pool): PostgreSQL would settle on their generic
   * plans after five custom ones anyway (≈ 130 ms each on a new connection against ≈ 9 ms), or, for
   * the time series, keeps custom plans that run 2–3× slower than the generic one. Not for every
   * query: the TMDB analysis timed out on a generic plan (docs/BENCHMARKS.md).
   * A statement sent here is planned without its parameters' values: check its plan that way
   * (PREPARE, then EXPLAIN EXECUTE under force_generic_plan), not with literals. An `EXISTS` or
   * `LIMIT` probe on a parameter is the known trap; see `workerKnown` in workers-query.ts.
   */
  genericPlans?: boolean;
  /**
   * Connections kept open however long they sit idle (slonik's `minPoolSize`, opened with the
   * pool), each running the `warmUp` statements once as it opens.
   */
  warmConnections?: number;
  /**
   * Statements each new connection runs once before it serves anyone, so their plans are cached
   * (generic plans) and no request pays the ≈ 100 ms of a statement's first planning on a
   * connection. Failures are ignored (before migrations the tables are missing): that connection
   * plans on first use, as any other.
   */
  warmUp?: readonly QuerySqlToken[];
  /** Told why, when the server refused or dropped the startup parameters and the pool sets them per connection instead. */
  onStartupParametersLost?: (reason: string) => void;
  /** Called once if named statements fail for a pooler in transaction mode (statement-names.ts). */
  onStatementNamesLost?: () => void;
}

/**
 * Slonik validates nothing by default: this interceptor makes every `sql.type(schema)` a check,
 * so a drifted column fails loudly instead of flowing on as a wrong type.
 */
const resultParser: Interceptor = {
  name: 'result-parser',
  transformRow: (context, query, row) => {
    if (!context.resultParser) return row;
    const result = context.resultParser['~standard'].validate(row);
    if (result instanceof Promise) throw new TypeError('async result parsers are not supported');
    if (result.issues) throw new SchemaValidationError(query, row, result.issues);
    return result.value as typeof row;
  },
};

/** Counts are bigint in PostgreSQL; as numbers they are exact up to 2^53, far past any table here. */
const int8AsNumber = { name: 'int8', parse: (value: string) => Number(value) };

/** timestamptz as RFC 3339 text: what the API answers, without a Date object in every route. */
const timestamptzAsIso = { name: 'timestamptz', parse: timestamptzToIso };

export { withSessionOptions } from './session-settings.ts';

/**
 * The pg driver, each new connection first taking `settings` (where the server refused them as
 * startup parameters) and then running `statements` (by their names, as slonik sends them). Slonik
 * has no hook on a connection's creation (`afterPoolConnection` runs on every acquire, inside the
 * request), and its pool opens and replaces its minimum in the background, so this is where a
 * connection can be prepared without a request waiting for it.
 */
function preparingDriverFactory(settings: readonly SessionSetting[], statements: () => readonly QuerySqlToken[]): DriverFactory {
  const pgDriverFactory = createPgDriverFactory();
  return async ({ driverConfiguration }) => {
    // The pool closes idle connections above its minimum itself; the driver's own timer would
    // close the warm minimum too.
    const driver = await pgDriverFactory({ driverConfiguration: { ...driverConfiguration, idleTimeout: 'DISABLE_TIMEOUT' } });
    return {
      createClient: async () => {
        const client = await driver.createClient();
        client.acquire();
        try {
          // A setting the server rejects fails the connection: the service must not run without it.
          await applySettings(client, settings);
          try {
            for (const { name, sql, values } of statements()) await client.query(sql.replaceAll('$slonik_', '$'), [...values], { name });
          } catch {
            // Planned on first use instead (see `warmUp`).
          }
        } finally {
          await client.release();
        }
        return client;
      },
    };
  };
}

/**
 * Where the server refuses startup parameters, or drops them (PgBouncer: refused unless
 * `ignore_startup_parameters` lists them, dropped if it does), the pool connects without them and
 * sets each with set_config as a connection opens. That holds for the session in PgBouncer's
 * session mode; in transaction mode a setting reaches only the server connection it ran on, so set
 * them on the service's role there (docs/SCALING.md).
 */
async function sessionPlan(url: string, ssl: Tls, options: PoolOptions) {
  const startupUrl = withSessionOptions(url, options.genericPlans);
  const lost = await startupParametersLost(startupUrl, ssl, options.connectionTimeoutMs);
  if (lost === undefined) {
    return { url: startupUrl, settings: [], statementTimeout: options.statementTimeoutMs, idleInTransactionSessionTimeout: IDLE_IN_TRANSACTION_MS } as const;
  }
  const plain = withoutOptions(startupUrl);
  options.onStartupParametersLost?.(lost);
  return {
    url: plain.url,
    settings: [
      ...plain.settings,
      ['statement_timeout', String(options.statementTimeoutMs)],
      ['idle_in_transaction_session_timeout', String(IDLE_IN_TRANSACTION_MS)],
    ] satisfies SessionSetting[],
    statementTimeout: 'DISABLE_TIMEOUT',
    idleInTransactionSessionTimeout: 'DISABLE_TIMEOUT',
  } as const;
}

/** A transaction left open this long is ended by the server (slonik's default, kept). */
const IDLE_IN_TRANSACTION_MS = 60_000;

export async function createDatabasePool(url: string, options: PoolOptions): Promise<DatabasePool> {
  const typeParsers = createTypeParserPreset().filter((p) => p.name !== 'int8' && p.name !== 'timestamptz');
  const size = options.maxPoolSize ?? 10;
  const warmUp = options.warmUp ?? [];
  // TLS as libpq would choose it (tls.ts); the URL the drivers get has no ssl* parameters left.
  const target = await resolveTls(url, options.connectionTimeoutMs);
  const session = await sessionPlan(target.url, target.ssl, options);
  const names = statementNames(options.onStatementNamesLost);
  // Unnamed, a statement prepared as a connection opens would only be planned for nothing.
  const warm = () => (names.named ? warmUp : []);
  const pool = await createPool(session.url, {
    ...(target.ssl === false ? {} : { ssl: target.ssl }),
    driverFactory: warmUp.length > 0 || session.settings.length > 0 ? preparingDriverFactory(session.settings, warm) : createPgDriverFactory(),
    minPoolSize: Math.min(options.warmConnections ?? 0, size),
    interceptors: [names.interceptor, resultParser],
    typeParsers: [...typeParsers, int8AsNumber, timestamptzAsIso],
    statementTimeout: session.statementTimeout,
    idleInTransactionSessionTimeout: session.idleInTransactionSessionTimeout,
    connectionTimeout: options.connectionTimeoutMs,
    maxPoolSize: size,
    idleTimeout: options.idleTimeoutMs ?? 60_000,
    // A failed read is answered at once (503) rather than retried behind the client's back.
    queryRetryLimit: 0,
    // Slonik's default runs DISCARD ALL on every release: a second round trip per query, and it
    // would drop the metrics queries' named prepared statements (kept per connection on purpose,
    // so their plans are cached). No other session state is kept (no temporary tables or LISTEN;
    // the settings are given once as each connection opens, see `sessionPlan`).
    resetConnection: async () => {},
    captureStackTrace: false,
  });
  return gatePool(pool, size, options.connectionTimeoutMs, (error) => names.lost(error));
}
