import { BackendTerminatedError, ConnectionError, StatementTimeoutError } from 'slonik';
import { causes, hasCode } from '../db/error-codes.ts';
import { PoolTimeoutError } from '../db/pool-gate.ts';
import { ProblemError } from './errors.ts';
import { PROBLEMS, RETRY_AFTER_SECONDS, type ProblemKind } from './problems.ts';

/** PostgreSQL and socket codes that mean "the database cannot answer now", not "the query is wrong". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH',
  '57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08006',
]);

export function isDatabaseUnavailable(error: unknown): boolean {
  return causes(error).some(
    (e) =>
      e instanceof ConnectionError ||
      e instanceof BackendTerminatedError ||
      UNAVAILABLE_CODES.has(String((e as { code?: unknown }).code)) ||
      /timeout exceeded when trying to connect|Connection terminated/i.test(String((e as Error).message)),
  );
}

/** undefined_table / undefined_column: the service runs against a database that is not migrated. */
const isSchemaMissing = (error: unknown) => hasCode(error, new Set(['42P01', '42703']));

/** read_only_sql_transaction: a write sent to a standby (or a session set read-only). */
const isReadOnly = (error: unknown) => hasCode(error, new Set(['25006']));

/** insufficient_privilege: the service's role was granted less than the tables it reads and writes. */
export const isPrivilegeMissing = (error: unknown) => hasCode(error, new Set(['42501']));

/**
 * lock_not_available (a role's lock_timeout passed while a migration or a maintenance job held the
 * table), serialization_failure and deadlock_detected: another session's work, over shortly.
 */
const isContention = (error: unknown) => hasCode(error, new Set(['55P03', '40001', '40P01']));

const isStatementTimeout = (error: unknown) =>
  causes(error).some((e) => e instanceof StatementTimeoutError || (e as { code?: unknown }).code === '57014');

/** Server-side failures we recognise, first match wins: each gets its own problem, never a bare 500. */
const SERVER_FAILURES: {
  matches: (error: unknown) => boolean;
  kind: ProblemKind;
  detail: string;
  retry: boolean;
  level: 'warn' | 'error';
  log: string;
}[] = [
  {
    matches: (error) => error instanceof PoolTimeoutError,
    kind: PROBLEMS.overloaded,
    detail: 'Every database connection is busy; retry shortly',
    retry: true,
    level: 'warn',
    log: 'database connections saturated; shedding the request',
  },
  {
    matches: isStatementTimeout,
    kind: PROBLEMS.queryTimeout,
    detail: 'The query took longer than the statement time limit; try a shorter window',
    retry: false,
    level: 'warn',
    log: 'query exceeded its time limit',
  },
  {
    matches: isContention,
    kind: PROBLEMS.databaseUnavailable,
    detail: 'Another session holds a lock this request needs (or its transaction conflicted with this one); retry shortly',
    retry: true,
    level: 'warn',
    log: 'lock wait or transaction conflict (lock_timeout, serialization failure or deadlock)',
  },
  {
    matches: isPrivilegeMissing,
    kind: PROBLEMS.databaseUnavailable,
    detail: "The service's database role may not read or write a table it needs: grant it SELECT on every table the migrations made (docs/ROLLBACK_PLAN.md, \"Missing privilege\")",
    retry: false,
    level: 'error',
    log: "the service's database role lacks a privilege (permission denied)",
  },
  {
    matches: isSchemaMissing,
    kind: PROBLEMS.databaseUnavailable,
    detail: "The database schema is not current, or not on this role's search_path; run npm run migrate -- up as the role that owns it",
    retry: true,
    level: 'error',
    log: 'database schema is not the one this release expects',
  },
  {
    matches: isReadOnly,
    kind: PROBLEMS.databaseUnavailable,
    detail: "The database refused a write: it is a standby, or this role's sessions are read-only (default_transaction_read_only); send writes to a primary, as a role that may write",
    retry: true,
    level: 'error',
    log: 'a write reached a read-only database (a standby)',
  },
  {
    matches: isDatabaseUnavailable,
    kind: PROBLEMS.databaseUnavailable,
    detail: 'The database is not answering; retry shortly',
    retry: true,
    level: 'error',
    log: 'database unavailable',
  },
];

/**
 * The problem a server-side failure we recognise is answered with, and how to log it; undefined
 * for anything else (an internal error). The detail is ours: never a driver message or SQL text.
 */
export function serverFailure(error: unknown): { problem: ProblemError; level: 'warn' | 'error'; log: string } | undefined {
  const known = SERVER_FAILURES.find((failure) => failure.matches(error));
  if (!known) return undefined;
  const retryAfter = known.retry ? RETRY_AFTER_SECONDS : undefined;
  return { problem: new ProblemError(known.kind, known.detail, retryAfter === undefined ? {} : { retryAfter }), level: known.level, log: known.log };
}
