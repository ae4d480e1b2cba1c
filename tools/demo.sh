#!/usr/bin/env bash
# `npm run demo`: installs what is missing, starts the local stack, builds, and runs the
# end-to-end demo (tools/demo.mjs) against fresh, throw-away database and stream names.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck disable=SC1091
source tools/env.sh
bash tools/build.sh
exec node tools/demo.mjs "$@"
