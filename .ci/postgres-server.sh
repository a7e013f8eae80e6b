# Sourced by .ci/run: a PostgreSQL 15 server from Debian's packages, set up as a team's existing
# database would be — its own cluster, a non-superuser role that owns the database (CREATEDB for
# the tests' databases), the en_US.UTF-8 collation, a time zone that is not UTC and TLS offered
# with a self-signed certificate as managed servers offer it — reached only by DATABASE_URL, whose
# default sslmode (prefer) then takes TLS for the service's connections. Defines
# start_debian_postgres / stop_debian_postgres and sets SERVER_URL (the service's database) and
# SERVER_ADMIN_URL (the same role, database "postgres").

PG15_BIN=/usr/lib/postgresql/15/bin
PG15_PORT=${PG15_PORT:-55415}
PG15_ROLE=job_metrics
PG15_PASSWORD=ci-only-password

start_debian_postgres() {
  if [ ! -x "$PG15_BIN/postgres" ]; then
    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql-15; } || return 1
  fi
  # Most servers sort text by a locale's rules, not by code point: the service must not depend on it.
  local locale=C.UTF-8
  if locale -a 2>/dev/null | grep -qi '^en_US\.utf-\?8$' || localedef -i en_US -c -f UTF-8 en_US.UTF-8 2>/dev/null; then
    locale=en_US.UTF-8
  fi
  PG15_DIR=$(mktemp -d /tmp/job-metrics-pg15-XXXXXX)
  chmod 755 "$PG15_DIR"
  chown postgres: "$PG15_DIR"
  printf '%s\n' "$PG15_PASSWORD" > "$PG15_DIR/pw" && chmod 644 "$PG15_DIR/pw"
  runuser -u postgres -- "$PG15_BIN/initdb" -D "$PG15_DIR/data" --locale="$locale" --encoding=UTF8 \
    --username=postgres --pwfile="$PG15_DIR/pw" --auth-local=peer --auth-host=scram-sha-256 >"$PG15_DIR/initdb.log" || return 1
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -keyout "$PG15_DIR/data/server.key" -out "$PG15_DIR/data/server.crt" 2>/dev/null || return 1
  chown postgres: "$PG15_DIR/data/server.key" "$PG15_DIR/data/server.crt" && chmod 600 "$PG15_DIR/data/server.key"
  # Embedded servers of earlier suites take free ports at random, and one may hold this port for a
  # moment (it happened once): try the next ports before giving up.
  local tries=0
  until runuser -u postgres -- "$PG15_BIN/pg_ctl" -D "$PG15_DIR/data" -l "$PG15_DIR/server.log" -w start \
    -o "-p $PG15_PORT -k $PG15_DIR -c listen_addresses=127.0.0.1 -c timezone=America/New_York -c max_connections=200 -c ssl=on"; do
    tries=$((tries + 1))
    [ "$tries" -lt 5 ] || return 1
    PG15_PORT=$((PG15_PORT + 1))
  done
  runuser -u postgres -- "$PG15_BIN/psql" -h "$PG15_DIR" -p "$PG15_PORT" -v ON_ERROR_STOP=1 -q \
    -c "CREATE ROLE $PG15_ROLE LOGIN CREATEDB PASSWORD '$PG15_PASSWORD'" \
    -c "CREATE DATABASE $PG15_ROLE OWNER $PG15_ROLE" || return 1
  SERVER_URL="postgres://$PG15_ROLE:$PG15_PASSWORD@127.0.0.1:$PG15_PORT/$PG15_ROLE"
  SERVER_ADMIN_URL="postgres://$PG15_ROLE:$PG15_PASSWORD@127.0.0.1:$PG15_PORT/postgres"
  echo "PostgreSQL $("$PG15_BIN/postgres" --version | awk '{print $3}') from Debian's packages on port $PG15_PORT ($locale, America/New_York, TLS offered)"
}

stop_debian_postgres() {
  [ -n "${PG15_DIR:-}" ] || return 0
  runuser -u postgres -- "$PG15_BIN/pg_ctl" -D "$PG15_DIR/data" -m fast -w stop >/dev/null || true
  rm -rf "$PG15_DIR"
}

# As an operator deploys: migrate, load rows, start the service, smoke-test it, ask the doctor.
operator_smoke() {
  local port log pid status=0
  DATABASE_URL="$SERVER_URL" npm run --silent migrate -- up || return 1
  DATABASE_URL="$SERVER_URL" npm run --silent seed -- --rows 20000 --days 30 || return 1
  log=$(mktemp)
  DATABASE_URL="$SERVER_URL" PORT=0 LOG_LEVEL=warn node_modules/.bin/node src/server.ts >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do
    port=$(sed -n -E 's#.*listening on http://127\.0\.0\.1:([0-9]+).*#\1#p' "$log" | head -n 1)
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if [ -z "$port" ]; then cat "$log"; kill "$pid" 2>/dev/null; return 1; fi
  node_modules/.bin/node -e 'fetch(process.argv[1]).then(async (r) => { console.log(r.status, await r.text()); process.exit(r.status === 200 ? 0 : 1); })' \
    "http://127.0.0.1:$port/health/ready" || status=1
  npm run --silent smoke -- --url "http://127.0.0.1:$port" || status=1
  # The doctor says how it connected: over TLS, which the default sslmode (prefer) took.
  DATABASE_URL="$SERVER_URL" npm run --silent doctor >"$log.doctor" || status=1
  cat "$log.doctor"
  grep -q '^PASS  database reachable: .*, over TLSv1\.[23]$' "$log.doctor" || { echo "the service did not connect over TLS"; status=1; }
  rm -f "$log.doctor"
  kill -TERM "$pid"
  wait "$pid" || status=1
  rm -f "$log"
  return $status
}
