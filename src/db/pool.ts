import { createPgDriverFactory } from '@slonik/pg-driver';
import { gatePool } from './pool-gate.ts';
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

/** timestamptz as ISO-8601 text: what the API answers, without a Date round trip in every route. */
const timestamptzAsIso = { name: 'timestamptz', parse: (value: string) => new Date(value).toISOString() };

/**
 * The metrics pool's sessions (`genericPlans`): generic plans, no parallel workers, and hash tables
 * up to 8 × work_mem. The reads that could use parallel workers are the ones over a backlog of
 * pending rows, and a parallel scan there passes every matching row through its Gather to be
 * grouped by the leader. Idle, it saved 10–25 % of such a read; beside one busy core (the fold, in a
 * backlog) it cost 10–40 % (the big worker's 24 h window over 1M pending rows: 314 against 222 ms).
 * Without them, the generic plan expects each pending row in the window to be its own (state,
 * reason, bin, part) group (179k of 1M rows; there are ≈ 2,800), finds no room for so many in a hash
 * table of 2 × 4MB, and sorts the rows on disk to group them: 962 ms against 259 ms hashed at a
 * multiplier of 4 or more. The tables hold the groups there are, a few thousand, whatever the
 * estimate (docs/BENCHMARKS.md, "Reads during a backlog").
 */
const METRICS_SESSION = '-c plan_cache_mode=force_generic_plan -c max_parallel_workers_per_gather=0 -c hash_mem_multiplier=8';

/**
 * Every session of the service starts with JIT compilation off. PostgreSQL JIT-compiles a statement
 * whose estimated cost passes jit_above_cost (100,000), on every execution, prepared or not; the
 * metrics queries' estimates pass it by far (≈ 300,000, mostly branches that never run), so on a
 * server built with LLVM (Debian's and the official images) a system window spent ≈ 0.5 s compiling
 * 666 functions to run for under 10 ms (docs/BENCHMARKS.md, "JIT"). Options already in the URL come
 * after, so `options=-c jit=on` there turns it back on.
 *
 * The server also sends TCP keepalives on an idle session after a minute (ignored on a Unix
 * socket): the warm connections (`warmConnections`) sit idle for hours, and load balancers and NATs
 * drop idle flows silently after 4–6 minutes; a request sent on such a connection would hang.
 */
export function withSessionOptions(url: string, genericPlans = false): string {
  const parsed = new URL(url);
  const ours = `-c jit=off -c tcp_keepalives_idle=60${genericPlans ? ` ${METRICS_SESSION}` : ''}`;
  const given = parsed.searchParams.get('options');
  parsed.searchParams.set('options', given ? `${ours} ${given}` : ours);
  return parsed.toString();
}

/**
 * The pg driver, each new connection first running `statements` (by their names, as slonik sends
 * them). Slonik has no hook on a connection's creation (`afterPoolConnection` runs on every
 * acquire, inside the request), and its pool opens and replaces its minimum in the background, so
 * this is where a connection can be warmed up without a request waiting for it.
 */
function warmingDriverFactory(statements: readonly QuerySqlToken[]): DriverFactory {
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
          for (const { name, sql, values } of statements) await client.query(sql.replaceAll('$slonik_', '$'), [...values], { name });
        } catch {
          // Planned on first use instead (see `warmUp`).
        }
        await client.release();
        return client;
      },
    };
  };
}

export async function createDatabasePool(url: string, options: PoolOptions): Promise<DatabasePool> {
  const typeParsers = createTypeParserPreset().filter((p) => p.name !== 'int8' && p.name !== 'timestamptz');
  const size = options.maxPoolSize ?? 10;
  const warmUp = options.warmUp ?? [];
  const pool = await createPool(withSessionOptions(url, options.genericPlans), {
    driverFactory: warmUp.length > 0 ? warmingDriverFactory(warmUp) : createPgDriverFactory(),
    minPoolSize: Math.min(options.warmConnections ?? 0, size),
    interceptors: [resultParser],
    typeParsers: [...typeParsers, int8AsNumber, timestamptzAsIso],
    statementTimeout: options.statementTimeoutMs,
    connectionTimeout: options.connectionTimeoutMs,
    maxPoolSize: size,
    idleTimeout: options.idleTimeoutMs ?? 60_000,
    // A failed read is answered at once (503) rather than retried behind the client's back.
    queryRetryLimit: 0,
    // Slonik's default runs DISCARD ALL on every release: a second round trip per query, and it
    // would drop the metrics queries' named prepared statements (kept per connection on purpose,
    // so their plans are cached). No other session state is kept (no SET, temporary tables or
    // LISTEN; statement_timeout and jit are startup parameters of each connection).
    resetConnection: async () => {},
    captureStackTrace: false,
  });
  return gatePool(pool, size, options.connectionTimeoutMs);
}
