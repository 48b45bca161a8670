#!/usr/bin/env bash
# Boots discv on QEMU's riscv64 `virt` machine with OpenSBI, the guest
# images placed in host RAM by QEMU's generic loader, and the run's options
# on the hypervisor's command line. Called by `make run`; usable directly:
#
#   GUESTS=1 GUEST_CMD='uname -a' tools/run-qemu.sh
#
# Environment (defaults in brackets): GUESTS [1], GUEST_VCPUS [1],
# GUEST_MEM [128M], HARTS [4], NODES [2], HOST_MEM [2G], GUEST_KERNEL,
# GUEST_INITRD ('none' for no initramfs), GUEST_CMD or GUEST_CMD_FILE
# (batch command), GUEST_APPEND or GUEST_APPEND_FILE, DISCV_BIN,
# QEMU_EXTRA (more QEMU arguments), QEMU_GDB=1 (wait for gdb on :1234),
# NET=1 (a virtio-net device per guest, all on discv's switch, whose
# uplink is QEMU's user-mode network with restrict=on: nothing outside
# reachable), FWD='HP:guestK:GP ...' (with NET=1: host port HP, on
# 127.0.0.1 only, forwarded to TCP port GP of guest K),
# NET_REMAP=0 (received whole pages copied, not remapped: to compare),
# PV_COPY=0 (no paravirtual copy extension: the guest copies),
# SHARE=0 (no page sharing of disk reads and the kernel image, to compare),
# CONTENT_SHARE=0 (no content-based sharing: no zero page, no scanner),
# BALLOON=1 (a virtio-balloon per guest; the monitor's `balloon K MIB`),
# BALLOON_OOM=1 (with BALLOON=1: the balloon offers DEFLATE_ON_OOM),
# SCAN_RATE=T[,V] (the content scanner's caps, pages per second in total
# and per VM [8000,2000]), SWAP [1G] (the pager's swap disk; 0: no swap),
# PAGER_POLICY [clock] (or random: the pager's victims), WS_PERIOD [30]
# (seconds per working-set sample of the memory policy; 0: none),
# DISK=1 (the default; DISK=0 for none: give every guest a virtio-blk disk: BASE_DISK [build/guest/
# base.img] shared read-only, over a private delta kept in DISCV_STATE
# [~/.local/state/discv]; the guests then boot from it, root=/dev/vda).
# Exit status: QEMU's, which the hypervisor sets to 0 only if every guest
# powered off normally.
set -euo pipefail

die() { echo "run-qemu: $*" >&2; exit 2; }

GUESTS=${GUESTS:-1}
GUEST_VCPUS=${GUEST_VCPUS:-1}
GUEST_MEM=${GUEST_MEM:-128M}
HARTS=${HARTS:-4}
NODES=${NODES:-2}
HOST_MEM=${HOST_MEM:-2G}
BUILD=${BUILD:-build}
DISCV_BIN=${DISCV_BIN:-$BUILD/discv.bin}
GUEST_KERNEL=${GUEST_KERNEL:-$BUILD/guest/Image}
if [ "${DISK:-1}" = 1 ]; then
	GUEST_INITRD=${GUEST_INITRD:-none}
	GUEST_APPEND=${GUEST_APPEND-root=/dev/vda rw}
else
	GUEST_INITRD=${GUEST_INITRD:-$BUILD/guest/initramfs.cpio.gz}
fi
OPENSBI=${OPENSBI:-/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin}

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }

# Sizes as QEMU writes them (512M, 2G) -> bytes.
to_bytes() {
	local v=$1
	case $v in
	*[kK]) echo $(( ${v%?} << 10 )) ;;
	*[mM]) echo $(( ${v%?} << 20 )) ;;
	*[gG]) echo $(( ${v%?} << 30 )) ;;
	*) echo "$v" ;;
	esac
}
valid_size() { [[ $1 =~ ^[0-9]+[kKmMgG]?$ ]]; }

is_uint "$GUESTS" && (( GUESTS >= 1 && GUESTS <= 256 )) || die "GUESTS must be 1..256 (got '$GUESTS')"
is_uint "$GUEST_VCPUS" && (( GUEST_VCPUS >= 1 && GUEST_VCPUS <= 8 )) ||
	die "GUEST_VCPUS must be 1..8 (got '$GUEST_VCPUS')"
is_uint "$HARTS" && (( HARTS >= 1 && HARTS <= 8 )) || die "HARTS must be 1..8 (got '$HARTS')"
is_uint "$NODES" && (( NODES >= 1 && NODES <= 4 && NODES <= HARTS )) ||
	die "NODES must be 1..4 and at most HARTS (got '$NODES')"
