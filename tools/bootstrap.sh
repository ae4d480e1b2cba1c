#!/usr/bin/env bash
# Installs npm dependencies when they are missing or older than package-lock.json.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
marker="node_modules/.package-lock.json"
if [[ ! -f "$marker" || "package-lock.json" -nt "$marker" ]]; then
  echo "[bootstrap] installing npm dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund >&2
fi
