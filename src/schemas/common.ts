import { Type, type Static } from 'typebox';

export const STATES = ['completed', 'retryable', 'discarded', 'cancelled', 'snoozed'] as const;
export type JobState = (typeof STATES)[number];

export const MAX_HOURS = 8760;
/** The window when a request names none. */
export const DEFAULT_HOURS = 24;
export const MAX_WORKER_LENGTH = 255;

/** Nullable in OpenAPI 3.1 terms: `anyOf: [T, null]`. */
export const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);

/** The window parameter, with the default of the route that takes it. */
export const hoursSchema = (defaultHours: number) =>
  Type.Integer({
    minimum: 1,
    maximum: MAX_HOURS,
    default: defaultHours,
    description:
      'Length of the window in hours, ending now: rows with now() - hours < inserted_at <= now(). ' +
      'Plain decimal digits only (no sign, exponent, fraction or spaces; leading zeros are allowed: 024 is 24); anything else is a 400.',
  });

export const HoursSchema = hoursSchema(DEFAULT_HOURS);

export const HoursQuerySchema = Type.Object({ hours: Type.Optional(HoursSchema) });
export type HoursQuery = Static<typeof HoursQuerySchema>;

/** PostgreSQL text cannot hold U+0000, so no stored name or reason can contain it. */
export const NO_NUL_PATTERN = '^[^\\u0000]*$';

/**
 * A worker name a URL path can carry. URL parsers (WHATWG's, curl's, generated clients') remove the
 * dot segments `.` and `..`, percent-encoded too, so a worker so named could be stored but never
 * asked for. Written without lookahead, which RE2-based clients (Go, Rust) cannot compile.
 */
export const PATH_NAME_PATTERN = '^(?:[^\\u0000.]|\\.[^\\u0000.]|\\.\\.[^\\u0000])[^\\u0000]*$';

/** A worker name as a request gives it: in the path, or in an ingested execution. */
export const WorkerNameSchema = Type.String({
  minLength: 1,
  maxLength: MAX_WORKER_LENGTH,
  pattern: PATH_NAME_PATTERN,
  description: 'The worker name exactly as stored (case-sensitive), URL-encoded in the path; not "." or "..", which URLs cannot carry.',
  examples: ['EventasaurusDiscovery.Sources.Cinema.Jobs.ShowtimeProcessJob'],
});

/**
 * A worker name in an answer: whatever a writer stored, `.` and `..` included (plain SQL can). The
 * database holds it to 255 characters; no maxLength is declared because zod, which several client
 * generators emit, counts UTF-16 units, and would refuse a whole answer over one long emoji name.
 */
export const StoredWorkerNameSchema = Type.String({
  minLength: 1,
  pattern: NO_NUL_PATTERN,
  description: `The worker name exactly as stored (case-sensitive): 1 to ${MAX_WORKER_LENGTH} characters.`,
  examples: ['EventasaurusDiscovery.Sources.Cinema.Jobs.ShowtimeProcessJob'],
});

export const WorkerParamsSchema = Type.Object({ name: WorkerNameSchema });
export type WorkerParams = Static<typeof WorkerParamsSchema>;

/** RFC 3339 has four-digit years only: a stored time outside them is answered as the nearest bound (timestamptz.ts). */
export const TimestampSchema = Type.String({
  format: 'date-time',
  description: 'RFC 3339, UTC, milliseconds; a stored time before 0001 or after 9999 (±infinity) is answered as that bound',
});

export const WindowSchema = Type.Object(
  {
    hours: Type.Integer({ minimum: 1, maximum: MAX_HOURS }),
    from: Type.String({ format: 'date-time', description: 'Exclusive lower bound: now() - hours' }),
    to: Type.String({ format: 'date-time', description: 'Inclusive upper bound: the database clock at query time' }),
  },
  { description: 'The rows counted: from < inserted_at <= to' },
);
export type Window = Static<typeof WindowSchema>;

const count = (description: string) => Type.Integer({ minimum: 0, description });

export const StatesSchema = Type.Object(
  Object.fromEntries(STATES.map((state) => [state, count(`Rows with state = '${state}'`)])) as Record<
    JobState,
    ReturnType<typeof count>
  >,
  { description: 'Executions per state; all five always present' },
);
export type States = Static<typeof StatesSchema>;
