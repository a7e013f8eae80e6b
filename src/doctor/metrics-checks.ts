import { performance } from 'node:perf_hooks';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import type { MetricsRepository } from '../metrics/metrics-repository.ts';
import { hoursInsideHorizon } from '../retention/status.ts';
import { compareAnswer } from './compare.ts';
import { fail, pass, type Check } from './report.ts';

export function consistencyCheck(pool: DatabasePool, metrics: MetricsRepository, requestedHours: number, retentionDays?: number): Check {
  const name = `metrics match the database (${requestedHours} h)`;
  return {
    name,
    run: async () => {
      // Before the horizon raw rows are pruned: only the hours after it have a raw oracle.
      const hours = await hoursInsideHorizon(pool, requestedHours, retentionDays);
      if (hours < 1) return pass(name, 'the retention horizon is less than an hour back: nothing to compare');
      const { answer, differences } = await compareAnswer(pool, () => metrics.systemMetrics(hours));
      const clamped = hours < requestedHours ? ` (the ${hours} h after the retention horizon)` : '';
      const summary = `unknown ${answer.cancellations.unknown} vs IS NULL count, ${answer.executions} executions, ${answer.cancellations.total} cancelled${clamped}`;
      return differences.length === 0 ? pass(name, `${summary}: every figure agrees`) : fail(name, summary, differences);
    },
  };
}

/**
 * A writer that stops recording reasons shows as a jump in its share of unknown cancellations.
 * Flagged when the last 24 h hold at least MIN_CANCELLED cancellations, the 7 days before as many,
 * and the share rose by JUMP_POINTS percentage points or more.
 */
export const UNKNOWN_SHARE = { JUMP_POINTS: 20, MIN_CANCELLED: 20 } as const;

const ShareRow = z.object({
  worker: z.string(),
  recent: z.number(),
  recent_unknown: z.number(),
  baseline: z.number(),
  baseline_unknown: z.number(),
});

const percent = (part: number, whole: number) => (100 * part) / whole;

export function unknownShareCheck(pool: DatabasePool): Check {
  const name = 'unknown share per worker (24 h vs the 7 days before)';
  return {
    name,
    run: async () => {
      const rows = await pool.any(sql.type(ShareRow)`
        SELECT worker,
               count(*) FILTER (WHERE inserted_at > now() - interval '24 hours') AS recent,
               count(*) FILTER (WHERE inserted_at > now() - interval '24 hours' AND results ->> 'cancel_reason' IS NULL) AS recent_unknown,
               count(*) FILTER (WHERE inserted_at <= now() - interval '24 hours') AS baseline,
               count(*) FILTER (WHERE inserted_at <= now() - interval '24 hours' AND results ->> 'cancel_reason' IS NULL) AS baseline_unknown
        FROM job_execution_summaries
        WHERE state = 'cancelled' AND inserted_at > now() - interval '8 days' AND inserted_at <= now()
        GROUP BY worker
        ORDER BY worker COLLATE "C"
      `);
      const { JUMP_POINTS, MIN_CANCELLED } = UNKNOWN_SHARE;
      const compared = rows.filter((r) => r.recent >= MIN_CANCELLED && r.baseline >= MIN_CANCELLED);
      const describe = (r: z.infer<typeof ShareRow>) => {
        const now = percent(r.recent_unknown, r.recent);
        const before = percent(r.baseline_unknown, r.baseline);
        return { jump: now - before, line: `${r.worker}: ${now.toFixed(1)} % unknown of ${r.recent} cancelled in the last 24 h, ${before.toFixed(1)} % of ${r.baseline} before (${now - before >= 0 ? '+' : ''}${(now - before).toFixed(1)} points)` };
      };
      const jumped = compared.map(describe).filter((d) => d.jump >= JUMP_POINTS);
      const detail = `${compared.length} of ${rows.length} workers with cancellations had ≥ ${MIN_CANCELLED} in both periods to compare`;
      if (jumped.length === 0) return pass(name, `${detail}; none rose by ≥ ${JUMP_POINTS} points`);
      return fail(name, `${jumped.length} worker(s) rose by ≥ ${JUMP_POINTS} points: is the writer still recording cancel_reason?`, jumped.map((d) => d.line));
    },
  };
}

const BusiestRow = z.object({ worker: z.string(), n: z.number() });

/** The median of three runs of a question, in milliseconds (the first run also warms the cache). */
async function medianMs(question: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    await question();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[1]!;
}

export function queryTimeCheck(pool: DatabasePool, metrics: MetricsRepository, maxMs: number, hours: number): Check {
  return {
    name: 'SQL time',
    run: async () => {
      const busiest = await pool.maybeOne(sql.type(BusiestRow)`
        SELECT worker, count(*) AS n FROM job_execution_summaries
        WHERE inserted_at > now() - make_interval(hours => ${hours}) AND inserted_at <= now()
        GROUP BY worker ORDER BY n DESC, worker COLLATE "C" LIMIT 1
      `);
      const questions: [string, () => Promise<unknown>][] = [[`system metrics (${hours} h)`, () => metrics.systemMetrics(hours)]];
      if (busiest) questions.push([`busiest worker ${busiest.worker} (${hours} h)`, () => metrics.workerMetrics(busiest.worker, hours)]);
      const results = [];
      for (const [label, question] of questions) {
        const ms = await medianMs(question);
        const detail = `${ms.toFixed(1)} ms (median of 3, limit DOCTOR_MAX_MS=${maxMs})`;
        const fix = ['see docs/ROLLBACK_PLAN.md §1: npm run doctor checks the indexes, npm run explain shows the plan'];
        results.push(ms <= maxMs ? pass(`SQL time: ${label}`, detail) : fail(`SQL time: ${label}`, detail, fix));
      }
      if (!busiest) results.push(pass('SQL time: busiest worker', `no executions in the last ${hours} h to time`));
      return results;
    },
  };
}
