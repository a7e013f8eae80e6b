import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sql } from 'slonik';
import { Type } from 'typebox';
import { z } from 'zod';
import { knownMigrations, MIGRATIONS_TABLE, schemaDrift } from '../../db/migrate.ts';
import { PROBLEMS, problem, RETRY_AFTER_SECONDS, sendProblem } from '../../http/problems.ts';
import { problemResponse } from '../../schemas/problem.ts';
import { isDatabaseUnavailable } from '../../plugins/app/error-handler.ts';

const appliedMigrationsQuery = sql.type(z.object({ name: z.string() }))`
  SELECT name FROM ${sql.identifier([MIGRATIONS_TABLE])} ORDER BY id
`;

const healthRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const expected = knownMigrations();

  fastify.get('/live', {
    schema: {
      tags: ['health'],
      summary: 'The process is running',
      operationId: 'getLiveness',
      response: { 200: Type.Object({ status: Type.Literal('ok') }) },
    },
    handler: async () => ({ status: 'ok' as const }),
  });

  fastify.get('/ready', {
    schema: {
      tags: ['health'],
      summary: 'The database answers and its schema is the one this release expects',
      operationId: 'getReadiness',
      response: {
        200: Type.Object({ status: Type.Literal('ready'), migration: Type.String() }),
        503: problemResponse('Not ready: the database is unreachable or its migrations are not current'),
      },
    },
    handler: async (request, reply) => {
      let applied: readonly string[];
      try {
        applied = await fastify.db.anyFirst(appliedMigrationsQuery);
      } catch (error) {
        request.log.warn({ err: error }, 'readiness check failed');
        const detail = isDatabaseUnavailable(error)
          ? 'The database is not answering'
          : 'The migrations table cannot be read; run npm run migrate -- up';
        return sendProblem(reply, problem(PROBLEMS.databaseUnavailable, request, detail), RETRY_AFTER_SECONDS);
      }
      const drift = schemaDrift(applied, expected);
      if (drift) return sendProblem(reply, problem(PROBLEMS.databaseUnavailable, request, drift), RETRY_AFTER_SECONDS);
      return { status: 'ready' as const, migration: expected.at(-1) ?? '' };
    },
  });
};

export default healthRoutes;
