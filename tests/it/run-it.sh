#!/bin/sh
# Runs the integration tests (tests/it/test_*.py) against the built daemon.
# make check sets TC_BUILDDIR and TC_SRCDIR; by hand:
#   TC_BUILDDIR=$PWD TC_SRCDIR=.. ../tests/it/run-it.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${TC_SRCDIR:=$(cd "$here/../.." && pwd)}"
: "${TC_BUILDDIR:=$(pwd)}"
export TC_SRCDIR TC_BUILDDIR
if [ ! -x "$TC_BUILDDIR/tiny-cached" ]; then
    echo "run-it.sh: $TC_BUILDDIR/tiny-cached not built" >&2
    exit 99
fi
cd "$here"
exec /usr/bin/python3 -m pytest -q -p no:cacheprovider "$@" .
