import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface RunningService {
  base: string;
  child: ChildProcess;
  stop(): Promise<number | null>;
}

const SERVER = new URL('../src/server.ts', import.meta.url).pathname;

/**
 * Starts a Node script directly (not through npm, whose wrapper would survive a kill and leave the
 * service and its database running) and resolves once it prints `listening on <url>`.
 */
export function startScript(script: string, env: Record<string, string>, nodeArgs: string[] = []): Promise<RunningService> {
  const child = spawn(process.execPath, [...nodeArgs, script], {
    env: { ...process.env, PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      output += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        resolve({
          base: match[1]!,
          child,
          stop: () =>
            new Promise((done) => {
              if (child.exitCode !== null) return done(child.exitCode);
              child.once('exit', (code) => done(code));
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before listening:\n${output}`)));
  });
}

/** `npm start`'s own command line (package.json) after `node`, for running it without npm in between. */
export function startCommand(): string[] {
  const { scripts } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } };
  const [node, ...args] = scripts.start.split(' ');
  if (node !== 'node') throw new Error(`unexpected start script: ${scripts.start}`);
  return args;
}

/**
 * The options `npm start` gives Node, so that a bench measures the service as it runs (the young
 * generation's size moved req/s by a third, docs/BENCHMARKS.md "Memory"); the tracing preload is
 * left to TRACING_PRELOAD.
 */
const START_OPTIONS: string[] = startCommand().filter(
  (arg, i, args) => arg.startsWith('--') && arg !== '--import' && args[i - 1] !== '--import',
);

/** The service itself (src/server.ts) on the given environment, on a free port unless PORT is set. */
export const startService = (env: Record<string, string>, nodeArgs: string[] = []) => startScript(SERVER, env, [...START_OPTIONS, ...nodeArgs]);

/** `npm start`'s preload (tracing when OTEL_* ask for it), as `node --import` takes it. */
export const TRACING_PRELOAD = ['--import', new URL('../src/telemetry/preload.ts', import.meta.url).pathname];
