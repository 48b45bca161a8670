#!/usr/bin/env bash
# build-initramfs.sh OUT: build the discv guest initramfs (gzip'd newc cpio)
# at OUT: busybox from Debian trixie's riscv64 busybox-static package plus
# guest-rootfs/init as /init.  The archive is reproducible (fixed mtimes,
# owners and entry order) and is generated from a file list with the
# kernel's usr/gen_init_cpio, so no root/mknod is needed for /dev/console.
#
# Caches (DISCV_CACHE defaults to ~/.cache/discv):
#   $DISCV_CACHE/trixie/busybox-static-<version>/  busybox + versions.txt
#   $DISCV_CACHE/tools/gen_init_cpio-<linux version>
#   $DISCV_CACHE/initramfs/<key>.cpio.gz   key = hash of all inputs
# OUT is rewritten only if its content changes.  Set DISCV_REFRESH_BUSYBOX=1
# to download busybox-static again (e.g. to pick up a newer version).
set -euo pipefail
export LC_ALL=C

source "$(dirname "$0")/lib.sh"

out_arg "$@"

init="$root/guest-rootfs/init"
bbroot="$cache/trixie"
suite=trixie

[ -f "$init" ] || die "$init not found"

tmp=
cleanup() { [ -z "$tmp" ] || rm -rf "$tmp"; }
trap cleanup EXIT

# newest_busybox: print the newest complete cached busybox-static directory.
newest_busybox() {
    local d
    for d in "$bbroot"/busybox-static-*/; do
        d=${d%/}
        if [ -f "$d/busybox" ] && [ -f "$d/versions.txt" ]; then
            printf '%s\n' "$d"
        fi
    done | sort -V | tail -n 1
}

# fetch_busybox: download busybox-static from trixie into the cache.
fetch_busybox() {
    local dl version dir
    mkdir -p "$bbroot"
    dl=$(mktemp -d "$bbroot/.fetch.XXXXXX")
    tmp=$dl
    debian_fetch "$dl/root" busybox-static
    local debs=("$dl"/root/var/cache/apt/archives/busybox-static_*.deb)
    [ -f "${debs[0]}" ] || die "busybox-static .deb not found after mmdebstrap"
    version=$(dpkg-deb -f "${debs[0]}" Version)
    mkdir -p "$dl/out"
    if [ -f "$dl/root/usr/bin/busybox" ]; then
        cp "$dl/root/usr/bin/busybox" "$dl/out/busybox"
    elif [ -f "$dl/root/bin/busybox" ]; then
        cp "$dl/root/bin/busybox" "$dl/out/busybox"
    else
        die "busybox binary not found in busybox-static $version"
    fi
    cp "$dl/root/usr/share/doc/busybox-static/copyright" "$dl/out/copyright" 2>/dev/null || true
    printf 'busybox-static %s riscv64 (Debian %s main)\n' "$version" "$suite" > "$dl/out/versions.txt"
    dir="$bbroot/busybox-static-${version//:/%3a}"
    if [ -f "$dir/busybox" ] && [ -f "$dir/versions.txt" ]; then
        log "busybox-static $version already cached"
    else
        rm -rf "$dir"
        mv "$dl/out" "$dir"
        log "cached busybox-static $version in $dir"
    fi
    rm -rf "$dl"
    tmp=
}

mkdir -p "$bbroot"
bbdir=$(newest_busybox)
if [ -z "$bbdir" ] || [ "${DISCV_REFRESH_BUSYBOX:-0}" = 1 ]; then
    exec 9>"$bbroot/lock"
    flock 9
    bbdir=$(newest_busybox)
    if [ -z "$bbdir" ] || [ "${DISCV_REFRESH_BUSYBOX:-0}" = 1 ]; then
        fetch_busybox
        bbdir=$(newest_busybox)
    fi
    exec 9>&-
fi
[ -n "$bbdir" ] || die "no busybox-static in $bbroot"
busybox="$bbdir/busybox"

