const steps: (() => Promise<void>)[] = [];

/** Registers work for the end of a graceful shutdown (flushing telemetry); no-op when none is registered. */
export const onShutdown = (step: () => Promise<void>) => steps.push(step);

/** Runs every registered step; the server calls it last, after the app and database have stopped. */
export async function runShutdownSteps(): Promise<void> {
  await Promise.all(steps.map((step) => step()));
}
