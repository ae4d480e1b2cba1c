#!/usr/bin/env bash
# Installs npm dependencies with `npm ci` (exactly package-lock.json, which lists every
# platform's optional packages) when they are missing or older than the lock file. `npm ci`
# fails when package.json and the lock disagree, so a stale lock fails the run (and CI).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
marker="node_modules/.package-lock.json"
if [[ ! -f "$marker" || "package-lock.json" -nt "$marker" || "package.json" -nt "$marker" ]]; then
  echo "[bootstrap] installing npm dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund >&2
fi
