#!/bin/sh
# Runs integration test files (tests/it/test_*.py) against the built daemon:
# make check runs each file as its own test (PY_LOG_COMPILER in Makefile.am)
# and sets TC_BUILDDIR and TC_SRCDIR. By hand, from the build folder:
#   TC_SRCDIR=.. ../tests/it/run-it.sh [../tests/it/test_http.py ...]
# With no file, every test file runs.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${TC_SRCDIR:=$(cd "$here/../.." && pwd)}"
: "${TC_BUILDDIR:=$(pwd)}"
export TC_SRCDIR TC_BUILDDIR
if [ ! -x "$TC_BUILDDIR/tiny-cached" ]; then
    echo "run-it.sh: $TC_BUILDDIR/tiny-cached not built" >&2
    exit 99
fi
files=
for f in "$@"; do
    files="$files $(cd "$(dirname "$f")" && pwd)/$(basename "$f")"
done
cd "$here"
# shellcheck disable=SC2086
exec /usr/bin/python3 -m pytest -q -p no:cacheprovider ${files:-.}
