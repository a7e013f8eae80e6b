/**
 * CPU time of processes on this machine, from /proc (Linux): what a bench divides by the requests
 * or rows it made, to say where each one's time went. No library reads another process's CPU.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

const TICKS_PER_SECOND = 100; // getconf CLK_TCK on Linux

/** The fields of /proc/PID/stat after the command name; empty once the process is gone. */
async function statFields(pid: number): Promise<string[]> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat ? stat.slice(stat.lastIndexOf(')') + 2).split(' ') : [];
}

/** CPU milliseconds (user + system) a process has used; 0 once it is gone. */
export async function cpuMs(pid: number): Promise<number> {
  const fields = await statFields(pid);
  return ((Number(fields[11]) || 0) + (Number(fields[12]) || 0)) * (1000 / TICKS_PER_SECOND);
}

/** CPU milliseconds of a process and of every process it started (a postmaster's backends …). */
export async function familyCpuMs(parent: number): Promise<number> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
  const parents = await Promise.all(pids.map(async (pid) => Number((await statFields(pid))[1])));
  const family = pids.filter((pid, i) => pid === parent || parents[i] === parent);
  return (await Promise.all(family.map(cpuMs))).reduce((a, b) => a + b, 0);
}

/** The postmaster's process id, the first line of postmaster.pid in a PostgreSQL data folder. */
export async function postmasterPid(dataDir: string): Promise<number> {
  return Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
}

/**
 * CPU milliseconds so far of the service, the PostgreSQL server (the postmaster and every backend)
 * and this process, the load generator: a bench takes one before and one after a run.
 */
export async function cpuSnapshot(servicePid: number, postmaster: number) {
  const own = process.cpuUsage();
  return {
    service: await cpuMs(servicePid),
    postgres: await familyCpuMs(postmaster),
    generator: (own.user + own.system) / 1000,
  };
}
