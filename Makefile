# discv: a RISC-V hypervisor that brings Disco's memory management to the H
# extension. `make help` lists targets and variables.

# ---- configuration (override on the command line) ----------------------
GUESTS ?= 1
GUEST_VCPUS ?= 1
GUEST_MEM ?= 128M
HARTS ?= 4
NODES ?= 2
HOST_MEM ?= 2G
GUEST_KERNEL ?= $(BUILD)/guest/Image
# DISK=1 (the default): every guest gets a virtio-blk disk (the shared
# base + its own delta) and boots from it; DISK=0 boots the initramfs.
DISK ?= 1
SHARE ?= 1
# CONTENT_SHARE=0: no content-based sharing (zero page, scanner).
CONTENT_SHARE ?= 1
# SCAN_RATE=T[,V]: the content scanner's caps, pages/s in total and per VM.
SCAN_RATE ?=
# BALLOON=1: every guest gets a virtio-balloon (the monitor's balloon K MIB).
BALLOON ?= 0
# BALLOON_OOM=1: the balloon offers DEFLATE_ON_OOM (inflated pages stay in MemTotal).
BALLOON_OOM ?= 0
# SWAP=size: the pager's swap disk (0: none); PAGER_POLICY=random: ESX's victims.
SWAP ?= 1G
PAGER_POLICY ?= clock
# WS_PERIOD=seconds: the working-set sampling period of the memory policy (0: off).
WS_PERIOD ?= 30
# NET=1: every guest gets a virtio-net device on discv's switch.
NET ?= 0
# FWD='8080:guest1:80 ...': host ports (127.0.0.1) forwarded to guests (NET=1).
FWD ?=
# NET_REMAP=0: received whole pages are copied instead of remapped.
NET_REMAP ?= 1
# PV_COPY=0: no paravirtual copy (discv's SBI extension is hidden).
PV_COPY ?= 1
BASE_DISK ?= $(BUILD)/guest/base.img
DISCV_STATE ?= $(or $(XDG_STATE_HOME),$(HOME)/.local/state)/discv
ifeq ($(DISK),1)
GUEST_INITRD ?= none
GUEST_APPEND ?= root=/dev/vda rw
else
GUEST_INITRD ?= $(BUILD)/guest/initramfs.cpio.gz
GUEST_APPEND ?=
endif
# GUEST_CMD is read with $(value ...) only: make must not expand its $(...).

BUILD ?= build
CROSS_COMPILE ?= riscv64-linux-gnu-
CC := $(CROSS_COMPILE)gcc
OBJCOPY := $(CROSS_COMPILE)objcopy
HOSTCC ?= gcc
LINUX_SOURCE_TARBALL ?= /usr/src/linux-source-6.1.tar.xz

.DEFAULT_GOAL := all
.PHONY: all help deps hypervisor guest-kernel guest-kernel-stock guest-initramfs base-disk reset-disks \
	test-guests run debug \
	test test-fresh unit-test check-layers fuzz boot-test bench-overhead bench-boot bench-share bench-net \
	bench-overcommit bench-peer clean

all: hypervisor guest-kernel guest-kernel-stock guest-initramfs base-disk test-guests

