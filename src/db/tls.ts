/**
 * TLS to PostgreSQL as libpq reads it from a connection URL and the environment, for the two
 * drivers here, which read it otherwise. node-postgres treats `sslmode=require` as verify-full
 * against Node's own CAs, so a managed server's private CA fails where psql connects; slonik's URL
 * parser throws on `prefer`, `verify-ca` and `verify-full`; and neither falls back as libpq's
 * default `prefer` does, so a URL without `sslmode` could not reach a server that accepts only TLS
 * (RDS for PostgreSQL 15 and later, by default). Hand-written for that reason: no library maps
 * libpq's rules onto Node's `tls` options.
 * @see https://www.postgresql.org/docs/current/libpq-ssl.html#LIBPQ-SSL-PROTECTION
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { getCACertificates, type ConnectionOptions } from 'node:tls';
import pg from 'pg';
import { parseLibpqUrl, withQueryPartsMoved } from './connection-url.ts';
import { causes } from './error-codes.ts';
import { applySettings, TEXT_FORMAT_SETTINGS } from './session-settings.ts';

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** One connection's TLS: false for none. */
export type Tls = false | ConnectionOptions;

export interface TlsPlan {
  /**
   * The URL for the drivers: without its TLS parameters, which they would reject or read their own
   * way, and with libpq's host, port, user, password and dbname moved out of its query.
   */
  url: string;
  mode: SslMode;
  /** What a connection tries; the second (allow, prefer) when the server refuses the first. */
  attempts: readonly Tls[];
}

/** A TLS setting that cannot be used: `${variable} ${detail}` is the whole message. */
export class TlsSettingError extends Error {
  readonly variable: string;
  readonly detail: string;
  constructor(variable: string, detail: string) {
    super(`${variable} ${detail}`);
    this.name = 'TlsSettingError';
    this.variable = variable;
    this.detail = detail;
  }
}

/** Read here, and removed from the URL handed to the drivers. */
const URL_PARAMETERS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'sslpassword', 'sslnegotiation', 'ssl', 'uselibpqcompat'];

type Env = Record<string, string | undefined>;

interface Setting {
  value: string;
  /** The variable that gave it: DATABASE_URL or one of libpq's. */
  variable: string;
  /** What the variable says, to follow its name in a message: `has sslmode=x`, `is "x"`. */
  said: string;
}

/** A parameter from the URL, else libpq's environment variable for it. */
function setting(params: URLSearchParams, env: Env, name: string, variable: string): Setting | undefined {
  const given = params.get(name);
  if (given !== null && given !== '') return { value: given, variable: 'DATABASE_URL', said: `has ${name}=${given}` };
  const fromEnv = env[variable];
  return fromEnv ? { value: fromEnv, variable, said: `is ${JSON.stringify(fromEnv)}` } : undefined;
}

/** A file libpq reads where it exists, though nothing names it. */
const byDefault = (file: string): Setting | undefined =>
  existsSync(file) ? { value: file, variable: 'DATABASE_URL', said: `leaves libpq's default file ${file}` } : undefined;

function sslMode(params: URLSearchParams, env: Env): Setting & { mode: SslMode; byDefault?: true } {
  // node-postgres's own spelling, `?ssl=true`, verifies fully against Node's CAs: kept so.
  const ssl = params.get('ssl');
  if (!params.get('sslmode') && ssl !== null) {
    const from = { value: ssl, variable: 'DATABASE_URL', said: `has ssl=${ssl}` };
    if (['true', '1'].includes(ssl)) return { ...from, mode: 'verify-full' };
    if (['false', '0'].includes(ssl)) return { ...from, mode: 'disable' };
    throw new TlsSettingError('DATABASE_URL', `has ssl=${ssl}: use sslmode=${SSL_MODES.join('|')}`);
  }
  const given = setting(params, env, 'sslmode', 'PGSSLMODE');
  if (given === undefined) return { value: 'prefer', variable: 'DATABASE_URL', said: 'has no sslmode', mode: 'prefer', byDefault: true };
  if (!(SSL_MODES as readonly string[]).includes(given.value)) {
    throw new TlsSettingError(given.variable, `${given.said}: an sslmode is one of ${SSL_MODES.join(', ')}`);
  }
  return { ...given, mode: given.value as SslMode };
}

