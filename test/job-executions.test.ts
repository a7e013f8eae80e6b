import t, { type Test } from 'tap';
import { sql } from 'slonik';
import { z } from 'zod';
import { encodeCursor, MIN_CURSOR_US } from '../src/executions/cursor.ts';
import { get, startTestApp } from './helpers/app.ts';
import { startTestDatabase } from './helpers/database.ts';
import { MAILER, nastyRows, SHOWTIME, UNICODE_WORKER } from './helpers/nasty-rows.ts';
import { insertRows, reasonOf, type TestRow } from './helpers/rows.ts';

const db = await startTestDatabase(t);
const app = await startTestApp(t, db);

// Many rows share one inserted_at (one INSERT, one now()): only the id tells them apart across pages.
const TIES: TestRow[] = Array.from({ length: 130 }, (_, i): TestRow => ({
  job_id: 500_000 + i,
  worker: i % 2 ? SHOWTIME : MAILER,
  state: i % 5 === 0 ? 'completed' : 'cancelled',
  results: i % 3 === 0 ? { cancel_reason: 'movie not matched' } : i % 3 === 1 ? {} : { cancel_reason: '' },
  duration_ms: i,
  age_s: 1800,
}));
const rows = [...nastyRows(), ...TIES];
await insertRows(db.pool, rows);

const stored = new Map(
  (
    await db.pool.any(sql.type(z.object({ job_id: z.number(), id: z.number(), us: z.string() }))`
      SELECT job_id, id, (extract(epoch FROM inserted_at) * 1000000)::bigint::text AS us FROM job_execution_summaries
    `)
  ).map((r) => [r.job_id, { id: r.id, us: BigInt(r.us) }]),
);

interface Filter {
  hours?: number;
  worker?: string;
  state?: string;
  reason?: string;
  unknown?: boolean;
}

/** The rows a filter selects, newest first, computed from the inserted rows (ids and stamps read back). */
function expected(filter: Filter): number[] {
  const hours = filter.hours ?? 24;
  return rows
    .filter((r) => r.age_s >= 0 && r.age_s < hours * 3600)
    .filter((r) => filter.worker === undefined || r.worker === filter.worker)
    .filter((r) => filter.state === undefined || r.state === filter.state)
    .filter((r) => filter.reason === undefined || (r.state === 'cancelled' && reasonOf(r.results) === filter.reason))
    .filter((r) => !filter.unknown || (r.state === 'cancelled' && reasonOf(r.results) === null))
    .map((r) => ({ job_id: r.job_id, ...stored.get(r.job_id)! }))
    .sort((a, b) => (a.us === b.us ? b.id - a.id : a.us < b.us ? 1 : -1))
    .map((r) => r.job_id);
}

interface Page {
  window: { hours: number; from: string; to: string };
  executions: { id: number; job_id: number; state: string; cancel_reason: string | null; results: unknown; worker: string }[];
  next_cursor: string | null;
}

function query(filter: Filter, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams(extra);
  for (const [key, value] of Object.entries(filter)) params.set(key, String(value));
  return `/job-executions?${params}`;
}

/** Follows next_cursor to the end; every page must be full except the last. */
async function walk(tt: Test, filter: Filter, limit: number) {
  const seen: Page['executions'] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 200; pages++) {
    const response = await get(tt, app, query(filter, { limit: String(limit), ...(cursor ? { cursor } : {}) }));
    tt.equal(response.statusCode, 200);
    const page = response.json<Page>();
    seen.push(...page.executions);
    cursor = page.next_cursor;
    if (cursor === null) break;
    tt.equal(page.executions.length, limit, 'a page with a next cursor is full');
  }
  return seen;
}

const FILTERS: Filter[] = [
  {},
  { hours: 8760 },
  { hours: 1 },
  { worker: SHOWTIME },
  { worker: UNICODE_WORKER, hours: 8760 },
  { state: 'cancelled' },
  { state: 'completed', hours: 8760 },
  { reason: 'movie not matched' },
  { reason: 'movie not matched', worker: MAILER },
  { reason: 'movie not matched', state: 'cancelled', hours: 1 },
  { reason: 'bounced' },
  { reason: 'bounced', hours: 168 },
  { reason: 'unknown' },
  { reason: 'Unknown' },
  { reason: '' },
  { reason: '42' },
  { reason: 'Ünïcødé 🎬 reason' },
  { reason: 'x'.repeat(2000) },
  { reason: 'ignored' },
  { reason: 'no such reason' },
  { unknown: true },
  { unknown: true, hours: 8760, worker: UNICODE_WORKER },
  { unknown: true, state: 'cancelled', worker: MAILER, hours: 8760 },
];

