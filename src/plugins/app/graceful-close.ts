import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ProblemError } from '../../http/errors.ts';
import { PROBLEMS, RETRY_AFTER_SECONDS } from '../../http/problems.ts';

/**
 * How long a kept-alive connection that is idle when closing begins stays open. Node's close()
 * would end it at once, and a request the client had already sent on it (still in the socket's
 * buffer while the event loop was busy) would meet a reset. Within this time such a request is read
 * and answered; a connection idle all along is then closed.
 */
export const IDLE_DRAIN_MS = 1_000;

/**
 * Closing (SIGTERM, app.close()): the server stops accepting connections at once; requests being
 * handled finish and are answered with `Connection: close`; a request that arrives on a kept-alive
 * connection gets a 503 problem with Retry-After and `Connection: close` (nothing of it is done).
 * Fastify's own 503 on closing is not a problem document, so the app turns it off
 * (return503OnClosing: false) and answers here.
 */
async function gracefulClose(fastify: FastifyInstance) {
  let closing = false;

  fastify.addHook('preClose', (done) => {
    closing = true;
    const server = fastify.server;
    if (server.listening) {
      const closeIdle = server.closeIdleConnections.bind(server);
      server.closeIdleConnections = () => {};
      setTimeout(closeIdle, IDLE_DRAIN_MS).unref();
    }
    done();
  });

  fastify.addHook('onRequest', async (_request, reply) => {
    if (!closing) return;
    reply.header('Connection', 'close');
    throw new ProblemError(PROBLEMS.shuttingDown, 'The service is shutting down; retry, on a new connection', {
      retryAfter: RETRY_AFTER_SECONDS,
    });
  });

  fastify.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('Connection', 'close');
  });
}

export default fp(gracefulClose, { name: 'graceful-close' });