help:
	@echo "discv - make targets:"
	@echo "  make run          build what is missing and boot the guests (interactive,"
	@echo "                    or batch with GUEST_CMD='...')"
	@echo "  make test         install packages if needed, build, run unit, fuzz and boot tests"
	@echo "  make test-fresh   make run + make test in a fresh Debian 12 chroot (root, mmdebstrap;"
	@echo "                    13-25 min; chroot in DISCV_FRESH_DIR, log in build/test-fresh/)"
	@echo "  make unit-test    host unit tests only (ASan + UBSan)"
	@echo "  make check-layers no include or call goes up the layers of hyp/LAYERS"
	@echo "  make fuzz         libFuzzer on the virtqueue/virtio-blk parsers (FUZZ_SECONDS=60)"
	@echo "  make boot-test    QEMU boot tests only (BOOT_ONLY=REGEX: the tests named so)"
	@echo "  make bench-boot   time until 1, 2, 4, 8, 16 guests are all in user space"
	@echo "  make bench-share  N guests read the same files: memory, disk reads, with and without sharing"
	@echo "  make bench-overhead  boot to user space: discv vs the same guest on bare QEMU"
	@echo "  make bench-net    bulk TCP and NFS between guests, remap on and off; Disco's 8 VMs + NFS"
	@echo "  make bench-overcommit  idle guests' host memory over time, content sharing on and off;"
	@echo "                   the largest number of idle guests that runs; 8 guests of 256 MiB"
	@echo "                   filling their memory on HOST_MEM=1G: balloon, pager (clock, random), both,"
	@echo "                   the memory policy"
	@echo "  make bench-peer   the same guests and work under discv and under KVM + KSM (a Debian 13"
	@echo "                   host with kvm.ko and QEMU, booted on the same machine): N idle guests,"
	@echo "                   N reading the same files, bulk TCP, an NFS read: boot time, host"
	@echo "                   memory, disk reads; PEER_ARGS passes peer.py's options (e.g."
	@echo "                   PEER_ARGS='--thp never --work idle 8': the peer host without THP)"
	@echo "  make debug        boot under QEMU halted, with gdb-multiarch attached"
	@echo "  make deps         install the Debian packages discv needs (as root)"
	@echo "  make all          build hypervisor, guest kernels (patched, stock), initramfs, base disk,"
	@echo "                   test guests"
	@echo "  make base-disk    build the Debian 13 base disk image (build/guest/base.img)"
	@echo "  make reset-disks  discard every guest's delta (DISCV_STATE)"
	@echo "  make clean        remove $(BUILD)/ (the kernel cache outside stays)"
	@echo "variables:"
	@echo "  GUESTS=$(GUESTS) GUEST_VCPUS=$(GUEST_VCPUS) GUEST_MEM=$(GUEST_MEM)"
	@echo "  HARTS=$(HARTS) NODES=$(NODES) HOST_MEM=$(HOST_MEM)"
	@echo "  GUEST_CMD='shell command'  run it in every guest, then power off (batch)"
	@echo "  GUEST_KERNEL=path   any image with the RISC-V Linux boot header"
	@echo "  GUEST_INITRD=path   initramfs to pass (none: no initramfs)"
	@echo "  GUEST_APPEND='...'  extra guest kernel command line"
	@echo "  SHARE=0             no page sharing (disk reads, kernel image): to compare"
	@echo "  CONTENT_SHARE=0     no content-based sharing (zero page, scanner): to compare"
	@echo "  SCAN_RATE=T[,V]     the content scanner's caps, pages/s in all and per VM"
	@echo "                      (default 8000,2000)"
	@echo "  BALLOON=1           a virtio-balloon per guest (monitor: balloon K MIB)"
	@echo "  BALLOON_OOM=1       ... offering DEFLATE_ON_OOM"
	@echo "  SWAP=$(SWAP)             the pager's swap disk, a sparse file gone with QEMU (0: none)"
	@echo "  PAGER_POLICY=random the pager's victims at random (ESX), not by the clock"
	@echo "  WS_PERIOD=$(WS_PERIOD)        seconds per working-set sample (100 pages) of the memory"
	@echo "                      policy, which sets balloon targets (BALLOON=1; 0: no samples)"
	@echo "  NET=1               a virtio-net device per guest, switched between guests"
	@echo "                      (MAC 02:64:73:63:76:ii for guest ii; default NET=0), and an"
	@echo "                      uplink to QEMU's user network (restrict=on: nothing outside)"
	@echo "  FWD='HP:guestK:GP'  with NET=1: forward 127.0.0.1:HP of the host to port GP of"
	@echo "                      guest K (several: space-separated), e.g. FWD='8080:guest1:80'"
	@echo "  NET_REMAP=0         copy every received page instead of remapping whole ones"
	@echo "  PV_COPY=0           hide the paravirtual copy (discv's SBI REMAP_PAGE)"
	@echo "  DISK=1              guests boot from a virtio-blk disk: BASE_DISK (shared,"
	@echo "                      read-only) under a private delta in DISCV_STATE=$(DISCV_STATE)"
	@echo "                      (the default); DISK=0 boots them from GUEST_INITRD"
	@echo "  DISCV_CACHE=dir     build cache (default ~/.cache/discv)"

# ---- Debian packages ----------------------------------------------------
deps:
	@ci/install-deps.sh

$(BUILD)/.deps-ok: ci/install-deps.sh
	@ci/install-deps.sh
	@mkdir -p $(@D) && touch $@

# ---- libfdt, compiled from the kernel source's copy ---------------------
LIBFDT_DIR := $(BUILD)/libfdt
LIBFDT_SRCS := fdt.c fdt_ro.c fdt_rw.c fdt_sw.c fdt_wip.c fdt_strerror.c fdt_addresses.c

$(LIBFDT_DIR)/libfdt.h: | $(BUILD)/.deps-ok
	@echo "  EXTRACT libfdt from $(LINUX_SOURCE_TARBALL)"
	@rm -rf $(LIBFDT_DIR).tmp && mkdir -p $(LIBFDT_DIR).tmp
	@tar -xJf $(LINUX_SOURCE_TARBALL) -C $(LIBFDT_DIR).tmp --strip-components=4 \
		--wildcards 'linux-source-6.1/scripts/dtc/libfdt/*'
	@rm -rf $(LIBFDT_DIR) && mv $(LIBFDT_DIR).tmp $(LIBFDT_DIR)

