import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import underPressure from '@fastify/under-pressure';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ProblemError } from '../../http/errors.ts';
import { PROBLEMS, RETRY_AFTER_SECONDS } from '../../http/problems.ts';

export interface SecurityOptions {
  /** Per client and minute on write routes; undefined turns the limit off. */
  rateLimitWritesPerMin?: number;
  /** Shed load with 503 when the event loop is saturated; default on. */
  shedLoad?: boolean;
}

/**
 * Security headers with a strict CSP (the dashboard uses no inline script or style), back-pressure
 * when the event loop is saturated, and an optional rate limit on writes.
 */
async function security(fastify: FastifyInstance, options: SecurityOptions) {
  await fastify.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        // The service is often reached over plain HTTP on loopback or a private network.
        upgradeInsecureRequests: null,
      },
    },
  });

  if (options.shedLoad !== false) await fastify.register(underPressure, {
    // A loop delayed for a second means every request is already late: shed instead of queueing.
    maxEventLoopDelay: 1_000,
    maxEventLoopUtilization: 0.98,
    retryAfter: RETRY_AFTER_SECONDS,
    pressureHandler: (_request, reply, type, value) => {
      const detail = `The service is overloaded (${type} ${value}); retry shortly`;
      reply.send(new ProblemError(PROBLEMS.overloaded, detail, { retryAfter: RETRY_AFTER_SECONDS }));
    },
    exposeStatusRoute: false,
  });

  // The route config must be in place before @fastify/rate-limit's own onRoute hook reads it.
  if (options.rateLimitWritesPerMin) {
    const max = options.rateLimitWritesPerMin;
    fastify.addHook('onRoute', (route) => {
      const methods = [route.method].flat();
      if (methods.some((m) => m === 'POST' || m === 'PUT' || m === 'PATCH' || m === 'DELETE')) {
        route.config = { ...route.config, rateLimit: { max, timeWindow: 60_000 } };
      }
    });
  }
  await fastify.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) =>
      Object.assign(new Error(`At most ${context.max} write requests per minute; retry in ${context.after}`), {
        statusCode: 429,
      }),
  });
}

export default fp(security, { name: 'security' });
