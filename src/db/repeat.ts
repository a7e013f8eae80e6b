export interface RepeatEvents {
  /** The first failure of a streak (the database is down, say); the next success calls `recovered`. */
  failed(error: unknown): void;
  recovered(): void;
}

/**
 * Runs `task` every `intervalMs` after the previous run ended (never two at once), reporting a
 * streak of failures once. `stop()` waits for a run in flight.
 */
export function repeat(task: () => Promise<unknown>, intervalMs: number, events: RepeatEvents) {
  let stopped = false;
  let failing = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const schedule = () => {
    if (!stopped) timer = setTimeout(tick, intervalMs).unref();
  };
  const tick = () => {
    running = task()
      .then(
        () => {
          if (failing) events.recovered();
          failing = false;
        },
        (error: unknown) => {
          if (!failing && !stopped) events.failed(error);
          failing = true;
        },
      )
      .finally(schedule);
  };
  schedule();
  return {
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
