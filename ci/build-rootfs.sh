#!/usr/bin/env bash
# build-rootfs.sh OUT: build the guests' shared base disk at OUT (e.g.
# build/guest/base.img): a raw ext4 image (4 KiB blocks, label discv-base,
# fixed UUID) of a small Debian 13 "trixie" riscv64 root file system with
# busybox (applet links made here), fio, iperf3, the NFS server and client
# (nfs-kernel-server, nfs-common, rpcbind, with netbase and libtirpc-common
# for /etc/services and /etc/netconfig), the shared libraries they load,
# guest-rootfs/init as both /sbin/init and /init, guest-rootfs/hosts as
# /etc/hosts and guest-rootfs/nfs-serve and nfs-mount in /usr/sbin.
#
# Package set: mmdebstrap --variant=extract downloads the packages in $pkgs
# *and their hard dependencies* (apt resolves them); only the packages named
# in $pkgs are unpacked into the tree, with dpkg-deb -x.  $pkgs is busybox-
# static, fio, iperf3 and the closure of the ELF NEEDED entries of fio and
# iperf3: Debian's fio also depends on python3, init-system-helpers, ... (for
# its helper scripts and service file), which would double the tree (~125 MB
# instead of ~60 MB) for nothing the guests run.  The build checks that every
# library fio, iperf3 and the NFS programs ($closure_only) need is in the
# tree and runs `fio --version` and `iperf3 --version` under
# qemu-riscv64-static; a trixie update that adds a library makes it fail
# with the missing soname, to be added to $pkgs.
#
# Reproducible: fixed mtimes (SOURCE_DATE_EPOCH, default: the newest file in
# the packages), a private mke2fs.conf, fixed UUID and directory hash seed,
# E2FSPROGS_FAKE_TIME for the superblock/root times, and debugfs to set the
# inode ctimes and atimes that mke2fs -d copies from the staging tree.
# Two builds from the same package versions are byte-identical.
#
# Writes OUT, OUT.versions ("package version" lines) and OUT.sha256
# (sha256sum format); each is rewritten only if its content changes.
# Cache: $DISCV_CACHE/rootfs/<key>/ (DISCV_CACHE defaults to ~/.cache/discv),
# key = sha256 of this script (which holds the package list) and of
# guest-rootfs/init, hosts, nfs-serve and nfs-mount.  A cold build downloads the current trixie versions;
# DISCV_REFRESH_ROOTFS=1 rebuilds even when cached (e.g. to pick up a newer
# point release).
set -euo pipefail
export LC_ALL=C
umask 022

source "$(dirname "$0")/lib.sh"

out_arg "$@"

script="$here/$me"
init="$root/guest-rootfs/init"
suite=trixie

# Packages unpacked into the image (see the header).  Sorted.
pkgs=(
    busybox-static fio iperf3
    libmount1 libsystemd0 libtirpc-common libwrap0 netbase nfs-common nfs-kernel-server
    rpcbind
    libacl1 libaio1t64 libatomic1 libblkid1 libboost-iostreams1.83.0
    libboost-thread1.83.0 libbz2-1.0 libc6 libcap2 libcom-err2
    libcryptsetup12 libdevmapper1.02.1 libffi8 libfmt10 libgcc-s1 libgfapi0
    libgfrpc0 libgfxdr0 libglusterfs0 libgmp10 libgnutls30t64
    libgssapi-krb5-2 libhogweed6t64 libibverbs1 libidn2-0 libiperf0
    libjson-c5 libk5crypto3 libkeyutils1 libkrb5-3 libkrb5support0 liblzma5
    libnbd0 libnettle8t64 libnfs14 libnl-3-200 libnl-route-3-200 libnuma1
    libp11-kit0 libpcre2-8-0 librados2 librbd1 librdmacm1t64 libsctp1
    libselinux1 libssl3t64 libstdc++6 libtasn1-6 libtirpc3t64 libudev1
    libunistring5 libuuid1 libxml2 libzstd1 zlib1g
)
# Programs whose shared-library closure must be complete, and which are run
# (--version) under qemu-user as a smoke test.
progs=(usr/bin/fio usr/bin/iperf3)
# Programs whose closure must be complete but which have no --version.
closure_only=(usr/sbin/rpcbind usr/sbin/rpc.mountd usr/sbin/rpc.nfsd usr/sbin/exportfs
    usr/sbin/mount.nfs)

fs_uuid=5d1c5a5e-0d15-4c0e-9b5e-000000000001   # also the htree hash seed
fs_label=discv-base
headroom_mib=64
align_mib=4

[ -f "$init" ] || die "$init not found"