t.test('every filter pages through exactly the oracle rows, newest first, none lost or repeated', async (t) => {
  for (const filter of FILTERS) {
    await t.test(JSON.stringify(filter).slice(0, 80), async (tt) => {
      const want = expected(filter);
      for (const limit of [7, 500]) {
        const seen = await walk(tt, filter, limit);
        tt.same(seen.map((e) => e.job_id), want, `limit ${limit}: the same rows in the same order`);
        tt.equal(new Set(seen.map((e) => e.id)).size, seen.length, 'no row twice');
      }
    });
  }
  t.ok(expected({ reason: 'movie not matched' }).length > 21, 'the common reason spans several pages of 7');
  t.ok(expected({ unknown: true }).length > 21, 'so does Unknown');
  t.ok(expected({}).length > 100, 'ties on inserted_at span pages');
});

t.test('items carry the row as stored, cancel_reason as ->> reads it', async (t) => {
  const page = (await get(t, app, query({ hours: 8760 }, { limit: '500' }))).json<Page>();
  const byJob = new Map(rows.map((r) => [r.job_id, r]));
  for (const item of page.executions) {
    const row = byJob.get(item.job_id)!;
    t.equal(item.cancel_reason, reasonOf(row.results), `job ${item.job_id} cancel_reason`);
    t.same(item.results, row.results ?? null, `job ${item.job_id} results`);
    t.equal(item.worker, row.worker);
    t.equal(item.state, row.state);
  }
  const body = (await get(t, app, query({ hours: 8760 }, { limit: '1' }))).body;
  t.match(body, /"id":\d+,"job_id":\d+,"attempt":\d+,/, 'ids are JSON integers');
});

t.test('defaults: 24 hours, 50 rows', async (t) => {
  const page = (await get(t, app, '/job-executions')).json<Page>();
  t.equal(page.window.hours, 24);
  t.equal(Date.parse(page.window.to) - Date.parse(page.window.from), 24 * 3_600_000);
  t.equal(page.executions.length, 50);
  t.same(page.executions.map((e) => e.job_id), expected({}).slice(0, 50));
  t.type(page.next_cursor, 'string');
});

t.test('an empty answer still names its window', async (t) => {
  const page = (await get(t, app, query({ worker: 'Never.Seen' }))).json<Page>();
  t.same(page.executions, []);
  t.equal(page.next_cursor, null);
  t.equal(page.window.hours, 24);
});

t.test('filters no row can pass are an empty page, not an error: the spec allows them', async (t) => {
  // A row has one reason or none, and only a cancelled row has one. The same worker's reasons and
  // unknowns exist in the window, so each query below would list rows if one filter were dropped.
  for (const search of ['reason=movie%20not%20matched&unknown=true', 'reason=movie%20not%20matched&state=completed', 'unknown=true&state=snoozed', 'unknown=true&reason=&state=cancelled']) {
    const response = await get(t, app, `/job-executions?hours=24&worker=${encodeURIComponent(SHOWTIME)}&${search}`);
    t.equal(response.statusCode, 200, search);
    const page = response.json();
    t.same(page.executions, [], `${search}: no row`);
    t.equal(page.next_cursor, null);
    t.equal(page.window.hours, 24);
  }
  const reasons = (await get(t, app, `/job-executions?hours=24&worker=${encodeURIComponent(SHOWTIME)}&reason=movie%20not%20matched`)).json();
  const unknowns = (await get(t, app, `/job-executions?hours=24&worker=${encodeURIComponent(SHOWTIME)}&unknown=true`)).json();
  t.ok(reasons.executions.length > 0 && unknowns.executions.length > 0, 'each filter alone lists rows');
});

t.test('bad input is a 400 problem that names the parameter', async (t) => {
  const valid = encodeCursor({ insertedAtUs: 1n, id: 1n });
  const cases: [string, string][] = [
    ['unknown=false', 'unknown'],
    ['unknown=1', 'unknown'],
    ['state=running', 'state'],
    ['state=cancelled&state=completed', 'state'],
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['limit=1e2', 'limit'],
    ['limit=%2B5', 'limit'],
    ['hours=0', 'hours'],
    ['hours=8761', 'hours'],
    ['worker=', 'worker'],
    [`worker=${'w'.repeat(256)}`, 'worker'],
    ['reason=a%00b', 'reason'],
    ['cursor=', 'cursor'],
    ['cursor=abc', 'cursor'],
    ['cursor=%21%21%21', 'cursor'],
    [`cursor=${Buffer.from('hello').toString('base64url')}`, 'cursor'],
    [`cursor=${Buffer.from('1.0').toString('base64url')}`, 'cursor'],
    [`cursor=${Buffer.from('1.99999999999999999999').toString('base64url')}`, 'cursor'],
    [`cursor=${valid}=`, 'cursor'],
    [`cursor=${valid}&cursor=${valid}`, 'cursor'],
  ];
  for (const [search, field] of cases) {
    const response = await get(t, app, `/job-executions?${search}`);
    t.equal(response.statusCode, 400, `${search.slice(0, 60)} → 400`);
    t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8');
    t.match(response.json(), { status: 400, detail: new RegExp(field) }, `the detail names ${field}`);
  }
});

