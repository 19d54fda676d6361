#!/usr/bin/env bash
# .ci/postgres.sh: give the test suite a real PostgreSQL server on loopback.
#
# Why: tests of `stratbox catalog import --source postgres://...` need a real
# server to talk to, and there is no Docker or systemd on CI (a fresh Debian 12 machine,
# run as root). CI sources this file before running the tests:
#
#     source .ci/postgres.sh      # sets STRATBOX_TEST_POSTGRES_URL
#
# Running it directly (`bash .ci/postgres.sh`) also works, but then the exported variable
# does not reach the shell that ran it.
#
# What it does:
#   * Fast path: if a server already answers on 127.0.0.1:$STRATBOX_PG_PORT and the
#     database stratbox_test accepts the role stratbox, export the URL and stop there.
#   * Otherwise it installs Debian's `postgresql` package when no server binaries are found
#     under /usr/lib/postgresql/*/bin. It runs `apt-get update` only if the install fails
#     without it.
#   * It creates a cluster of its own in $STRATBOX_PG_DIR (default /tmp/stratbox-pg, outside
#     the repo), owned by the `postgres` OS user. The cluster listens only on 127.0.0.1,
#     keeps its unix socket in the data dir, and trusts local and 127.0.0.1 connections and
#     nothing else. fsync is off because this is throwaway test data. The script starts the
#     cluster with `pg_ctl -w`, writing the server log to $STRATBOX_PG_DIR/server.log, and
#     restarts an existing cluster the same way.
#   * It creates the role stratbox (password stratbox, LOGIN CREATEDB) and the database
#     stratbox_test owned by it, if they are missing.
#   * It exports STRATBOX_TEST_POSTGRES_URL=postgres://stratbox:stratbox@127.0.0.1:$PORT/stratbox_test
#     and prints one line saying where the server runs.
#   * On failure it prints the tail of the server log and returns 1 (exits 1 if executed).
#
# The script is safe under `set -euo pipefail` in the caller. It changes no shell option and
# leaves behind only STRATBOX_TEST_POSTGRES_URL. The server is left running on purpose. To
# stop it:
#     runuser -u postgres -- /usr/lib/postgresql/*/bin/pg_ctl -D /tmp/stratbox-pg stop -m fast
#
# Knobs: STRATBOX_PG_DIR (data dir), STRATBOX_PG_PORT (default 55432).
# The script is not meant to be run twice at the same moment against the same data dir.

_stratbox_pg_log() { printf 'postgres.sh: %s\n' "$*" >&2; }

# Run a command as the cluster's owner. The working directory is / so that postgres does
# not complain about an unreadable cwd. File descriptors above 2 are closed, so that a
# daemon started here cannot hold a pipe of the caller open (e.g. `.ci/run | tee`).
_stratbox_pg_as_owner() {
  (
    cd / || exit 1
    _me="$BASHPID"
    for _fd in $(ls /proc/"$_me"/fd 2>/dev/null); do
      if [ "$_fd" -gt 2 ] 2>/dev/null; then eval "exec $_fd>&-" 2>/dev/null || true; fi
    done
    if [ "$(id -u)" -ne 0 ]; then
      exec env LC_ALL=C "$@"
    elif command -v runuser >/dev/null 2>&1; then
      exec runuser -u postgres -- env LC_ALL=C "$@"
    else
      exec su postgres -s /bin/sh -c 'exec env LC_ALL=C "$0" "$@"' -- "$@"
    fi
  )
}

# Print the newest /usr/lib/postgresql/<major>/bin that has postgres and initdb, or the one
# for major $1 if it is given.
_stratbox_pg_bindir() {
  local want="${1:-}" d best="" bestv=-1 v
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/postgres" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] || continue
    v="${d#/usr/lib/postgresql/}"; v="${v%/bin}"
    if [ -n "$want" ]; then
      [ "$v" = "$want" ] && { printf '%s\n' "$d"; return 0; }
      continue
    fi
    case "$v" in *[!0-9]*|'') continue ;; esac
    if [ "$v" -gt "$bestv" ]; then best="$d"; bestv="$v"; fi
  done
  [ -n "$best" ] && printf '%s\n' "$best"
}

