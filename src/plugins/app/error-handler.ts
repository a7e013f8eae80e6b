import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { BackendTerminatedError, ConnectionError, StatementTimeoutError } from 'slonik';
import { PoolTimeoutError } from '../../db/pool-gate.ts';
import { fieldsProblem, PROBLEMS, problem, RETRY_AFTER_SECONDS, sendProblem, type ProblemKind } from '../../http/problems.ts';
import { NO_NUL_PATTERN } from '../../schemas/common.ts';
import type { Problem } from '../../schemas/problem.ts';

const SOURCE_NAMES: Record<string, string> = {
  querystring: 'query parameter',
  params: 'path parameter',
  body: 'body field',
  headers: 'header',
};

/** What a problem with the whole of a source (`null` as a body) names as its field. */
const ROOT_NAMES: Record<string, string> = { 'body field': 'body', 'query parameter': 'query string' };
const rootName = (source: string) => ROOT_NAMES[source] ?? source;

/** PostgreSQL and socket codes that mean "the database cannot answer now", not "the query is wrong". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH',
  '57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08006',
]);

function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = error; e && chain.length < 8; e = (e as { cause?: unknown }).cause) chain.push(e);
  return chain;
}

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
const isSchemaMissing = (error: unknown) =>
  causes(error).some((e) => ['42P01', '42703'].includes(String((e as { code?: unknown }).code)));

const isStatementTimeout = (error: unknown) =>
  causes(error).some((e) => e instanceof StatementTimeoutError || (e as { code?: unknown }).code === '57014');

/** Turns Ajv's errors into the contract's `errors` list and a detail that names the parameter. */
function validationProblem(error: FastifyError, request: FastifyRequest): Problem {
  const source = SOURCE_NAMES[error.validationContext ?? ''] ?? 'parameter';
  const seen = new Set<string>();
  const errors = (error.validation ?? []).map((issue) => {
    const params = issue.params as { missingProperty?: string; additionalProperty?: string; allowedValues?: unknown[] };
    const missing = params.missingProperty;
    const named = missing ?? params.additionalProperty;
    const path = issue.instancePath.split('/').filter(Boolean).concat(named ? [named] : []);
    // Batch items: /executions/3/state → index 3, field "state".
    const indexAt = path.findIndex((part) => /^\d+$/.test(part));
    const index = indexAt >= 0 ? Number(path[indexAt]) : undefined;
    // A whole item (/executions/3) is named by its list: field "executions", index 3; the whole body is "body".
    const field =
      (indexAt >= 0 ? path.slice(indexAt + 1) : path).join('.') || path.slice(0, indexAt).join('.') || rootName(source);
    const noNul = issue.keyword === 'pattern' && (issue.params as { pattern?: string }).pattern === NO_NUL_PATTERN;
    const message = missing
      ? 'is required'
      : params.additionalProperty
        ? 'is not a known field'
        : noNul
          ? 'must not contain U+0000 (NUL)'
          : params.allowedValues
            ? `must be one of ${params.allowedValues.join(', ')}`
            : (issue.message ?? 'is invalid');
    return index === undefined ? { field, message } : { index, field, message };
  })
    // A nullable field that fails reports each branch; the first says what was wrong.
    .filter(({ index, field }) => {
      const key = `${index}/${field}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  const kind = error.validationContext === 'body' ? PROBLEMS.invalidBody : PROBLEMS.invalidParameter;
  const [first] = errors;
  if (first?.field !== undefined && errors.length === 1 && first.field === rootName(source)) {
    // `null`, `[]` or `"x"` as the body: say so, not 'body field "body"'.
    const message = first.message === 'must be object' ? 'must be a JSON object' : first.message;
    return problem(kind, request, `the request ${first.field} ${message}`, { errors: [{ field: first.field, message }] });
  }
  return first ? fieldsProblem(kind, request, source, errors) : problem(kind, request, error.message);
}

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
    matches: isSchemaMissing,
    kind: PROBLEMS.databaseUnavailable,
    detail: 'The database schema is not current; run npm run migrate -- up',
    retry: true,
    level: 'error',
    log: 'database schema is not the one this release expects',
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

const CLIENT_ERRORS: Record<number, (typeof PROBLEMS)[keyof typeof PROBLEMS]> = {
  400: PROBLEMS.invalidBody,
  401: PROBLEMS.unauthorized,
  403: PROBLEMS.forbidden,
  404: PROBLEMS.notFound,
  413: PROBLEMS.bodyTooLarge,
  415: PROBLEMS.unsupportedMediaType,
  429: PROBLEMS.rateLimited,
};

/**
 * One place turns every failure into an RFC 9457 problem document. 4xx details come from our own
 * checks or Fastify's fixed messages; 5xx details never carry a stack, SQL text or driver message.
 */
async function errorHandler(fastify: FastifyInstance) {
  fastify.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation) {
      return sendProblem(reply, validationProblem(error, request));
    }
    const status = error.statusCode ?? 500;
    const clientKind = CLIENT_ERRORS[status];
    if (clientKind) {
      const retryAfter = status === 429 ? Number(reply.getHeader('retry-after') ?? 60) : undefined;
      return sendProblem(reply, problem(clientKind, request, error.message), retryAfter);
    }
    const known = SERVER_FAILURES.find((failure) => failure.matches(error));
    if (known) {
      request.log[known.level]({ err: error }, known.log);
      return sendProblem(reply, problem(known.kind, request, known.detail), known.retry ? RETRY_AFTER_SECONDS : undefined);
    }
    if (status === 503) {
      return sendProblem(reply, problem(PROBLEMS.overloaded, request, error.message), RETRY_AFTER_SECONDS);
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(reply, problem(PROBLEMS.internal, request, 'An unexpected error occurred; it has been logged'));
  });

  fastify.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      problem(PROBLEMS.notFound, request, `No route for ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`),
    ),
  );
}

export default fp(errorHandler, { name: 'error-handler' });
