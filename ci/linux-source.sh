#!/usr/bin/env bash
# linux-source.sh: make sure the Debian linux-source-6.1 tarball is extracted
# in the discv cache and print the path of the (pristine) source tree.
# The tree is keyed by the package version and extracted atomically; callers
# must never modify it (copy it first if patches are needed).
set -euo pipefail

me=linux-source.sh
log() { echo "$me: $*" >&2; }
die() { echo "$me: error: $*" >&2; exit 1; }

pkg=linux-source-6.1
cache="${DISCV_CACHE:-$HOME/.cache/discv}"

version=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null) ||
    die "package $pkg is not installed (run ci/install-deps.sh)"
[ -n "$version" ] || die "package $pkg is not installed (run ci/install-deps.sh)"
tarball=/usr/src/linux-source-6.1.tar.xz
[ -f "$tarball" ] || die "$tarball missing (reinstall $pkg)"

dest="$cache/src/$pkg-$version"
if [ -f "$dest/Makefile" ] && [ -d "$dest/arch/riscv" ]; then
    echo "$dest"
    exit 0
fi

mkdir -p "$cache/src"
# Leftovers of killed extractions (too old to be still running).
find "$cache/src" -mindepth 1 -maxdepth 1 -name '.extract.*' -mmin +120 \
    -exec rm -rf {} + 2>/dev/null || true
tmp=$(mktemp -d "$cache/src/.extract.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log "extracting $pkg $version (about 1 minute)..."
# tar runs in the background so that a signal to us also stops it before
# the temporary directory is removed.
tar -xJf "$tarball" -C "$tmp" &
tarpid=$!
stop_tar() {
    kill "$tarpid" 2>/dev/null
    wait "$tarpid" 2>/dev/null || true
    exit "$1"
}
trap 'stop_tar 130' INT; trap 'stop_tar 143' TERM
wait "$tarpid" || die "extracting $tarball failed"
trap - INT TERM
top=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d)
[ -n "$top" ] && [ "$(printf '%s\n' "$top" | wc -l)" -eq 1 ] && [ -f "$top/Makefile" ] ||
    die "unexpected layout in $tarball"
# Only complete trees are ever moved into place, so anything already at
# $dest is either a concurrent extraction's complete tree or foreign junk.
if ! mv -T "$top" "$dest" 2>/dev/null; then
    if [ -f "$dest/Makefile" ] && [ -d "$dest/arch/riscv" ]; then
        echo "$dest"        # another run won the race
        exit 0
    fi
    die "cannot move the extracted tree to $dest (remove it and retry)"
fi
log "extracted to $dest"
echo "$dest"
