#!/usr/bin/env python3
"""Boot overhead of discv: time from QEMU's start to the guest's first
user-space line ("discv-init: user space up"), for the same kernel and
initramfs booted

  - under discv (tools/run-qemu.sh, 1 hart, 1 guest), and
  - directly on QEMU (OpenSBI, the kernel as the S-mode payload),

in RUNS interleaved pairs (so drift in the machine's load hits both
alike). Prints the median and spread of each and their ratio, and writes
JSON to OUT. A figure, not an assertion: the ratio's floor on QEMU is
about 1.2-1.3x (two-stage translation, docs/performance.md).

usage: boot_overhead.py KERNEL INITRD DISCV_BIN OUT [RUNS]
"""
import json
import os
import statistics
import sys

from timing import seconds_until

MARKER = b"discv-init: user space up"
OPENSBI = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin"
TIMEOUT = 60


def time_to_marker(cmd, env=None):
    """Seconds from spawning cmd until MARKER appears on its output."""
    elapsed = seconds_until(cmd, lambda line: MARKER in line, env, TIMEOUT)
    if elapsed is None:
        raise RuntimeError("no first user-space line from: " + " ".join(cmd))
    return elapsed


def summary(xs):
    return {"median_s": round(statistics.median(xs), 4), "min_s": round(min(xs), 4),
            "max_s": round(max(xs), 4), "runs_s": [round(x, 4) for x in xs]}


def main(argv):
    if len(argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    kernel, initrd, discv_bin, out = argv[1:5]
    runs = int(argv[5]) if len(argv) > 5 else 9
    native = ["qemu-system-riscv64", "-M", "virt", "-cpu", "rv64", "-smp", "1", "-m", "128M",
              "-nographic", "-bios", OPENSBI, "-kernel", kernel, "-initrd", initrd,
              "-append", "quiet console=hvc0 earlycon=sbi panic=-1"]
    env = dict(os.environ, DISK="0", HARTS="1", NODES="1", HOST_MEM="1G", GUESTS="1",
               GUEST_MEM="128M", GUEST_KERNEL=kernel, GUEST_INITRD=initrd,
               DISCV_BIN=discv_bin, GUEST_CMD="true")
    env.pop("GUEST_CMD_FILE", None)
    under_discv = ["tools/run-qemu.sh"]
    t_native, t_discv = [], []
    for _ in range(runs):
        t_native.append(time_to_marker(native))
        t_discv.append(time_to_marker(under_discv, env))
    result = {
        "benchmark": "boot to first user-space line",
        "runs": runs,
        "native_qemu": summary(t_native),
        "discv": summary(t_discv),
        "ratio_of_medians": round(statistics.median(t_discv) / statistics.median(t_native), 3),
    }
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out, "w") as f:
        json.dump(result, f, indent=2)
    n, d = result["native_qemu"], result["discv"]
    print(f"bench: boot to first user-space line, {runs} interleaved runs each")
    print(f"bench:   native QEMU  median {n['median_s']:.3f} s  (min {n['min_s']:.3f}, max {n['max_s']:.3f})")
    print(f"bench:   under discv  median {d['median_s']:.3f} s  (min {d['min_s']:.3f}, max {d['max_s']:.3f})")
    print(f"bench:   ratio of medians {result['ratio_of_medians']:.2f}x  -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
