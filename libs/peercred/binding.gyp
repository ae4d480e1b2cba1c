# Built by `node-gyp rebuild` from this package's install script; output:
# build/Release/peercred.node (loaded by src/native.ts). C only, node_api.h only.
{
  "targets": [
    {
      "target_name": "peercred",
      "sources": ["native/peercred.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-std=c11", "-Wall", "-Wextra", "-fvisibility=hidden"]
    }
  ]
}