t.test('any cursor of the spec\'s shape is a position, out-of-range parts included', async (t) => {
  const cases: [string, string][] = [
    ['-999999999999999999.1', 'before PostgreSQL\'s first instant: nothing is older'],
    [`${MIN_CURSOR_US - 1n}.1`, 'one microsecond before it'],
    [`${MIN_CURSOR_US}.1`, 'the earliest time PostgreSQL holds'],
  ];
  for (const [cursor, what] of cases) {
    const response = await get(t, app, `/job-executions?hours=8760&cursor=${cursor}`);
    t.equal(response.statusCode, 200, `${cursor}: ${what}`);
    t.same(response.json<Page>().executions, [], 'an empty page');
  }
  // Past every row of the window: the same page as no cursor, whatever the id, within bigint or not.
  const first = (await get(t, app, query({ hours: 8760 }, { limit: '5' }))).json<Page>().executions.map((e) => e.id);
  const future = BigInt(Date.now() + 86_400_000) * 1000n;
  for (const id of ['1', '-9223372036854775808', '9223372036854775807', '9999999999999999999', '-9999999999999999999']) {
    const page = (await get(t, app, query({ hours: 8760 }, { limit: '5', cursor: `${future}.${id}` }))).json<Page>();
    t.same(page.executions.map((e) => e.id), first, `id ${id}: every row is before it`);
  }
});

t.test('rows with ids at and beyond the identity\'s range page like any other', async (t) => {
  // A plain-SQL writer may choose ids: 0, negative, and the largest bigint, all in one microsecond.
  const worker = 'Explicit.Ids.Worker';
  const ids = ['-9223372036854775808', '-5', '0', '9223372036854775807'];
  for (const [i, id] of ids.entries()) {
    await db.pool.query(sql.unsafe`
      INSERT INTO job_execution_summaries (id, job_id, worker, state, duration_ms, inserted_at)
      VALUES (${id}::bigint, ${880_000 + i}, ${worker}, 'completed', 1, date_trunc('second', now()) - interval '10 minutes')`);
  }
  const seen: number[] = [];
  let cursor: string | null = null;
  do {
    const page: Page = (await get(t, app, query({ hours: 1, worker }, { limit: '1', ...(cursor ? { cursor } : {}) }))).json<Page>();
    seen.push(...page.executions.map((e) => e.job_id));
    cursor = page.next_cursor;
  } while (cursor !== null && seen.length < 10);
  t.same(seen, [880_003, 880_002, 880_001, 880_000], 'one page each, ids descending, none lost or repeated');
  const body = (await get(t, app, query({ hours: 1, worker }, { limit: '500' }))).body;
  t.match(body, /"id":9223372036854775807,"job_id":880003,/, 'the largest bigint id to the last digit');
  t.match(body, /"id":-9223372036854775808,"job_id":880000,/, 'and the smallest');

  // A job system numbering its jobs past 2^53 (a plain-SQL writer; ingest stops at 2^53 − 1).
  await db.pool.query(sql.unsafe`
    INSERT INTO job_execution_summaries (job_id, worker, state, duration_ms, inserted_at)
    VALUES (4611686018427387905, 'Huge.Job.Ids.Worker', 'completed', 1, now() - interval '10 minutes')`);
  const huge = await get(t, app, query({ hours: 1, worker: 'Huge.Job.Ids.Worker' }));
  t.match(huge.body, /"job_id":4611686018427387905,/, 'a job id past 2^53, every digit kept');
});

t.test('a well-formed cursor from anywhere is just a position', async (t) => {
  const oldest = encodeCursor({ insertedAtUs: 0n, id: 1n });
  const page = (await get(t, app, `/job-executions?hours=8760&cursor=${oldest}`)).json<Page>();
  t.same(page.executions, [], 'nothing is older than the epoch');
});
