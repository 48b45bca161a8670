#!/usr/bin/env bash
# `make test`: every test of discv, in order of cost. Installs the Debian
# packages it needs (as root), builds what is missing, then runs
#   1. host unit tests of the pure logic (ASan + UBSan)
#   2. the layer check (tools/check-layers.py)
#   3. 10 s of libFuzzer on each target (tests/fuzz/: virtqueue, frame path)
#   4. boot tests on QEMU (tests/boot/run.sh)
#   5. a smoke run of make bench-net (counted as one test), one of
#      make bench-overcommit and one of make bench-peer (one more each),
#      and make bench-peer's row parser on made-up consoles (one more)
#   6. the boot-overhead figure (a measurement, not a pass/fail test)
# and ends with the line "N passed, M failed".
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
start=$SECONDS
passed=0
failed=0

step() { echo "test: $* ($((SECONDS - start))s)"; }

# tally PASSED FAILED: adds a suite's counts to the totals.
tally() {
	local p=$1 f=$2
	passed=$((passed + p))
	failed=$((failed + f))
}

step "installing packages if needed"
ci/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

step "building hypervisor, guest kernel (cached), initramfs, test guest"
if ! make --no-print-directory all BUILD="$BUILD"; then
	echo "test: build failed"
	echo "0 passed, 1 failed"
	exit 1
fi

step "unit tests"
unit_out=$(tests/unit/run.sh "$BUILD/unit" 2>&1)
echo "$unit_out"
u_bins=$(sed -n 's/^unit: \([0-9]*\) binaries, \([0-9]*\) failed$/\1/p' <<<"$unit_out")
u_fail=$(sed -n 's/^unit: \([0-9]*\) binaries, \([0-9]*\) failed$/\2/p' <<<"$unit_out")
if [ -z "$u_bins" ]; then
	tally 0 1
else
	tally $((u_bins - u_fail)) "$u_fail"
fi

step "layers: no file includes or calls a higher layer (hyp/LAYERS)"
if python3 tools/check-layers.py --self-test && python3 tools/check-layers.py --objects "$BUILD/obj"; then
	tally 1 0
	echo "layers: PASS"
else
	tally 0 1
	echo "layers: FAIL (tools/check-layers.py lists the violations above)"
fi

step "fuzzing the virtqueue and virtio-blk parsers and the frame path (10 s each, libFuzzer + ASan + UBSan)"
if tests/fuzz/run.sh 10; then
	tally 1 0
	echo "fuzz: PASS fuzz_virtq, fuzz_frame (no crash in 10 s each)"
else
	tally 0 1
	echo "fuzz: FAIL (see build/fuzz/)"
fi

step "boot tests"
mkdir -p "$BUILD/test-logs"
BUILD="$BUILD" tests/boot/run.sh 2>&1 | tee "$BUILD/test-logs/boot-summary.txt"
boot_out=$(cat "$BUILD/test-logs/boot-summary.txt")
b_pass=$(sed -n 's/^boot: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' <<<"$boot_out")
b_fail=$(sed -n 's/^boot: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' <<<"$boot_out")
if [ -z "$b_pass" ]; then
	tally 0 1
else
	tally "$b_pass" "$b_fail"
fi

# smoke NAME SCRIPT JSON CHECK [ARG...]: a smoke run of make bench-NAME
# (tests/bench/SCRIPT --smoke ARG...); one test, passed if the run
# succeeds and the Python expression CHECK holds of r, the JSON file it
# wrote.
smoke() {
	local name=$1 script=$2 json=$3 check=$4
	shift 4
	if python3 "tests/bench/$script" "$BUILD/bench-smoke" --smoke "$@" &&
		python3 -c "import json, sys; r = json.load(open(sys.argv[1])); sys.exit(not ($check))" \
			"$BUILD/bench-smoke/$json"; then
		tally 1 0
		echo "bench: PASS bench-$name smoke"
	else
		tally 0 1
		echo "bench: FAIL bench-$name smoke"
	fi
}

step "smoke run of make bench-net (1 s of TCP, remap on and off)"
smoke net net.py net.json \
	'len(r["tcp"]) == 2 and r["tcp"][0]["pages_remapped"] > 0 and r["tcp"][1]["pages_remapped"] == 0'

step "smoke run of make bench-overcommit (1 idle guest, 8 s, content sharing on and off)"
smoke overcommit overcommit.py overcommit.json \
	'len(r["idle"]) == 2 and r["idle"][0]["pages_zero"] > 0 and r["idle"][1]["pages_zero"] == 0 and len(r["idle"][0]["samples"]) >= 3 and r["idle"][0]["page_tables_merged"] == 0'

step "make bench-peer's row parser and exit rule on made-up consoles (peer.py --self-test)"
if python3 tests/bench/peer.py --self-test; then
	tally 1 0
else
	tally 0 1
fi

# The peer host without transparent huge pages: with them, KSM at its fast
# setting loses a guest now and then (docs/performance.md, "Transparent
# huge pages"), and this smoke checks the bench, not that finding.
step "smoke run of make bench-peer (1 idle guest on discv and on KVM + KSM, THP off, 10 s)"
smoke peer peer.py peer.json \
	'len(r) == 2 and all(x["guests_up"] == 1 and x["host_mib"] is not None and x["all_up_s"] for x in r) and r[1]["system"] == "kvm-ksm" and r[1]["vmm_pss_mib"] > 0 and r[1]["thp"] == "never"' \
	--thp never

step "benchmark: boot overhead (5 interleaved runs each; a figure, not a test)"
python3 tests/bench/boot_overhead.py "$BUILD/guest/Image" "$BUILD/guest/initramfs.cpio.gz" \
	"$BUILD/discv.bin" "$BUILD/bench/boot-overhead.json" 5 ||
	echo "test: benchmark did not complete (not counted)"

step "done"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