valid_size "$GUEST_MEM" || die "GUEST_MEM must be a size like 128M (got '$GUEST_MEM')"
valid_size "$HOST_MEM" || die "HOST_MEM must be a size like 2G (got '$HOST_MEM')"
(( HARTS % NODES == 0 )) || die "HARTS ($HARTS) must be a multiple of NODES ($NODES)"
host_bytes=$(to_bytes "$HOST_MEM")
(( host_bytes >= 256 << 20 && host_bytes % (NODES << 20) == 0 )) ||
	die "HOST_MEM must be at least 256M and split evenly over $NODES nodes"
guest_bytes=$(to_bytes "$GUEST_MEM")
(( guest_bytes % (2 << 20) == 0 && guest_bytes >= 16 << 20 )) ||
	die "GUEST_MEM must be a multiple of 2M, at least 16M (got '$GUEST_MEM')"

[ -f "$DISCV_BIN" ] || die "no hypervisor image $DISCV_BIN (run 'make')"
[ -f "$OPENSBI" ] || die "no OpenSBI at $OPENSBI (apt-get install opensbi)"
[ -f "$GUEST_KERNEL" ] || die "GUEST_KERNEL: no such file: $GUEST_KERNEL"
[ "$GUEST_INITRD" = none ] || [ -f "$GUEST_INITRD" ] ||
	die "GUEST_INITRD: no such file: $GUEST_INITRD (or 'none')"
# The RISC-V Linux boot header has magic2 "RSC\x05" at offset 56.
[ "$(od -An -tx1 -j56 -N4 "$GUEST_KERNEL" | tr -d ' \n')" = 52534305 ] ||
	die "GUEST_KERNEL $GUEST_KERNEL has no RISC-V Linux boot header"

hex() { od -An -tx1 -v | tr -d ' \n'; }

# The batch command, verbatim, from GUEST_CMD_FILE (make) or GUEST_CMD.
cmd_hex=
if [ -n "${GUEST_CMD_FILE:-}" ] && [ -f "$GUEST_CMD_FILE" ]; then
	cmd_hex=$(hex < "$GUEST_CMD_FILE")
	[ -n "$cmd_hex" ] || cmd_hex=3a	# an empty command is ':' (do nothing)
elif [ -n "${GUEST_CMD+set}" ]; then
	cmd_hex=$(printf '%s' "$GUEST_CMD" | hex)
	[ -n "$cmd_hex" ] || cmd_hex=3a
