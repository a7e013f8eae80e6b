import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ProblemError } from '../../http/errors.ts';
import { serverFailure } from '../../http/failures.ts';
import { PROBLEMS, problem, RETRY_AFTER_SECONDS, sendProblem } from '../../http/problems.ts';
import { splitUrl } from '../../http/request-url.ts';
import { RouteMethods } from '../../http/route-methods.ts';
import { validationError } from '../../http/validation.ts';

const CLIENT_ERRORS: Record<number, (typeof PROBLEMS)[keyof typeof PROBLEMS]> = {
  400: PROBLEMS.invalidBody,
  401: PROBLEMS.unauthorized,
  // Our own 403 (ingest disabled) is a ProblemError; a library's is @fastify/static refusing a path
  // that climbs out of its folder: there is no such file to serve.
  403: PROBLEMS.notFound,
  404: PROBLEMS.notFound,
  // The dashboard's and Swagger UI's files honour If-Match, If-Unmodified-Since and Range.
  412: PROBLEMS.preconditionFailed,
  413: PROBLEMS.bodyTooLarge,
  415: PROBLEMS.unsupportedMediaType,
  416: PROBLEMS.rangeNotSatisfiable,
  429: PROBLEMS.rateLimited,
};

/** Any failure as the ProblemError it is answered with, logging the server-side ones. */
function asProblem(error: FastifyError, log: FastifyInstance['log'], retryAfterHeader: unknown): ProblemError {
  if (error instanceof ProblemError) return error;
  if (error.validation) return validationError(error);
  const status = error.statusCode ?? 500;
  const clientKind = CLIENT_ERRORS[status];
  if (clientKind) {
    // Fastify's and its plugins' own 4xx (body too large, rate limited …): fixed messages.
    const message = clientKind.status === status ? error.message : 'No such file';
    return new ProblemError(clientKind, message, status === 429 ? { retryAfter: Number(retryAfterHeader ?? 60) } : {});
  }
  const known = serverFailure(error);
  if (known) {
    log[known.level]({ err: error }, known.log);
    return known.problem;
  }
  if (status === 503) return new ProblemError(PROBLEMS.overloaded, error.message, { retryAfter: RETRY_AFTER_SECONDS });
  log.error({ err: error }, 'unhandled error');
  return new ProblemError(PROBLEMS.internal, 'An unexpected error occurred; it has been logged');
}

/**
 * One place turns every failure into an RFC 9457 problem document: routes, hooks and plugins throw
 * (or `reply.send`) a ProblemError or let a library's error through. 4xx details come from our own
 * checks or Fastify's fixed messages; 5xx details never carry a stack, SQL text or driver message.
 */
async function errorHandler(fastify: FastifyInstance) {
  fastify.setErrorHandler((error: FastifyError & { headers?: Record<string, string> }, request, reply) => {
    // A 416 says which ranges exist (RFC 9110 §14.4): the static files' error carries the header.
    const contentRange = error.headers?.['Content-Range'];
    if (error.statusCode === 416 && contentRange) reply.header('Content-Range', contentRange);
    const answer = asProblem(error, request.log, reply.getHeader('retry-after'));
    const extra = answer.errors ? { errors: answer.errors } : {};
    return sendProblem(reply, problem(answer.kind, request, answer.message, extra), answer.retryAfter);
  });

  const routes = new RouteMethods();
  fastify.addHook('onRoute', (route) => routes.add(route.url, route.method));
  fastify.setNotFoundHandler((request, reply) => {
    const { path } = splitUrl(request.url);
    const allowed = routes.allowed(path);
    // A method the path does answer, yet nothing was found: a file under a static folder that is not there.
    const served = allowed.includes(request.method) || (request.method === 'HEAD' && allowed.includes('GET'));
    if (allowed.length === 0 || served) {
      return sendProblem(reply, problem(PROBLEMS.notFound, request, `No route for ${request.method} ${path.slice(0, 200)}`));
    }
    const allow = [...allowed, 'OPTIONS'].join(', ');
    if (request.method === 'OPTIONS') return reply.code(204).header('Allow', allow).send();
    reply.header('Allow', allow);
    return sendProblem(reply, problem(PROBLEMS.methodNotAllowed, request, `${request.method} is not answered at ${path.slice(0, 200)}; use ${allow}`));
  });
}

export default fp(errorHandler, { name: 'error-handler' });
