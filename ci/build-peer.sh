#!/usr/bin/env bash
# build-peer.sh OUTDIR: build the peer host of `make bench-peer` (issue 11,
# docs/performance.md "The peer"): what a user who wants many Linux guests
# on RISC-V runs today, KVM with QEMU as the VMM and KSM, from Debian 13
# riscv64 packages only, to boot on the same QEMU `virt` machine discv runs
# on. Writes
#   OUTDIR/Image          Debian's kernel (linux-image-riscv64, 6.12, with
#                         kvm.ko as a module and KSM built in)
#   OUTDIR/host.cpio.gz   its initramfs: busybox, the modules /init loads
#                         (kvm, virtio_mmio and virtio_blk for the base
#                         disk, bridge and tun for the guests' network;
#                         decompressed), qemu-system-riscv64 and qemu-img with
#                         the shared libraries they load, QEMU's firmware,
#                         and peer/init as /init
#   OUTDIR/versions       "package version" of every package used
# The guests' kernel and initramfs are not in it: tests/bench/peer.py
# appends them as a second cpio at run time (Linux unpacks concatenated
# archives), so the same guests run on both sides; the base disk is the
# peer host's virtio disk.
#
# Package set: mmdebstrap --variant=extract downloads the packages named
# below and their hard dependencies (apt resolves them) and keeps the
# .debs (--skip=cleanup/apt/cache); every .deb is unpacked into a staging
# tree, and of that tree the initramfs takes only what the VMM needs: the
# ELF NEEDED closure of qemu-system-riscv64 and qemu-img (checked: a
# missing soname fails the build), QEMU's data files and firmware. No maintainer script runs.
#
# Cache: $DISCV_CACHE/peer/<key>/ (key: this script, peer/init, the package
# versions the mirror offers are not part of it: DISCV_REFRESH_PEER=1
# downloads again).
set -euo pipefail
export LC_ALL=C
umask 022

source "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] && [ -n "$1" ] || { echo "usage: $me OUTDIR" >&2; exit 2; }
outdir=$1
suite=trixie
init="$root/peer/init"
pkgs=(linux-image-riscv64 qemu-system-riscv qemu-utils busybox-static)

for t in mmdebstrap dpkg-deb readelf xz gzip; do
	command -v "$t" >/dev/null || die "$t not found (run ci/install-deps.sh)"
done
[ -f "$init" ] || die "$init not found"

key=$(
	{
		printf 'discv peer host v1\n'
		sha256sum < "$here/$me"
		sha256sum < "$init"
	} | sha256sum | cut -c1-16
)
cached="$cache/peer/$key"

install_out() {
	mkdir -p "$outdir"
	local f
	for f in Image host.cpio.gz versions; do
		cmp -s "$cached/$f" "$outdir/$f" && continue
		cp "$cached/$f" "$outdir/$f.tmp.$$"
		mv -f "$outdir/$f.tmp.$$" "$outdir/$f"
	done
	log "$outdir: peer host $key ($(grep '^linux-image-6' "$cached/versions" | cut -d' ' -f1))"
}

if [ -f "$cached/host.cpio.gz" ] && [ "${DISCV_REFRESH_PEER:-0}" != 1 ]; then
	install_out
	exit 0
fi

tool=$(ls "$cache"/tools/gen_init_cpio-* 2>/dev/null | sort -V | tail -n 1)
[ -x "$tool" ] || die "gen_init_cpio not built yet (make guest-initramfs builds it)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/discv-peer.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
debian_fetch "$tmp/root" "${pkgs[@]}"

