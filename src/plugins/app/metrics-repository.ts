import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { createMetricsRepository, type MetricsRepository, type MetricsRepositoryOptions } from '../../metrics/metrics-repository.ts';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: MetricsRepository;
  }
}

async function metricsRepository(fastify: FastifyInstance, options: MetricsRepositoryOptions) {
  fastify.decorate('metrics', createMetricsRepository(fastify.metricsDb, options));
}

export default fp(metricsRepository, { name: 'metrics-repository', dependencies: ['database'] });
