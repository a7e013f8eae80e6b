import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { decodeCursor } from '../../executions/cursor.ts';
import type { ReasonFilter } from '../../executions/execution-list-query.ts';
import { invalidParameter } from '../../http/errors.ts';
import { DEFAULT_PAGE_SIZE, ExecutionListQuerySchema, ExecutionListSchema } from '../../schemas/execution-list.ts';
import { DEFAULT_HOURS } from '../../schemas/common.ts';
import { READ_PROBLEMS } from '../../schemas/problem.ts';

const listRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get('/', {
    schema: {
      tags: ['executions'],
      summary: 'The executions behind a number: one page, newest first',
      description:
        'Rows in the window (now() - hours, now()], filtered by worker, state and cancel reason, ordered by ' +
        '(inserted_at, id) descending. Keyset pagination: pass next_cursor as cursor for the next page.',
      operationId: 'listJobExecutions',
      querystring: ExecutionListQuerySchema,
      response: {
        200: ExecutionListSchema,
        ...READ_PROBLEMS,
      },
    },
    handler: async (request) => {
      const { hours, worker, state, reason, unknown, limit, cursor } = request.query;
      // Every combination the spec allows is answered. A row has one reason or none, and only
      // cancelled rows have one, so these ask for rows that cannot exist: an empty page.
      const contradictory = (reason !== undefined && unknown) || ((reason !== undefined || unknown) && state !== undefined && state !== 'cancelled');
      const position = cursor === undefined ? undefined : decodeCursor(cursor);
      // The schema's pattern admits only cursors decodeCursor reads; this guards the two apart.
      if (position === null) throw invalidParameter('cursor', 'is not a cursor');
      const after = position === 'none' ? undefined : position;
      const none = contradictory || position === 'none';
      const reasonFilter: ReasonFilter | undefined =
        reason !== undefined ? { reason } : unknown ? { unknown: true } : undefined;
      return fastify.executionList.listExecutions({
        hours: hours ?? DEFAULT_HOURS,
        worker,
        state,
        reason: reasonFilter,
        after,
        limit: limit ?? DEFAULT_PAGE_SIZE,
        ...(none ? { none: true as const } : {}),
      });
    },
  });
};

export default listRoutes;
