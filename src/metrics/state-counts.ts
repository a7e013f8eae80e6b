import { sql } from 'slonik';
import { z } from 'zod';
import type { States } from '../schemas/common.ts';

/** Executions per state and the unknown reasons, as every window and every bucket counts them. */
export const stateCountsShape = {
  executions: z.number().int(),
  completed: z.number().int(),
  retryable: z.number().int(),
  discarded: z.number().int(),
  cancelled: z.number().int(),
  snoozed: z.number().int(),
  unknown_reasons: z.number().int(),
};

/**
 * The counts over rows that expose `state` and `reason` (`results ->> 'cancel_reason'`); the NULL
 * branch is written out, so a missing reason is counted as unknown, never dropped.
 */
export const stateCountsColumns = sql.fragment`
  count(*) AS executions,
  count(*) FILTER (WHERE state = 'completed') AS completed,
  count(*) FILTER (WHERE state = 'retryable') AS retryable,
  count(*) FILTER (WHERE state = 'discarded') AS discarded,
  count(*) FILTER (WHERE state = 'cancelled') AS cancelled,
  count(*) FILTER (WHERE state = 'snoozed') AS snoozed,
  count(*) FILTER (WHERE state = 'cancelled' AND reason IS NULL) AS unknown_reasons
`;

export const statesOf = (row: States): States => ({
  completed: row.completed,
  retryable: row.retryable,
  discarded: row.discarded,
  cancelled: row.cancelled,
  snoozed: row.snoozed,
});
