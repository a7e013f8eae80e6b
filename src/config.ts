/**
 * Configuration comes from the environment only, and is checked once at start-up:
 * a bad value stops the service with one line that names the variable.
 */
import { isIP } from 'node:net';
import { parseLibpqUrl } from './db/connection-url.ts';
import { tlsPlan, TlsSettingError } from './db/tls.ts';

/**
 * A window of at most this many rows is answered exactly from the raw rows. Their cost depends on
 * where the rows lie: ≈ 1 µs a row when they sit together (a busy worker's recent rows), ≈ 2.8 µs
 * at p50 and far more at p95 when each lies on its own heap page (a small worker's rows across the
 * year: 6,498 rows p50 14.6 / p95 69 ms, 10M-row bench run 6), against 4–7 ms from the rollups at
 * any size (docs/BENCHMARKS.md). Past ≈ 2,000 rows the rollups are faster, within 1 %.
 */
export const EXACT_MAX_ROWS = 2_000;

/** A century: beyond it "keep everything" is what is meant, and that is RETENTION_DAYS unset. */
export const MAX_RETENTION_DAYS = 36_500;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  /** Unset: `npm start` runs an embedded PostgreSQL in `dataDir`. */
  databaseUrl: string | undefined;
  port: number;
  host: string;
  logLevel: LogLevel;
  dataDir: string;
  statementTimeoutMs: number;
  poolTimeoutMs: number;
  /** Database connections this process may open (requests and the fold loop share them). */
  poolSize: number;
  /**
   * How long a connection may sit idle before it is closed. A new connection plans its statements
   * afresh (≈ 100 ms for a window's first read), so a short one makes an occasional client slow.
   */
  poolIdleMs: number;
  /**
   * Connections of the metrics pool kept open however idle, each planned for every metrics
   * statement when it opens (0 to `poolSize`; default `poolSize`: a fixed pool, HikariCP's advice).
   */
  poolWarm: number;
  /** Per client and minute, for write routes; undefined: no limit. */
  rateLimitWritesPerMin: number | undefined;
  /**
   * Whose X-Forwarded-For names the client (Fastify's `trustProxy`): false, none (the peer is the
   * client); a number, that many proxy hops; a list, the proxies' addresses or CIDR ranges.
   */
  trustProxy: TrustProxy;
  /** Windows holding at most this many rows are answered exactly from the raw rows; larger from rollups. */
  exactMaxRows: number;
  /** Identical concurrent metrics questions share one read that starts after each was asked. */
  coalesceMetrics: boolean;
  /** How often inserted rows are folded into the rollups; 0: never by this process (another one, or cron, does). */
  rollupFoldIntervalMs: number;
  /** Raw rows older than this many days are pruned (the rollups keep their counts); undefined: keep every row. */
  retentionDays: number | undefined;
  /** How often this process prunes when `retentionDays` is set; 0: never by this process (cron runs `npm run prune`). */
  retentionPruneIntervalMs: number;
  /** Reason series per worker on `GET /metrics`; the rest are summed into one "other" series. */
  prometheusMaxReasons: number;
  /**
   * A scrape that ranked at least this many distinct reasons (summed over workers) keeps its choice
   * of reason series for `prometheusRankReuseMs`, counting only those reasons meanwhile (exact).
   */
  prometheusRankReuseReasons: number;
  /** How long such a choice is kept; 0: rank on every scrape. */
  prometheusRankReuseMs: number;
  /** Unset: `POST /job-executions` answers 403 (ingest disabled). */
  ingestToken: string | undefined;
  /** Unset: reads are open (keep them behind the operator's own network controls). */
  readToken: string | undefined;
}

export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, message: string) {
    super(`${variable} ${message}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

type Env = Record<string, string | undefined>;

export type TrustProxy = boolean | number | string[];

/** proxy-addr's names for the reserved ranges, which Fastify accepts beside addresses. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * Checked here rather than left to Fastify, whose proxy-addr throws "invalid IP address" at the
 * first request's compile without naming the variable.
 */
function trustProxy(env: Env): TrustProxy {
  const raw = env.TRUST_PROXY?.trim();
  if (raw === undefined || raw === '' || raw === 'false') return false;
  if (raw === 'true') return true;
  if (/^[0-9]+$/.test(raw)) {
    const hops = Number(raw);
    if (hops > 100) throw new ConfigError('TRUST_PROXY', `must be at most 100 proxy hops (got ${JSON.stringify(raw)})`);
    return hops === 0 ? false : hops;
  }
  const entries = raw.split(',').map((entry) => entry.trim());
  const bad = entries.find((entry) => !PROXY_RANGE_NAMES.includes(entry) && !isAddressOrRange(entry));
  if (bad !== undefined) {
    throw new ConfigError(
      'TRUST_PROXY',
      `must be true, a number of proxy hops, or a comma-separated list of proxy addresses, CIDR ranges, ` +
        `loopback, linklocal or uniquelocal (got ${JSON.stringify(bad)} in ${JSON.stringify(raw)})`,
    );
  }
  return entries;
}

function isAddressOrRange(entry: string): boolean {
  const [address = '', bits, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  return /^[0-9]{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^[0-9]+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(name, `must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`);
  }
  return Number(raw);
}

function databaseUrl(env: Env): string | undefined {
  const raw = env.DATABASE_URL;
  if (raw === undefined || raw === '') return undefined;
  let url: URL;
  try {
    url = parseLibpqUrl(raw);
  } catch (error) {
    throw new ConfigError('DATABASE_URL', (error as Error).message);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError('DATABASE_URL', `must start with postgres:// or postgresql:// (got ${url.protocol}//)`);
  }
  if (url.hostname === '' && !url.searchParams.has('host')) {
    throw new ConfigError('DATABASE_URL', 'has no host');
  }
  const bracketed = url.hostname.startsWith('[');
  if (bracketed) {
    // slonik's URL parser keeps the brackets, and no address "[::1]" can be looked up; percent-
    // encoded (%3A%3A1), the address is one host name that both drivers decode to ::1.
    url.hostname = encodeURIComponent(url.hostname.slice(1, -1));
  }
  try {
    tlsPlan(raw, env);
  } catch (error) {
    if (error instanceof TlsSettingError) throw new ConfigError(error.variable, error.detail);
    throw error;
  }
  // Rewritten only where a driver could not read it as given (credentials without a host, [IPv6]).
  return URL.canParse(raw) && !bracketed ? raw : url.toString();
}

