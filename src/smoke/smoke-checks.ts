import { Value } from 'typebox/value';
import type { TSchema } from 'typebox';
import { describeAnswer, httpGet, type HttpAnswer } from '../doctor/http.ts';
import { fail, pass, type Check, type CheckResult } from '../doctor/report.ts';
import { SystemMetricsSchema, WorkerListSchema, WorkerMetricsSchema } from '../schemas/metrics.ts';
import { ProblemSchema } from '../schemas/problem.ts';
import type { CountedAnswer } from '../doctor/compare.ts';

/** The contract's invariants on one metrics answer, as readable lines; empty when they hold. */
export function invariantViolations(answer: CountedAnswer): string[] {
  const { total, unknown, by_reason, other_reasons } = answer.cancellations;
  const reasons = by_reason.reduce((sum, r) => sum + r.count, 0) + (other_reasons?.count ?? 0);
  const states = Object.values(answer.states).reduce((sum, n) => sum + n, 0);
  return [
    ...(total === unknown + reasons ? [] : [`cancellations.total ${total} ≠ unknown ${unknown} + Σ by_reason + other_reasons ${reasons}`]),
    ...(states === answer.executions ? [] : [`Σ states ${states} ≠ executions ${answer.executions}`]),
    ...(answer.states.cancelled === total ? [] : [`states.cancelled ${answer.states.cancelled} ≠ cancellations.total ${total}`]),
  ];
}

function shapeViolations(schema: TSchema, answer: HttpAnswer, status: number, contentType: string): string[] {
  if (answer.status !== status || answer.contentType !== contentType) {
    return [`expected ${status} ${contentType}, got ${describeAnswer(answer)}`];
  }
  return Value.Errors(schema, answer.body).map((e) => `${e.instancePath || '(body)'} ${e.message}`);
}

function verdict(name: string, problems: string[], ok: string): CheckResult {
  return problems.length === 0 ? pass(name, ok) : fail(name, `${problems.length} problem(s)`, problems);
}

async function metricsCheck(base: string, name: string, path: string, schema: TSchema, worker?: string): Promise<CheckResult> {
  const answer = await httpGet(base, path);
  const problems = shapeViolations(schema, answer, 200, 'application/json');
  if (problems.length === 0) {
    const body = answer.body as CountedAnswer & { worker?: string };
    problems.push(...invariantViolations(body));
    if (worker !== undefined && body.worker !== worker) problems.push(`worker echoed as ${JSON.stringify(body.worker)}`);
  }
  return verdict(name, problems, `200, the contract's shape, total = unknown + Σ by_reason`);
}

function problemCheck(base: string, name: string, path: string, status: number, mentions?: string): Check {
  return {
    name,
    run: async () => {
      const answer = await httpGet(base, path);
      const problems = shapeViolations(ProblemSchema, answer, status, 'application/problem+json');
      const detail = (answer.body as { detail?: unknown }).detail;
      if (problems.length === 0 && mentions && !String(detail).includes(mentions)) problems.push(`detail does not name ${mentions}: ${String(detail)}`);
      return verdict(name, problems, `${status} application/problem+json: ${String(detail)}`);
    },
  };
}

/** The post-deploy check: the service is up, ready, answers in the contract's shape, and rejects bad input. */
export function smokeChecks(base: string): Check[] {
  const health = (path: string, status: string): Check => ({
    name: `GET ${path}`,
    run: async () => {
      const answer = await httpGet(base, path);
      const ok = answer.status === 200 && (answer.body as { status?: unknown }).status === status;
      return ok ? pass(`GET ${path}`, describeAnswer(answer)) : fail(`GET ${path}`, describeAnswer(answer));
    },
  });
  return [
    health('/health/live', 'ok'),
    health('/health/ready', 'ready'),
    { name: 'GET /metrics/system', run: () => metricsCheck(base, 'GET /metrics/system?hours=24', '/metrics/system?hours=24', SystemMetricsSchema) },
    {
      name: 'GET /metrics/workers',
      run: async () => {
        const answer = await httpGet(base, '/metrics/workers');
        const problems = shapeViolations(WorkerListSchema, answer, 200, 'application/json');
        const workers = problems.length === 0 ? (answer.body as { workers: { worker: string }[] }).workers : [];
        const results = [verdict('GET /metrics/workers', problems, `200, ${workers.length} workers`)];
        const first = workers[0]?.worker;
        if (first !== undefined) {
          const path = `/metrics/worker/${encodeURIComponent(first)}?hours=168`;
          results.push(await metricsCheck(base, `GET /metrics/worker/{${first}}?hours=168`, path, WorkerMetricsSchema, first));
        }
        return results;
      },
    },
    problemCheck(base, 'GET /metrics/system?hours=0 is a 400 problem', '/metrics/system?hours=0', 400, 'hours'),
    problemCheck(base, 'an unknown worker is a 404 problem', `/metrics/worker/smoke-check-no-such-worker-${Date.now()}`, 404),
  ];
}
