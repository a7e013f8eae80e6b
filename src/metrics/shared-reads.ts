/**
 * Identical questions asked at the same time share one database read — but only a read that starts
 * after they were asked, so no answer predates its request (a row inserted a millisecond before the
 * request is counted). A caller that finds a read in flight waits for the next one, which every
 * caller arriving meanwhile shares: per question, at most one read runs and one more is queued.
 */
export function shareReads<A extends unknown[], R>(read: (...args: A) => Promise<R>, keyOf: (...args: A) => string) {
  interface Slot {
    running: Promise<R>;
    next?: Promise<R>;
  }
  const slots = new Map<string, Slot>();

  function start(key: string, args: A): Promise<R> {
    const slot: Slot = { running: read(...args) };
    slots.set(key, slot);
    // Registered before any queued read's start, so it sees whether one is waiting.
    const done = () => {
      if (slots.get(key) === slot && slot.next === undefined) slots.delete(key);
    };
    slot.running.then(done, done);
    return slot.running;
  }

  return (...args: A): Promise<R> => {
    const key = keyOf(...args);
    const slot = slots.get(key);
    if (slot === undefined) return start(key, args);
    const again = () => start(key, args);
    slot.next ??= slot.running.then(again, again);
    return slot.next;
  };
}
