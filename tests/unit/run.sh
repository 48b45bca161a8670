#!/usr/bin/env bash
# Host unit tests of discv's pure logic (see tests/unit/README.md).
#
#   tests/unit/run.sh [OUTDIR]      (default build/unit; run from anywhere)
#
# Builds each test binary natively with ASan + UBSan into OUTDIR, runs it,
# and prints one line per binary ("unit: test_x: N checks passed", or its
# failures), then "unit: N binaries, M failed". Exits non-zero if any
# binary failed to build or to pass.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/../../build/unit}
mkdir -p "$out" && out=$(cd "$out" && pwd) || exit 1	# relative to the caller
cd "$here/../.." || exit 1

CC=${HOSTCC:-gcc}
CFLAGS=(-std=gnu11 "-fsanitize=address,undefined" -fno-sanitize-recover=all -DDISCV_UNIT_INTERLEAVE
	-g -O1 -Wall -Wextra -Werror -Ihyp -Itests/unit)
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

# Each test binary and the sources it links (besides tests/unit/NAME.c).
tests=(test_gstage test_host_pages test_guest_memory test_config test_format test_sbi
	test_placement test_runqueue test_virtq test_host_vq test_blk_request test_overlay
	test_insn test_vplic test_share_table test_vcpu_states test_virtio_mmio
	test_vswitch test_vnet_hdr test_rx_plan test_vnet_offload test_content_table
	test_content_merge test_balloon_parse test_pager test_idle_tax)
sources() {
	case $1 in
	test_gstage) echo hyp/g-stage/gstage.c ;;
	test_host_pages) echo hyp/mem/host_pages.c hyp/lib/counters.c hyp/lib/format.c hyp/share/share_table.c ;;
	test_guest_memory|test_content_merge) echo hyp/core/guest_memory.c hyp/mem/host_pages.c \
		hyp/lib/counters.c hyp/lib/format.c hyp/g-stage/gstage.c \
		hyp/share/content_share.c hyp/share/content_table.c hyp/lib/page_hash.c hyp/mem/swap.c \
		hyp/core/working_set.c hyp/mem/idle_tax.c ;;
	test_config) echo hyp/guest/config.c hyp/lib/format.c ;;
	test_format) echo hyp/lib/format.c ;;
	test_sbi) echo tests/unit/fakes.c hyp/sbi/*.c hyp/core/vcpu_state.c \
		hyp/core/guest_memory.c hyp/mem/host_pages.c hyp/lib/counters.c hyp/lib/format.c hyp/g-stage/gstage.c \
		hyp/share/content_share.c hyp/share/content_table.c hyp/lib/page_hash.c hyp/mem/swap.c \
		hyp/core/working_set.c hyp/mem/idle_tax.c ;;
	test_placement) echo hyp/core/placement.c ;;
	test_runqueue) echo hyp/core/runqueue.c hyp/core/vcpu_state.c ;;
	test_virtq) echo hyp/virtio/virtq.c ;;
	test_virtio_mmio) echo hyp/virtio/virtio_mmio.c hyp/virtio/virtq.c ;;
	test_host_vq) echo hyp/host/host_vq.c ;;
	test_blk_request) echo hyp/vdisk/blk_request.c hyp/virtio/virtq.c ;;
	test_overlay) echo hyp/vdisk/overlay.c ;;
	test_insn) echo hyp/core/insn.c ;;
	test_vplic) echo hyp/vplic/vplic.c ;;
	test_share_table) echo hyp/share/share_table.c ;;
	test_vcpu_states) echo hyp/core/vcpu_state.c ;;
	test_vswitch) echo hyp/vnet/vswitch.c ;;
	test_vnet_hdr) echo hyp/vnet/vnet_hdr.c ;;
	test_rx_plan) echo hyp/vnet/rx_plan.c ;;
	test_vnet_offload) echo hyp/vnet/vnet_offload.c ;;
	test_content_table) echo hyp/share/content_table.c hyp/lib/page_hash.c ;;
	test_balloon_parse) echo hyp/balloon/balloon_parse.c ;;
	test_idle_tax) echo hyp/mem/idle_tax.c ;;
	test_pager) echo hyp/core/pager.c hyp/core/guest_memory.c hyp/mem/host_pages.c hyp/mem/swap.c \
		hyp/lib/counters.c hyp/lib/format.c hyp/g-stage/gstage.c \
		hyp/share/content_share.c hyp/share/content_table.c hyp/lib/page_hash.c \
		hyp/core/working_set.c hyp/mem/idle_tax.c ;;
	esac
}

# Build all binaries in parallel; each keeps its compiler output.
pids=()
for t in "${tests[@]}"; do
	# shellcheck disable=SC2046 # word splitting of the source list is intended
	"$CC" "${CFLAGS[@]}" -o "$out/$t" "tests/unit/$t.c" $(sources "$t") \
		>"$out/$t.build.log" 2>&1 &
	pids+=($!)
done
built=()
for i in "${!tests[@]}"; do
	wait "${pids[$i]}"
	built[i]=$?
done

failed=0
for i in "${!tests[@]}"; do
	t=${tests[$i]}
	if [ "${built[$i]}" -ne 0 ]; then
		echo "unit: $t: FAILED to build:"
		sed 's/^/    /' "$out/$t.build.log" | head -n 60
		failed=$((failed + 1))
		continue
	fi
	"$out/$t" >"$out/$t.log" 2>&1
	rc=$?
	summary=$(grep "^unit: $t: " "$out/$t.log" | tail -n 1)
	if [ "$rc" -eq 0 ] && [ -n "$summary" ]; then
		echo "$summary"
	else
		failed=$((failed + 1))
		# The failures (file:line lines), then the verdict.
		grep -v "^unit: $t: " "$out/$t.log" | head -n 80 | sed 's/^/    /'
		if [ -n "$summary" ]; then
			echo "$summary"
		else
			echo "unit: $t: FAILED: exit status $rc before its summary (crash or sanitizer report above; full log $out/$t.log)"
		fi
	fi
done

echo "unit: ${#tests[@]} binaries, $failed failed"
[ "$failed" -eq 0 ]