desc=$(file -b "$busybox")
case "$desc" in
    *"ELF 64-bit"*"RISC-V"*"statically linked"*|*"ELF 64-bit"*"RISC-V"*"static-pie linked"*) ;;
    *) die "$busybox is not a static RISC-V 64 binary: $desc" ;;
esac

# Small files generated here.
passwd='root:x:0:0:root:/root:/bin/sh'
group='root:x:0:'

# gen_init_cpio file list; entries sorted by path (parents first). @S@ is
# the staging directory, substituted later.
list=$(cat <<'LIST'
dir /bin 0755 0 0
file /bin/busybox @S@/busybox 0755 0 0
slink /bin/sh busybox 0777 0 0
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
dir /etc 0755 0 0
file /etc/group @S@/group 0644 0 0
file /etc/hosts @S@/hosts 0644 0 0
file /etc/passwd @S@/passwd 0644 0 0
file /init @S@/init 0755 0 0
dir /proc 0555 0 0
dir /root 0700 0 0
dir /sbin 0755 0 0
dir /sys 0555 0 0
dir /tmp 1777 0 0
dir /usr 0755 0 0
dir /usr/bin 0755 0 0
dir /usr/sbin 0755 0 0
LIST
)

lsver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null) && [ -n "$lsver" ] ||
    die "package linux-source-6.1 is not installed (run ci/install-deps.sh)"

key=$(
    {
        printf 'discv initramfs v1, gen_init_cpio from linux-source-6.1 %s\n' "$lsver"
        printf '%s\n' "$list"
        printf '%s\n%s\n' "$passwd" "$group"
        sha256sum < "$init"
        sha256sum < "$root/guest-rootfs/hosts"
        sha256sum < "$busybox"
    } | sha256sum | cut -c1-16
)
cached="$cache/initramfs/$key.cpio.gz"

install_out() {
    mkdir -p "$(dirname "$out")"
    if cmp -s "$cached" "$out"; then
        log "$out is up to date (initramfs $key)"
        return 0
    fi
    cp "$cached" "$out.tmp.$$"
    mv -f "$out.tmp.$$" "$out"
    log "wrote $out (initramfs $key, $(basename "$bbdir"))"
}

if [ -f "$cached" ]; then
    install_out
    exit 0
fi

# gen_init_cpio, built natively from the kernel source.
tool="$cache/tools/gen_init_cpio-$lsver"
if [ ! -x "$tool" ]; then
    command -v gcc >/dev/null || die "gcc not found (run ci/install-deps.sh)"
    src=$("$here/linux-source.sh")
    mkdir -p "$cache/tools"
    log "building gen_init_cpio"
    gcc -O2 -o "$tool.tmp.$$" "$src/usr/gen_init_cpio.c" ||
        die "building $src/usr/gen_init_cpio.c failed"
    mv -f "$tool.tmp.$$" "$tool"
fi

log "packing initramfs $key..."
tmp=$(mktemp -d "${TMPDIR:-/tmp}/discv-initramfs.XXXXXX")
stage="$tmp/stage"
mkdir -p "$stage"
cp "$busybox" "$stage/busybox"
cp "$init" "$stage/init"
cp "$root/guest-rootfs/hosts" "$stage/hosts"
printf '%s\n' "$passwd" > "$stage/passwd"
printf '%s\n' "$group" > "$stage/group"
touch -h -d @0 "$stage"/*                 # file mtimes come from the files
printf '%s\n' "${list//@S@/$stage}" > "$tmp/list"
"$tool" -t 0 "$tmp/list" > "$tmp/initramfs.cpio" || die "gen_init_cpio failed"
gzip -9 -n < "$tmp/initramfs.cpio" > "$tmp/initramfs.cpio.gz"
mkdir -p "$cache/initramfs"
mv -f "$tmp/initramfs.cpio.gz" "$cached"
install_out
