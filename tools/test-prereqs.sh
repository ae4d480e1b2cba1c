#!/usr/bin/env bash
# External clients the e2e tests use to check our wire formats with code we did not write:
# openssl, and Debian's Python packages (grpcio, grpc-tools, PyJWT, cryptography).
set -euo pipefail
missing=()
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
/usr/bin/python3 -c 'import jwt, cryptography' 2>/dev/null || missing+=(python3-jwt python3-cryptography)
/usr/bin/python3 -c 'import grpc, grpc_tools' 2>/dev/null || missing+=(python3-grpcio python3-grpc-tools)
if ((${#missing[@]} > 0)); then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "[prereqs] installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "[prereqs] missing ${missing[*]}: install them (apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi
