import { execSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';

/** What a reader needs to weigh the numbers: where and when they were measured. */
export function machineLine(): string {
  const commit = execSync('git rev-parse --short HEAD').toString().trim();
  const dirty = execSync('git status --porcelain --untracked-files=no').toString().trim() ? '+dirty' : '';
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  return (
    `commit ${commit}${dirty}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model.trim()}, ` +
    `${Math.round(totalmem() / 2 ** 30)} GiB, load average ${load}, ${new Date().toISOString()}`
  );
}