function readPem(file: Setting, what: string): string {
  try {
    return readFileSync(file.value, 'utf8');
  } catch (error) {
    throw new TlsSettingError(file.variable, `${file.said}: cannot read that ${what} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

let trusted: string[] | undefined;
/** Node's bundled CAs and the system's (libpq's `sslrootcert=system` means the latter). */
const trustedRoots = () => (trusted ??= [...new Set([...getCACertificates('default'), ...getCACertificates('system')])]);

/**
 * libpq's reading of the URL's `sslmode`, `sslrootcert`, `sslcert`, `sslkey` and `sslpassword`
 * (else PGSSLMODE, PGSSLROOTCERT, PGSSLCERT, PGSSLKEY, then ~/.postgresql/root.crt and
 * postgresql.crt/.key where they exist). Beyond libpq: `no-verify` (node-postgres's TLS without any
 * check), and the verify modes without a root file trust Node's and the system's CAs, where libpq
 * would refuse to connect.
 */
export function tlsPlan(url: string, env: Env = process.env): TlsPlan {
  const parsed = parseLibpqUrl(url);
  const params = parsed.searchParams;
  const given = sslMode(params, env);
  const negotiation = params.get('sslnegotiation');
  if (negotiation !== null && negotiation !== 'postgres') {
    throw new TlsSettingError('DATABASE_URL', `has sslnegotiation=${negotiation}: node-postgres negotiates TLS the standard way only (sslnegotiation=postgres)`);
  }
  const home = join(env.HOME ?? homedir(), '.postgresql');
  const rootFile = setting(params, env, 'sslrootcert', 'PGSSLROOTCERT') ?? byDefault(join(home, 'root.crt'));
  const system = rootFile?.value === 'system';
  if (system && given.mode !== 'verify-full' && !given.byDefault) {
    throw new TlsSettingError(given.variable, `${given.said}, which libpq refuses with sslrootcert=system: use verify-full`);
  }
  // libpq: with a root certificate, require checks the chain as verify-ca does; `system` means verify-full.
  const mode: SslMode = system ? 'verify-full' : given.mode === 'require' && rootFile ? 'verify-ca' : given.mode;

  let certFile = setting(params, env, 'sslcert', 'PGSSLCERT');
  let keyFile = setting(params, env, 'sslkey', 'PGSSLKEY');
  if (Boolean(certFile) !== Boolean(keyFile)) {
    const one = (certFile ?? keyFile)!;
    throw new TlsSettingError(one.variable, `${one.said} alone: a client certificate (sslcert, PGSSLCERT) needs its key (sslkey, PGSSLKEY), and the key its certificate`);
  }
  if (!certFile) {
    certFile = byDefault(join(home, 'postgresql.crt'));
    keyFile = certFile && byDefault(join(home, 'postgresql.key'));
  }
  const client: ConnectionOptions = certFile && keyFile ? { cert: readPem(certFile, 'client certificate'), key: readPem(keyFile, 'client key') } : {};
  const password = params.get('sslpassword');
  if (password) client.passphrase = password;

  const encrypted: ConnectionOptions = { ...client, rejectUnauthorized: false };
  // The root certificates are read only where they are checked, as libpq does.
  const verified = (): ConnectionOptions => ({ ...client, ca: rootFile && !system ? readPem(rootFile, 'root certificate') : trustedRoots(), rejectUnauthorized: true });
  const attempts: Record<SslMode, () => readonly Tls[]> = {
    disable: () => [false],
    allow: () => [false, encrypted],
    prefer: () => [encrypted, false],
    require: () => [encrypted],
    'no-verify': () => [encrypted],
    // The chain is checked, the host name is not.
    'verify-ca': () => [{ ...verified(), checkServerIdentity: () => undefined }],
    'verify-full': () => [verified()],
  };
  for (const name of URL_PARAMETERS) params.delete(name);
  return { url: withQueryPartsMoved(parsed).toString(), mode, attempts: attempts[mode]() };
}

/** Whether the server refused this attempt's choice, so the mode's other choice may follow. */
function refused(error: unknown, tls: Tls): boolean {
  return causes(error).some((e) => {
    const { message, code } = e as { message?: string; code?: string };
    // The driver's own words (not the server's), so they do not vary with lc_messages.
    if (tls !== false) return /does not support SSL/i.test(message ?? '');
    // pg_hba.conf has no line for a connection in the clear ("… no encryption"): matched by its code
    // alone, as libpq does, since the text is translated on a server whose lc_messages is not English.
    return code === '28000';
  });
}

/** Which attempt last worked per server, so allow and prefer pay for a refusal once. */
const worked = new Map<string, Tls>();

/** A connected client: the plan's first choice, then its second if the server refuses the first. */
async function openClient(plan: TlsPlan, config: Omit<pg.ClientConfig, 'connectionString' | 'ssl'>): Promise<{ client: pg.Client; tls: Tls }> {
  const last = worked.get(plan.url);
  const order = last === undefined ? plan.attempts : [last, ...plan.attempts.filter((tls) => tls !== last)];
  for (const [i, tls] of order.entries()) {
    const client = new pg.Client({ ...config, connectionString: plan.url, ssl: tls });
    // Without a listener, a socket error while the client sits idle would end the process;
    // a query in flight still rejects with it.
    client.on('error', () => {});
    try {
      await client.connect();
      worked.set(plan.url, tls);
      return { client, tls };
    } catch (error) {
      if (i === order.length - 1 || !refused(error, tls)) throw error;
    }
  }
  throw new Error('unreachable: a plan has at least one attempt');
}

/**
 * A connected node-postgres client for `url`, its TLS as libpq would choose it. Its session reads
 * and writes times in ISO style and UTC, and doubles with every digit, as the pools' do
 * (session-settings.ts): the driver reads no other DateStyle, and `migrate status` failed on a
 * database set to 'SQL, DMY'. Set by a
 * statement rather than startup options, which PgBouncer refuses.
 */
export async function connectClient(url: string, config: Omit<pg.ClientConfig, 'connectionString' | 'ssl'> = {}): Promise<pg.Client> {
  const { client } = await openClient(tlsPlan(url), config);
  try {
    await applySettings(client, TEXT_FORMAT_SETTINGS);
  } catch (error) {
    await client.end().catch(() => {});
    throw error;
  }
  return client;
}

/** The URL for the drivers and the TLS its connections use, found with one connection where the mode leaves a choice. */
export async function resolveTls(url: string, connectionTimeoutMs: number): Promise<{ url: string; ssl: Tls }> {
  const plan = tlsPlan(url);
  if (plan.attempts.length === 1) return { url: plan.url, ssl: plan.attempts[0]! };
  const { client, tls } = await openClient(plan, { connectionTimeoutMillis: connectionTimeoutMs });
  await client.end().catch(() => {});
  return { url: plan.url, ssl: tls };
}

/** Runs `work` on a client of `url` (connectClient), closed afterwards. */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connectClient(url);
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
