import { isIPv6 } from 'node:net';

/**
 * libpq reads `host`, `port`, `user`, `password` and `dbname` from a URL's query as well as from its
 * parts (`postgresql:///jobs?host=/var/run/postgresql&user=metrics` is libpq's way to a Unix
 * socket); slonik's URL parser reads only `host` there, so it connected as the OS user to port
 * 5432. Moved into the URL's parts, where both drivers read them; the query's value wins, as in libpq.
 * @see https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING-URIS
 */
export function withQueryPartsMoved(url: URL): URL {
  const moved = new URL(url);
  const params = moved.searchParams;
  const take = (name: string) => {
    const value = params.get(name);
    params.delete(name);
    return value === null || value === '' ? undefined : value;
  };
  const host = take('host');
  const port = take('port');
  const user = take('user');
  const password = take('password');
  const dbname = take('dbname');
  // A socket directory is a path: percent-encoded, it is one host name to both parsers.
  if (host !== undefined) moved.hostname = encodeURIComponent(host);
  if (port !== undefined) moved.port = port;
  if (user !== undefined) moved.username = encodeURIComponent(user);
  if (password !== undefined) moved.password = encodeURIComponent(password);
  if (dbname !== undefined) moved.pathname = `/${encodeURIComponent(dbname)}`;
  return moved;
}

/** `scheme://user:secret@` followed by no host: the path, query or end comes next. */
const CREDENTIALS_WITHOUT_HOST = /^(postgres(?:ql)?:\/\/)([^@/?#]*)@(?=[/?#]|$)/i;

/**
 * DATABASE_URL as a WHATWG URL, read as libpq reads it where the two differ:
 * - `postgresql://user:secret@/db?host=/cloudsql/project:region:instance` (Google Cloud SQL's
 *   socket form) is a URL to libpq, while `new URL` refuses credentials without a host: they are
 *   moved into the query, whence `withQueryPartsMoved` puts them back beside the host;
 * - several hosts (`h1:5432,h2:5432`, or `host=a,b`) are libpq's failover list, which neither
 *   driver here reads: refused, saying so, rather than as "not a valid URL".
 * Throws a `RangeError` whose message completes "DATABASE_URL …".
 */
export function parseLibpqUrl(raw: string): URL {
  let text = raw;
  const credentials = CREDENTIALS_WITHOUT_HOST.exec(raw);
  if (credentials) {
    const [user, password] = credentials[2]!.split(/:(.*)/s, 2) as [string, string | undefined];
    const rest = raw.slice(credentials[0].length);
    const [beforeHash, hash = ''] = rest.split(/#(.*)/s, 2) as [string, string | undefined];
    const [path, query = ''] = beforeHash.split(/\?(.*)/s, 2) as [string, string | undefined];
    const params = new URLSearchParams(query);
    if (!params.has('user') && user !== '') params.set('user', decodeURIComponent(user));
    if (!params.has('password') && password !== undefined) params.set('password', decodeURIComponent(password));
    text = `${credentials[1]}${path}?${params.toString()}${hash ? `#${hash}` : ''}`;
  }
  const authority = /^[a-z]+:\/\/(?:[^@/?#]*@)?([^/?#]*)/i.exec(text)?.[1] ?? '';
  if (authority.includes(',')) throw new RangeError(`names several hosts (${authority}): libpq's failover list, which the drivers here do not read; give one host, the primary's (a cluster's read-write address)`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    const zone = /\[[^\]]*%([^\]]*)\]/.exec(authority)?.[1];
    if (zone !== undefined) throw new RangeError(`has an IPv6 zone index (%${zone}), which a URL cannot hold: give a host name or a global address`);
    throw new RangeError('is not a valid URL (expected postgres://user:password@host:port/database)');
  }
  const host = url.searchParams.get('host') ?? '';
  if (host.includes(',')) throw new RangeError(`names several hosts (host=${host}): libpq's failover list, which the drivers here do not read; give one host, the primary's (a cluster's read-write address)`);
  return url;
}

/**
 * The host and port a person would write: percent-encoded hosts (a socket directory, an IPv6
 * address as config.ts passes it on) decoded, an IPv6 address in brackets again.
 */
export function displayHost(url: URL): string {
  const host = decodeURIComponent(url.hostname);
  const shown = isIPv6(host) ? `[${host}]` : host;
  return url.port ? `${shown}:${url.port}` : shown;
}

/**
 * Where a connection string points, for messages: host and port read where the drivers read them
 * (the query's `host` and `port` too, libpq's way to a socket), never the password.
 */
export function describeTarget(raw: string): string {
  if (!URL.canParse(raw)) return 'DATABASE_URL';
  const url = withQueryPartsMoved(new URL(raw));
  const host = displayHost(url);
  return `${host === '' ? 'the default host' : host}${url.pathname}`;
}
