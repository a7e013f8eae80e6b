import { Type, type Static } from 'typebox';
import { Nullable, StatesSchema, TimestampSchema, WindowSchema, WorkerNameSchema } from './common.ts';

export const CancellationsSchema = Type.Object(
  {
    total: Type.Integer({ minimum: 0, description: "Rows with state = 'cancelled'; always unknown + Σ by_reason.count" }),
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
      { description: 'Count descending, then reason ascending in code-point order' },
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

const metricsProperties = {
  window: WindowSchema,
  executions: Type.Integer({ minimum: 0, description: 'Rows in the window' }),
  states: StatesSchema,
  success_rate: Nullable(
    Type.Number({ minimum: 0, maximum: 1, description: 'completed / executions, unrounded; null when executions = 0' }),
  ),
  cancellations: CancellationsSchema,
  duration_ms: DurationStatsSchema,
};

export const SystemMetricsSchema = Type.Object(metricsProperties, { description: 'Metrics over every worker' });
export type SystemMetrics = Static<typeof SystemMetricsSchema>;

export const WorkerMetricsSchema = Type.Object(
  { worker: WorkerNameSchema, ...metricsProperties },
  { description: 'Metrics for one worker' },
);
export type WorkerMetrics = Static<typeof WorkerMetricsSchema>;

export const WorkerListSchema = Type.Object({
  workers: Type.Array(
    Type.Object({
      worker: WorkerNameSchema,
      last_seen: { ...TimestampSchema, description: 'The newest inserted_at of the worker' },
    }),
    { description: 'Every worker that has a row, sorted by name in code-point order' },
  ),
});
export type WorkerList = Static<typeof WorkerListSchema>;
