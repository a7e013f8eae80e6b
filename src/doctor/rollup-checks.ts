import type { DatabasePool } from 'slonik';
import { verifyWindow } from '../metrics/rollup/verify.ts';
import { fail, pass, type Check } from './report.ts';

/** The rollups kept by triggers against the raw oracle over the doctor's window (system-wide). */
export function rollupsCheck(pool: DatabasePool, hours: number): Check {
  const name = `rollups match the raw rows (${hours} h)`;
  return {
    name,
    run: async () => {
      const differences = await verifyWindow(pool, hours);
      if (differences.length === 0) return pass(name, 'counts, reasons, avg and max equal; percentiles within the bound');
      return fail(name, `${differences.length} difference(s)`, [
        ...differences,
        'fix: npm run rollup -- verify --hours N for every worker, then npm run rollup -- rebuild',
      ]);
    },
  };
}
