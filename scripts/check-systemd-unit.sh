#!/bin/sh
# check-systemd-unit.sh: installs tiny-cache into a scratch DESTDIR and checks
# the unit as installed there:
#   systemd-analyze verify            (syntax, ExecStart exists, man page found)
#   systemd-analyze security --offline (overall exposure at most 2.0)
# Usage: scripts/check-systemd-unit.sh [BUILDDIR]   (default: the current
# folder, which must be a configured build folder). Works without systemd
# running as PID 1 (checked on systemd 252).
set -eu

builddir=${1:-.}
# systemd-analyze's --threshold is in tenths: 20 means an exposure of 2.0.
max_exposure_tenths=20

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tc-unit.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
root=$tmp/root

echo "check-systemd-unit: make install DESTDIR=$root"
make -C "$builddir" install DESTDIR="$root" >"$tmp/install.log" 2>&1 || {
    cat "$tmp/install.log"
    echo "check-systemd-unit: make install failed" >&2
    exit 1
}

unit=$(find "$root" -name tiny-cached.service -type f | head -n 1)
page=$(find "$root" -name tiny-cached.8 -type f | head -n 1)
if [ -z "$unit" ] || [ -z "$page" ]; then
    echo "check-systemd-unit: unit or man page not installed" \
        "(configure --with-systemdsystemunitdir=no?)" >&2
    exit 1
fi
unit_in_root=${unit#"$root"}

# Offline, --root makes verify resolve ExecStart= inside the DESTDIR and load
# the targets the unit depends on from there: give it the host's targets.
sysunits=$root/usr/lib/systemd/system
mkdir -p "$sysunits"
for t in /lib/systemd/system/*.target /usr/lib/systemd/system/*.target; do
    [ -f "$t" ] && [ ! -e "$sysunits/${t##*/}" ] && cp "$t" "$sysunits/"
done

# Documentation=man:tiny-cached(8) is checked with man(1) when it exists,
# against the man page just installed.
man_check=--man=no
if command -v man >/dev/null 2>&1; then
    man_check=--man=yes
    MANPATH=$(dirname "$(dirname "$page")")
    export MANPATH
fi

status=0
echo "check-systemd-unit: systemd-analyze verify $unit_in_root"
if ! systemd-analyze verify "$man_check" --root="$root" "$unit_in_root"; then
    echo "check-systemd-unit: FAIL: systemd-analyze verify" >&2
    status=1
fi

echo "check-systemd-unit: systemd-analyze security --offline=true"
if systemd-analyze security --offline=true --root="$root" \
    --threshold=$max_exposure_tenths "$unit_in_root" >"$tmp/security.txt" 2>&1
then
    tail -n 1 "$tmp/security.txt"
else
    cat "$tmp/security.txt"
    echo "check-systemd-unit: FAIL: exposure above 2.0 (or analysis failed)" >&2
    status=1
fi

[ $status -eq 0 ] && echo "check-systemd-unit: OK"
exit $status
