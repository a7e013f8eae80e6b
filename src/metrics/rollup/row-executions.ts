import { sql, type FragmentSqlToken } from 'slonik';
import { STATES } from '../../schemas/common.ts';

/**
 * A rollup row's executions: the sum of its counts, one column per state (job_rollups has no total
 * column). Columns of the row aliased `alias`, or unqualified.
 */
export const rowExecutions = (alias?: string): FragmentSqlToken =>
  sql.fragment`(${sql.join(STATES.map((state) => sql.identifier(alias === undefined ? [state] : [alias, state])), sql.fragment` + `)})`;

/** The same as SQL text, for the statements built without slonik (the rollup audit). */
export const rowExecutionsText = (alias?: string): string => `(${STATES.map((state) => (alias === undefined ? state : `${alias}.${state}`)).join(' + ')})`;
