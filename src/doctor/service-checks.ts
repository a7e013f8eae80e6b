import type { DatabasePool } from 'slonik';
import { Value } from 'typebox/value';
import { SystemMetricsSchema } from '../schemas/metrics.ts';
import { hoursInsideHorizon } from '../retention/status.ts';
import { compareAnswer, type CountedAnswer } from './compare.ts';
import { describeAnswer, httpGet } from './http.ts';
import { fail, pass, type Check } from './report.ts';

export function healthCheck(base: string, path: '/health/live' | '/health/ready'): Check {
  const name = `service ${path}`;
  return {
    name,
    run: async () => {
      const answer = await httpGet(base, path);
      return answer.status === 200 ? pass(name, describeAnswer(answer)) : fail(name, describeAnswer(answer));
    },
  };
}

/** The running service's /metrics/system against a count in the database, over the answer's own window. */
export function serviceConsistencyCheck(base: string, pool: DatabasePool, requestedHours: number, retentionDays?: number): Check {
  const name = `service /metrics/system matches the database (${requestedHours} h)`;
  return {
    name,
    run: async () => {
      const hours = await hoursInsideHorizon(pool, requestedHours, retentionDays);
      if (hours < 1) return pass(name, 'the retention horizon is less than an hour back: nothing to compare');
      const ask = async () => {
        const answer = await httpGet(base, `/metrics/system?hours=${hours}`);
        if (answer.status !== 200 || !Value.Check(SystemMetricsSchema, answer.body)) {
          throw new Error(`unexpected answer: ${describeAnswer(answer)}`);
        }
        return answer.body as CountedAnswer;
      };
      const { answer, differences } = await compareAnswer(pool, ask);
      const summary = `window ${answer.window.from} – ${answer.window.to}, ${answer.executions} executions, unknown ${answer.cancellations.unknown}`;
      return differences.length === 0 ? pass(name, `${summary}: every figure agrees`) : fail(name, summary, differences);
    },
  };
}
