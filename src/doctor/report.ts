/** One line of a doctor or smoke report: what was checked, whether it held, and the evidence. */
export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
  /** Further lines, e.g. each difference found or the command that fixes the failure. */
  notes?: string[];
}

export interface Check {
  name: string;
  run: () => Promise<CheckResult | CheckResult[]>;
}

/**
 * Runs the checks in order and prints `PASS`/`FAIL` per line; a check that throws is a failure
 * with its message. Returns how many failed.
 */
export async function runChecks(title: string, checks: Check[], print: (line: string) => void = console.log): Promise<number> {
  let failed = 0;
  let total = 0;
  for (const check of checks) {
    let results: CheckResult[];
    try {
      results = [await check.run()].flat();
    } catch (error) {
      results = [fail(check.name, describeError(error))];
    }
    for (const result of results) {
      total += 1;
      if (!result.ok) failed += 1;
      print(`${result.ok ? 'PASS' : 'FAIL'}  ${result.name}: ${result.detail}`);
      for (const note of result.notes ?? []) print(`      ${note}`);
    }
  }
  print(failed === 0 ? `${title}: all ${total} checks passed` : `${title}: ${failed} of ${total} checks failed`);
  return failed;
}

export const pass = (name: string, detail: string, notes?: string[]): CheckResult => ({ name, ok: true, detail, notes });
export const fail = (name: string, detail: string, notes?: string[]): CheckResult => ({ name, ok: false, detail, notes });

/** An error's message; a connection refused on every address of a host name is an AggregateError with none of its own. */
export function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.message === '') return error.errors.map(describeError).join('; ');
  return error instanceof Error ? error.message || error.name : String(error);
}
