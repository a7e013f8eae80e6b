import { sql, type CommonQueryMethods } from 'slonik';
import { z } from 'zod';
import { STATES } from '../schemas/common.ts';

/** The part of a metrics answer that the database can confirm by counting. */
export interface CountedAnswer {
  window: { from: string; to: string };
  executions: number;
  states: Record<string, number>;
  cancellations: { total: number; unknown: number; by_reason: { reason: string; count: number }[]; other_reasons?: { count: number; reasons: number } };
}

const CountRow = z.object({ state: z.string(), reason: z.string().nullable(), n: z.number() });

/**
 * The seed's verification query over the answer's own window, with the NULL group kept as it is
 * (the seed folds it into 'unknown', which would merge it with a stored reason "unknown").
 */
const countsQuery = (window: CountedAnswer['window'], worker?: string) => sql.type(CountRow)`
  SELECT state, CASE WHEN state = 'cancelled' THEN results ->> 'cancel_reason' END AS reason, count(*) AS n
  FROM job_execution_summaries
  WHERE inserted_at > ${window.from}::timestamptz AND inserted_at <= ${window.to}::timestamptz
    ${worker === undefined ? sql.fragment`` : sql.fragment`AND worker = ${worker}`}
  GROUP BY 1, 2
`;

/**
 * Every figure of the answer that differs from a plain count in the database, as readable lines
 * (`unknown: answer 479, database 480`); empty when they agree.
 */
export async function differences(db: CommonQueryMethods, answer: CountedAnswer, worker?: string): Promise<string[]> {
  const rows = await db.any(countsQuery(answer.window, worker));
  const expected = new Map<string, number>();
  const add = (key: string, n: number) => expected.set(key, (expected.get(key) ?? 0) + n);
  for (const state of STATES) add(`states.${state}`, 0);
  for (const { state, reason, n } of rows) {
    add('executions', n);
    add(`states.${state}`, n);
    if (state !== 'cancelled') continue;
    add('cancellations.total', n);
    add(reason === null ? 'cancellations.unknown' : `reason ${JSON.stringify(reason)}`, n);
  }
  const actual = new Map<string, number>([
    ['executions', answer.executions],
    ['cancellations.total', answer.cancellations.total],
    ['cancellations.unknown', answer.cancellations.unknown],
    ...Object.entries(answer.states).map(([state, n]) => [`states.${state}`, n] as [string, number]),
    ...answer.cancellations.by_reason.map((r) => [`reason ${JSON.stringify(r.reason)}`, r.count] as [string, number]),
  ]);
  const keys = new Set([...expected.keys(), ...actual.keys()]);
  return [...keys]
    .filter((key) => (expected.get(key) ?? 0) !== (actual.get(key) ?? 0))
    .map((key) => `${key}: answer ${actual.get(key) ?? 0}, database ${expected.get(key) ?? 0}`);
}

/**
 * Compares an answer with the database, asking once more when they differ: a row committed between
 * the two reads (or stamped in the sub-millisecond the answer's ISO times leave out) is not an error.
 */
export async function compareAnswer(
  db: CommonQueryMethods,
  ask: () => Promise<CountedAnswer>,
  worker?: string,
): Promise<{ answer: CountedAnswer; differences: string[] }> {
  let answer = await ask();
  let found = await differences(db, answer, worker);
  if (found.length > 0) {
    answer = await ask();
    found = await differences(db, answer, worker);
  }
  return { answer, differences: found };
}
