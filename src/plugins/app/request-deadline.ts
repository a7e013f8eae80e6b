import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ProblemError } from '../../http/errors.ts';
import { PROBLEMS } from '../../http/problems.ts';

declare module 'fastify' {
  interface FastifyRequest {
    deadlineTimer?: NodeJS.Timeout;
  }
}

/**
 * The statement timeout is enforced by PostgreSQL, so a database that stops answering altogether
 * (a frozen host, a dropped network) would leave requests hanging. The deadline answers them
 * with a 504 problem instead; whatever the handler finishes later is discarded.
 */
async function requestDeadline(fastify: FastifyInstance, options: { deadlineMs: number }) {
  // Armed once the body has arrived: a slow upload is the client's delay (Node's request timeout
  // answers it with a 408), not the database's.
  fastify.addHook('preHandler', (request, reply, done) => {
    request.deadlineTimer = setTimeout(() => {
      if (reply.sent) return;
      request.log.error({ deadlineMs: options.deadlineMs }, 'request exceeded its deadline');
      reply.send(new ProblemError(PROBLEMS.queryTimeout, `The database did not answer within ${options.deadlineMs} ms`));
    }, options.deadlineMs);
    done();
  });
  fastify.addHook('onResponse', (request, _reply, done) => {
    clearTimeout(request.deadlineTimer);
    done();
  });
}

export default fp(requestDeadline, { name: 'request-deadline' });