key=$(
    {
        printf 'discv base disk v1\n'
        sha256sum < "$script"
        sha256sum < "$init"
        cat "$root"/guest-rootfs/{hosts,nfs-serve,nfs-mount}
        printf '%s\n' "${pkgs[@]}"
    } | sha256sum | cut -c1-16
)
kdir="$cache/rootfs/$key"

# install_file SRC DST: copy SRC to DST unless DST already has that content.
install_file() {
    local src=$1 dst=$2
    if cmp -s "$src" "$dst"; then
        return 1
    fi
    cp --reflink=auto "$src" "$dst.tmp.$$"
    mv -f "$dst.tmp.$$" "$dst"
}

install_out() {
    mkdir -p "$(dirname "$out")"
    local changed=0 sum
    install_file "$kdir/base.img" "$out" && changed=1
    install_file "$kdir/base.img.versions" "$out.versions" || true
    sum=$(cat "$kdir/base.img.sha256")
    printf '%s  %s\n' "$sum" "$(basename "$out")" > "$out.sha256.new.$$"
    install_file "$out.sha256.new.$$" "$out.sha256" || true
    rm -f "$out.sha256.new.$$"
    if [ $changed = 1 ]; then
        log "wrote $out (base disk $key, sha256 ${sum:0:16}...)"
    else
        log "$out is up to date (base disk $key)"
    fi
}

cached() {
    [ -f "$kdir/base.img" ] && [ -f "$kdir/base.img.versions" ] &&
        [ -f "$kdir/base.img.sha256" ]
}

if cached && [ "${DISCV_REFRESH_ROOTFS:-0}" != 1 ]; then
    install_out
    exit 0
fi

# ---------------------------------------------------------------------------
# Cold build.
for t in mmdebstrap dpkg-deb mkfs.ext4 debugfs dumpe2fs e2fsck readelf \
         qemu-riscv64-static flock; do
    command -v "$t" >/dev/null || die "$t not found (run ci/install-deps.sh)"
done

mkdir -p "$cache/rootfs"
exec 9>"$cache/rootfs/lock"
flock 9
if cached && [ "${DISCV_REFRESH_ROOTFS:-0}" != 1 ]; then
    install_out           # built by another process meanwhile
    exit 0
fi

t0=$(date +%s)
tmp=$(mktemp -d "$cache/rootfs/.build.XXXXXX")
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT
dl="$tmp/dl"        # mmdebstrap's scratch tree (all packages + deps)
tree="$tmp/root"    # the image's tree
mkdir -p "$tree"

debian_fetch "$dl" "${pkgs[@]}"

log "unpacking ${#pkgs[@]} packages"
archives="$dl/var/cache/apt/archives"
: > "$tmp/versions"
for p in "${pkgs[@]}"; do
    debs=("$archives/${p}"_*_riscv64.deb "$archives/${p}"_*_all.deb)
    deb=
    for d in "${debs[@]}"; do
        [ -f "$d" ] || continue
        [ "$(dpkg-deb -f "$d" Package)" = "$p" ] || continue
        [ -z "$deb" ] || die "several .debs for $p in the download"
        deb=$d
    done
    [ -n "$deb" ] || die "package $p was not downloaded (not in $suite main for riscv64?)"
    dpkg-deb -x "$deb" "$tree"
    printf '%s %s\n' "$p" "$(dpkg-deb -f "$deb" Version)" >> "$tmp/versions"
done
rm -rf "$dl"

# Reference time: the newest file shipped by the packages, unless given.
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
    epoch=$SOURCE_DATE_EPOCH
else
    # (not directories: unpacking several packages into one updates those)
    epoch=$(find "$tree" -xdev ! -type d -printf '%T@\n' | cut -d. -f1 | sort -n | tail -n 1)
fi
[[ $epoch =~ ^[0-9]+$ ]] || die "bad SOURCE_DATE_EPOCH: $epoch"

# Documentation, manuals and translations are of no use in the guests; the
# copyright files stay.
find "$tree/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete
find "$tree/usr/share/doc" -mindepth 1 -depth -type d -empty -delete
rm -rf "$tree/usr/share/man" "$tree/usr/share/info" "$tree/usr/share/locale" \
       "$tree/usr/share/lintian" "$tree/usr/share/bug"

# Merged /usr (in trixie, base-files ships these links; it is not needed).
for d in bin sbin lib; do
    mkdir -p "$tree/usr/$d"
    ln -sfn "usr/$d" "$tree/$d"
done
[ -e "$tree/lib/ld-linux-riscv64-lp64d.so.1" ] || die "dynamic loader missing from the tree"

