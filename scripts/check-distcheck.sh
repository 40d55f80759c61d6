#!/bin/sh
# check-distcheck.sh: `make distcheck` from a configured build folder. The
# release tarball is unpacked, configured with -Werror and built out of tree
# against a read-only source folder, passes make check, installs (the systemd
# unit under distcheck's own prefix: AM_DISTCHECK_CONFIGURE_FLAGS in
# Makefile.am), uninstalls without leftovers and rebuilds the same tarball.
# Usage: scripts/check-distcheck.sh [BUILDDIR]   (default: the current folder)
set -eu
builddir=${1:-.}
make -C "$builddir" -j"$(nproc)" distcheck \
    DISTCHECK_CONFIGURE_FLAGS=--enable-werror
