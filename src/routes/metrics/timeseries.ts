import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PROBLEMS, problem, sendProblem } from '../../http/problems.ts';
import { WorkerParamsSchema } from '../../schemas/common.ts';
import {
  MAX_HOURLY_HOURS,
  SystemTimeseriesSchema,
  TimeseriesQuerySchema,
  WorkerTimeseriesSchema,
  type Bucket,
  type TimeseriesQuery,
} from '../../schemas/timeseries.ts';
import { badRequest, DEFAULT_HOURS, timeout, unavailable, unknownWorker } from './responses.ts';

/** The window and bucket asked for, or `undefined` once a 400 has been sent (too many hourly points). */
function parseWindow(query: TimeseriesQuery, request: FastifyRequest, reply: FastifyReply) {
  const hours = query.hours ?? DEFAULT_HOURS;
  const bucket: Bucket = query.bucket ?? (hours <= MAX_HOURLY_HOURS ? 'hour' : 'day');
  if (bucket === 'hour' && hours > MAX_HOURLY_HOURS) {
    const message = `must be "day" when hours > ${MAX_HOURLY_HOURS} (hourly points are limited to ${MAX_HOURLY_HOURS} hours)`;
    sendProblem(
      reply,
      problem(PROBLEMS.invalidParameter, request, `query parameter "bucket" ${message}`, {
        errors: [{ field: 'bucket', message }],
      }),
    );
    return undefined;
  }
  return { hours, bucket };
}

const timeseriesRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/system/timeseries', {
    schema: {
      tags: ['metrics'],
      summary: 'Executions per hour or day over every worker, for a window ending now',
      description:
        'Every UTC bucket of the window, oldest first, zeros included: executions, counts per state and unknown ' +
        'reasons. Hourly buckets up to 720 hours, daily beyond.',
      operationId: 'getSystemTimeseries',
      querystring: TimeseriesQuerySchema,
      response: { 200: SystemTimeseriesSchema, 400: badRequest, 503: unavailable, 504: timeout },
    },
    handler: async (request, reply) => {
      const window = parseWindow(request.query, request, reply);
      if (!window) return reply;
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
      response: { 200: WorkerTimeseriesSchema, 400: badRequest, 404: unknownWorker, 503: unavailable, 504: timeout },
    },
    handler: async (request, reply) => {
      const window = parseWindow(request.query, request, reply);
      if (!window) return reply;
      const { name } = request.params;
      const series = await fastify.metrics.workerTimeseries(name, window.hours, window.bucket);
      if (series) return series;
      return sendProblem(reply, problem(PROBLEMS.unknownWorker, request, `worker ${JSON.stringify(name)} has no executions`));
    },
  });
};

export default timeseriesRoutes;