# Skeleton.
install -d -m 0755 "$tree/dev" "$tree/etc" "$tree/mnt" "$tree/run" "$tree/var" "$tree/var/tmp"
install -d -m 0555 "$tree/proc" "$tree/sys"
install -d -m 0700 "$tree/root"
install -d -m 1777 "$tree/tmp"
chmod 1777 "$tree/var/tmp"
# _rpc and statd: rpcbind and rpc.statd drop to them (no postinst ran).
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
    '_rpc:x:100:65534::/run/rpcbind:/usr/sbin/nologin' \
    'statd:x:101:65534::/var/lib/nfs:/usr/sbin/nologin' \
    'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin' > "$tree/etc/passwd"
printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' > "$tree/etc/group"
printf 'discv-guest\n' > "$tree/etc/hostname"
printf '# / is mounted by the kernel (root=/dev/vda); /init mounts /proc /dev /sys /tmp.\n' \
    > "$tree/etc/fstab"
install -m 0644 "$root/guest-rootfs/hosts" "$tree/etc/hosts"
install -m 0755 "$root/guest-rootfs/nfs-serve" "$tree/usr/sbin/nfs-serve"
install -m 0755 "$root/guest-rootfs/nfs-mount" "$tree/usr/sbin/nfs-mount"
install -d "$tree/var/lib/nfs/sm" "$tree/var/lib/nfs/sm.bak" "$tree/run"
: > "$tree/etc/exports"
chmod 0644 "$tree"/etc/{passwd,group,hostname,fstab,hosts}
install -m 0755 "$init" "$tree/usr/sbin/init"
install -m 0755 "$init" "$tree/init"

# busybox applet links, from the binary's own list (run under qemu-user), so
# that init's `busybox --install -s` finds them all and writes nothing.
# Files from the packages (and /sbin/init) win over applets of the same name.
bb="$tree/usr/bin/busybox"
[ -x "$bb" ] || die "busybox not found in busybox-static"
applets=$(qemu-riscv64-static "$bb" --list-full) || die "qemu-riscv64-static $bb --list-full failed"
nlinks=0
while read -r a; do
    case "$a" in
        bin/*|usr/bin/*) dst="usr/bin/${a##*/}" ;;
        sbin/*|usr/sbin/*) dst="usr/sbin/${a##*/}" ;;
        */*) die "unexpected busybox applet path $a" ;;
        *) dst=$a ;;       # linuxrc
    esac
    if [ -e "$tree/$dst" ] || [ -L "$tree/$dst" ]; then
        continue
    fi
    ln -s /usr/bin/busybox "$tree/$dst"
    nlinks=$((nlinks + 1))
done <<< "$applets"
[ -L "$tree/usr/bin/sh" ] || die "busybox did not provide sh"
log "created $nlinks busybox applet links"

# Every shared library that fio and iperf3 load must be in the tree.
# resolve SONAME RUNPATH...: print the tree path of SONAME or fail.
resolve() {
    local so=$1 d
    shift
    for d in "$@" /usr/lib/riscv64-linux-gnu /usr/lib; do
        if [ -e "$tree$d/$so" ]; then
            printf '%s\n' "$d/$so"
            return 0
        fi
    done
    return 1
}
declare -A seen=()
queue=("${progs[@]/#//}" "${closure_only[@]/#//}")
missing=()
while [ ${#queue[@]} -gt 0 ]; do
    f=${queue[0]}
    queue=("${queue[@]:1}")
    [ -z "${seen[$f]:-}" ] || continue
    seen[$f]=1
    [ -e "$tree$f" ] || die "$f missing from the tree"
    dyn=$(readelf -d "$tree$f") || die "readelf -d $f failed"
    rpath=$(sed -n 's/.*(R\(UN\)\{0,1\}PATH).*\[\(.*\)\]/\2/p' <<< "$dyn" | tr ':' ' ')
    rpath=${rpath//\$ORIGIN/$(dirname "$f")}
    for so in $(sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' <<< "$dyn"); do
        # shellcheck disable=SC2086
        if g=$(resolve "$so" $rpath); then
            queue+=("$g")
        else
            missing+=("$so (needed by $f)")
        fi
    done
done
if [ ${#missing[@]} -gt 0 ]; then
    printf '%s: error: missing from the tree: %s\n' "$me" "${missing[@]}" >&2
    die "add the packages that ship these libraries to pkgs in $me"
fi
for p in "${progs[@]}"; do
    v=$(qemu-riscv64-static -L "$tree" "$tree/$p" --version 2>&1 | head -n 1) ||
        die "$p --version failed under qemu-riscv64-static: $v"
    log "check: $v"
done

# Fixed timestamps.
find "$tree" -xdev -exec touch -h -d "@$epoch" {} +

# mke2fs with a private configuration (the host's mke2fs.conf would choose
# 1 KiB blocks for small images, and other e2fsprogs versions other
# features), fixed UUID, hash seed and times; discard off and inode tables
# and journal zeroed now, so nothing depends on the host file system and
# the guest kernel has no lazy init to do.
cat > "$tmp/mke2fs.conf" <<'EOF'
[defaults]
	base_features = sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr
	default_mntopts = acl,user_xattr
	enable_periodic_fsck = 0
	blocksize = 4096
	inode_size = 256
	inode_ratio = 16384

[fs_types]
	ext4 = {
		features = has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize
	}
EOF
export MKE2FS_CONFIG="$tmp/mke2fs.conf" E2FSPROGS_FAKE_TIME=$epoch
unset MKE2FS_DEVICE_SECTSIZE MKE2FS_DEVICE_PHYS_SECTSIZE MKE2FS_SYNC MKE2FS_FIRST_META_BG

# mkimg FILE MIB: make the file system in a new FILE of MIB MiB.
mkimg() {
    rm -f "$1"
    truncate -s "${2}M" "$1"
    mkfs.ext4 -q -F -t ext4 -T ext4 -b 4096 -m 0 -L "$fs_label" -U "$fs_uuid" \
        -E "hash_seed=$fs_uuid,root_owner=0:0,nodiscard,lazy_itable_init=0,lazy_journal_init=0" \
        -d "$tree" "$1" > "$tmp/mkfs.log" 2>&1 || {
        cat "$tmp/mkfs.log" >&2
        die "mkfs.ext4 failed"
    }
}
# sb FIELD FILE: a number from the superblock.
sb() { dumpe2fs -h "$2" 2>/dev/null | sed -n "s/^$1: *//p"; }

