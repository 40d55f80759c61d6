#!/bin/sh
# Sets up, builds and starts tiny-cached on its defaults (gRPC on port 50051,
# HTTP on 8080) in the foreground. Extra arguments go to tiny-cached.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh" >/dev/null
cd "$top"
[ -x configure ] || autoreconf -fi
mkdir -p build
cd build
[ -f Makefile ] || ../configure --quiet
make -j"$(nproc)" --quiet
exec ./tiny-cached "$@"
