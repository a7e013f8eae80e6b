import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { ServerOptions as HttpServerOptions } from 'node:http';
import type { DatabasePool } from 'slonik';
import { answerBeforeFastify, clientErrorHandler, noteAnswered } from './http/client-errors.ts';
import { PROBLEMS, problem, sendProblem } from './http/problems.ts';
import { ProblemError } from './http/errors.ts';
import { loadConfig, type Config } from './config.ts';
import auth from './plugins/app/auth.ts';
import database from './plugins/app/database.ts';
import requestDeadline from './plugins/app/request-deadline.ts';
import security from './plugins/external/security.ts';
import errorHandler from './plugins/app/error-handler.ts';
import gracefulClose from './plugins/app/graceful-close.ts';
import executionListRepository from './plugins/app/execution-list-repository.ts';
import metricsRepository from './plugins/app/metrics-repository.ts';
import retentionPruner from './plugins/app/retention-pruner.ts';
import rollupFoldLoop from './plugins/app/rollup-fold-loop.ts';
import strictQuery from './plugins/app/strict-query.ts';
import compression from './plugins/external/compression.ts';
import openapi from './plugins/external/swagger.ts';
import prometheus from './plugins/app/prometheus.ts';
import analysisRoutes from './routes/analysis/index.ts';
import dashboardRoutes from './routes/dashboard/index.ts';
import healthRoutes from './routes/health/index.ts';
import jobExecutionListRoutes from './routes/job-executions/list.ts';
import ingestRoutes from './routes/job-executions/ingest.ts';
import metricsRoutes from './routes/metrics/index.ts';

export interface AppOptions {
  pool: DatabasePool;
  /**
   * For the metrics windows and time series (GET /metrics/system, /metrics/worker/…): a pool whose
   * sessions use generic plans (db/pool.ts, `genericPlans`). Default: `pool`.
   */
  metricsPool?: DatabasePool;
  closePool?: boolean;
  /** The validated environment; tests pass `loadConfig({ … })`. Defaults: `loadConfig({})`. */
  config?: Config;
  logger?: FastifyServerOptions['logger'];
  /**
   * Shed load with 503 when the event loop is saturated (default true). Tests that drive the app with
   * inject() share its event loop with the test runner, so they measure the runner: they turn it off.
   */
  shedLoad?: boolean;
  /** Extra Fastify settings, e.g. the server's timeouts. */
  server?: Partial<ServerOptions>;
}

/**
 * The request line and headers Node accepts. The longest request the spec allows is
 * GET /job-executions with a 10,000-character reason and a 255-character worker, every character a
 * 4-byte code point: 123,300 bytes percent-encoded. Node's default (16 KiB) would refuse it with
 * 431; this leaves 16 KiB for the other headers on top.
 */
export const MAX_HEADER_BYTES = 140 * 1024;

/** The methods some route of the service answers, for `OPTIONS *` and CONNECT's 405. */
export const SERVER_METHODS = 'GET, HEAD, POST, OPTIONS';

type ServerOptions = FastifyServerOptions & { http?: HttpServerOptions };

/** Fastify's own settings; the server adds its timeouts and signals around the same app. */
export function serverOptions(logger: FastifyServerOptions['logger'] = false): ServerOptions {
  return {
    logger,
    // Any name Node lets through must reach the route, whose schema answers "at most 255
    // characters" and names the parameter: past the router's limit it would get a bare 400 or 404.
    routerOptions: { maxParamLength: MAX_HEADER_BYTES, ignoreTrailingSlash: true },
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { allErrors: true } },
    // Node answers a missing Host with an empty 400; the app answers it with a problem document.
    http: { maxHeaderSize: MAX_HEADER_BYTES, requireHostHeader: false },
    // Errors Node's parser finds (framing, header size, slow headers) and requests during closing
    // are answered with problem documents too.
    clientErrorHandler,
    return503OnClosing: false,
    // Errors Fastify answers before routing (a malformed percent-encoding) bypass the error handler:
    // the problem document is sent here.
    // Fastify's message quotes the whole URL, up to 140 KiB, so the detail says what is wrong instead.
    frameworkErrors: (error, request, reply) => {
      const detail =
        error.code === 'FST_ERR_BAD_URL'
          ? 'the URL path cannot be decoded: each "%" must start a %XX escape, and the bytes must be UTF-8'
          : `the request cannot be routed: ${error.message.slice(0, 200)}`;
      sendProblem(reply, problem(PROBLEMS.invalidParameter, request, detail));
    },
  };
}

