import type { DatabasePool } from 'slonik';

/** Every connection stayed busy for longer than the caller may wait: the database is saturated. */
export class PoolTimeoutError extends Error {
  readonly waitedMs: number;
  constructor(waitedMs: number) {
    super(`no database connection became free within ${waitedMs} ms`);
    this.name = 'PoolTimeoutError';
    this.waitedMs = waitedMs;
  }
}

const GATED_METHODS = new Set([
  'any', 'anyFirst', 'exists', 'many', 'manyFirst', 'maybeOne', 'maybeOneFirst', 'one', 'oneFirst',
  'query', 'stream', 'transaction', 'connect',
]);

export interface GateStats {
  /** Callers admitted at once: the pool's connections. */
  size: number;
  /** Callers holding a connection now. */
  active: number;
  /** Callers waiting for one. */
  waiting: number;
}

const gates = new WeakMap<DatabasePool, () => GateStats>();

/** How busy a gated pool is (undefined for a pool that is not gated), for the service's own metrics. */
export const gateStats = (pool: DatabasePool): GateStats | undefined => gates.get(pool)?.();

/**
 * Slonik's pool queues callers without a time limit, so under overload latency grows without
 * bound. The gate admits as many callers as there are connections and lets the others wait at most
 * `timeoutMs` before failing with PoolTimeoutError (answered 503 with Retry-After). A call that
 * fails with an error `retryOnce` accepts runs once more (statement-names.ts).
 */
export function gatePool(pool: DatabasePool, size: number, timeoutMs: number, retryOnce: (error: unknown) => boolean = () => false): DatabasePool {
  let active = 0;
  const waiting: (() => void)[] = [];

  const acquire = () =>
    new Promise<void>((resolve, reject) => {
      if (active < size) {
        active += 1;
        return resolve();
      }
      const admit = () => {
        clearTimeout(timer);
        active += 1;
        resolve();
      };
      const timer = setTimeout(() => {
        waiting.splice(waiting.indexOf(admit), 1);
        reject(new PoolTimeoutError(timeoutMs));
      }, timeoutMs);
      waiting.push(admit);
    });

  const release = () => {
    active -= 1;
    waiting.shift()?.();
  };

  const gated = new Proxy(pool, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof property !== 'string' || !GATED_METHODS.has(property) || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        await acquire();
        try {
          return await value.apply(target, args).catch((error: unknown) => {
            if (retryOnce(error)) return value.apply(target, args);
            throw error;
          });
        } finally {
          release();
        }
      };
    },
  });
  gates.set(gated, () => ({ size, active, waiting: waiting.length }));
  return gated;
}
