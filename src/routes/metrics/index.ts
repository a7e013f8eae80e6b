import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { unknownWorker } from '../../http/errors.ts';
import { DEFAULT_HOURS, WorkerParamsSchema } from '../../schemas/common.ts';
import { MetricsQuerySchema, SystemMetricsSchema, WorkerListSchema, WorkerMetricsSchema } from '../../schemas/metrics.ts';
import { PROBLEM_RESPONSES, READ_PROBLEMS } from '../../schemas/problem.ts';
import prometheusRoutes from './prometheus.ts';
import timeseriesRoutes from './timeseries.ts';

/** The answers come from `fastify.metrics` (metrics/metrics-repository.ts); how a window is computed: metrics/window-metrics.ts. */
const metricsRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/system', {
    schema: {
      tags: ['metrics'],
      summary: 'Metrics over every worker for a window ending now',
      description:
        'Executions, counts per state, success rate, cancellations by reason (NULL reasons counted as unknown, ' +
        'apart from a reason whose text is "unknown") and durations over the window (now() - hours, now()]; ' +
        'compare=previous adds the preceding window and the deltas.',
      operationId: 'getSystemMetrics',
      querystring: MetricsQuerySchema,
      response: { 200: SystemMetricsSchema, ...READ_PROBLEMS },
    },
    handler: async (request) =>
      fastify.metrics.systemMetrics(request.query.hours ?? DEFAULT_HOURS, { compare: request.query.compare, reasons: request.query.reasons }),
  });

  fastify.get('/worker/:name', {
    schema: {
      tags: ['metrics'],
      summary: 'Metrics for one worker for a window ending now',
      description: 'A worker with rows, but none in the window, answers 200 with zeros; a worker never seen is a 404.',
      operationId: 'getWorkerMetrics',
      params: WorkerParamsSchema,
      querystring: MetricsQuerySchema,
      response: { 200: WorkerMetricsSchema, ...READ_PROBLEMS, 404: PROBLEM_RESPONSES.unknownWorker },
    },
    handler: async (request) => {
      const { name } = request.params;
      const { hours = DEFAULT_HOURS, compare, reasons } = request.query;
      const metrics = await fastify.metrics.workerMetrics(name, hours, { compare, reasons });
      if (metrics) return metrics;
      throw unknownWorker(name);
    },
  });

  fastify.get('/workers', {
    schema: {
      tags: ['metrics'],
      summary: 'Every worker that has executions, with when it was last seen',
      description: 'Every worker name in the table, whatever its age, with its latest inserted_at; ordered by name.',
      operationId: 'listWorkers',
      response: { 200: WorkerListSchema, 503: PROBLEM_RESPONSES.unavailable, 504: PROBLEM_RESPONSES.timeout },
    },
    handler: async () => fastify.metrics.workers(),
  });

  await fastify.register(timeseriesRoutes);
  await fastify.register(prometheusRoutes);
};

export default metricsRoutes;