# ---- the hypervisor -----------------------------------------------------
# lp64 without F/D: the compiler never touches FP registers, so guest FP
# state survives the hypervisor untouched (hyp/switch.S saves it lazily).
# Recursive (=): on a fresh machine the cross compiler, asked for its include
# directory, only exists once $(BUILD)/.deps-ok has run in this same make.
HYP_CFLAGS = -march=rv64imac_zicsr_zifencei -mabi=lp64 -mcmodel=medany \
	-ffreestanding -fno-pie -fno-stack-protector -fno-common -fno-omit-frame-pointer \
	-nostdinc -isystem $(shell $(CC) -print-file-name=include 2>/dev/null) \
	-Ihyp/lib/include -Ihyp -I$(LIBFDT_DIR) -O2 -g -std=gnu11 -MMD -MP
HYP_WARN := -Wall -Wextra -Werror -Wno-unused-parameter
HYP_LDFLAGS := -nostdlib -static -no-pie -Wl,--gc-sections -Wl,--no-warn-rwx-segments \
	-Wl,--build-id=none -T linker.ld

HYP_SRCS := boot/entry.S hyp/core/switch.S \
	$(sort $(wildcard hyp/*.c hyp/*/*.c))
HYP_OBJS := $(patsubst %,$(BUILD)/obj/%.o,$(HYP_SRCS))
LIBFDT_OBJS := $(patsubst %.c,$(BUILD)/obj/libfdt/%.o,$(LIBFDT_SRCS))

hypervisor: $(BUILD)/discv.bin

$(BUILD)/obj/%.c.o: %.c $(LIBFDT_DIR)/libfdt.h
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(HYP_CFLAGS) $(HYP_WARN) -c $< -o $@

$(BUILD)/obj/%.S.o: %.S | $(BUILD)/.deps-ok
	@mkdir -p $(@D)
	@echo "  AS      $<"
	@$(CC) $(HYP_CFLAGS) -Ihyp -c $< -o $@

$(BUILD)/obj/libfdt/%.o: $(LIBFDT_DIR)/libfdt.h
	@mkdir -p $(@D)
	@echo "  CC      libfdt/$*.c"
	@$(CC) $(HYP_CFLAGS) -w -c $(LIBFDT_DIR)/$*.c -o $@

$(BUILD)/discv.elf: $(HYP_OBJS) $(LIBFDT_OBJS) linker.ld
	@echo "  LD      $@"
	@$(CC) $(HYP_CFLAGS) $(HYP_LDFLAGS) $(HYP_OBJS) $(LIBFDT_OBJS) -o $@

$(BUILD)/discv.bin: $(BUILD)/discv.elf
	@$(OBJCOPY) -O binary $< $@
	@echo "  IMAGE   $@ ($$(stat -c %s $@) bytes)"

-include $(HYP_OBJS:.o=.d)

# ---- guest kernel, initramfs, test guest --------------------------------
guest-kernel: | $(BUILD)/.deps-ok
	@ci/build-guest-kernel.sh $(BUILD)/guest/Image

# The same kernel without guest-kernel/patches: the tests that show an
# unmodified guest works use it.
guest-kernel-stock: | $(BUILD)/.deps-ok
	@DISCV_KERNEL_PATCHES=none ci/build-guest-kernel.sh $(BUILD)/guest/Image-stock

guest-initramfs: | $(BUILD)/.deps-ok
	@ci/build-initramfs.sh $(BUILD)/guest/initramfs.cpio.gz

base-disk: | $(BUILD)/.deps-ok
	@ci/build-rootfs.sh $(BUILD)/guest/base.img

# Discards every guest's delta: the guests see the pristine base again.
reset-disks:
	rm -f $(DISCV_STATE)/delta-*.img

test-guests: | $(BUILD)/.deps-ok
	@$(MAKE) --no-print-directory -C tests/guests/sbi-test O=$(abspath $(BUILD))/tests/guests
	@if [ -f tests/guests/virtio-test/Makefile ]; then \
		$(MAKE) --no-print-directory -C tests/guests/virtio-test O=$(abspath $(BUILD))/tests/guests; fi
	@$(MAKE) --no-print-directory -C tests/guests/reboot-test O=$(abspath $(BUILD))/tests/guests
	@$(MAKE) --no-print-directory -C tests/guests/smp-test O=$(abspath $(BUILD))/tests/guests

