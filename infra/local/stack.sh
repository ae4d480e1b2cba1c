#!/usr/bin/env bash
# Local stack: NATS with JetStream and the project's bus users, and PostgreSQL.
#
#   infra/local/stack.sh ensure   runs this checkout's own nats-server (127.0.0.1:4222 when free,
#                                 else a free port) with the users and permissions of
#                                 infra/nats/permissions.json and random passwords; uses the
#                                 PostgreSQL at DATABASE_URL / DATABASE_ADMIN_URL when it answers,
#                                 otherwise starts one (installing the OS packages when missing
#                                 and root); writes .local/stack.env with the settings to use
#   infra/local/stack.sh stop     stops whatever this script started
#
# An external NATS server is used only when NATS_URL is given together with the bus users'
# credentials (TP_NATS_REGISTRY_/SIGNER_/ADMIN_ USER and PASSWORD, TP_NATS_READER_… optional):
# never just because something answers on 4222. Nothing is downloaded except Debian packages
# through apt when a server is missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCAL="$ROOT/.local"
ENV_FILE="$LOCAL/stack.env"
NATS_DIR="$LOCAL/nats"
mkdir -p "$LOCAL"

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

# The services' database, and the administrative one that tests and tools create databases from.
DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/trustplane}"
with_database() { local base="${1%%\?*}" query=""; [[ "$1" == *\?* ]] && query="?${1#*\?}"; echo "${base%/*}/$2$query"; }
DATABASE_ADMIN_URL="${DATABASE_ADMIN_URL:-$(with_database "$DATABASE_URL" postgres)}"

host_of() { local rest="${1#*://}"; rest="${rest##*@}"; rest="${rest%%/*}"; echo "${rest%%:*}"; }
port_of() { local rest="${1#*://}"; rest="${rest##*@}"; rest="${rest%%/*}"; [[ "$rest" == *:* ]] && echo "${rest##*:}" || echo "$2"; }

tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

nats_answers() {
  local host port banner
  host="$(host_of "$1")"; port="$(port_of "$1" 4222)"
  tcp_open "$host" "$port" || return 1
  banner="$(timeout 2 bash -c "exec 3<>/dev/tcp/$host/$port; head -n 1 <&3" 2>/dev/null || true)"
  [[ "$banner" == INFO* ]] && [[ "$banner" == *'"jetstream":true'* ]]
}

pg_answers() {
  command -v pg_isready >/dev/null 2>&1 && pg_isready -q -d "$1" -t 2 && return 0
  tcp_open "$(host_of "$1")" "$(port_of "$1" 5432)"
}

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

install_package() {
  local pkg="$1"
  if [[ "$(id -u)" != 0 ]]; then die "$pkg is not installed and this is not root: install it (apt-get install $pkg) or set the URL of a running server"; fi
  command -v apt-get >/dev/null 2>&1 || die "$pkg is missing and apt-get is not available; install it or set the URL of a running server"
  log "installing $pkg from the OS packages"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null || die "apt-get install $pkg failed"
}

# The bus users and their passwords (0600), kept across runs.
nats_credentials() {
  mkdir -p "$NATS_DIR"; chmod 700 "$NATS_DIR"
  node "$ROOT/tools/nats-conf.mjs" credentials "$NATS_DIR/credentials.env"
}

own_nats_running() {
  local pid
  [[ -f "$NATS_DIR/pid" ]] || return 1
  pid="$(cat "$NATS_DIR/pid")"
  kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "nats-server -c $NATS_DIR/nats.conf"
}

# Renders the configuration; a running server of ours reloads it when it changed (SIGHUP).
render_nats_conf() {
  local port="$1" next="$NATS_DIR/nats.conf.next"
  node "$ROOT/tools/nats-conf.mjs" render --port "$port" --store "$NATS_DIR/store" \
    --credentials "$NATS_DIR/credentials.env" --out "$next"
  if cmp -s "$next" "$NATS_DIR/nats.conf" 2>/dev/null; then rm -f "$next"; return 1; fi
  mv "$next" "$NATS_DIR/nats.conf"; chmod 600 "$NATS_DIR/nats.conf"
}

start_nats() {
  command -v nats-server >/dev/null 2>&1 || install_package nats-server
  local port
  mkdir -p "$NATS_DIR/store"
  nats_credentials
  if own_nats_running; then
    port="$(cat "$NATS_DIR/port")"
    if render_nats_conf "$port"; then
      log "reloading nats-server on 127.0.0.1:$port (the bus users changed)"
      kill -HUP "$(cat "$NATS_DIR/pid")"
    else
      log "using this checkout's nats-server on 127.0.0.1:$port"
    fi
  else
    port=4222
    tcp_open 127.0.0.1 "$port" && port="$(free_port)"
    render_nats_conf "$port" || true
    log "starting nats-server (JetStream, the project's bus users) on 127.0.0.1:$port"
    nohup nats-server -c "$NATS_DIR/nats.conf" -l "$NATS_DIR/nats.log" >/dev/null 2>&1 &
    echo $! > "$NATS_DIR/pid"
    echo "$port" > "$NATS_DIR/port"
  fi
  NATS_URL="nats://127.0.0.1:$port"
  for _ in $(seq 1 50); do nats_answers "$NATS_URL" && break; sleep 0.1; done
  nats_answers "$NATS_URL" || die "nats-server did not start; see $NATS_DIR/nats.log"
  echo "$NATS_URL" > "$NATS_DIR/url"
  # shellcheck disable=SC1091
  source "$NATS_DIR/credentials.env"
}

# NATS_URL plus credentials from the caller name an external server (not one of ours).
external_nats_given() {
  [[ -n "${NATS_URL:-}" && -n "${TP_NATS_ADMIN_PASSWORD:-}" ]] || return 1
  [[ "$NATS_URL" != "$(cat "$NATS_DIR/url" 2>/dev/null)" ]]
}

