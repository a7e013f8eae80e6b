import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { decodeCursor } from '../../executions/cursor.ts';
import type { ReasonFilter } from '../../executions/execution-list-query.ts';
import { PROBLEMS, problem, sendProblem } from '../../http/problems.ts';
import { DEFAULT_PAGE_SIZE, ExecutionListQuerySchema, ExecutionListSchema } from '../../schemas/execution-list.ts';
import { problemResponse } from '../../schemas/problem.ts';

const DEFAULT_HOURS = 24;

function badParameter(request: FastifyRequest, reply: FastifyReply, field: string, message: string) {
  return sendProblem(
    reply,
    problem(PROBLEMS.invalidParameter, request, `query parameter "${field}" ${message}`, { errors: [{ field, message }] }),
  );
}

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
        400: problemResponse('Bad input: the detail names the parameter'),
        503: problemResponse('Database unreachable or overloaded (with Retry-After)'),
        504: problemResponse('The query exceeded its time limit'),
      },
    },
    handler: async (request, reply) => {
      const { hours, worker, state, reason, unknown, limit, cursor } = request.query;
      if (reason !== undefined && unknown) {
        return badParameter(request, reply, 'unknown', 'cannot be combined with reason (a row has one reason or none)');
      }
      if ((reason !== undefined || unknown) && state !== undefined && state !== 'cancelled') {
        return badParameter(request, reply, 'state', `must be cancelled (or absent) with ${unknown ? 'unknown' : 'reason'}`);
      }
      const after = cursor === undefined ? undefined : decodeCursor(cursor);
      if (after === null) return badParameter(request, reply, 'cursor', 'is not a cursor this service issued');
      const reasonFilter: ReasonFilter | undefined =
        reason !== undefined ? { reason } : unknown ? { unknown: true } : undefined;
      return fastify.executionList.listExecutions({
        hours: hours ?? DEFAULT_HOURS,
        worker,
        state,
        reason: reasonFilter,
        after,
        limit: limit ?? DEFAULT_PAGE_SIZE,
      });
    },
  });
};

export default listRoutes;
