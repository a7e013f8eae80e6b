import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';

interface Teardown {
  teardown(fn: () => Promise<void> | void): void;
}

/**
 * A server program of the test's (Prometheus, PgBouncer) with its files in `dir`: stopped with
 * SIGTERM and `dir` removed with the test. `log()` is the tail of its stderr, for failures.
 */
export function startDaemon(t: Teardown, command: string, args: readonly string[], dir: string) {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(async () => {
    child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  });
  return { child, log: () => log };
}
