import { Type, type Static } from 'typebox';

/** RFC 9457 problem details, as every error of this service is answered. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'A URI that identifies the kind of problem' }),
    title: Type.String({ description: 'Short summary of the kind of problem' }),
    status: Type.Integer({ minimum: 400, maximum: 599 }),
    detail: Type.String({ description: 'What went wrong with this request, naming the bad parameter' }),
    instance: Type.Optional(Type.String({ description: 'The request path' })),
    request_id: Type.Optional(Type.String({ description: 'Matches the request id in the service logs' })),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          index: Type.Optional(Type.Integer({ minimum: 0, description: 'Position of the bad item in a batch' })),
          field: Type.String(),
          message: Type.String(),
        }),
      ),
    ),
  },
  { description: 'RFC 9457 problem document (application/problem+json)' },
);
export type Problem = Static<typeof ProblemSchema>;

/** A response entry for the route schemas: problem+json, so the spec names the real media type. */
export const problemResponse = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ProblemSchema } },
});

/** The problem answers routes share, declared once for the spec; a route may describe its own. */
export const PROBLEM_RESPONSES = {
  badRequest: problemResponse('Bad input: the detail names the parameter'),
  unknownWorker: problemResponse('The worker has never been seen'),
  unavailable: problemResponse('Database unreachable or overloaded (with Retry-After)'),
  timeout: problemResponse('The query exceeded its time limit'),
};

/** What every read of the database may answer besides its 200: bad input, unavailable, too slow. */
export const READ_PROBLEMS = {
  400: PROBLEM_RESPONSES.badRequest,
  503: PROBLEM_RESPONSES.unavailable,
  504: PROBLEM_RESPONSES.timeout,
};
