#!/usr/bin/env bash
# Print the path of a Verilator that cocotb 2 accepts (5.036 or newer).
#
# Uses the system one when it is new enough; otherwise builds the release that
# Debian unstable carries from its source package, once, into a per-user cache
# ($QNU_CACHE, default ~/.cache/qnu) and reuses it on every later call.
# Progress goes to stderr; stdout carries only the path, so callers can do
#   export VERILATOR_ROOT=... ; PATH="$(dirname "$(tools/verilator.sh)"):$PATH"
set -euo pipefail

MIN_VERSION=5.036
PINNED=5.048-1      # the Debian unstable release this was tested with
CACHE=${QNU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/qnu}
log() { echo "verilator.sh: $*" >&2; }

version_ok() {  # $1 = path to a verilator binary
    local v
    v=$("$1" --version 2>/dev/null | awk '{print $2}') || return 1
    [ -n "$v" ] && [ "$(printf '%s\n%s\n' "$MIN_VERSION" "$v" | sort -V | head -1)" = "$MIN_VERSION" ]
}

if command -v verilator >/dev/null && version_ok "$(command -v verilator)"; then
    command -v verilator; exit 0
fi
for bin in "$CACHE"/verilator-*/bin/verilator; do
    if [ -x "$bin" ] && version_ok "$bin"; then echo "$bin"; exit 0; fi
done

SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
src_list=/etc/apt/sources.list.d/qnu-unstable-src.list
if [ ! -f "$src_list" ]; then
    log "adding Debian unstable source packages (deb-src only, no binaries) to apt"
    echo "deb-src http://deb.debian.org/debian unstable main" | $SUDO tee "$src_list" >/dev/null
    $SUDO apt-get update -qq
fi
log "installing build dependencies"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    dpkg-dev make autoconf flex bison help2man perl python3 g++ libfl-dev zlib1g-dev >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
log "fetching the verilator source package from Debian unstable"
# The pinned release while unstable still carries it, else its current one.
apt-get source --download-only -qq "verilator=$PINNED" >/dev/null 2>&1 ||
    { log "verilator $PINNED has left unstable; taking its current release"
      apt-get source --download-only -qq verilator >/dev/null; }
dpkg-source -x --skip-patches ./verilator_*.dsc src >/dev/null
cd src
version=$(dpkg-parsechangelog -S Version | sed 's/-[^-]*$//; s/^[0-9]*://')
prefix="$CACHE/verilator-$version"
log "building Verilator $version into $prefix (5 to 10 minutes on 2 cores, once)"
autoconf >/dev/null
./configure --prefix="$prefix" >/dev/null
# Only the optimized verilator and the (small) coverage tool: a plain `make`
# also builds verilator_bin_dbg, a debug build of the whole of Verilator with
# checked STL containers that only `verilator --debug` runs, for as long again.
# The optimized binary stands in for it, as Verilator's own
# VERILATOR_NO_OPT_BUILD does the other way round.
make -C src -j"$(nproc)" opt ../bin/verilator_coverage_bin_dbg >"$work/build.log" 2>&1 ||
    { tail -40 "$work/build.log" >&2; exit 1; }
cp -p bin/verilator_bin bin/verilator_bin_dbg
make installbin installredirect installdata >/dev/null
version_ok "$prefix/bin/verilator" || { log "built Verilator is older than $MIN_VERSION"; exit 1; }
echo "$prefix/bin/verilator"
