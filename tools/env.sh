#!/usr/bin/env bash
# Sourced by the repo's scripts: installs dependencies, ensures the local stack and exports
# its settings (NATS_URL, DATABASE_URL and, for a stack started here, NATS credentials).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/tools/bootstrap.sh"
bash "$ROOT/infra/local/stack.sh" ensure
set -a
# shellcheck disable=SC1091
source "$ROOT/.local/stack.env"
set +a
