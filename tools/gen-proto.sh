#!/usr/bin/env bash
# Generates TypeScript from proto/ into libs/proto/src/generated (ts-proto + grpc-js),
# using the buf CLI and ts-proto plugin installed in node_modules (nothing is downloaded).
#
#   tools/gen-proto.sh            lint proto/, regenerate libs/proto/src/generated
#   tools/gen-proto.sh <dir>      generate into <dir>/generated instead (freshness check)
#
# The generated files are committed; libs/proto's generated.int.spec.ts fails when they
# are stale. Run this after editing any .proto file, then `npx tsc -b libs/proto`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/node_modules/.bin"
for tool in buf protoc-gen-ts_proto; do
  if [[ ! -x "$bin/$tool" ]]; then
    echo "gen-proto: $bin/$tool not found; run npm ci first" >&2
    exit 1
  fi
done

if [[ $# -gt 0 ]]; then
  mkdir -p "$1"
  out="$(cd "$1" && pwd)"
else
  out="$root/libs/proto/src"
fi

cd "$root/proto"
export PATH="$bin:$PATH"
buf lint
buf generate --template buf.gen.yaml -o "$out"
echo "gen-proto: wrote $out/generated"
