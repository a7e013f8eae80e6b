import { Type, type Static } from 'typebox';
import { HoursSchema, Nullable, StatesSchema, TimestampSchema, StoredWorkerNameSchema, WindowSchema } from './common.ts';

export const CancellationsSchema = Type.Object(
  {
    total: Type.Integer({
      minimum: 0,
      description: "Rows with state = 'cancelled'; always unknown + Σ by_reason.count + other_reasons.count",
    }),
    unknown: Type.Integer({
      minimum: 0,
      description:
        "Cancelled rows whose results ->> 'cancel_reason' IS NULL (key missing, JSON null, results NULL or not an object)",
    }),
    by_reason: Type.Array(
      Type.Object({
        reason: Type.String({
          description: "The reason text exactly as ->> returns it; a stored string 'unknown' is a reason, not a NULL",
        }),
        count: Type.Integer({ minimum: 1 }),
      }),
      { description: 'Count descending, then reason ascending in code-point order; every reason, or the largest `reasons` when asked' },
    ),
    other_reasons: Type.Object(
      {
        count: Type.Integer({ minimum: 0, description: 'Cancelled rows whose reason is recorded but not listed in by_reason' }),
        reasons: Type.Integer({ minimum: 0, description: 'How many distinct reasons those rows have' }),
      },
      { description: 'The recorded reasons left out of by_reason by ?reasons=N; zeros when every reason is listed' },
    ),
  },
  { description: 'Cancellations broken down by reason, with NULL reasons counted explicitly' },
);

export const DurationStatsSchema = Nullable(
  Type.Object(
    {
      avg: Type.Number({ description: 'Exact mean of the non-null durations' }),
      p50: Type.Number({ description: 'percentile_cont(0.50)' }),
      p95: Type.Number({ description: 'percentile_cont(0.95)' }),
      p99: Type.Number({ description: 'percentile_cont(0.99)' }),
      max: Type.Integer({ minimum: 0 }),
    },
    { description: 'Milliseconds; null when no row in the window has a duration' },
  ),
);

/** Past this, a list is no smaller than "every reason" in practice; the bound keeps the parameter an integer. */
export const MAX_REASONS_LIMIT = 100_000;

export const MetricsQuerySchema = Type.Object({
  hours: Type.Optional(HoursSchema),
  reasons: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: MAX_REASONS_LIMIT,
      description:
        'List at most this many recorded reasons in cancellations.by_reason, the largest (the order is the same); the rest ' +
        'are summed in cancellations.other_reasons. Without it every reason is listed: with reasons that embed ids, that ' +
        'can be hundreds of thousands. Plain decimal digits only.',
    }),
  ),
  compare: Type.Optional(
    Type.Literal('previous', {
      description: 'Also answer the preceding window of equal length (now − 2·hours, now − hours] and the deltas',
    }),
  ),
});
export type MetricsQuery = Static<typeof MetricsQuerySchema>;

export const RetentionMetaSchema = Type.Object(
  {
    horizon: {
      ...TimestampSchema,
      description:
        'Raw rows before this instant are pruned (RETENTION_DAYS) or about to be; the rollups keep their counts, so the ' +
        'answer is the same before and after pruning',
    },
    earliest_raw_row: Nullable({
      ...TimestampSchema,
      description: 'The oldest raw row still kept (of this worker, for a worker answer); null when none is',
    }),
    counted_from: {
      ...TimestampSchema,
      description:
        'Where counting started: before the horizon the partial hour at the window start can only be counted whole, so ' +
        'this is window.from rounded down to its UTC hour (rows at or after it count)',
    },
    counted_to: {
      ...TimestampSchema,
      description: 'Where counting ended: window.to, or window.to rounded down to its UTC hour when it too lies before the horizon (rows before it count)',
    },
  },
  { description: 'Only when the window reaches before the retention horizon: method is then rollup' },
);

export const MetaSchema = Type.Object(
  {
    as_of: { ...TimestampSchema, description: 'The database clock the window ends at (window.to)' },
    method: Type.Union([Type.Literal('exact'), Type.Literal('rollup')], {
      description:
        'exact: read from the raw rows, percentiles are percentile_cont. rollup: whole minutes, hours, days and months ' +
        'from the rollups kept by triggers plus the raw rows of the partial edges (under a minute each); counts, avg and ' +
        'max are still exact, percentiles come from a log-spaced histogram',
    }),
    percentile_error_bound: Type.Number({
      minimum: 0,
      maximum: 0.01,
      description: 'Largest relative error of p50/p95/p99 against percentile_cont: 0 when exact, below 0.0099 from rollups',
    }),
    rows: Type.Integer({ minimum: 0, description: 'Rows the database read to answer: raw rows plus rollup rows' }),
    retention: Type.Optional(RetentionMetaSchema),
  },
  { description: 'How the answer was computed (additive; the other fields mean the same either way)' },
);

const metricsProperties = {
  window: WindowSchema,
  executions: Type.Integer({ minimum: 0, description: 'Rows in the window' }),
  states: StatesSchema,
  success_rate: Nullable(
    Type.Number({ minimum: 0, maximum: 1, description: 'completed / executions, unrounded; null when executions = 0' }),
  ),
  cancellations: CancellationsSchema,
  duration_ms: DurationStatsSchema,
  meta: Type.Optional(MetaSchema),
};

const DeltasSchema = Type.Object(
  {
    success_rate: Nullable(Type.Number({ description: 'success_rate − previous success_rate; null if either is null' })),
    unknown_share: Nullable(
      Type.Number({
        description: 'cancellations.unknown / cancellations.total, minus the same for the previous window; null if either has no cancellations',
      }),
    ),
    p95: Nullable(Type.Number({ description: 'duration_ms.p95 − previous p95 (ms); null if either has no durations' })),
  },
  { description: 'This window minus the previous one' },
);

const CompareSchema = Type.Object(
  { previous: Type.Object(metricsProperties, { description: 'The same metrics for the preceding window' }), deltas: DeltasSchema },
  { description: 'Only with ?compare=previous' },
);
export type Compare = Static<typeof CompareSchema>;

export const SystemMetricsSchema = Type.Object(
  { ...metricsProperties, compare: Type.Optional(CompareSchema) },
  { description: 'Metrics over every worker' },
);
export type SystemMetrics = Static<typeof SystemMetricsSchema>;

export const WorkerMetricsSchema = Type.Object(
  { worker: StoredWorkerNameSchema, ...metricsProperties, compare: Type.Optional(CompareSchema) },
  { description: 'Metrics for one worker' },
);
export type WorkerMetrics = Static<typeof WorkerMetricsSchema>;

export const WorkerListSchema = Type.Object({
  workers: Type.Array(
    Type.Object({
      worker: StoredWorkerNameSchema,
      last_seen: { ...TimestampSchema, description: 'The newest inserted_at of the worker' },
    }),
    { description: 'Every worker that has a row, sorted by name in code-point order' },
  ),
});
export type WorkerList = Static<typeof WorkerListSchema>;
