import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { PROBLEMS, type ProblemKind } from './problems.ts';
import { splitUrl } from './request-url.ts';

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

/**
 * Sockets whose current request was answered before its body ended (a GET with a body, a refused
 * upload). A framing error in the rest of that body belongs to a request already answered: a second
 * answer would be read by a pipelining client or a proxy as the answer to its next request.
 */
const answeredMidBody = new WeakSet<Socket>();

export function noteAnswered(request: IncomingMessage) {
  const socket = request.socket;
  if (request.complete || !socket) return;
  answeredMidBody.add(socket);
  request.once('end', () => answeredMidBody.delete(socket));
}

/** A problem document written on a raw socket, then the socket closed once it is written. */
function endWithProblem(socket: Duplex, kind: ProblemKind, detail: string, headers: Record<string, string> = {}): string {
  const requestId = randomUUID();
  const body = JSON.stringify({ ...kind, detail, request_id: requestId });
  socket.end(
    `HTTP/1.1 ${kind.status} ${STATUS_CODES[kind.status]}\r\n` +
      'Content-Type: application/problem+json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${requestId}\r\n` +
      Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('') +
      'Connection: close\r\n\r\n' +
      body,
    () => socket.destroy(),
  );
  return requestId;
}

/** Fastify's clientErrorHandler: a problem document written on the raw socket, then the socket closed. */
export function clientErrorHandler(this: FastifyInstance, error: ParserError, socket: Socket) {
  // A reset connection has nobody to answer; a destroyed socket has nowhere to write.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent: boolean } })._httpMessage;
  if (!socket.writable || answeredMidBody.has(socket) || inFlight?.headersSent) return socket.destroy();
  const known = CLIENT_ERRORS[error.code ?? ''];
  const kind = known?.kind ?? PROBLEMS.malformedRequest;
  // Written, then closed: the parser cannot tell where a next request would start.
  const requestId = endWithProblem(
    socket,
    kind,
    known?.detail ?? `The request is not valid HTTP/1.1${error.reason ? `: ${error.reason}` : ''}`,
  );
  this.log.debug({ reqId: requestId, code: error.code, status: kind.status }, 'request refused before routing');
}

/**
 * Requests Node answers itself, with an empty body, unless someone listens: CONNECT (without a
 * listener Node closes the socket unanswered) and an Expect other than 100-continue (an empty 417).
 */
export function answerBeforeFastify(server: Server, allow: string) {
  server.on('connect', (_request: IncomingMessage, socket: Duplex) => {
    endWithProblem(socket, PROBLEMS.methodNotAllowed, 'CONNECT is not answered: this service is not a proxy', {
      Allow: allow,
    });
  });
  server.on('checkExpectation', (request: IncomingMessage, response: ServerResponse) => {
    const body = JSON.stringify({
      ...PROBLEMS.expectationFailed,
      detail: 'Only "Expect: 100-continue" is supported; send the request without the other expectation',
      instance: splitUrl(request.url ?? '').path.slice(0, 200),
      request_id: randomUUID(),
    });
    response.writeHead(417, { 'content-type': 'application/problem+json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
    response.end(body);
  });
}
