import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { invalidBody, ProblemError } from '../../http/errors.ts';
import { PROBLEMS } from '../../http/problems.ts';
import { parseJsonBody } from '../../http/json-body.ts';
import { strictBodyValidator } from '../../http/strict-body.ts';
import { checkExecutions } from '../../ingest/check-executions.ts';
import { insertExecutions } from '../../ingest/insert-executions.ts';
import { INGEST_SECURITY } from '../../http/security-schemes.ts';
import { IngestBodySchema, IngestResultSchema, MAX_BATCH, MAX_BODY_BYTES } from '../../schemas/executions.ts';
import { PROBLEM_RESPONSES, problemResponse } from '../../schemas/problem.ts';

const ingestRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  // Fastify parses text/plain by default; here only JSON is a body, anything else a 415.
  fastify.removeContentTypeParser(['text/plain', 'application/json']);
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, parseJsonBody);

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
        415: problemResponse('Content-Type is not application/json, or the body is compressed (Content-Encoding; answered with Accept-Encoding: identity)'),
        429: problemResponse('Over RATE_LIMIT_WRITES_PER_MIN (with Retry-After)'),
        503: PROBLEM_RESPONSES.unavailable,
        504: problemResponse('The insert exceeded its time limit'),
      },
    },
    // A compressed body would be read as broken JSON. It is refused by name instead (RFC 9110
    // §15.5.16): inflating it here would let 1 MiB on the wire become gigabytes in memory.
    preParsing: async (request, reply, payload) => {
      const coding = request.headers['content-encoding']?.trim().toLowerCase();
      if (coding && coding !== 'identity') {
        reply.header('Accept-Encoding', 'identity');
        throw new ProblemError(
          PROBLEMS.unsupportedMediaType,
          `Content-Encoding ${JSON.stringify(coding.slice(0, 40))} is not accepted: send the JSON body uncompressed (at most 1 MiB)`,
        );
      }
      return payload;
    },
    // Ajv reports every error of every item: an oversized list is refused before it is walked.
    preValidation: async (request) => {
      const { executions } = (request.body ?? {}) as { executions?: unknown };
      if (Array.isArray(executions) && executions.length > MAX_BATCH) {
        const message = `must have at most ${MAX_BATCH} items (got ${executions.length}); split the batch`;
        throw invalidBody([{ field: 'executions', message }]);
      }
    },
    handler: async (request, reply) => {
      const { executions } = request.body;
      const errors = checkExecutions(executions);
      if (errors.length > 0) throw invalidBody(errors);
      return reply.code(201).send(await insertExecutions(fastify.db, executions));
    },
  });
};

export default ingestRoutes;
