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
