#!/usr/bin/env bash
# build-guest-kernel.sh OUT: build the discv guest Linux kernel (Debian's
# linux-source-6.1 + guest-kernel/discv.config + guest-kernel/patches/*.patch,
# or none of them with DISCV_KERNEL_PATCHES=none)
# and copy arch/riscv/boot/Image to OUT (only if it differs).
#
# Results are cached in $DISCV_CACHE/kernel/<key>/ (DISCV_CACHE defaults to
# ~/.cache/discv), where <key> hashes the linux-source package version, the
# config fragment and the patches; a cache hit costs only a copy.  The
# pristine extracted source tree is never modified: with patches, a
# per-key patched copy is built instead.  Set DISCV_KEEP_BUILD=1 to keep the
# object tree (and patched sources) after a successful build.
set -euo pipefail
export LC_ALL=C

source "$(dirname "$0")/lib.sh"

out_arg "$@"

frag="$root/guest-kernel/discv.config"
patchdir="$root/guest-kernel/patches"
pkg=linux-source-6.1

[ -f "$frag" ] || die "config fragment $frag not found"
version=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null) && [ -n "$version" ] ||
    die "package $pkg is not installed (run ci/install-deps.sh)"

# DISCV_KERNEL_PATCHES=none builds the stock kernel (the tests that show
# discv works with an unmodified guest use it).
shopt -s nullglob
patches=("$patchdir"/*.patch)   # sorted (LC_ALL=C); empty if no directory
shopt -u nullglob
case "${DISCV_KERNEL_PATCHES:-all}" in
    all) ;;
    none) patches=() ;;
    *) die "DISCV_KERNEL_PATCHES must be all or none" ;;
esac

key=$(
    {
        printf '%s %s\n' "$pkg" "$version"
        printf '== discv.config\n'
        cat "$frag"
        for p in ${patches[@]+"${patches[@]}"}; do
            printf '== patch %s\n' "$(basename "$p")"
            cat "$p"
        done
    } | sha256sum | cut -c1-16
)
entry="$cache/kernel/$key"

# install_out FILE: copy FILE to $out unless identical; atomic replace.
install_out() {
    mkdir -p "$(dirname "$out")"
    if cmp -s "$1" "$out"; then
        log "$out is up to date (kernel $key)"
        return 0
    fi
    cp "$1" "$out.tmp.$$"
    mv -f "$out.tmp.$$" "$out"
    log "wrote $out (kernel $key)"
}

# Fast path: complete cache entry.
if [ -f "$entry/complete" ] && [ -f "$entry/Image" ]; then
    install_out "$entry/Image"
    exit 0
fi

command -v riscv64-linux-gnu-gcc >/dev/null ||
    die "riscv64-linux-gnu-gcc not found (run ci/install-deps.sh)"
command -v make >/dev/null || die "make not found (run ci/install-deps.sh)"

mkdir -p "$entry"
exec 9>"$entry/lock"
if ! flock -n 9; then
    log "waiting for another build of kernel $key to finish..."
    flock 9
fi
if [ -f "$entry/complete" ] && [ -f "$entry/Image" ]; then
    install_out "$entry/Image"
    exit 0
fi

src=$("$here/linux-source.sh")

# With patches, build from a per-key patched copy of the pristine tree.
if [ ${#patches[@]} -gt 0 ]; then
    if [ ! -f "$entry/src/.discv-patched" ]; then
        rm -rf "$entry/src" "$entry/src.tmp"
        log "copying the source tree to apply ${#patches[@]} patch(es)..."
        cp -a --reflink=auto "$src" "$entry/src.tmp"
        for p in "${patches[@]}"; do
            log "applying $(basename "$p")"
            patch -d "$entry/src.tmp" -p1 --batch --forward --quiet < "$p" ||
                die "patch $p does not apply to $pkg $version"
        done
        touch "$entry/src.tmp/.discv-patched"
        mv "$entry/src.tmp" "$entry/src"
    fi
    src="$entry/src"
fi

build="$entry/build"
logf="$entry/build.log"
mkdir -p "$build"
: > "$logf"

# run_make ARGS...: run make with its output appended to the log.  make runs
# in the background so that a signal to this script stops it too.
stop_make() {
    kill "$makepid" 2>/dev/null
    wait "$makepid" 2>/dev/null || true
    exit "$1"
}
run_make() {
    local rc=0
    "${mk[@]}" "$@" >>"$logf" 2>&1 &
    makepid=$!
    trap 'stop_make 130' INT; trap 'stop_make 143' TERM
    wait "$makepid" || rc=$?
    trap - INT TERM
    return "$rc"
}

fail() {
    log "error: $1 failed; last lines of $logf:"
    tail -n 40 "$logf" >&2
    exit 1
}

# Reproducible build identity: the build date is the source tarball's date.
export KBUILD_BUILD_USER=discv KBUILD_BUILD_HOST=discv
KBUILD_BUILD_TIMESTAMP=$(date -u -r /usr/src/linux-source-6.1.tar.xz)
export KBUILD_BUILD_TIMESTAMP
mk=(make -C "$src" O="$build" ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu-)

start=$SECONDS
log "configuring kernel $key (allnoconfig + discv.config)..."
run_make KCONFIG_ALLCONFIG="$frag" allnoconfig ||
    fail "configuring the kernel"

# Every CONFIG_X=value line of the fragment must survive dependency checks.
dropped=()
while IFS= read -r line; do
    grep -qxF -- "$line" "$build/.config" || dropped+=("$line")
done < <(grep -E '^CONFIG_[A-Za-z0-9_]+=' "$frag")
while IFS= read -r line; do
    sym=${line#\# }; sym=${sym%% *}
    grep -qE "^$sym=" "$build/.config" && dropped+=("$line")
done < <(grep -E '^# CONFIG_[A-Za-z0-9_]+ is not set' "$frag")
if [ ${#dropped[@]} -gt 0 ]; then
    log "warning: these discv.config settings did not survive Kconfig (missing dependencies?):"
    printf '%s:   %s\n' "$me" "${dropped[@]}" >&2
fi

log "building guest kernel (about 3 minutes on 2 cores)..."
run_make -j"$(nproc)" Image || fail "building the kernel"

cp "$build/arch/riscv/boot/Image" "$entry/Image.tmp"
cp "$build/vmlinux" "$entry/vmlinux"
cp "$build/System.map" "$entry/System.map"
cp "$build/.config" "$entry/config"
mv -f "$entry/Image.tmp" "$entry/Image"
touch "$entry/complete"
log "built kernel $key in $((SECONDS - start)) s ($entry)"

if [ "${DISCV_KEEP_BUILD:-0}" != 1 ]; then
    rm -rf "$build" "$entry/src"
fi

install_out "$entry/Image"
