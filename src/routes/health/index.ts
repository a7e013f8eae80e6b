import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { sql } from 'slonik';
import { Type } from 'typebox';
import { z } from 'zod';
import { knownMigrations, MIGRATIONS_TABLE, schemaDrift } from '../../db/migrate.ts';
import { databaseUnavailable } from '../../http/errors.ts';
import { isDatabaseUnavailable, isPrivilegeMissing } from '../../http/failures.ts';
import { problemResponse } from '../../schemas/problem.ts';

const appliedMigrationsQuery = sql.type(z.object({ name: z.string() }))`
  SELECT name FROM ${sql.identifier([MIGRATIONS_TABLE])} ORDER BY id
`;

const healthRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const expected = knownMigrations();

  fastify.get('/live', {
    schema: {
      tags: ['health'],
      summary: 'The process is running',
      description: 'Answers 200 while the process runs, whatever the database does: for restarts, not for routing.',
      operationId: 'getLiveness',
      response: { 200: Type.Object({ status: Type.Literal('ok') }) },
    },
    handler: async () => ({ status: 'ok' as const }),
  });

  fastify.get('/ready', {
    schema: {
      tags: ['health'],
      summary: 'The database answers and its schema is the one this release expects',
      description: 'A 503 problem while the database is unreachable or its latest migration is not the one this release expects.',
      operationId: 'getReadiness',
      response: {
        200: Type.Object({ status: Type.Literal('ready'), migration: Type.String() }),
        503: problemResponse('Not ready: the database is unreachable or its migrations are not current'),
      },
    },
    handler: async (request) => {
      let applied: readonly string[];
      try {
        applied = await fastify.db.anyFirst(appliedMigrationsQuery);
      } catch (error) {
        request.log.warn({ err: error }, 'readiness check failed');
        const detail = isDatabaseUnavailable(error)
          ? 'The database is not answering'
          : isPrivilegeMissing(error)
            ? "The service's role may not read the migrations table: grant it SELECT on every table the migrations made"
            : "The migrations table cannot be read: run npm run migrate -- up, or put its schema on this role's search_path";
        throw databaseUnavailable(detail);
      }
      const drift = schemaDrift(applied, expected);
      if (drift) throw databaseUnavailable(drift);
      return { status: 'ready' as const, migration: expected.at(-1) ?? '' };
    },
  });
};

export default healthRoutes;
