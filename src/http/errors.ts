import type { Problem } from '../schemas/problem.ts';
import { MAX_LISTED_ERRORS, PROBLEMS, RETRY_AFTER_SECONDS, type ProblemKind } from './problems.ts';

type FieldError = NonNullable<Problem['errors']>[number];

/**
 * A failure that is answered as a problem document: thrown (or given to `reply.send`) from a route,
 * hook or plugin, and rendered by the one error handler. Like Fastify's own errors (createError),
 * it carries a `code` and a `statusCode`.
 */
export class ProblemError extends Error {
  readonly code: string;
  readonly statusCode: number;
  readonly kind: ProblemKind;
  readonly errors: FieldError[] | undefined;
  /** Seconds for Retry-After (503s that will pass). */
  readonly retryAfter: number | undefined;

  constructor(kind: ProblemKind, detail: string, options: { errors?: FieldError[]; retryAfter?: number } = {}) {
    super(detail);
    this.name = 'ProblemError';
    this.kind = kind;
    this.statusCode = kind.status;
    this.code = `JM_${kind.type.slice(kind.type.lastIndexOf(':') + 1).toUpperCase().replaceAll('-', '_')}`;
    this.errors = options.errors?.slice(0, MAX_LISTED_ERRORS);
    this.retryAfter = options.retryAfter;
  }
}

/** A query parameter the contract refuses: the detail and `errors` name it. */
export const invalidParameter = (field: string, message: string) =>
  new ProblemError(PROBLEMS.invalidParameter, `query parameter "${field}" ${message}`, { errors: [{ field, message }] });

/** Bad fields (or batch items): the detail names the first, `errors` lists them all. */
export function fieldsError(kind: ProblemKind, source: string, errors: FieldError[]) {
  const [first] = errors;
  const item = first?.index === undefined ? '' : ` of item ${first.index}`;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  return new ProblemError(kind, `${source} "${first?.field}"${item} ${first?.message}${more}`, { errors });
}

export const invalidBody = (errors: FieldError[]) => fieldsError(PROBLEMS.invalidBody, 'body field', errors);

export const unknownWorker = (name: string) =>
  new ProblemError(PROBLEMS.unknownWorker, `worker ${JSON.stringify(name)} has no executions`);

/** The database cannot answer now; the client should come back. */
export const databaseUnavailable = (detail: string) =>
  new ProblemError(PROBLEMS.databaseUnavailable, detail, { retryAfter: RETRY_AFTER_SECONDS });
