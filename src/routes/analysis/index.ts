import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { createTmdbThresholdRepository } from '../../analysis/tmdb-threshold-repository.ts';
import { TMDB_DEFAULTS, TmdbThresholdQuerySchema, TmdbThresholdSchema } from '../../schemas/analysis.ts';
import { PROBLEM_RESPONSES, problemResponse } from '../../schemas/problem.ts';

const analysisRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  // Only these routes ask it, so the repository lives in their (encapsulated) plugin.
  const tmdbThreshold = createTmdbThresholdRepository(fastify.db);

  fastify.get('/tmdb-threshold', {
    schema: {
      tags: ['analysis'],
      summary: 'Match attempts in a TMDB confidence band, and the match rate if the threshold were lowered to its start',
      description:
        'The band from ≤ confidence < to holds the matches that lowering the threshold from `to` to `from` would add. ' +
        'Whether they are right is a manual review: `npm run tmdb:sample` and `npm run tmdb:decide` (docs/TMDB_THRESHOLD.md).',
      operationId: 'getTmdbThresholdAnalysis',
      querystring: TmdbThresholdQuerySchema,
      response: {
        200: TmdbThresholdSchema,
        400: problemResponse('Bad input: from, to or hours out of range'),
        503: PROBLEM_RESPONSES.unavailable,
        504: PROBLEM_RESPONSES.timeout,
      },
    },
    handler: async (request) => {
      const { from = TMDB_DEFAULTS.from, to = TMDB_DEFAULTS.to, hours = TMDB_DEFAULTS.hours } = request.query;
      return tmdbThreshold.counts({ from, to }, hours);
    },
  });
};

export default analysisRoutes;
