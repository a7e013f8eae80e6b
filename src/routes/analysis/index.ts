import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { PROBLEMS, problem, sendProblem } from '../../http/problems.ts';
import { TMDB_DEFAULTS } from '../../analysis/band.ts';
import { createTmdbThresholdRepository } from '../../analysis/tmdb-threshold-repository.ts';
import { TmdbThresholdQuerySchema, TmdbThresholdSchema } from '../../schemas/analysis.ts';
import { problemResponse } from '../../schemas/problem.ts';

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
        400: problemResponse('Bad input: from, to or hours out of range, or from not below to'),
        503: problemResponse('Database unreachable or overloaded (with Retry-After)'),
        504: problemResponse('The query exceeded its time limit'),
      },
    },
    handler: async (request, reply) => {
      const { from = TMDB_DEFAULTS.from, to = TMDB_DEFAULTS.to, hours = TMDB_DEFAULTS.hours } = request.query;
      if (from >= to) {
        const message = `must be less than "to" (got from=${from}, to=${to})`;
        return sendProblem(
          reply,
          problem(PROBLEMS.invalidParameter, request, `query parameter "from" ${message}`, { errors: [{ field: 'from', message }] }),
        );
      }
      return tmdbThreshold.counts({ from, to }, hours);
    },
  });
};

export default analysisRoutes;
