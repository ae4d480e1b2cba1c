#!/usr/bin/env bash
# Scaffolds a workspace package: tools/new-package.sh libs/foo "type:domain,scope:shared" "description"
set -euo pipefail
dir="$1"; tags="$2"; desc="${3:-}"
name="@trustplane/$(basename "$dir")"
depth=$(echo "$dir" | awk -F/ '{print NF}')
up=$(printf '../%.0s' $(seq 1 "$depth"))
mkdir -p "$dir/src"
cat > "$dir/package.json" <<JSON
{
  "name": "$name",
  "version": "0.1.0",
  "private": true,
  "description": "$desc",
  "main": "dist/index.js",
  "types": "dist/index.d.ts"
}
JSON
cat > "$dir/tsconfig.json" <<JSON
{
  "extends": "${up}tsconfig.base.json",
  "compilerOptions": { "rootDir": "src", "outDir": "dist", "tsBuildInfoFile": "dist/.tsbuildinfo" },
  "include": ["src/**/*.ts"],
  "references": []
}
JSON
tagjson=$(echo "$tags" | awk -F, '{for(i=1;i<=NF;i++){printf "%s\"%s\"", (i>1?", ":""), $i}}')
cat > "$dir/project.json" <<JSON
{
  "name": "$(basename "$dir")",
  "\$schema": "${up}node_modules/nx/schemas/project-schema.json",
  "sourceRoot": "$dir/src",
  "projectType": "library",
  "tags": [$tagjson],
  "targets": {
    "build": { "executor": "nx:run-commands", "options": { "command": "tsc -b $dir" } },
    "test": { "executor": "nx:run-commands", "dependsOn": ["build"], "options": { "command": "node tools/run-tests.mjs $dir" } },
    "lint": { "executor": "nx:run-commands", "options": { "command": "eslint $dir" } }
  }
}
JSON
echo "created $dir ($name)"
