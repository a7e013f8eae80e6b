/**
 * npm run smoke -- --url http://host:port
 * The post-deploy check of a running service: one PASS/FAIL line per check, exit 1 on any failure.
 */
import { parseArgs } from 'node:util';
import { runChecks } from '../doctor/report.ts';
import { smokeChecks } from '../smoke/smoke-checks.ts';
import { urlOption } from './options.ts';
import { runCli } from './run-cli.ts';

await runCli(async () => {
  const { values } = parseArgs({ options: { url: { type: 'string' } } });
  const failed = await runChecks('smoke', smokeChecks(urlOption(values.url)));
  if (failed > 0) process.exitCode = 1;
});
