import { Type, type Static } from 'typebox';
import { NO_NUL_PATTERN, Nullable, STATES, WorkerNameSchema, type JobState } from './common.ts';

export const MAX_BATCH = 1_000;
/** 1 MiB: a full batch of typical rows is about 250 KiB. */
export const MAX_BODY_BYTES = 1_048_576;
/** How far ahead of the service's clock an `inserted_at` may be (clock skew between hosts). */
export const MAX_FUTURE_MS = 5 * 60_000;
const MAX_INT4 = 2_147_483_647;

export const ExecutionSchema = Type.Object(
  {
    job_id: Type.Integer({
      minimum: 1,
      maximum: Number.MAX_SAFE_INTEGER,
      description: 'The job, as the queue numbers it (up to 2^53 − 1, the largest integer JSON clients keep exact)',
    }),
    attempt: Type.Optional(
      Type.Integer({ minimum: 1, maximum: MAX_INT4, default: 1, description: 'Unique together with job_id; default 1' }),
    ),
    worker: WorkerNameSchema,
    queue: Type.Optional(Nullable(Type.String({ pattern: NO_NUL_PATTERN, description: 'The queue; absent or null: none' }))),
    state: Type.Unsafe<JobState>({ type: 'string', enum: [...STATES], description: 'How the attempt ended' }),
    results: Type.Optional(
      Nullable(
        Type.Object(
          {},
          {
            additionalProperties: true,
            description:
              'Any JSON object, stored as jsonb; the cancel reason is its `cancel_reason`. ' +
              'Absent or null is stored as SQL NULL (not the JSON value null). Strings and keys must not contain U+0000.',
          },
        ),
      ),
    ),
    duration_ms: Type.Optional(
      Nullable(Type.Integer({ minimum: 0, maximum: MAX_INT4, description: 'Milliseconds; absent or null: unknown' })),
    ),
    inserted_at: Type.Optional(
      Type.String({
        format: 'date-time',
        description:
          'RFC 3339 with a time zone (microseconds kept), when the attempt ended; absent: the time of insertion. ' +
          'At most 5 minutes ahead of the service clock.',
        examples: ['2026-11-25T10:00:00.123456Z'],
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'One job execution attempt, as a row of job_execution_summaries. Unknown fields are rejected (a typo must not lose data).',
  },
);
export type Execution = Static<typeof ExecutionSchema>;

export const IngestBodySchema = Type.Object(
  {
    executions: Type.Array(ExecutionSchema, {
      minItems: 1,
      maxItems: MAX_BATCH,
      description: 'Stored all or nothing: one bad item rejects the whole request',
    }),
  },
  { additionalProperties: false, description: `1 to ${MAX_BATCH} executions; the body is at most ${MAX_BODY_BYTES} bytes` },
);
export type IngestBody = Static<typeof IngestBodySchema>;

export const IngestResultSchema = Type.Object(
  {
    inserted: Type.Integer({ minimum: 0, description: 'Rows written by this request' }),
    duplicates: Type.Integer({
      minimum: 0,
      description: '(job_id, attempt) pairs already stored (or repeated in the batch): kept as they were, not updated',
    }),
  },
  { description: 'inserted + duplicates = the number of executions sent' },
);
export type IngestResult = Static<typeof IngestResultSchema>;
