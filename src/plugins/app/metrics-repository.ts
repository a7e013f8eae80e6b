import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { createMetricsRepository, type MetricsRepository } from '../../metrics/metrics-repository.ts';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: MetricsRepository;
  }
}

async function metricsRepository(fastify: FastifyInstance, options: { exactMaxRows?: number }) {
  fastify.decorate('metrics', createMetricsRepository(fastify.db, options));
}

export default fp(metricsRepository, { name: 'metrics-repository', dependencies: ['database'] });