_stratbox_pg_main() {
  local dir="${STRATBOX_PG_DIR:-/tmp/stratbox-pg}"
  local port="${STRATBOX_PG_PORT:-55432}"
  local url="postgres://stratbox:stratbox@127.0.0.1:${port}/stratbox_test"
  local logfile="$dir/server.log"
  local bindir="" major="" isready psql out
  local -x PGCONNECT_TIMEOUT=5

  case "$port" in *[!0-9]*|'') _stratbox_pg_log "bad STRATBOX_PG_PORT: '$port'"; return 1 ;; esac
  case "$dir" in /*) ;; *) _stratbox_pg_log "STRATBOX_PG_DIR must be absolute: '$dir'"; return 1 ;; esac

  # Fast path: a server is up on our port and the database is usable.
  isready="$(command -v pg_isready 2>/dev/null || true)"
  psql="$(command -v psql 2>/dev/null || true)"
  if [ -n "$isready" ] && [ -n "$psql" ] \
     && "$isready" -q -h 127.0.0.1 -p "$port" -t 3 >/dev/null 2>&1 \
     && [ "$("$psql" -X -Atq -h 127.0.0.1 -p "$port" -U stratbox -d stratbox_test \
              -c 'select 1' 2>/dev/null || true)" = 1 ]; then
    export STRATBOX_TEST_POSTGRES_URL="$url"
    echo "PostgreSQL is already running at $url"
    return 0
  fi

  # The binaries, installed from Debian if missing. A cluster that already exists uses the
  # major version it was made with.
  if [ -f "$dir/PG_VERSION" ]; then
    major="$(cat "$dir/PG_VERSION" 2>/dev/null || true)"
  fi
  bindir="$(_stratbox_pg_bindir "$major" || true)"
  if [ -z "$bindir" ] && [ -z "$major" ]; then
    if [ "$(id -u)" -ne 0 ]; then
      _stratbox_pg_log "PostgreSQL server binaries missing and not root: install the 'postgresql' package"
      return 1
    fi
    _stratbox_pg_log "installing Debian's postgresql package"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql </dev/null >/tmp/stratbox-pg-apt.log 2>&1; then
      _stratbox_pg_log "install failed without a package list update; running apt-get update"
      if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql; } \
           </dev/null >>/tmp/stratbox-pg-apt.log 2>&1; then
        tail -n 30 /tmp/stratbox-pg-apt.log >&2
        _stratbox_pg_log "apt-get install postgresql failed (log above, full log /tmp/stratbox-pg-apt.log)"
        return 1
      fi
    fi
    bindir="$(_stratbox_pg_bindir || true)"
  fi
  if [ -z "$bindir" ]; then
    _stratbox_pg_log "no PostgreSQL ${major:+$major }server binaries under /usr/lib/postgresql/*/bin"
    return 1
  fi
  isready="$bindir/pg_isready"; [ -x "$isready" ] || isready="$(command -v pg_isready)"
  psql="$bindir/psql";          [ -x "$psql" ]    || psql="$(command -v psql)"

  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    _stratbox_pg_log "OS user 'postgres' does not exist (the postgresql package creates it)"
    return 1
  fi

  # The cluster.
  if [ ! -f "$dir/PG_VERSION" ]; then
    if [ -d "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
      _stratbox_pg_log "$dir exists, is not empty and holds no cluster: remove it or set STRATBOX_PG_DIR"
      return 1
    fi
    mkdir -p "$dir" || return 1
    if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir" || return 1; fi
    chmod 700 "$dir" || return 1
    _stratbox_pg_log "initdb in $dir"
    if ! _stratbox_pg_as_owner "$bindir/initdb" -D "$dir" -U postgres --auth=trust \
           --encoding=UTF8 --no-locale --no-sync </dev/null >"$dir.initdb.log" 2>&1; then
      cat "$dir.initdb.log" >&2
      _stratbox_pg_log "initdb failed"
      return 1
    fi
    rm -f "$dir.initdb.log"
    printf '\n# Settings of .ci/postgres.sh, rewritten by it at every start.\ninclude_if_exists = '\''stratbox.conf'\''\n' \
      >>"$dir/postgresql.conf" || return 1
  elif [ "$(id -u)" -eq 0 ] && [ "$(stat -c %U "$dir")" != postgres ]; then
    chown -R postgres:postgres "$dir" || return 1
  fi

  # Rewritten each time, so the port and the loopback-only rules follow the environment.
  cat >"$dir/stratbox.conf" <<EOF || return 1
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
# Throwaway test data: trade durability for speed.
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  cat >"$dir/pg_hba.conf" <<'EOF' || return 1
# Written by .ci/postgres.sh: unix socket (inside the data dir) and 127.0.0.1 only, trust.
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 trust
host    all       all   127.0.0.1/32  trust
EOF
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir/stratbox.conf" "$dir/pg_hba.conf"; fi

  # Start it, or restart it if it runs with other settings (e.g. another port).
  if _stratbox_pg_as_owner "$bindir/pg_ctl" -D "$dir" status </dev/null >/dev/null 2>&1; then
    _stratbox_pg_log "restarting the server in $dir on 127.0.0.1:$port"
    _stratbox_pg_as_owner "$bindir/pg_ctl" -D "$dir" -l "$logfile" -w -t 60 -m fast restart \
      </dev/null >/dev/null || { _stratbox_pg_log "pg_ctl restart failed"; return 1; }
  else
    # A postmaster.pid left by a machine restart whose pid now belongs to something else.
    local pid=""
    if [ -f "$dir/postmaster.pid" ]; then
      pid="$(head -n 1 "$dir/postmaster.pid" 2>/dev/null || true)"
      if [ -z "$pid" ] || [ "$(cat /proc/"$pid"/comm 2>/dev/null || true)" != postgres ]; then
        rm -f "$dir/postmaster.pid"
      fi
    fi
    _stratbox_pg_log "starting the server in $dir on 127.0.0.1:$port"
    _stratbox_pg_as_owner "$bindir/pg_ctl" -D "$dir" -l "$logfile" -w -t 60 start \
      </dev/null >/dev/null || { _stratbox_pg_log "pg_ctl start failed"; return 1; }
  fi
  if ! "$isready" -q -h 127.0.0.1 -p "$port" -t 30 >/dev/null 2>&1; then
    _stratbox_pg_log "server started but 127.0.0.1:$port does not answer"
    return 1
  fi

  # The role and the database.
  if ! "$psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres \
         >/dev/null <<'SQL'
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'stratbox') THEN
    CREATE ROLE stratbox LOGIN CREATEDB PASSWORD 'stratbox';
  ELSE
    ALTER ROLE stratbox LOGIN CREATEDB PASSWORD 'stratbox';
  END IF;
