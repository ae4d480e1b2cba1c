#!/usr/bin/env bash
# Builds everything: generated protos (when the generator exists) and `tsc -b`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [[ -x tools/gen-proto.sh ]]; then bash tools/gen-proto.sh >&2; fi
npx tsc -b tsconfig.json