function trustHops(hops: number) {
  return (_address: string, hop: number) => hop < hops;
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const config = options.config ?? loadConfig({});
  const defaults = serverOptions(options.logger);
  const app = Fastify({
    ...defaults,
    // Fastify takes a number of hops too, but its types do not say so: the same rule as a function.
    trustProxy: typeof config.trustProxy === 'number' ? trustHops(config.trustProxy) : config.trustProxy,
    ...options.server,
    http: { ...defaults.http, ...options.server?.http },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // The id in the logs, the problem documents and this header is the same: support can find a request.
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
      throw new ProblemError(PROBLEMS.malformedRequest, 'An HTTP/1.1 request must carry a Host header (RFC 9112 §3.2)');
    }
    // The asterisk form names the server itself, for OPTIONS only (RFC 9112 §3.2.4): the router
    // would take `*` for a path.
    if (request.url === '*') {
      if (request.method === 'OPTIONS') return reply.code(204).header('allow', SERVER_METHODS).send();
      throw new ProblemError(PROBLEMS.malformedRequest, 'The request target "*" is for OPTIONS only (RFC 9112 §3.2.4)');
    }
  });
  app.addHook('onResponse', async (request) => noteAnswered(request.raw));
  answerBeforeFastify(app.server, SERVER_METHODS);
  await app.register(errorHandler);
  await app.register(gracefulClose);
  // Before @fastify/static (the dashboard's files), as the library requires.
  await app.register(compression);
  await app.register(security, { rateLimitWritesPerMin: config.rateLimitWritesPerMin, shedLoad: options.shedLoad });
  // Past the pool wait and the statement timeout, the database is not coming back for this request.
  await app.register(requestDeadline, { deadlineMs: config.poolTimeoutMs + config.statementTimeoutMs + 1_000 });
  await app.register(strictQuery);
  // Without INGEST_TOKEN ingest is disabled; without READ_TOKEN reads are open.
  await app.register(auth, { ingestToken: config.ingestToken, readToken: config.readToken });
  await app.register(openapi);
  await app.register(database, { pool: options.pool, metricsPool: options.metricsPool, closePool: options.closePool });
  await app.register(metricsRepository, {
    exactMaxRows: config.exactMaxRows,
    shareReads: config.coalesceMetrics,
    retentionDays: config.retentionDays,
  });
  await app.register(rollupFoldLoop, { intervalMs: config.rollupFoldIntervalMs });
  await app.register(retentionPruner, { retentionDays: config.retentionDays, intervalMs: config.retentionPruneIntervalMs });
  await app.register(executionListRepository, { retentionDays: config.retentionDays });
  // Before the routes: it times each route's requests.
  await app.register(prometheus, {
    maxReasons: config.prometheusMaxReasons,
    rankReuseReasons: config.prometheusRankReuseReasons,
    rankReuseMs: config.prometheusRankReuseMs,
  });

  await app.register(metricsRoutes, { prefix: '/metrics' });
  await app.register(jobExecutionListRoutes, { prefix: '/job-executions' });
  await app.register(analysisRoutes, { prefix: '/analysis' });
  await app.register(healthRoutes, { prefix: '/health' });
  await app.register(ingestRoutes, { prefix: '/job-executions' });
  await app.register(dashboardRoutes);

  return app;
}
