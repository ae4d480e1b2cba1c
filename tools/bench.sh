#!/usr/bin/env bash
# npm run bench -- <name>: builds, ensures the local stack, runs bench/dist/<name>.js.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
name="${1:-}"
if [[ -z "$name" ]]; then
  echo "usage: npm run bench -- <name>   (available: $(ls bench/src | grep -v -e stats -e spec -e "-server" -e "-holder" | sed 's/\.ts$//' | tr '\n' ' '))" >&2
  exit 2
fi
# shellcheck disable=SC1091
source tools/env.sh
bash tools/build.sh
exec node "bench/dist/$name.js" "${@:2}"
