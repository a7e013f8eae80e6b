/** The error and its causes, outermost first (slonik wraps the driver's error), at most 8 deep. */
export function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = error; e && chain.length < 8; e = (e as { cause?: unknown }).cause) chain.push(e);
  return chain;
}

/** Whether the error or one of its causes carries one of `codes` (a SQLSTATE, or a socket's code). */
export const hasCode = (error: unknown, codes: ReadonlySet<string>): boolean =>
  causes(error).some((e) => codes.has(String((e as { code?: unknown }).code)));
