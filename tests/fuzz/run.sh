#!/usr/bin/env bash
# libFuzzer targets of discv's pure code (see tests/fuzz/README.md).
#
#   tests/fuzz/run.sh [SECONDS]     (default 30; run from anywhere)
#
# Builds each target (fuzz_virtq: the virtqueue and virtio-blk parsers;
# fuzz_frame: a frame's way through the switch; fuzz_balloon: the
# balloon's parsers) with clang
# (-fsanitize=fuzzer,address,undefined) into build/fuzz/, and fuzzes each
# for SECONDS with its corpus kept in build/fuzz/corpus/NAME (it grows
# from run to run).
# Prints the executions, executions/s and coverage; exits non-zero if the
# target crashed (the input is saved as build/fuzz/crash-*) or did not
# build.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.." || exit 1

secs=${1:-30}
case $secs in
'' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac
CC=${FUZZ_CC:-clang}
out=build/fuzz
mkdir -p "$out/seeds" || exit 1
if ! command -v "$CC" >/dev/null; then
	echo "fuzz: $CC not found (ci/install-deps.sh lists the packages)" >&2
	exit 1
fi
flags=(-g -O1 -fno-sanitize-recover=all -Wall -Wextra -Werror -Ihyp)

# fuzz NAME MAX_LEN SEEDS SOURCES...: builds and runs one target for secs
# seconds, its corpus in build/fuzz/corpus/NAME; false if it crashed.
fuzz() {
	local name=$1 max_len=$2 seeds=$3
	shift 3
	local corpus=$out/corpus/$name log=$out/$name.log
	mkdir -p "$corpus"
	if ! "$CC" "${flags[@]}" -fsanitize=fuzzer,address,undefined -o "$out/$name" "$@" \
		>"$out/$name.build.log" 2>&1; then
		echo "fuzz: $name: FAILED to build:"
		sed 's/^/    /' "$out/$name.build.log" | head -n 60
		return 1
	fi
	"$out/$name" -max_total_time="$secs" -max_len="$max_len" -print_final_stats=1 \
		-artifact_prefix="$out/" "$corpus" $seeds >"$log" 2>&1
	local rc=$?
	local done_line execs rate cov
	done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	if [ "$rc" -ne 0 ]; then
		echo "fuzz: $name: FAILED (exit status $rc); the report:"
		grep -v -E '^#[0-9]+[[:space:]]' "$log" | tail -n 60 | sed 's/^/    /'
		ls "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-* 2>/dev/null |
			sed 's/^/fuzz: input: /'
		return 1
	fi
	cov=$(echo "$done_line" | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' || true)
	echo "fuzz: $name: ${secs}s, ${execs:-?} executions, ${rate:-?}/s, $cov (log $log)"
}

# The virtqueue and virtio-blk parsers, from seeds written by the target
# itself (-DFUZZ_SEEDS); the largest useful input is the setup and a
# queue of 256 with its buffers.
virtq_srcs=(tests/fuzz/fuzz_virtq.c hyp/virtio/virtq.c hyp/vdisk/blk_request.c)
if ! "$CC" "${flags[@]}" -fsanitize=address,undefined -DFUZZ_SEEDS -o "$out/make_seeds" \
	"${virtq_srcs[@]}" >"$out/make_seeds.build.log" 2>&1; then
	echo "fuzz: make_seeds: FAILED to build:"
	sed 's/^/    /' "$out/make_seeds.build.log" | head -n 60
	exit 1
fi
"$out/make_seeds" "$out/seeds" || exit 1
ok=0
fuzz fuzz_virtq 16400 "$out/seeds" "${virtq_srcs[@]}" || ok=1
# A frame's path through the switch: header check, routing, remap plan,
# then the checksum and the segmentation for a receiver without offloads.
fuzz fuzz_frame 512 "" tests/fuzz/fuzz_frame.c hyp/vnet/vnet_hdr.c hyp/vnet/vswitch.c \
	hyp/vnet/rx_plan.c hyp/vnet/vnet_offload.c || ok=1
# The balloon's parsers: inflate/deflate PFN arrays, statistics, reports.
fuzz fuzz_balloon 4096 "" tests/fuzz/fuzz_balloon.c hyp/balloon/balloon_parse.c || ok=1
exit $ok
