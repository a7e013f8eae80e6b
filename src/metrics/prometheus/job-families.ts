import { STATES } from '../../schemas/common.ts';
import type { WorkerCounters } from './counters-query.ts';
import { DURATION_BUCKETS } from './duration-buckets.ts';
import { family, type Family, type Sample } from './families.ts';

/**
 * The job families of one scrape, from one snapshot of the counters. Per worker: 5 state series,
 * at most `maxReasons` reason series, one "other" and one "unknown" series, and
 * DURATION_BUCKETS.length + 3 histogram series (buckets, +Inf, _sum, _count).
 */
export function jobFamilies(workers: readonly WorkerCounters[]): Family[] {
  const executions: Sample[] = [];
  const reasons: Sample[] = [];
  const other: Sample[] = [];
  const unknown: Sample[] = [];
  const durations: Sample[] = [];
  const name = 'job_execution_duration_seconds';

  for (const w of workers) {
    const worker = w.worker;
    for (const state of STATES) executions.push({ labels: { worker, state }, value: w[state] });
    for (const [reason, n] of w.top_reasons) reasons.push({ labels: { worker, reason }, value: n });
    other.push({ labels: { worker }, value: w.other_reasons });
    unknown.push({ labels: { worker }, value: w.unknown_reasons });

    const perBucket = new Map(w.buckets);
    let cumulative = 0;
    DURATION_BUCKETS.forEach(({ le }, i) => {
      cumulative += perBucket.get(i) ?? 0;
      durations.push({ metricName: `${name}_bucket`, labels: { worker, le }, value: cumulative });
    });
    durations.push(
      { metricName: `${name}_bucket`, labels: { worker, le: '+Inf' }, value: w.durations },
      { metricName: `${name}_sum`, labels: { worker }, value: w.duration_sum_ms / 1000 },
      { metricName: `${name}_count`, labels: { worker }, value: w.durations },
    );
  }

  return [
    family('job_executions_total', 'Job executions ever recorded, by worker and final state', 'counter', executions),
    family(
      'job_cancellations_total',
      'Cancelled executions by recorded cancel reason (the largest PROMETHEUS_MAX_REASONS reasons of each worker)',
      'counter',
      reasons,
    ),
    family(
      'job_cancellations_other_reasons_total',
      'Cancelled executions whose recorded reason is not among the worker\'s largest PROMETHEUS_MAX_REASONS',
      'counter',
      other,
    ),
    family(
      'job_cancellations_unknown_reason_total',
      'Cancelled executions with no recorded reason (results ->> \'cancel_reason\' IS NULL)',
      'counter',
      unknown,
    ),
    family(name, 'Durations of executions that recorded one; each le is a rollup bin edge, so counts are exact', 'histogram', durations),
  ];
}