use_external_nats() {
  local name missing=()
  for name in REGISTRY SIGNER ADMIN; do
    local user="TP_NATS_${name}_USER" password="TP_NATS_${name}_PASSWORD"
    [[ -n "${!user:-}" && -n "${!password:-}" ]] || missing+=("$user/$password")
  done
  ((${#missing[@]} == 0)) || die "NATS_URL=$NATS_URL is given but not ${missing[*]}: give every bus user's credentials, or unset NATS_URL to run this checkout's own server"
  nats_answers "$NATS_URL" || die "no JetStream-enabled NATS answers at $NATS_URL"
  log "using the NATS server at $NATS_URL (credentials from the environment)"
}

pg_bindir() {
  local d
  for d in /usr/lib/postgresql/*/bin; do [[ -x "$d/initdb" ]] && { echo "$d"; return 0; }; done
  return 1
}

start_postgres() {
  local bindir dir="$LOCAL/pg" port owner=""
  # A Debian cluster that exists but is stopped: start it.
  if command -v pg_lsclusters >/dev/null 2>&1 && [[ "$(id -u)" == 0 ]]; then
    local line
    line="$(pg_lsclusters -h 2>/dev/null | awk -v p="$(port_of "$DATABASE_URL" 5432)" '$3==p {print $1" "$2; exit}')"
    if [[ -n "$line" ]]; then
      log "starting PostgreSQL cluster $line"
      # shellcheck disable=SC2086
      pg_ctlcluster --skip-systemctl-redirect $line start >/dev/null 2>&1 || true
      for _ in $(seq 1 50); do pg_answers "$DATABASE_ADMIN_URL" && return 0; sleep 0.2; done
    fi
  fi
  bindir="$(pg_bindir)" || { install_package postgresql; bindir="$(pg_bindir)" || die "PostgreSQL binaries not found after install"; }
  if [[ "$(id -u)" == 0 ]]; then owner=postgres; id postgres >/dev/null 2>&1 || useradd --system --home "$dir" postgres; fi
  run_pg() { if [[ -n "$owner" ]]; then runuser -u "$owner" -- "$@"; else "$@"; fi; }
  mkdir -p "$dir"; [[ -n "$owner" ]] && chown -R "$owner" "$dir"
  if [[ ! -f "$dir/data/PG_VERSION" ]]; then
    log "initializing a PostgreSQL cluster in $dir/data (trust auth, local only)"
    run_pg "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust >/dev/null
  fi
  port="$(port_of "$DATABASE_ADMIN_URL" 5432)"
  tcp_open 127.0.0.1 "$port" && port="$(free_port)"
  log "starting PostgreSQL on 127.0.0.1:$port"
  run_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -o "-p $port -k /tmp -c listen_addresses=127.0.0.1" -w start >/dev/null \
    || die "PostgreSQL did not start; see $dir/postgres.log"
  echo "$bindir" > "$dir/bindir"
  DATABASE_URL="postgres://postgres@127.0.0.1:$port/trustplane"
  DATABASE_ADMIN_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

# KEY=value lines of every bus user's credentials, from the environment.
bus_credentials_lines() {
  local variable
  for variable in $(compgen -v | grep -E '^TP_NATS_[A-Z0-9_]+_(USER|PASSWORD)$' | sort); do
    echo "$variable=${!variable}"
  done
}

ensure() {
  if external_nats_given; then use_external_nats; else start_nats; fi
  if pg_answers "$DATABASE_ADMIN_URL"; then
    log "using PostgreSQL at $(host_of "$DATABASE_ADMIN_URL"):$(port_of "$DATABASE_ADMIN_URL" 5432)"
  else
    log "no PostgreSQL at $(host_of "$DATABASE_ADMIN_URL"):$(port_of "$DATABASE_ADMIN_URL" 5432)"
    start_postgres
  fi
  umask 077
  {
    echo "# Written by infra/local/stack.sh ensure. Every bus user's credentials; a service gets its own"
    echo "# pair as TP_NATS_USER/TP_NATS_PASSWORD (host-local tpctl org/token create act as the registry)."
    echo "NATS_URL=$NATS_URL"
    echo "TP_NATS_USER=$TP_NATS_REGISTRY_USER"
    echo "TP_NATS_PASSWORD=$TP_NATS_REGISTRY_PASSWORD"
    bus_credentials_lines
    echo "# The services' database, and the administrative one tests and tools create databases from."
    echo "DATABASE_URL=$DATABASE_URL"
    echo "DATABASE_ADMIN_URL=$DATABASE_ADMIN_URL"
  } > "$ENV_FILE"
  chmod 600 "$ENV_FILE"
  log "settings written to .local/stack.env"
}

stop() {
  if own_nats_running; then kill "$(cat "$NATS_DIR/pid")" 2>/dev/null || true; log "stopped nats-server"; fi
  rm -f "$NATS_DIR/pid"
  if [[ -f "$LOCAL/pg/bindir" ]]; then
    local owner=""; [[ "$(id -u)" == 0 ]] && owner=postgres
    if [[ -n "$owner" ]]; then runuser -u "$owner" -- "$(cat "$LOCAL/pg/bindir")/pg_ctl" -D "$LOCAL/pg/data" stop >/dev/null 2>&1 || true
    else "$(cat "$LOCAL/pg/bindir")/pg_ctl" -D "$LOCAL/pg/data" stop >/dev/null 2>&1 || true; fi
    log "stopped PostgreSQL"
  fi
}

case "${1:-ensure}" in
  ensure) ensure ;;
  stop) stop ;;
  *) die "usage: stack.sh ensure|stop" ;;
esac
