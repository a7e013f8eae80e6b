import { sql, type FragmentSqlToken } from 'slonik';
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

const countsOf = (count: FragmentSqlToken) => sql.fragment`
  coalesce(${count}, 0) AS executions,
  coalesce(${count} FILTER (WHERE state = 'completed'), 0) AS completed,
  coalesce(${count} FILTER (WHERE state = 'retryable'), 0) AS retryable,
  coalesce(${count} FILTER (WHERE state = 'discarded'), 0) AS discarded,
  coalesce(${count} FILTER (WHERE state = 'cancelled'), 0) AS cancelled,
  coalesce(${count} FILTER (WHERE state = 'snoozed'), 0) AS snoozed,
  coalesce(${count} FILTER (WHERE state = 'cancelled' AND reason IS NULL), 0) AS unknown_reasons
`;

/**
 * The counts over rows that expose `state` and `reason` (`results ->> 'cancel_reason'`); the NULL
 * branch is written out, so a missing reason is counted as unknown, never dropped.
 */
export const stateCountsColumns = countsOf(sql.fragment`count(*)`);

/** The same over rows already grouped, each carrying its count `n` (signed: window-pieces.ts). */
export const summedStateCountsColumns = countsOf(sql.fragment`sum(n)`);

export const statesOf = (row: States): States => ({
  completed: row.completed,
  retryable: row.retryable,
  discarded: row.discarded,
  cancelled: row.cancelled,
  snoozed: row.snoozed,
});
