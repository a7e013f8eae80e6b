import { spawn, type ChildProcess } from 'node:child_process';

export interface RunningService {
  base: string;
  child: ChildProcess;
  stop(): Promise<number | null>;
}

const SERVER = new URL('../src/server.ts', import.meta.url).pathname;

/**
 * Starts src/server.ts directly (not through npm, whose wrapper would survive a kill and leave the
 * service and its database running) and resolves once it prints its URL.
 */
export function startService(env: Record<string, string>): Promise<RunningService> {
  const child = spawn(process.execPath, [SERVER], {
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
              child.once('exit', (code) => done(code));
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`service exited with ${code} before listening:\n${output}`)));
  });
}
