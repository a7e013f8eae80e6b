import pWaitFor from 'p-wait-for';
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';

/** Whether some session waits on a lock held by backend `pid`. */
export async function isBlocking(pool: DatabasePool, pid: number): Promise<boolean> {
  return pool.oneFirst(sql.type(z.object({ blocking: z.boolean() }))`
    SELECT EXISTS (SELECT FROM pg_stat_activity WHERE ${pid} = ANY(pg_blocking_pids(pid))) AS blocking
  `);
}

/**
 * Resolves once some session waits on a lock held by backend `pid`. Tests order events on this
 * state, never on a sleep: on a loaded machine a request may take any time to get there. The 60 s
 * cap only turns a broken test into a clear failure before tap's own timeout.
 */
export async function waitUntilBlockedBy(pool: DatabasePool, pid: number): Promise<void> {
  await pWaitFor(() => isBlocking(pool, pid), {
    interval: 10,
    timeout: { milliseconds: 60_000, message: `no session waited on a lock of backend ${pid} within 60 s` },
  });
}