fi
(( ${#cmd_hex} <= 8190 )) || die "GUEST_CMD is longer than 4095 bytes"
append=${GUEST_APPEND:-}
if [ -n "${GUEST_APPEND_FILE:-}" ] && [ -f "$GUEST_APPEND_FILE" ]; then
	append=$(cat "$GUEST_APPEND_FILE")
fi

# Host physical layout: OpenSBI at 0x80000000, discv at 0x80200000, the
# host DTB at 0x82200000 (OpenSBI's copy), guest images from 0x84000000.
kernel_addr=$((0x84000000))
kernel_size=$(stat -c %s "$GUEST_KERNEL")
align=$((1 << 20))
initrd_addr=$(( (kernel_addr + kernel_size + align - 1) / align * align ))
bootargs="discv.guests=$GUESTS discv.vcpus=$GUEST_VCPUS discv.mem=$guest_bytes"
bootargs+=" discv.kernel=$(printf '0x%x' $kernel_addr),$kernel_size"
loaders=(-device "loader,file=$GUEST_KERNEL,addr=$(printf '0x%x' $kernel_addr),force-raw=on")
if [ "$GUEST_INITRD" != none ]; then
	initrd_size=$(stat -c %s "$GUEST_INITRD")
	bootargs+=" discv.initrd=$(printf '0x%x' $initrd_addr),$initrd_size"
	loaders+=(-device "loader,file=$GUEST_INITRD,addr=$(printf '0x%x' $initrd_addr),force-raw=on")
	end=$((initrd_addr + initrd_size))
else
	end=$((kernel_addr + kernel_size))
fi
(( end < 0x80000000 + host_bytes / NODES )) || die "guest images do not fit in node 0's RAM"
[ -n "$cmd_hex" ] && bootargs+=" discv.cmd=$cmd_hex"
case ${SHARE:-1} in
0|1) bootargs+=" discv.share=${SHARE:-1}" ;;
*) die "SHARE must be 0 or 1 (got '$SHARE')" ;;
esac
case ${BALLOON:-0} in
0|1) bootargs+=" discv.balloon=${BALLOON:-0}" ;;
*) die "BALLOON must be 0 or 1 (got '$BALLOON')" ;;
esac
case ${BALLOON_OOM:-0} in
0|1) bootargs+=" discv.balloon_oom=${BALLOON_OOM:-0}" ;;
*) die "BALLOON_OOM must be 0 or 1 (got '$BALLOON_OOM')" ;;
esac
[ "${BALLOON_OOM:-0}" = 0 ] || [ "${BALLOON:-0}" = 1 ] || die "BALLOON_OOM=1 needs BALLOON=1"
case ${CONTENT_SHARE:-1} in
0|1) bootargs+=" discv.content_share=${CONTENT_SHARE:-1}" ;;
*) die "CONTENT_SHARE must be 0 or 1 (got '$CONTENT_SHARE')" ;;
esac
if [ -n "${SCAN_RATE:-}" ]; then
	[[ $SCAN_RATE =~ ^[1-9][0-9]{0,6}(,[1-9][0-9]{0,6})?$ ]] ||
		die "SCAN_RATE must be TOTAL or TOTAL,PER_VM pages per second (got '$SCAN_RATE')"
	total=${SCAN_RATE%%,*} per_vm=${SCAN_RATE#*,}
	(( total <= 1000000 && per_vm <= total )) ||
		die "SCAN_RATE: at most 1000000 pages/s, and PER_VM <= TOTAL (got '$SCAN_RATE')"
	bootargs+=" discv.scan_rate=$SCAN_RATE"
fi
case ${PAGER_POLICY:-clock} in
clock|random) bootargs+=" discv.pager=${PAGER_POLICY:-clock}" ;;
*) die "PAGER_POLICY must be clock or random (got '$PAGER_POLICY')" ;;
esac
WS_PERIOD=${WS_PERIOD:-30}
[[ $WS_PERIOD =~ ^[0-9]+$ ]] && (( 10#$WS_PERIOD <= 3600 )) ||
	die "WS_PERIOD must be seconds from 0 to 3600 (got '$WS_PERIOD')"
bootargs+=" discv.ws_period=$((10#$WS_PERIOD))"
SWAP=${SWAP:-1G}
[ "$SWAP" = 0 ] || { valid_size "$SWAP" && (( $(to_bytes "$SWAP") >= 1 << 20 &&
	$(to_bytes "$SWAP") <= 64 << 30 )); } ||
	die "SWAP must be 0 or a size from 1M to 64G, like 1G (got '$SWAP')"
[ "${NET:-0}" != 1 ] || (( GUESTS <= 64 )) ||
	die "NET=1 connects at most 64 guests to the switch (got GUESTS=$GUESTS)"
case ${NET:-0} in
0|1) bootargs+=" discv.net=${NET:-0}" ;;
*) die "NET must be 0 or 1 (got '$NET')" ;;
esac
case ${PV_COPY:-1} in
0|1) bootargs+=" discv.pv_copy=${PV_COPY:-1}" ;;
*) die "PV_COPY must be 0 or 1 (got '$PV_COPY')" ;;
esac
case ${NET_REMAP:-1} in
0|1) bootargs+=" discv.net_remap=${NET_REMAP:-1}" ;;
*) die "NET_REMAP must be 0 or 1 (got '$NET_REMAP')" ;;
esac
[ -n "$append" ] && bootargs+=" discv.append=$(printf '%s' "$append" | hex)"

# NUMA: one memory backend and one socket of HARTS/NODES harts per node,
# remote distance 20 (QEMU virt makes one CLINT and PLIC per socket).
numa=()
if (( NODES > 1 )); then
	per_node=$(( HARTS / NODES ))
	for ((n = 0; n < NODES; n++)); do
		numa+=(-object "memory-backend-ram,size=$((host_bytes / NODES)),id=mem$n")
		numa+=(-numa "node,memdev=mem$n,cpus=$((n * per_node))-$(((n + 1) * per_node - 1)),nodeid=$n")
	done
	for ((a = 0; a < NODES; a++)); do
		for ((b = a + 1; b < NODES; b++)); do
			numa+=(-numa "dist,src=$a,dst=$b,val=20")
		done
	done
fi

# QEMU 7.2 wires the PLICs of a third or fourth socket out of range
# ("sifive.plic.unnamed-gpio-out[4] not found", fixed in QEMU 8.0), so
# machines of 3-4 nodes get the AIA's APLIC as their interrupt controller.
machine=virt
(( NODES > 2 )) && machine=virt,aia=aplic

