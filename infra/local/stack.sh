#!/usr/bin/env bash
# Local stack: NATS with JetStream and PostgreSQL.
#
#   infra/local/stack.sh ensure   use NATS_URL / DATABASE_URL when they answer, otherwise start
#                                 them (installing the OS packages when missing and root);
#                                 writes .local/stack.env with the settings to use
#   infra/local/stack.sh stop     stops whatever this script started
#
# Nothing is downloaded except Debian packages through apt when a server is missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCAL="$ROOT/.local"
ENV_FILE="$LOCAL/stack.env"
mkdir -p "$LOCAL"

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

NATS_URL="${NATS_URL:-nats://127.0.0.1:4222}"
DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

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

random_secret() { node -e 'console.log(require("crypto").randomBytes(18).toString("base64url"))'; }

start_nats() {
  command -v nats-server >/dev/null 2>&1 || install_package nats-server
  local dir="$LOCAL/nats" port
  mkdir -p "$dir/store"; chmod 700 "$dir"
  if [[ ! -f "$dir/credentials.env" ]]; then
    umask 077
    printf 'TP_NATS_USER=tp-service\nTP_NATS_PASSWORD=%s\nTP_NATS_ADMIN_USER=tp-admin\nTP_NATS_ADMIN_PASSWORD=%s\n' "$(random_secret)" "$(random_secret)" > "$dir/credentials.env"
  fi
  # shellcheck disable=SC1091
  source "$dir/credentials.env"
  port="$(port_of "$NATS_URL" 4222)"
  tcp_open 127.0.0.1 "$port" && port="$(free_port)"
  sed -e "s#{{PORT}}#$port#" -e "s#{{STORE_DIR}}#$dir/store#" \
      -e "s#{{SERVICE_PASSWORD}}#$TP_NATS_PASSWORD#" -e "s#{{ADMIN_PASSWORD}}#$TP_NATS_ADMIN_PASSWORD#" \
      "$ROOT/infra/local/nats-auth.conf.tmpl" > "$dir/nats.conf"
  chmod 600 "$dir/nats.conf"
  log "starting nats-server (JetStream, project auth) on 127.0.0.1:$port"
  nohup nats-server -c "$dir/nats.conf" -l "$dir/nats.log" >/dev/null 2>&1 &
  echo $! > "$dir/pid"
  NATS_URL="nats://127.0.0.1:$port"
  for _ in $(seq 1 50); do nats_answers "$NATS_URL" && break; sleep 0.1; done
  nats_answers "$NATS_URL" || die "nats-server did not start; see $dir/nats.log"
  NATS_CREDS_LINES="TP_NATS_USER=$TP_NATS_USER
TP_NATS_PASSWORD=$TP_NATS_PASSWORD
TP_NATS_ADMIN_USER=$TP_NATS_ADMIN_USER
TP_NATS_ADMIN_PASSWORD=$TP_NATS_ADMIN_PASSWORD"
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
      for _ in $(seq 1 50); do pg_answers "$DATABASE_URL" && return 0; sleep 0.2; done
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
  port="$(port_of "$DATABASE_URL" 5432)"
  tcp_open 127.0.0.1 "$port" && port="$(free_port)"
  log "starting PostgreSQL on 127.0.0.1:$port"
  run_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -o "-p $port -k /tmp -c listen_addresses=127.0.0.1" -w start >/dev/null \
    || die "PostgreSQL did not start; see $dir/postgres.log"
  echo "$bindir" > "$dir/bindir"
  DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

ensure() {
  NATS_CREDS_LINES=""
  if nats_answers "$NATS_URL"; then
    log "using NATS at $NATS_URL"
  else
    log "no JetStream-enabled NATS at $NATS_URL"
    start_nats
  fi
  if pg_answers "$DATABASE_URL"; then
    log "using PostgreSQL at $(host_of "$DATABASE_URL"):$(port_of "$DATABASE_URL" 5432)"
  else
    log "no PostgreSQL at $(host_of "$DATABASE_URL"):$(port_of "$DATABASE_URL" 5432)"
    start_postgres
  fi
  {
    echo "NATS_URL=$NATS_URL"
    echo "DATABASE_URL=$DATABASE_URL"
    [[ -n "$NATS_CREDS_LINES" ]] && echo "$NATS_CREDS_LINES"
  } > "$ENV_FILE"
  chmod 600 "$ENV_FILE"
  log "settings written to .local/stack.env"
}

stop() {
  if [[ -f "$LOCAL/nats/pid" ]]; then kill "$(cat "$LOCAL/nats/pid")" 2>/dev/null || true; rm -f "$LOCAL/nats/pid"; log "stopped nats-server"; fi
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
