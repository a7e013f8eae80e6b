import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/db/embedded.ts';
import { startDaemon } from './daemon.ts';

/** Debian's `prometheus` package (2.42) brings both; .ci/run installs it. */
export const PROMETHEUS = process.env.PROMETHEUS_PATH ?? '/usr/bin/prometheus';
export const PROMTOOL = process.env.PROMTOOL_PATH ?? '/usr/bin/promtool';
/** The reason to skip, or false; never skipped under CI (.ci/run installs it), where a missing binary fails. */
export const prometheusMissing = () =>
  process.env.CI || (existsSync(PROMETHEUS) && existsSync(PROMTOOL))
    ? false
    : `${PROMETHEUS} or ${PROMTOOL} is missing: run apt-get update && apt-get install -y prometheus (.ci/run does)`;

export const RULES_FILE = new URL('../../deploy/prometheus/job-metrics.rules.yml', import.meta.url).pathname;
export const RULES_TEST_FILE = new URL('../../deploy/prometheus/job-metrics.rules.test.yml', import.meta.url).pathname;

/** promtool with stdin, its exit code and output. */
export function promtool(args: string[], input?: string) {
  const result = spawnSync(PROMTOOL, args, { input, encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

interface Teardown {
  teardown(fn: () => Promise<void> | void): void;
}

type Vector = { metric: Record<string, string>; value: [number, string] }[];

/**
 * A real Prometheus on loopback, with its own config and data in a temporary folder, scraping
 * `target` as job "job-metrics" every 5 s (with `token` as the bearer credentials file) and
 * loading the shipped rules. Stopped and removed with the test. A scrape that times out marks every
 * series stale, so queries find nothing until the next one: at load average 20 a 1 s timeout was
 * missed mid-test; 5 s is ample for the service's /metrics there.
 */
export async function startPrometheus(t: Teardown, options: { target: string; token?: string }) {
  const dir = await mkdtemp(join(tmpdir(), 'job-metrics-prometheus-'));
  const port = await freePort();
  const authorization = options.token
    ? `    authorization:\n      type: Bearer\n      credentials_file: ${join(dir, 'token')}\n`
    : '';
  if (options.token) await writeFile(join(dir, 'token'), options.token, { mode: 0o600 });
  await writeFile(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 5s\n  scrape_timeout: 5s\n  evaluation_interval: 1s\n` +
      `rule_files:\n  - ${RULES_FILE}\n` +
      `scrape_configs:\n  - job_name: job-metrics\n    static_configs:\n      - targets: ['${options.target}']\n${authorization}`,
  );
  const { child, log } = startDaemon(
    t,
    PROMETHEUS,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    dir,
  );

  const url = `http://127.0.0.1:${port}`;
  async function query(expr: string): Promise<Vector> {
    const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await response.json()) as { status: string; error?: string; data: { resultType: string; result: Vector } };
    if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
    return body.data.result;
  }

  /** Polls `expr` until `done(result)` (no fixed sleep: a poll every 100 ms, up to `timeoutMs`). */
  async function waitFor(expr: string, done: (result: Vector) => boolean, timeoutMs = 60_000): Promise<Vector> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`prometheus exited: ${log()}`);
      const result = await query(expr).catch(() => undefined);
      if (result && done(result)) return result;
      if (Date.now() > deadline) throw new Error(`${expr} did not hold within ${timeoutMs} ms (last: ${JSON.stringify(result)}); log: ${log()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  return { url, query, waitFor };
}
