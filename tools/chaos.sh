#!/usr/bin/env bash
# npm run chaos [-- --scenarios a,b --rate N --seconds S --out FILE]: builds, then runs the long
# fault-injection suite (e2e/chaos/main.ts) against a private stack it starts itself: its own
# nats-server and PostgreSQL cluster (initdb/pg_ctl from /usr/lib/postgresql/*/bin), the real
# registry and signer. Prints a table per scenario and writes the results as JSON (default
# .local/chaos-results.json). Exit status 1 when an assertion fails that is not a known failure.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck disable=SC1091
source tools/env.sh
bash tools/build.sh
mkdir -p .local
args=("$@")
if [[ " ${args[*]:-} " != *" --out "* ]]; then args+=(--out .local/chaos-results.json); fi
TP_REPO_ROOT="$ROOT" exec node e2e/chaos/dist/main.js "${args[@]}"
