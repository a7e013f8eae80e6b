import type { FastifyError } from 'fastify';
import { NO_NUL_PATTERN, PATH_NAME_PATTERN } from '../schemas/common.ts';
import { fieldsError, ProblemError } from './errors.ts';
import { PROBLEMS } from './problems.ts';

const SOURCE_NAMES: Record<string, string> = {
  querystring: 'query parameter',
  params: 'path parameter',
  body: 'body field',
  headers: 'header',
};

/** What a problem with the whole of a source (`null` as a body) names as its field. */
const ROOT_NAMES: Record<string, string> = { 'body field': 'body', 'query parameter': 'query string' };
const rootName = (source: string) => ROOT_NAMES[source] ?? source;

/** Patterns whose regex would tell a client nothing, said in words. */
const PATTERN_MESSAGES: Record<string, string> = {
  [NO_NUL_PATTERN]: 'must not contain U+0000 (NUL)',
  [PATH_NAME_PATTERN]: 'must not be "." or ".." (a URL path cannot carry them) nor contain U+0000 (NUL)',
};

/** Turns Ajv's errors into the contract's `errors` list and a detail that names the parameter. */
export function validationError(error: FastifyError): ProblemError {
  const source = SOURCE_NAMES[error.validationContext ?? ''] ?? 'parameter';
  const seen = new Set<string>();
  const errors = (error.validation ?? []).map((issue) => {
    const params = issue.params as { missingProperty?: string; additionalProperty?: string; allowedValues?: unknown[] };
    const missing = params.missingProperty;
    const named = missing ?? params.additionalProperty;
    const path = issue.instancePath.split('/').filter(Boolean).concat(named ? [named] : []);
    // Batch items: /executions/3/state → index 3, field "state".
    const indexAt = path.findIndex((part) => /^\d+$/.test(part));
    const index = indexAt >= 0 ? Number(path[indexAt]) : undefined;
    // A whole item (/executions/3) is named by its list: field "executions", index 3; the whole body is "body".
    const field =
      (indexAt >= 0 ? path.slice(indexAt + 1) : path).join('.') || path.slice(0, indexAt).join('.') || rootName(source);
    const pattern = issue.keyword === 'pattern' ? (issue.params as { pattern?: string }).pattern : undefined;
    const message = missing
      ? 'is required'
      : params.additionalProperty
        ? 'is not a known field'
        : pattern !== undefined && PATTERN_MESSAGES[pattern]
          ? PATTERN_MESSAGES[pattern]
          : params.allowedValues
            ? `must be one of ${params.allowedValues.join(', ')}`
            : (issue.message ?? 'is invalid');
    return index === undefined ? { field, message } : { index, field, message };
  })
    // A nullable field that fails reports each branch; the first says what was wrong.
    .filter(({ index, field }) => {
      const key = `${index}/${field}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  const kind = error.validationContext === 'body' ? PROBLEMS.invalidBody : PROBLEMS.invalidParameter;
  const [first] = errors;
  if (first?.field !== undefined && errors.length === 1 && first.field === rootName(source)) {
    // `null`, `[]` or `"x"` as the body: say so, not 'body field "body"'.
    const message = first.message === 'must be object' ? 'must be a JSON object' : first.message;
    return new ProblemError(kind, `the request ${first.field} ${message}`, { errors: [{ field: first.field, message }] });
  }
  return first ? fieldsError(kind, source, errors) : new ProblemError(kind, error.message);
}

