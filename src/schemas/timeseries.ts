import { Type, type Static } from 'typebox';
import { HoursSchema, StatesSchema, TimestampSchema, StoredWorkerNameSchema, WindowSchema } from './common.ts';


/**
 * Without `bucket`, hourly buckets up to 30 days (at most 721 points) and daily ones beyond (at most
 * 366). `bucket=hour` is served for any window the spec allows: 8,761 points at most.
 */
export const DEFAULT_HOURLY_HOURS = 720;

export const BucketSchema = Type.Union(
  [Type.Literal('hour'), Type.Literal('day')],
  {
    description:
      'Bucket width, aligned to UTC: date_trunc(bucket, inserted_at, \'UTC\'). ' +
      `Default: hour when hours <= ${DEFAULT_HOURLY_HOURS}, day otherwise. bucket=hour is served for any hours (up to 8,761 points).`,
  },
);

export type Bucket = Static<typeof BucketSchema>;

export const TimeseriesQuerySchema = Type.Object({ hours: Type.Optional(HoursSchema), bucket: Type.Optional(BucketSchema) });
export type TimeseriesQuery = Static<typeof TimeseriesQuerySchema>;

const count = (description: string) => Type.Integer({ minimum: 0, description });

export const TimeseriesPointSchema = Type.Object({
  start: { ...TimestampSchema, description: 'Start of the UTC bucket (inclusive); the bucket ends where the next starts' },
  executions: count('Rows in the window whose inserted_at falls in this bucket'),
  states: StatesSchema,
  unknown: count("Cancelled rows in this bucket whose results ->> 'cancel_reason' IS NULL"),
});

const timeseriesProperties = {
  window: WindowSchema,
  bucket: BucketSchema,
  points: Type.Array(TimeseriesPointSchema, {
    description:
      'Every bucket from the one holding window.from to the one holding window.to, oldest first, empty ones as zeros. ' +
      'The first and last buckets are partial: they count only rows inside the window, so the points always add ' +
      'up to the window totals of /metrics/system (or /metrics/worker/{name}) for the same hours.',
  }),
};

export const SystemTimeseriesSchema = Type.Object(timeseriesProperties, {
  description: 'Executions per bucket over every worker',
});
export type SystemTimeseries = Static<typeof SystemTimeseriesSchema>;

export const WorkerTimeseriesSchema = Type.Object(
  { worker: StoredWorkerNameSchema, ...timeseriesProperties },
  { description: 'Executions per bucket for one worker' },
);
export type WorkerTimeseries = Static<typeof WorkerTimeseriesSchema>;
