import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { PROBLEMS, type ProblemKind } from './problems.ts';

/**
 * Node's HTTP parser rejects some requests before Fastify routes them: broken framing, headers over
 * the size limit, headers that never finish. Fastify answers those with its own JSON; this answers
 * them with the same problem documents as every other error. llhttp's reasons are fixed texts (never
 * the client's bytes), so they can be named in the detail.
 */
const CLIENT_ERRORS: Record<string, { kind: ProblemKind; detail: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: {
    kind: PROBLEMS.requestTimeout,
    detail: 'The request did not arrive within the time limit',
  },
  HPE_HEADER_OVERFLOW: {
    kind: PROBLEMS.headersTooLarge,
    detail: 'The request line and headers are over the size limit; shorten the URL or the headers',
  },
};

type ParserError = NodeJS.ErrnoException & { reason?: string };

/** Fastify's clientErrorHandler: a problem document written on the raw socket, then the socket closed. */
export function clientErrorHandler(this: FastifyInstance, error: ParserError, socket: Socket) {
  // A reset connection has nobody to answer; a destroyed socket has nowhere to write.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const known = CLIENT_ERRORS[error.code ?? ''];
  const kind = known?.kind ?? PROBLEMS.malformedRequest;
  const requestId = randomUUID();
  const body = JSON.stringify({
    ...kind,
    detail: known?.detail ?? `The request is not valid HTTP/1.1${error.reason ? `: ${error.reason}` : ''}`,
    request_id: requestId,
  });
  this.log.debug({ reqId: requestId, code: error.code, status: kind.status }, 'request refused before routing');
  if (!socket.writable) return socket.destroy();
  // Written, then closed once written: the parser cannot tell where a next request would start.
  socket.end(
    `HTTP/1.1 ${kind.status} ${STATUS_CODES[kind.status]}\r\n` +
      'Content-Type: application/problem+json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${requestId}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
    () => socket.destroy(),
  );
}
