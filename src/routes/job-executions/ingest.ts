import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { PROBLEMS, problem, sendProblem } from '../../http/problems.ts';
import { strictBodyValidator } from '../../http/strict-body.ts';
import { checkExecutions } from '../../ingest/check-executions.ts';
import { insertExecutions } from '../../ingest/insert-executions.ts';
import { INGEST_SECURITY } from '../../plugins/app/auth.ts';
import { IngestBodySchema, IngestResultSchema, MAX_BATCH, MAX_BODY_BYTES } from '../../schemas/executions.ts';
import { problemResponse } from '../../schemas/problem.ts';

const ingestRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  // Fastify parses text/plain by default; here only JSON is a body, anything else a 415.
  fastify.removeContentTypeParser('text/plain');

  fastify.post('/', {
    bodyLimit: MAX_BODY_BYTES,
    validatorCompiler: strictBodyValidator,
    schema: {
      tags: ['ingest'],
      summary: 'Record a batch of job executions, idempotently and all or nothing',
      description:
        `1 to ${MAX_BATCH} executions in one JSON body (at most 1 MiB). A (job_id, attempt) already stored is a ` +
        'duplicate: counted, and left exactly as it was (never updated). One invalid item rejects the whole ' +
        'request with a 400 whose `errors` name each item index and field; nothing of it is written. ' +
        'The metrics see the rows as soon as the answer is sent.',
      operationId: 'ingestExecutions',
      security: INGEST_SECURITY,
      body: IngestBodySchema,
      response: {
        201: IngestResultSchema,
        400: problemResponse('Invalid JSON or invalid items: `errors` lists each item index and field'),
        401: problemResponse('Missing or wrong token (Authorization: Bearer <INGEST_TOKEN>)'),
        403: problemResponse('Ingest is disabled: the service runs without INGEST_TOKEN'),
        413: problemResponse('Body over 1 MiB: send fewer executions per request'),
        415: problemResponse('Content-Type is not application/json'),
        503: problemResponse('Database unreachable or overloaded (with Retry-After)'),
        504: problemResponse('The insert exceeded its time limit'),
      },
    },
    handler: async (request, reply) => {
      const { executions } = request.body;
      const errors = checkExecutions(executions);
      const first = errors[0];
      if (first) {
        const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
        const detail = `body field "${first.field}" of item ${first.index} ${first.message}${more}`;
        return sendProblem(reply, problem(PROBLEMS.invalidBody, request, detail, { errors }));
      }
      return reply.code(201).send(await insertExecutions(fastify.db, executions));
    },
  });
};

export default ingestRoutes;
