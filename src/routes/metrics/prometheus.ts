import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PROBLEM_RESPONSES } from '../../schemas/problem.ts';

const exposition = (format: string) => ({ schema: Type.String({ description: format }) });

/** `GET /metrics`: Prometheus's default metrics_path, beside the JSON routes under /metrics/…. */
const prometheusRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/', {
    schema: {
      tags: ['monitoring'],
      summary: 'Prometheus exposition: job counters, duration histogram and the service\'s own health',
      description:
        'Text format 0.0.4, or OpenMetrics 1.0.0 when `Accept` prefers application/openmetrics-text. Families and ' +
        'their bounds are described in README.md ("Monitoring"). Counters count every execution ever recorded; ' +
        'for each worker job_executions_total{state="cancelled"} = Σ job_cancellations_total + ' +
        'job_cancellations_other_reasons_total + job_cancellations_unknown_reason_total.',
      operationId: 'getPrometheusMetrics',
      response: {
        200: {
          description: 'The exposition (Content-Type names the format and its version)',
          content: {
            'text/plain': exposition('Prometheus text format 0.0.4'),
            'application/openmetrics-text': exposition('OpenMetrics 1.0.0'),
          },
        },
        503: PROBLEM_RESPONSES.unavailable,
        504: PROBLEM_RESPONSES.timeout,
      },
    },
    handler: async (request, reply) => {
      const { contentType, body } = await fastify.prometheus.scrape(request.headers.accept);
      // The format follows Accept: a cache must not hand one scraper's format to another.
      return reply.type(contentType).header('vary', 'accept').send(body);
    },
  });
};

export default prometheusRoutes;