# Images `run` needs: the defaults are built, user-given ones must exist.
RUN_PREREQS := hypervisor
ifeq ($(GUEST_KERNEL),$(BUILD)/guest/Image)
RUN_PREREQS += guest-kernel
endif
ifeq ($(GUEST_INITRD),$(BUILD)/guest/initramfs.cpio.gz)
RUN_PREREQS += guest-initramfs
endif
ifeq ($(DISK)/$(BASE_DISK),1/$(BUILD)/guest/base.img)
RUN_PREREQS += base-disk
endif

# ---- running ------------------------------------------------------------
RUN_ENV = GUESTS='$(GUESTS)' GUEST_VCPUS='$(GUEST_VCPUS)' GUEST_MEM='$(GUEST_MEM)' \
	HARTS='$(HARTS)' NODES='$(NODES)' HOST_MEM='$(HOST_MEM)' \
	GUEST_KERNEL='$(GUEST_KERNEL)' GUEST_INITRD='$(GUEST_INITRD)' \
	DISCV_BIN='$(BUILD)/discv.bin' DISK='$(DISK)' BASE_DISK='$(BASE_DISK)' \
	DISCV_STATE='$(DISCV_STATE)' SHARE='$(SHARE)' NET='$(NET)' NET_REMAP='$(NET_REMAP)' PV_COPY='$(PV_COPY)' \
	FWD='$(FWD)' CONTENT_SHARE='$(CONTENT_SHARE)' SCAN_RATE='$(SCAN_RATE)' BALLOON='$(BALLOON)' BALLOON_OOM='$(BALLOON_OOM)' \
	SWAP='$(SWAP)' PAGER_POLICY='$(PAGER_POLICY)' WS_PERIOD='$(WS_PERIOD)'

# The batch command goes through a file, written verbatim by $(file ...):
# quotes, ';', '$(...)' and pipes reach the guest unchanged.
define write_guest_cmd
$(if $(filter undefined,$(origin GUEST_CMD)),@rm -f $(BUILD)/guest-cmd,$(file >$(BUILD)/guest-cmd,$(value GUEST_CMD)))
$(file >$(BUILD)/guest-append,$(value GUEST_APPEND))
endef

run: $(RUN_PREREQS)
	$(write_guest_cmd)
	@$(RUN_ENV) GUEST_CMD_FILE='$(BUILD)/guest-cmd' GUEST_APPEND_FILE='$(BUILD)/guest-append' \
		tools/run-qemu.sh

debug: $(RUN_PREREQS)
	$(write_guest_cmd)
	@$(RUN_ENV) GUEST_CMD_FILE='$(BUILD)/guest-cmd' GUEST_APPEND_FILE='$(BUILD)/guest-append' \
		tools/debug.sh

# ---- tests --------------------------------------------------------------
fuzz: | $(BUILD)/.deps-ok
	@tests/fuzz/run.sh $(or $(FUZZ_SECONDS),60)

check-layers: hypervisor
	@python3 tools/check-layers.py --self-test
	@python3 tools/check-layers.py --objects $(BUILD)/obj --graph

unit-test: | $(BUILD)/.deps-ok
	@tests/unit/run.sh $(BUILD)/unit

boot-test: all
	@BUILD='$(BUILD)' BOOT_ONLY='$(BOOT_ONLY)' tests/boot/run.sh

test: | $(BUILD)/.deps-ok
	@BUILD='$(BUILD)' tests/run-all.sh

test-fresh:
	@ci/test-fresh.sh

bench-share: all
	@python3 tests/bench/share.py $(BUILD)/bench

bench-net: all
	@python3 tests/bench/net.py $(BUILD)/bench

bench-overcommit: all
	@python3 tests/bench/overcommit.py $(BUILD)/bench
	@python3 tests/bench/overcommit.py $(BUILD)/bench --density
	@python3 tests/bench/overcommit_runs.py $(BUILD)/bench

bench-peer: all
	@BUILD='$(BUILD)' python3 tests/bench/peer.py $(BUILD)/bench $(PEER_ARGS)

bench-boot: all
	@python3 tests/bench/boot_scaling.py $(BUILD)/guest/Image $(BUILD)/guest/initramfs.cpio.gz \
		$(BUILD)/discv.bin $(BUILD)/bench/boot-scaling.json 3

bench-overhead: all
	@python3 tests/bench/boot_overhead.py $(BUILD)/guest/Image $(BUILD)/guest/initramfs.cpio.gz \
		$(BUILD)/discv.bin $(BUILD)/bench/boot-overhead.json 9

clean:
	rm -rf $(BUILD)
