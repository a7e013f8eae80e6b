import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `npm run NAME -- ARGS` as a user would, without npm in between: the script's entry file on
 * this Node, with the given environment on top of the test's own. The doctor's SQL time limit is a
 * speed goal for production data, not for a loaded test machine: raised here unless a test sets it.
 */
export function runScript(name: 'doctor' | 'smoke' | 'migrate' | 'rollup', args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const entry = fileURLToPath(new URL(`../../src/cli/${name}.ts`, import.meta.url));
  const child = spawn(process.execPath, [entry, ...args], {
    env: { ...process.env, LOG_LEVEL: 'silent', DOCTOR_MAX_MS: '60000', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The report's lines that start with FAIL. */
export const failures = (result: CliResult) => result.stdout.split('\n').filter((line) => line.startsWith('FAIL'));
