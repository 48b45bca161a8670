#!/usr/bin/env bash
# `make debug`: boots discv under QEMU halted at the first instruction,
# with a gdb server on localhost:1234, and attaches gdb-multiarch with the
# hypervisor's symbols. QEMU's console output goes to $BUILD/debug-console.log
# (follow it with `tail -f` in another terminal). Quit gdb to stop QEMU.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
log=$BUILD/debug-console.log
QEMU_GDB=1 tools/run-qemu.sh </dev/null >"$log" 2>&1 &
qemu=$!
trap 'kill $qemu 2>/dev/null || true' EXIT
echo "debug: QEMU waits for gdb on :1234; console in $log"
gdb-multiarch -q "$BUILD/discv.elf" \
	-ex 'set architecture riscv:rv64' \
	-ex 'target remote localhost:1234' \
	-ex 'break hyp_main' \
	-ex 'echo discv: `continue` runs to hyp_main; `break vcpu_handle_exit` stops at each guest exit\n'
