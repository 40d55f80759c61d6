#!/bin/sh
# Installs every Debian package the build, the tests and CI need (as root):
# .ci/deps normally, .ci/deps-norecommends without recommended packages.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
grep -v '^#' "$top/.ci/deps" | xargs apt-get install -y -qq --no-upgrade
if [ -s "$top/.ci/deps-norecommends" ]; then
    grep -v '^#' "$top/.ci/deps-norecommends" |
        xargs apt-get install -y -qq --no-upgrade --no-install-recommends
fi