# Disks: the shared base (read-only) and the delta disk that holds every
# guest's private delta, both virtio-blk on virtio-mmio version 2,
# identified by serial. The delta is a sparse file named after the base's
# checksum: a rebuilt base never meets deltas made over the old one.
disks=()
if [ "${DISK:-1}" = 1 ]; then
	BASE_DISK=${BASE_DISK:-$BUILD/guest/base.img}
	DISCV_STATE=${DISCV_STATE:-${XDG_STATE_HOME:-$HOME/.local/state}/discv}
	[ -f "$BASE_DISK" ] || die "BASE_DISK: no such file: $BASE_DISK (run 'make base-disk')"
	mkdir -p "$DISCV_STATE" || die "cannot create DISCV_STATE $DISCV_STATE"
	if [ -f "$BASE_DISK.sha256" ]; then
		base_id=$(cut -c1-16 "$BASE_DISK.sha256")
	else
		base_id=$(sha256sum "$BASE_DISK" | cut -c1-16)
	fi
	delta=$DISCV_STATE/delta-$base_id.img
	# 1 GiB per guest, sparse; a file made for 64 guests grows in place
	# (regions keep their offsets).
	if [ ! -f "$delta" ] || (( $(stat -c %s "$delta") < GUESTS << 30 )); then
		truncate -s 256G "$delta" || die "cannot create $delta"
	fi
	disks=(-drive "file=$BASE_DISK,if=none,id=base,format=raw,readonly=on"
		-device virtio-blk-device,drive=base,serial=discv-base
		-drive "file=$delta,if=none,id=delta,format=raw,cache=writeback"
		-device virtio-blk-device,drive=delta,serial=discv-delta)
fi

# The pager's swap disk (SWAP=, default 1G; 0: none): a sparse file that
# lives as long as this QEMU. It is opened on fd 9 and deleted at once;
# QEMU opens it again through /dev/fd/9, so no run leaves one behind.
if [ "$SWAP" != 0 ]; then
	DISCV_STATE=${DISCV_STATE:-${XDG_STATE_HOME:-$HOME/.local/state}/discv}
	mkdir -p "$DISCV_STATE" || die "cannot create DISCV_STATE $DISCV_STATE"
	swap_file=$(mktemp "$DISCV_STATE/swap.XXXXXX") || die "cannot create the swap file"
	truncate -s "$(to_bytes "$SWAP")" "$swap_file" || die "cannot size the swap file"
	exec 9<>"$swap_file"
	rm -f "$swap_file"
	disks+=(-drive "file=/dev/fd/9,if=none,id=swap,format=raw,cache=writeback"
		-device virtio-blk-device,drive=swap,serial=discv-swap)
fi

# The network's uplink: a virtio-net card on QEMU's user-mode network,
# which discv drives as the switch's uplink port. restrict=on: the guests
# reach nothing outside; only the FWD rules come in, from 127.0.0.1.
# Guest K is 10.0.2.(15+K) (its /init), slirp's gateway 10.0.2.2.
uplink=()
if [ "${NET:-0}" = 1 ]; then
	netdev=user,id=uplink,restrict=on,ipv6=off,net=10.0.2.0/24,host=10.0.2.2
	for rule in ${FWD:-}; do
		[[ $rule =~ ^([0-9]+):guest([0-9]+):([0-9]+)$ ]] ||
			die "FWD: '$rule' is not HOSTPORT:guestK:GUESTPORT (e.g. 8080:guest1:80)"
		hp=${BASH_REMATCH[1]} k=${BASH_REMATCH[2]} gp=${BASH_REMATCH[3]}
		(( hp >= 1 && hp <= 65535 && gp >= 1 && gp <= 65535 )) ||
			die "FWD: '$rule': ports must be 1..65535"
		(( k < GUESTS )) || die "FWD: '$rule': there is no guest$k (GUESTS=$GUESTS)"
		netdev+=",hostfwd=tcp:127.0.0.1:$hp-10.0.2.$((15 + k)):$gp"
	done
	uplink=(-netdev "$netdev" -device virtio-net-device,netdev=uplink)
elif [ -n "${FWD:-}" ]; then
	die "FWD needs NET=1 (the guests' network)"
fi

gdb=()
[ "${QEMU_GDB:-0}" = 1 ] && gdb=(-s -S)

# shellcheck disable=SC2086
exec qemu-system-riscv64 -M "$machine" -cpu rv64 -smp "$HARTS" -m "$HOST_MEM" "${numa[@]}" \
	-nographic -bios "$OPENSBI" -kernel "$DISCV_BIN" -append "$bootargs" \
	-global virtio-mmio.force-legacy=false \
	"${loaders[@]}" "${disks[@]}" "${uplink[@]}" "${gdb[@]}" ${QEMU_EXTRA:-}