/** A bearer token as RFC 6750 allows it (token68), long enough not to be guessed. */
const TOKEN_PATTERN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MIN_TOKEN_LENGTH = 16;
const MAX_TOKEN_LENGTH = 1024;

function token(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (raw.length < MIN_TOKEN_LENGTH || raw.length > MAX_TOKEN_LENGTH || !TOKEN_PATTERN.test(raw)) {
    throw new ConfigError(
      name,
      `must be ${MIN_TOKEN_LENGTH} to ${MAX_TOKEN_LENGTH} characters of A-Z a-z 0-9 - . _ ~ + / (then optional =), ` +
        'e.g. the output of `openssl rand -hex 32`',
    );
  }
  return raw;
}

function onOff(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw !== 'on' && raw !== 'off') throw new ConfigError(name, `must be on or off (got ${JSON.stringify(raw)})`);
  return raw === 'on';
}

function logLevel(env: Env): LogLevel {
  const raw = env.LOG_LEVEL;
  if (raw === undefined || raw === '') return 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(raw)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')} (got ${JSON.stringify(raw)})`);
  }
  return raw as LogLevel;
}

export function loadConfig(env: Env = process.env): Config {
  const poolSize = integer(env, 'DATABASE_POOL_SIZE', 10, 2, 1_000);
  return {
    databaseUrl: databaseUrl(env),
    port: integer(env, 'PORT', 3000, 0, 65535),
    host: env.HOST || '127.0.0.1',
    logLevel: logLevel(env),
    dataDir: env.DATA_DIR || '.data',
    statementTimeoutMs: integer(env, 'STATEMENT_TIMEOUT_MS', 15_000, 1, 3_600_000),
    poolTimeoutMs: integer(env, 'POOL_TIMEOUT_MS', 2_000, 1, 600_000),
    poolSize,
    poolIdleMs: integer(env, 'DATABASE_POOL_IDLE_MS', 60_000, 1_000, 86_400_000),
    poolWarm: integer(env, 'DATABASE_POOL_WARM', poolSize, 0, poolSize),
    exactMaxRows: integer(env, 'METRICS_EXACT_MAX_ROWS', EXACT_MAX_ROWS, 0, 10_000_000),
    coalesceMetrics: onOff(env, 'METRICS_COALESCE', true),
    rollupFoldIntervalMs: integer(env, 'ROLLUP_FOLD_INTERVAL_MS', 1_000, 0, 3_600_000),
    rateLimitWritesPerMin: env.RATE_LIMIT_WRITES_PER_MIN
      ? integer(env, 'RATE_LIMIT_WRITES_PER_MIN', 0, 1, 1_000_000)
      : undefined,
    trustProxy: trustProxy(env),
    retentionDays: env.RETENTION_DAYS ? integer(env, 'RETENTION_DAYS', 0, 1, MAX_RETENTION_DAYS) : undefined,
    retentionPruneIntervalMs: integer(env, 'RETENTION_PRUNE_INTERVAL_MS', 600_000, 0, 86_400_000),
    prometheusMaxReasons: integer(env, 'PROMETHEUS_MAX_REASONS', 20, 0, 1_000),
    prometheusRankReuseReasons: integer(env, 'PROMETHEUS_RANK_REUSE_REASONS', 20_000, 0, 100_000_000),
    prometheusRankReuseMs: integer(env, 'PROMETHEUS_RANK_REUSE_MS', 300_000, 0, 86_400_000),
    ingestToken: token(env, 'INGEST_TOKEN'),
    readToken: token(env, 'READ_TOKEN'),
  };
}

/**
 * libpq's variables say which server psql would use; this service reads DATABASE_URL only, so a team
 * that set PGHOST and friends would otherwise get the embedded demo database without a word.
 */
export function ignoredLibpqVariables(env: NodeJS.ProcessEnv): string | undefined {
  const set = ['PGHOST', 'PGHOSTADDR', 'PGPORT', 'PGDATABASE', 'PGSERVICE'].filter((name) => env[name]);
  if (set.length === 0) return undefined;
  return `${set.join(', ')} ${set.length === 1 ? 'is' : 'are'} set but not read: to use that server, set DATABASE_URL (postgres://user:password@host:port/database)`;
}
