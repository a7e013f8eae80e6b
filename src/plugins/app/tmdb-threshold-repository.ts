import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import {
  createTmdbThresholdRepository,
  type TmdbThresholdRepository,
} from '../../analysis/tmdb-threshold-repository.ts';

declare module 'fastify' {
  interface FastifyInstance {
    tmdbThreshold: TmdbThresholdRepository;
  }
}

async function tmdbThresholdRepository(fastify: FastifyInstance) {
  fastify.decorate('tmdbThreshold', createTmdbThresholdRepository(fastify.db));
}

export default fp(tmdbThresholdRepository, { name: 'tmdb-threshold-repository', dependencies: ['database'] });
