#!/usr/bin/env bash
# npm run bench -- <name>: builds, ensures the local stack, runs bench/dist/<name>.js (it writes
# bench/results/<name>.json; node tools/bench-readme.mjs then renders the README's figures).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
name="${1:-}"
if [[ -z "$name" ]]; then
  echo "usage: npm run bench -- <name>   (available: workload-api signer propagation eventlog attestation)" >&2
  exit 2
fi
# shellcheck disable=SC1091
source tools/env.sh
bash tools/build.sh
exec node "bench/dist/$name.js" "${@:2}"
