#!/usr/bin/env python3
"""Boot scaling: time from QEMU's start until every guest has reached user
space (printed "discv-init: user space up"), for N = 1, 2, 4, 8, 16 guests
on the default machine (4 harts, 2 NUMA nodes, 128 MiB per guest), the
median of RUNS runs each. Prints a table and writes JSON to OUT.

usage: boot_scaling.py KERNEL INITRD DISCV_BIN OUT [RUNS] [N ...]
"""
import json
import os
import re
import statistics
import sys

from timing import seconds_until

MARKER = re.compile(rb"^\[(guest\d+)\] discv-init: user space up")
TIMEOUT = 300


def time_to_all_up(n, env):
    """Seconds from spawning the run until all n guests reached user space."""
    up = set()

    def all_up(line):
        m = MARKER.match(line)
        if m:
            up.add(m.group(1))
        return len(up) == n

    elapsed = seconds_until(["tools/run-qemu.sh"], all_up,
                            dict(env, GUESTS=str(n), GUEST_CMD="true"), TIMEOUT)
    if elapsed is None:
        raise RuntimeError(f"only {len(up)} of {n} guests reached user space")
    return elapsed


def main(argv):
    if len(argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    kernel, initrd, discv_bin, out = argv[1:5]
    runs = int(argv[5]) if len(argv) > 5 else 3
    counts = [int(x) for x in argv[6:]] or [1, 2, 4, 8, 16]
    env = dict(os.environ, DISK="0", HARTS="4", NODES="2", HOST_MEM="2G", GUEST_VCPUS="1",
               GUEST_MEM="128M", GUEST_KERNEL=kernel, GUEST_INITRD=initrd,
               DISCV_BIN=discv_bin)
    env.pop("GUEST_CMD_FILE", None)
    rows = []
    for n in counts:
        times = [time_to_all_up(n, env) for _ in range(runs)]
        rows.append({"guests": n, "median_s": round(statistics.median(times), 3),
                     "min_s": round(min(times), 3), "max_s": round(max(times), 3),
                     "runs_s": [round(t, 3) for t in times]})
    result = {"benchmark": "QEMU start until every guest is in user space",
              "machine": "4 harts, 2 NUMA nodes, 2 GiB; 1 vCPU and 128 MiB per guest",
              "runs": runs, "rows": rows}
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w") as f:
        json.dump(result, f, indent=2)
    print(f"bench-boot: QEMU start until every guest is in user space ({runs} runs, median)")
    print("| guests | median | min | max | per guest |")
    print("|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['guests']} | {r['median_s']:.2f} s | {r['min_s']:.2f} s | "
              f"{r['max_s']:.2f} s | {r['median_s'] / r['guests']:.3f} s |")
    print(f"bench-boot: -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
