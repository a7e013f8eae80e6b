import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { createHash, timingSafeEqual } from 'node:crypto';
import { ProblemError } from '../../http/errors.ts';
import { PROBLEMS } from '../../http/problems.ts';
import { problemResponse } from '../../schemas/problem.ts';
import { READ_SECURITY, type Security } from '../../http/security-schemes.ts';

export interface AuthOptions {
  /** Unset: the ingest endpoint is disabled (403). */
  ingestToken?: string | undefined;
  /** Unset: reads are open. */
  readToken?: string | undefined;
}

/** Reads that READ_TOKEN protects; health, /docs and /openapi.json stay open. */
const READ_PREFIXES = ['/metrics/', '/job-executions/', '/analysis/'];

const digest = (token: string) => createHash('sha256').update(token).digest();

/** Constant time whatever the length: equal-length digests are compared, never the tokens. */
function bearerMatches(request: FastifyRequest, expected: Buffer): boolean {
  const match = /^Bearer +([^\s]+) *$/i.exec(request.headers.authorization ?? '');
  return match !== null && timingSafeEqual(digest(match[1]!), expected);
}

function unauthorized(request: FastifyRequest, reply: FastifyReply, variable: string): never {
  const detail = request.headers.authorization
    ? `header "Authorization" does not carry the right token (Bearer <${variable}>)`
    : `header "Authorization" is required: Bearer <${variable}>`;
  reply.header('WWW-Authenticate', 'Bearer realm="job-metrics"');
  throw new ProblemError(PROBLEMS.unauthorized, detail);
}

function requireToken(token: string | undefined, variable: string, disabledDetail?: string): onRequestHookHandler | null {
  if (token === undefined) {
    if (!disabledDetail) return null;
    return async () => {
      throw new ProblemError(PROBLEMS.forbidden, disabledDetail);
    };
  }
  const expected = digest(token);
  return async (request, reply) => {
    if (!bearerMatches(request, expected)) return unauthorized(request, reply, variable);
  };
}

const isRead = (route: RouteOptions) =>
  [route.method].flat().every((method) => method === 'GET' || method === 'HEAD') &&
  READ_PREFIXES.some((prefix) => `${route.url}/`.startsWith(prefix));

/**
 * Bearer tokens for writes (INGEST_TOKEN) and, optionally, reads (READ_TOKEN). Reads under the
 * read prefixes get READ_SECURITY declared unless they declare their own, so the spec and the
 * check cannot drift apart. Runs on request, before a body is read.
 */
async function auth(fastify: FastifyInstance, options: AuthOptions) {
  const ingest = requireToken(
    options.ingestToken,
    'INGEST_TOKEN',
    'ingest is disabled: start the service with INGEST_TOKEN set (16+ characters, e.g. `openssl rand -hex 32`) ' +
      'and send it as Authorization: Bearer <INGEST_TOKEN>',
  );
  const read = requireToken(options.readToken, 'READ_TOKEN');

  fastify.addHook('onRoute', (route) => {
    type Declared = { security?: Security; response?: Record<string, unknown> };
    if ((route.schema as Declared | undefined)?.security === undefined && isRead(route)) {
      route.schema = { ...route.schema, security: READ_SECURITY };
    }
    const schema = (route.schema ?? {}) as Declared;
    const schemes = new Set((schema.security ?? []).flatMap((requirement) => Object.keys(requirement)));
    const hook = schemes.has('ingestToken') ? ingest : schemes.has('readToken') ? read : null;
    if (schemes.has('readToken')) {
      route.schema = { ...schema, response: { 401: problemResponse('Missing or wrong token (READ_TOKEN is configured)'), ...schema.response } };
    }
    if (hook) route.onRequest = [hook, ...(route.onRequest ? [route.onRequest].flat() : [])];
  });
}

export default fp(auth, { name: 'auth' });
