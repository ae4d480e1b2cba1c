#!/usr/bin/env bash
# `npm test`: installs what is missing, starts the local stack if needed, builds, lints and
# runs every test (unit, integration, e2e) with node's test runner.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck disable=SC1091
source tools/env.sh
bash tools/test-prereqs.sh
bash tools/build.sh
echo "[test] lint" >&2
# The module-boundary rule needs the Nx project graph.
NX_DAEMON=false NX_NO_CLOUD=true npx nx show projects >/dev/null
npx eslint . --max-warnings=0
echo "[test] running tests" >&2
node tools/run-tests.mjs "$@"