# Pass 1 in a generous image measures the space the tree takes; pass 2 makes
# the final image: used + headroom, rounded up.
kib=$(du -s -k --apparent-size "$tree" | cut -f1)
files=$(find "$tree" -xdev | wc -l)
mib1=$(( (kib * 2 + files * 4) / 1024 + 64 + headroom_mib ))
log "making the file system ($((kib / 1024)) MiB in $files files)"
mkimg "$tmp/pass1.img" "$mib1"
used=$(( $(sb 'Block count' "$tmp/pass1.img") - $(sb 'Free blocks' "$tmp/pass1.img") ))
mib=$(( (used * 4096 / 1048576 + headroom_mib + align_mib - 1) / align_mib * align_mib ))
rm -f "$tmp/pass1.img"
img="$tmp/base.img"
mkimg "$img" "$mib"

# mke2fs -d copies ctime and atime from the staging files (ctime cannot be
# set there): set both to the reference time in every inode in use >= 11.
icount=$(sb 'Inode count' "$img")
dumpe2fs "$img" 2>/dev/null | sed -n 's/^ *Free inodes: *//p' | tr ',' '\n' |
    awk -v n="$icount" '
        { gsub(/ /, ""); if ($0 == "") next
          split($0, r, "-"); lo = r[1]; hi = (r[2] == "" ? r[1] : r[2])
          for (i = lo; i <= hi; i++) free[i] = 1 }
        END { for (i = 11; i <= n; i++) if (!(i in free)) print i }' > "$tmp/inodes"
[ -s "$tmp/inodes" ] || die "no inodes in use found in $img"
awk -v t="$epoch" '{ printf "sif <%d> ctime @%s\nsif <%d> atime @%s\n", $1, t, $1, t }' \
    "$tmp/inodes" > "$tmp/debugfs.cmd"
debugfs -w -f "$tmp/debugfs.cmd" "$img" > "$tmp/debugfs.log" 2>&1 ||
    { tail -n 20 "$tmp/debugfs.log" >&2; die "debugfs failed"; }
if grep -v -E '^(debugfs [0-9.]+ \(|debugfs: sif )' "$tmp/debugfs.log" | grep -q .; then
    tail -n 20 "$tmp/debugfs.log" >&2
    die "debugfs reported errors"
fi
e2fsck -fn "$img" > "$tmp/e2fsck.log" 2>&1 ||
    { cat "$tmp/e2fsck.log" >&2; die "e2fsck -fn $img: not clean"; }
free_mib=$(( $(sb 'Free blocks' "$img") * 4096 / 1048576 ))

sum=$(sha256sum < "$img" | cut -d' ' -f1)
{
    printf '# discv base disk: Debian %s riscv64 (main), SOURCE_DATE_EPOCH=%s\n' "$suite" "$epoch"
    sort "$tmp/versions"
} > "$tmp/base.img.versions"
printf '%s\n' "$sum" > "$tmp/base.img.sha256"

rm -rf "$kdir"
mkdir -p "$kdir"
mv "$tmp/base.img.versions" "$tmp/base.img.sha256" "$kdir/"
mv "$img" "$kdir/base.img"
log "built base disk $key: $mib MiB, $free_mib MiB free, $(wc -l < "$tmp/inodes") inodes, sha256 $sum ($(( $(date +%s) - t0 )) s)"
install_out
