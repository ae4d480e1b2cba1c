#!/usr/bin/env bash
# Builds everything: generated protos (when the generator exists) and `tsc -b`, after removing
# compiled files whose source is gone (so a deleted spec never runs from a stale dist/).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [[ -x tools/gen-proto.sh ]]; then bash tools/gen-proto.sh >&2; fi
node tools/prune-dist.mjs
npx tsc -b tsconfig.json
