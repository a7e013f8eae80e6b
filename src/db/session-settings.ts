import pg from 'pg';
import type { Tls } from './tls.ts';

/** A setting every session of a pool starts with: [name, value]. */
export type SessionSetting = readonly [string, string];

/**
 * Every session of the service starts with JIT compilation off. PostgreSQL JIT-compiles a statement
 * whose estimated cost passes jit_above_cost (100,000), on every execution, prepared or not; the
 * metrics queries' estimates pass it by far (≈ 300,000, mostly branches that never run), so on a
 * server built with LLVM (Debian's and the official images) a system window spent ≈ 0.5 s compiling
 * 666 functions to run for under 10 ms (docs/BENCHMARKS.md, "JIT").
 *
 * The server also sends TCP keepalives on an idle session after a minute (ignored on a Unix
 * socket): the warm connections sit idle for hours, and load balancers and NATs drop idle flows
 * silently after 4–6 minutes; a request sent on such a connection would hang.
 *
 * Values come back as text the service reads exactly, whatever the database's defaults:
 * - timestamps in ISO style and UTC: with a database's `DateStyle = 'SQL, DMY'` every read answered
 *   500 (the driver reads ISO text only), and a zone's local mean time gave old dates offsets with
 *   seconds (timestamptz.ts);
 * - doubles with every digit they need (1, PostgreSQL 12's default): with a database's
 *   `extra_float_digits = 0`, `avg` and the percentiles came back rounded to 15 digits, and at -15
 *   to one (an avg of 103.29 read as 100).
 */
export const TEXT_FORMAT_SETTINGS: readonly SessionSetting[] = [
  ['DateStyle', 'ISO'],
  ['TimeZone', 'UTC'],
  ['extra_float_digits', '1'],
];

const EVERY_SESSION: SessionSetting[] = [
  ['jit', 'off'],
  ['tcp_keepalives_idle', '60'],
  ...TEXT_FORMAT_SETTINGS,
];

/** Sets each setting on the session with set_config; a setting the server rejects throws. */
export async function applySettings(
  client: { query(text: string, values: unknown[]): Promise<unknown> },
  settings: readonly SessionSetting[],
): Promise<void> {
  for (const [name, value] of settings) await client.query('SELECT set_config($1, $2, false)', [name, value]);
}

/**
 * The metrics pool's sessions (`genericPlans`): generic plans, no parallel workers, and hash tables
 * up to 8 × work_mem. The reads that could use parallel workers are the ones over a backlog of
 * pending rows, and a parallel scan there passes every matching row through its Gather to be
 * grouped by the leader. Idle, it saved 10–25 % of such a read; beside one busy core (the fold, in a
 * backlog) it cost 10–40 % (the big worker's 24 h window over 1M pending rows: 314 against 222 ms).
 * Without them, the generic plan expects each pending row in the window to be its own (state,
 * reason, bin, part) group (179k of 1M rows; there are ≈ 2,800), finds no room for so many in a hash
 * table of 2 × 4MB, and sorts the rows on disk to group them: 962 ms against 259 ms hashed at a
 * multiplier of 4 or more. The tables hold the groups there are, a few thousand, whatever the
 * estimate (docs/BENCHMARKS.md, "Reads during a backlog").
 */
const METRICS_SESSION: SessionSetting[] = [
  ['plan_cache_mode', 'force_generic_plan'],
  ['max_parallel_workers_per_gather', '0'],
  ['hash_mem_multiplier', '8'],
];

export const sessionSettings = (genericPlans = false): SessionSetting[] => [...EVERY_SESSION, ...(genericPlans ? METRICS_SESSION : [])];

/**
 * The URL with the session settings in its `options` startup parameter. Options already in the URL
 * come after, so `options=-c jit=on` there turns JIT back on.
 */
export function withSessionOptions(url: string, genericPlans = false): string {
  const parsed = new URL(url);
  const ours = sessionSettings(genericPlans)
    .map(([name, value]) => `-c ${name}=${value}`)
    .join(' ');
  const given = parsed.searchParams.get('options');
  parsed.searchParams.set('options', given ? `${ours} ${given}` : ours);
  return parsed.toString();
}

/** The URL without its `options`, and the settings they held (`-c name=value` or `--name=value`). */
export function withoutOptions(url: string): { url: string; settings: SessionSetting[] } {
  const parsed = new URL(url);
  const given = parsed.searchParams.get('options') ?? '';
  parsed.searchParams.delete('options');
  const words = given.split(/\s+/).filter(Boolean);
  const settings: SessionSetting[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const pair = word === '-c' ? words[++i] : word.startsWith('--') ? word.slice(2) : word.startsWith('-c') ? word.slice(2) : undefined;
    const at = pair?.indexOf('=') ?? -1;
    if (pair === undefined || at < 1) {
      throw new Error(`DATABASE_URL's options "${given}" hold "${word}": only -c name=value settings can be applied behind a pooler`);
    }
    settings.push([pair.slice(0, at), pair.slice(at + 1)]);
  }
  return { url: parsed.toString(), settings };
}

/**
 * PgBouncer refuses a connection that sends a startup parameter it does not track (`options`,
 * `statement_timeout`, `idle_in_transaction_session_timeout`) with "unsupported startup parameter: …"
 * unless `ignore_startup_parameters` lists it, and then drops its value without a word.
 */
const REFUSED = /unsupported startup parameter: ?(\S*)/i;

/** A statement timeout no one sets by chance: reading it back says the startup parameters arrived. */
const PROBE_TIMEOUT_MS = 61_234;

/**
 * Why the server at `url` would not apply the startup parameters the pool sends (`url` with its
 * options, and a statement timeout): a parameter it refused, or the settings it dropped (JIT, the
 * statement timeout); undefined when they hold. One connection, closed at once; any other failure
 * is left for the pool to meet and report as it would.
 */
export async function startupParametersLost(url: string, ssl: Tls, connectionTimeoutMs: number): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, ssl, statement_timeout: PROBE_TIMEOUT_MS, connectionTimeoutMillis: connectionTimeoutMs });
  client.on('error', () => {});
  try {
    await client.connect();
    const jit = withoutOptions(url).settings.findLast(([name]) => name === 'jit')?.[1] ?? 'off';
    const { rows } = await client.query<{ timeout: string; jit: boolean }>(
      "SELECT current_setting('statement_timeout') AS timeout, current_setting('jit')::boolean = $1::boolean AS jit",
      [jit],
    );
    const kept = rows[0]!.timeout === `${PROBE_TIMEOUT_MS}ms` && rows[0]!.jit;
    return kept ? undefined : 'the startup parameters were dropped (statement_timeout, options)';
  } catch (error) {
    const refused = REFUSED.exec(error instanceof Error ? error.message : '');
    return refused ? `the server refused the startup parameter ${refused[1] || 'options'}` : undefined;
  } finally {
    await client.end().catch(() => {});
  }
}