log "unpacking..."
tree="$tmp/tree"
mkdir -p "$tree"
: > "$tmp/versions"
for deb in "$tmp"/root/var/cache/apt/archives/*.deb; do
	dpkg-deb -x "$deb" "$tree"
	printf '%s %s\n' "$(dpkg-deb -f "$deb" Package)" "$(dpkg-deb -f "$deb" Version)" >> "$tmp/versions"
done
sort -o "$tmp/versions" "$tmp/versions"

kver=$(ls "$tree/usr/lib/modules" | sort -V | tail -n 1)
[ -n "$kver" ] && [ -f "$tree/boot/vmlinux-$kver" ] || die "no kernel in linux-image-riscv64"
mods="$tree/usr/lib/modules/$kver/kernel"
# The modules /init loads (KVM; the base disk on virtio-mmio; the guests'
# bridge and taps), each after the ones it depends on.
modules=(arch/riscv/kvm/kvm drivers/virtio/virtio_mmio drivers/block/virtio_blk
	net/llc/llc net/802/stp net/bridge/bridge drivers/net/tun)
for m in "${modules[@]}"; do
	[ -f "$mods/$m.ko.xz" ] || die "no $(basename $m).ko in $kver"
done
grep -q '^CONFIG_KSM=y' "$tree/boot/config-$kver" || die "kernel $kver has no KSM"

# The staging directory of the initramfs.
st="$tmp/stage"
mkdir -p "$st"/{bin,dev,etc,lib,proc,root,sys,tmp,usr/bin,usr/share}
cp "$tree/usr/bin/busybox" "$st/bin/busybox"
ln -s busybox "$st/bin/sh"	# /init's interpreter
cp "$init" "$st/init"
loaded=,
for m in "${modules[@]}"; do
	name=$(basename "$m")
	xz -dc "$mods/$m.ko.xz" > "$st/lib/$name.ko"
	for dep in $(strings "$st/lib/$name.ko" | sed -n 's/^depends=//p' | tr , ' '); do
		case $loaded in *",$dep,"*) ;; *) die "$name.ko needs $dep.ko, which is not loaded before it" ;; esac
	done
	loaded="$loaded$name,"
done
vmm_bins=(qemu-system-riscv64 qemu-img)
for b in "${vmm_bins[@]}"; do
	cp "$tree/usr/bin/$b" "$st/usr/bin/"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$st/etc/passwd"
printf 'root:x:0:\n' > "$st/etc/group"

# The VMM's libraries: the ELF NEEDED closure, each from the tree.
libdirs=("$tree/usr/lib/riscv64-linux-gnu" "$tree/lib/riscv64-linux-gnu" "$tree/usr/lib")
find_lib() {
	local d
	for d in "${libdirs[@]}"; do
		[ -e "$d/$1" ] && { printf '%s\n' "$d/$1"; return 0; }
	done
	return 1
}
declare -A have=()
queue=("${vmm_bins[@]/#/$st/usr/bin/}")
while [ ${#queue[@]} -gt 0 ]; do
	f=${queue[0]}
	queue=("${queue[@]:1}")
	for so in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		[ -n "${have[$so]:-}" ] && continue
		src=$(find_lib "$so") || die "$(basename "$f") needs $so, which no package gave"
		mkdir -p "$st/usr/lib/riscv64-linux-gnu"
		cp -L "$src" "$st/usr/lib/riscv64-linux-gnu/$so"
		have[$so]=1
		queue+=("$st/usr/lib/riscv64-linux-gnu/$so")
	done
done
# The dynamic loader, where the binaries' PT_INTERP says.
interp=$(readelf -l "$st/usr/bin/qemu-system-riscv64" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
[ -n "$interp" ] || die "no program interpreter in qemu-system-riscv64"
mkdir -p "$st$(dirname "$interp")"
cp -L "$tree$interp" "$st$interp" 2>/dev/null || cp -L "$tree/usr$interp" "$st$interp" ||
	die "the dynamic loader $interp is in no package"
# QEMU's data: the firmware it loads by default for -M virt (OpenSBI,
# through a link to the opensbi package) and its key maps.
mkdir -p "$st/usr/share/qemu"
cp -L "$tree/usr/share/qemu/opensbi-riscv64-generic-fw_dynamic.bin" "$st/usr/share/qemu/"
cp -a "$tree/usr/share/qemu/keymaps" "$st/usr/share/qemu/"

# gen_init_cpio's list: every directory, file and link of the stage.
(
	cd "$st"
	printf 'nod /dev/console 0600 0 0 c 5 1\n'
	find . -mindepth 1 | sort | while read -r p; do
		p=${p#.}
		if [ -L "$st$p" ]; then
			printf 'slink %s %s 0777 0 0\n' "$p" "$(readlink "$st$p")"
		elif [ -d "$st$p" ]; then
			printf 'dir %s 0755 0 0\n' "$p"
		else
			mode=644
			[ -x "$st$p" ] && mode=755
			printf 'file %s %s 0%s 0 0\n' "$p" "$st$p" "$mode"
		fi
	done
) > "$tmp/list"
"$tool" -t 0 "$tmp/list" | gzip -6 -n > "$tmp/host.cpio.gz" || die "gen_init_cpio failed"

mkdir -p "$cache/peer"
rm -rf "$cached.tmp"
mkdir -p "$cached.tmp"
cp "$tree/boot/vmlinux-$kver" "$cached.tmp/Image"
mv "$tmp/host.cpio.gz" "$tmp/versions" "$cached.tmp/"
rm -rf "$cached"
mv "$cached.tmp" "$cached"
log "built peer host $key: kernel $kver, $(du -h "$cached/host.cpio.gz" | cut -f1) initramfs"
install_out
