import { spawn, type ChildProcess } from 'node:child_process';

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

/** The service itself (src/server.ts) on the given environment, on a free port unless PORT is set. */
export const startService = (env: Record<string, string>, nodeArgs: string[] = []) => startScript(SERVER, env, nodeArgs);

/** `npm start`'s preload (tracing when OTEL_* ask for it), as `node --import` takes it. */
export const TRACING_PRELOAD = ['--import', new URL('../src/telemetry/preload.ts', import.meta.url).pathname];
