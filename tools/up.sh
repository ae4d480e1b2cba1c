#!/usr/bin/env bash
# `npm run up`: starts the local stack and the services, and keeps them running (Ctrl-C stops).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck disable=SC1091
source tools/env.sh
bash tools/build.sh
exec node tools/up.mjs "$@"
