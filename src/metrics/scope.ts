import { sql, type FragmentSqlToken } from 'slonik';

/**
 * The system or one worker, as every metrics query writes it. The SQL text differs only between the
 * two (the worker's name is a parameter), so a prepared statement's name carries `name`.
 */
export function scopeOf(worker?: string) {
  const everyWorker = worker === undefined;
  return {
    name: everyWorker ? 'system' : 'worker',
    /** Rollup rows of table alias `alias`: the "every worker" rows are the ones with worker NULL. */
    rollups: (alias: string): FragmentSqlToken => {
      const column = sql.identifier([alias, 'worker']);
      return everyWorker ? sql.fragment`${column} IS NULL` : sql.fragment`${column} = ${worker}`;
    },
    /** Raw or pending rows of table alias `alias`: no filter for the system. */
    rows: (alias: string): FragmentSqlToken =>
      everyWorker ? sql.fragment`` : sql.fragment`AND ${sql.identifier([alias, 'worker'])} = ${worker}`,
  };
}