END
$$;
SELECT 'CREATE DATABASE stratbox_test OWNER stratbox'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'stratbox_test')
\gexec
SQL
  then
    _stratbox_pg_log "could not create role stratbox / database stratbox_test"
    return 1
  fi
  out="$("$psql" -X -Atq -h 127.0.0.1 -p "$port" -U stratbox -d stratbox_test -c 'select 1' 2>&1 || true)"
  if [ "$out" != 1 ]; then
    _stratbox_pg_log "cannot connect to $url: $out"
    return 1
  fi

  export STRATBOX_TEST_POSTGRES_URL="$url"
  echo "PostgreSQL $("$psql" -X -Atq "$url" -c 'show server_version' 2>/dev/null || echo "$major") is running at $url (data dir $dir, log $logfile)"
  return 0
}

_stratbox_pg_rc=0
_stratbox_pg_main || _stratbox_pg_rc=$?
if [ "$_stratbox_pg_rc" -ne 0 ]; then
  _stratbox_pg_f="${STRATBOX_PG_DIR:-/tmp/stratbox-pg}/server.log"
  if [ -f "$_stratbox_pg_f" ]; then
    echo "postgres.sh: last lines of $_stratbox_pg_f:" >&2
    tail -n 40 "$_stratbox_pg_f" >&2 || true
  fi
  _stratbox_pg_log "PostgreSQL setup failed"
fi
unset -f _stratbox_pg_main _stratbox_pg_bindir _stratbox_pg_as_owner _stratbox_pg_log
unset _stratbox_pg_f
if [ "$_stratbox_pg_rc" -ne 0 ]; then
  unset _stratbox_pg_rc
  return 1 2>/dev/null || exit 1
fi
unset _stratbox_pg_rc
return 0 2>/dev/null || exit 0
