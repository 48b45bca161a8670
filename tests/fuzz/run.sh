#!/usr/bin/env bash
# libFuzzer targets of discv's pure code (see tests/fuzz/README.md).
#
#   tests/fuzz/run.sh [SECONDS]     (default 30; run from anywhere)
#
# Builds fuzz_virtq with clang (-fsanitize=fuzzer,address,undefined) into
# build/fuzz/, writes its seed inputs, and fuzzes for SECONDS with the
# corpus kept in build/fuzz/corpus/fuzz_virtq (it grows from run to run).
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
corpus=$out/corpus/fuzz_virtq
mkdir -p "$corpus" "$out/seeds" || exit 1

if ! command -v "$CC" >/dev/null; then
	echo "fuzz: $CC not found (ci/install-deps.sh lists the packages)" >&2
	exit 1
fi
flags=(-g -O1 -fno-sanitize-recover=all -Wall -Wextra -Werror -Ihyp)
srcs=(tests/fuzz/fuzz_virtq.c hyp/virtio/virtq.c hyp/vdisk/blk_request.c)
if ! "$CC" "${flags[@]}" -fsanitize=fuzzer,address,undefined -o "$out/fuzz_virtq" \
	"${srcs[@]}" >"$out/fuzz_virtq.build.log" 2>&1 ||
	! "$CC" "${flags[@]}" -fsanitize=address,undefined -DFUZZ_SEEDS -o "$out/make_seeds" \
		"${srcs[@]}" >>"$out/fuzz_virtq.build.log" 2>&1; then
	echo "fuzz: fuzz_virtq: FAILED to build:"
	sed 's/^/    /' "$out/fuzz_virtq.build.log" | head -n 60
	exit 1
fi
"$out/make_seeds" "$out/seeds" || exit 1

# The largest useful input: the setup and a queue of 256 with its buffers.
"$out/fuzz_virtq" -max_total_time="$secs" -max_len=16400 -print_final_stats=1 \
	-artifact_prefix="$out/" "$corpus" "$out/seeds" >"$out/fuzz_virtq.log" 2>&1
rc=$?

done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$out/fuzz_virtq.log" | tail -n 1)
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/fuzz_virtq.log")
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/fuzz_virtq.log")
if [ "$rc" -ne 0 ]; then
	echo "fuzz: fuzz_virtq: FAILED (exit status $rc); the report:"
	grep -v -E '^#[0-9]+[[:space:]]' "$out/fuzz_virtq.log" | tail -n 60 | sed 's/^/    /'
	ls "$out"/crash-* "$out"/leak-* "$out"/timeout-* "$out"/oom-* 2>/dev/null |
		sed 's/^/fuzz: input: /'
	exit 1
fi
cov=$(echo "$done_line" | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' || true)
echo "fuzz: fuzz_virtq: ${secs}s, ${execs:-?} executions, ${rate:-?}/s, $cov (log $out/fuzz_virtq.log)"
