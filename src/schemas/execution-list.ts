import { Type, type Static } from 'typebox';
import { CURSOR_MAX_LENGTH, CURSOR_PATTERN } from '../executions/cursor.ts';
import { HoursSchema, NO_NUL_PATTERN, Nullable, TimestampSchema, MAX_WORKER_LENGTH, StoredWorkerNameSchema, WindowSchema } from './common.ts';

export const MAX_PAGE_SIZE = 500;
export const DEFAULT_PAGE_SIZE = 50;

export const StateSchema = Type.Union(
  [
    Type.Literal('completed'),
    Type.Literal('retryable'),
    Type.Literal('discarded'),
    Type.Literal('cancelled'),
    Type.Literal('snoozed'),
  ],
  { description: 'One of the five states' },
);

/** Longer reasons can be stored, but not asked for: the URL must stay within the header limit (app.ts). */
export const MAX_REASON_LENGTH = 10_000;

export const ExecutionListQuerySchema = Type.Object({
  hours: Type.Optional(HoursSchema),
  worker: Type.Optional({ ...StoredWorkerNameSchema, maxLength: MAX_WORKER_LENGTH, description: 'Only this worker (exact, case-sensitive match)' }),
  state: Type.Optional(StateSchema),
  reason: Type.Optional(
    Type.String({
      maxLength: MAX_REASON_LENGTH,
      pattern: NO_NUL_PATTERN,
      description:
        "Only cancelled rows whose results ->> 'cancel_reason' equals this text exactly (the empty string is a reason). " +
        'With unknown=true, or a state other than cancelled, no row can match: the page is empty.',
    }),
  ),
  unknown: Type.Optional(
    Type.Literal(true, {
      description:
        "true: only cancelled rows whose results ->> 'cancel_reason' IS NULL (the dashboard's Unknown). " +
        'With reason, or a state other than cancelled, no row can match: the page is empty.',
    }),
  ),
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE, description: 'Page size' }),
  ),
  cursor: Type.Optional(
    Type.String({
      pattern: CURSOR_PATTERN,
      maxLength: CURSOR_MAX_LENGTH,
      description:
        'next_cursor of the previous page, as given. Any value of this shape is a position: the rows strictly before ' +
        'it in (inserted_at, id) order, newest first.',
    }),
  ),
});
export type ExecutionListQuery = Static<typeof ExecutionListQuerySchema>;

/**
 * A bigint column as a JSON integer, every digit exact: a plain-SQL writer may store any bigint,
 * beyond the 2^53 that a JavaScript number holds; such a value is a BigInt, which the serializer
 * writes as its digits.
 */
const BigintSchema = (description: string) =>
  Type.Unsafe<number | bigint>({ type: 'integer', format: 'int64', description });

export const ExecutionSchema = Type.Object({
  id: BigintSchema('The row id (bigint): exact, so past 2^53 a client must read it as a 64-bit integer'),
  job_id: BigintSchema('The job id (bigint), exact like id'),
  attempt: Type.Integer(),
  worker: StoredWorkerNameSchema,
  queue: Nullable(Type.String()),
  state: StateSchema,
  cancel_reason: Nullable(
    Type.String({ description: "results ->> 'cancel_reason' as stored, whatever the state; null when it IS NULL" }),
  ),
  results: Type.Unknown({ description: 'The stored results JSON as is (null for SQL NULL)' }),
  duration_ms: Nullable(Type.Integer({ minimum: 0 })),
  inserted_at: { ...TimestampSchema, description: 'When the attempt ended (ISO-8601, millisecond precision)' },
});
export type Execution = Static<typeof ExecutionSchema>;

export const ExecutionListSchema = Type.Object(
  {
    window: WindowSchema,
    executions: Type.Array(ExecutionSchema, { description: 'Newest first: inserted_at descending, then id descending' }),
    next_cursor: Nullable(
      Type.String({ description: 'Pass as cursor for the next (older) page; null on the last page' }),
    ),
    pruned: Type.Optional(
      Type.Object(
        {
          before: {
            ...TimestampSchema,
            description: 'Raw rows before this instant are pruned (RETENTION_DAYS): the list holds only what still exists',
          },
          earliest_raw_row: Nullable({ ...TimestampSchema, description: 'The oldest raw row still kept; null when none is' }),
        },
        {
          description:
            'Only when the window reaches before the retention horizon: its older executions were pruned (the metrics still ' +
            'count them, from the rollups)',
        },
      ),
    ),
  },
  { description: 'One page of the executions behind a number' },
);
export type ExecutionList = Static<typeof ExecutionListSchema>;
