import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { unknownWorker } from '../../http/errors.ts';
import { WorkerParamsSchema } from '../../schemas/common.ts';
import {
  DEFAULT_HOURLY_HOURS,
  SystemTimeseriesSchema,
  TimeseriesQuerySchema,
  WorkerTimeseriesSchema,
  type Bucket,
  type TimeseriesQuery,
} from '../../schemas/timeseries.ts';
import { DEFAULT_HOURS } from '../../schemas/common.ts';
import { PROBLEM_RESPONSES, READ_PROBLEMS } from '../../schemas/problem.ts';

/** The window and bucket asked for: hourly up to 30 days by default, daily beyond. */
function parseWindow(query: TimeseriesQuery) {
  const hours = query.hours ?? DEFAULT_HOURS;
  const bucket: Bucket = query.bucket ?? (hours <= DEFAULT_HOURLY_HOURS ? 'hour' : 'day');
  return { hours, bucket };
}

const timeseriesRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/system/timeseries', {
    schema: {
      tags: ['metrics'],
      summary: 'Executions per hour or day over every worker, for a window ending now',
      description:
        'Every UTC bucket of the window, oldest first, zeros included: executions, counts per state and unknown ' +
        'reasons. Without bucket: hourly up to 720 hours, daily beyond; bucket=hour is served for any window.',
      operationId: 'getSystemTimeseries',
      querystring: TimeseriesQuerySchema,
      response: { 200: SystemTimeseriesSchema, ...READ_PROBLEMS },
    },
    handler: async (request) => {
      const window = parseWindow(request.query);
      return fastify.metrics.systemTimeseries(window.hours, window.bucket);
    },
  });

  fastify.get('/worker/:name/timeseries', {
    schema: {
      tags: ['metrics'],
      summary: 'Executions per hour or day for one worker, for a window ending now',
      description: 'A worker with rows, but none in the window, answers 200 with zero points; a worker never seen is a 404.',
      operationId: 'getWorkerTimeseries',
      params: WorkerParamsSchema,
      querystring: TimeseriesQuerySchema,
      response: { 200: WorkerTimeseriesSchema, ...READ_PROBLEMS, 404: PROBLEM_RESPONSES.unknownWorker },
    },
    handler: async (request) => {
      const window = parseWindow(request.query);
      const { name } = request.params;
      const series = await fastify.metrics.workerTimeseries(name, window.hours, window.bucket);
      if (series) return series;
      throw unknownWorker(name);
    },
  });
};

export default timeseriesRoutes;
