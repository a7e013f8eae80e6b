import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Problem } from '../schemas/problem.ts';
import { splitUrl } from './request-url.ts';

/**
 * Problem types are tag URIs (RFC 4151): stable identifiers a client can switch on, that never
 * pretend to be a page to fetch.
 */
const problemType = (slug: string) => `tag:job-metrics,2026:problem:${slug}`;

export const PROBLEMS = {
  invalidParameter: { type: problemType('invalid-parameter'), title: 'Invalid request parameter', status: 400 },
  invalidBody: { type: problemType('invalid-body'), title: 'Invalid request body', status: 400 },
  malformedRequest: { type: problemType('malformed-request'), title: 'Malformed HTTP request', status: 400 },
  unauthorized: { type: problemType('unauthorized'), title: 'Missing or wrong token', status: 401 },
  forbidden: { type: problemType('endpoint-disabled'), title: 'Endpoint disabled', status: 403 },
  notFound: { type: problemType('not-found'), title: 'Not found', status: 404 },
  unknownWorker: { type: problemType('unknown-worker'), title: 'Unknown worker', status: 404 },
  methodNotAllowed: { type: problemType('method-not-allowed'), title: 'Method not allowed', status: 405 },
  requestTimeout: { type: problemType('request-timeout'), title: 'Request not received in time', status: 408 },
  preconditionFailed: { type: problemType('precondition-failed'), title: 'Precondition failed', status: 412 },
  bodyTooLarge: { type: problemType('body-too-large'), title: 'Request body too large', status: 413 },
  unsupportedMediaType: { type: problemType('unsupported-media-type'), title: 'Unsupported content type', status: 415 },
  rangeNotSatisfiable: { type: problemType('range-not-satisfiable'), title: 'Range not satisfiable', status: 416 },
  expectationFailed: { type: problemType('expectation-failed'), title: 'Expectation not supported', status: 417 },
  headersTooLarge: { type: problemType('headers-too-large'), title: 'Request headers too large', status: 431 },
  rateLimited: { type: problemType('rate-limited'), title: 'Too many requests', status: 429 },
  internal: { type: problemType('internal'), title: 'Internal error', status: 500 },
  databaseUnavailable: { type: problemType('database-unavailable'), title: 'Database unavailable', status: 503 },
  overloaded: { type: problemType('overloaded'), title: 'Service overloaded', status: 503 },
  shuttingDown: { type: problemType('shutting-down'), title: 'Service shutting down', status: 503 },
  queryTimeout: { type: problemType('query-timeout'), title: 'Query timed out', status: 504 },
} as const;

/** Retry-After (seconds) on a 503: by then the database, the pool or the process is back, or sheds again. */
export const RETRY_AFTER_SECONDS = 5;

export type ProblemKind = (typeof PROBLEMS)[keyof typeof PROBLEMS];

export function problem(
  kind: ProblemKind,
  request: FastifyRequest,
  detail: string,
  extra: Pick<Problem, 'errors'> = {},
): Problem {
  return {
    ...kind,
    detail,
    instance: splitUrl(request.url).path,
    request_id: String(request.id),
    ...extra,
  };
}

/**
 * Every error is listed up to one per batch item's worth; past that the list would only amplify a
 * malformed 1 MiB body into a far larger answer, so the detail gives the total instead.
 */
export const MAX_LISTED_ERRORS = 1_000;

/** Sends a problem document with its media type; `retryAfter` (seconds) for 429 and 503. */
export function sendProblem(reply: FastifyReply, body: Problem, retryAfter?: number): FastifyReply {
  if (retryAfter !== undefined) reply.header('Retry-After', String(retryAfter));
  return reply.code(body.status).type('application/problem+json').send(body);
}
