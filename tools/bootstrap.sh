#!/usr/bin/env bash
# Installs npm dependencies when they are missing or older than package-lock.json.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
marker="node_modules/.package-lock.json"
if [[ ! -f "$marker" || "package-lock.json" -nt "$marker" ]]; then
  # `npm install` rather than `npm ci`: the lockfile is written on linux-x64 against a registry
  # that does not serve other platforms' optional binaries, and `npm ci` insists on them being
  # listed. With the lockfile present, `npm install` installs exactly the locked versions.
  echo "[bootstrap] installing npm dependencies" >&2
  npm install --no-audit --no-fund >&2
fi
