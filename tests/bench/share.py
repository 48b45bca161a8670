#!/usr/bin/env python3
"""Disco's Figure 6 on discv: N guests boot the shared base disk and read
the same files (the first FILESET_MIB MiB of /usr/lib/riscv64-linux-gnu/
lib*, in name order), with DMA-read sharing on and with SHARE=0, on one
NUMA node (so "one copy" means one; replication is measured by the boot
tests). For each N: the host memory actually used (every host page in
use: hypervisor, tables, guest pages) with and without sharing, the host
disk bytes read, and the host pages that hold the file set. Writes JSON
and an SVG chart to OUTDIR.

usage: share.py OUTDIR [FILESET_MIB] [N ...]
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hvstat  # noqa: E402  (tests/lib/hvstat.py)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chart  # noqa: E402  (tests/bench/chart.py)

PAGE = 4096


def read_cmd(mib):
    return ("t=0; for f in /usr/lib/riscv64-linux-gnu/lib*; do [ -f \"$f\" ] || continue; "
            "cat \"$f\" > /dev/null; t=$((t + $(stat -c %s \"$f\"))); "
            f"[ $t -ge {mib << 20} ] && break; done; echo fileset=$t")


def run(n, share, mib):
    with tempfile.TemporaryDirectory(prefix="discv-bench-share.") as state:
        # Disco's mechanism alone: content sharing would merge the SHARE=0
        # run's page-cache copies later (bench-overcommit measures it).
        env = dict(os.environ, GUESTS=str(n), SHARE=str(share), HARTS="4", NODES="1",
                   DISK="1", DISCV_STATE=state, GUEST_CMD=read_cmd(mib), CONTENT_SHARE="0")
        env.pop("GUEST_CMD_FILE", None)
        out = subprocess.run(["tools/run-qemu.sh"], env=env, stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=1800).stdout
    vms, total = hvstat.parse(out.splitlines())
    fileset = 0
    for line in out.splitlines():
        if "fileset=" in line:
            fileset = int(line.split("fileset=")[1])
    if total is None or len(vms) != n or not all(v["state"] == "off" for v in vms):
        raise RuntimeError(f"N={n} SHARE={share}: the run did not finish:\n{out[-2000:]}")
    return {"host_mib_used": round(total["host_pages_used"] * PAGE / 2**20, 1),
            "disk_host_read_mib": round(total["disk_host_read_bytes"] / 2**20, 1),
            "fileset_host_pages": total.get("host_pages_shared_disk", 0),
            "pages_saved_disk": total["pages_saved_disk"],
            "pages_saved_kernel": total["pages_saved_kernel"],
            "guest_read_mib": round(sum(v["disk_read_bytes"] for v in vms) / 2**20, 1),
            "fileset_bytes": fileset}


def svg(rows, path):
    chart.bar_chart(path, "host memory used (MiB): N guests reading the same files",
                    ["SHARE=0", "sharing"],
                    [(f'N={r["guests"]}', [r["noshare"]["host_mib_used"], r["share"]["host_mib_used"]])
                     for r in rows], one_scale=True)


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    outdir = argv[1]
    mib = int(argv[2]) if len(argv) > 2 else 32
    counts = [int(x) for x in argv[3:]] or [1, 2, 4, 8]
    rows = []
    for n in counts:
        rows.append({"guests": n, "share": run(n, 1, mib), "noshare": run(n, 0, mib)})
        print(f"bench-share: N={n} done", file=sys.stderr)
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "share.json"), "w") as f:
        json.dump({"benchmark": "N guests read the same files", "fileset_mib": mib,
                   "machine": "4 harts, 1 NUMA node, 2 GiB; 128 MiB per guest", "rows": rows},
                  f, indent=2)
    svg(rows, os.path.join(outdir, "share.svg"))
    base = rows[0]["share"]["fileset_host_pages"] or 1
    print(f"bench-share: {mib} MiB file set, one NUMA node (host MiB = every host page in use)")
    print("| guests | host MiB, sharing | host MiB, SHARE=0 | disk MiB read, sharing | disk MiB read, SHARE=0 | file-set host pages | vs N=1 |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        s, o = r["share"], r["noshare"]
        print(f"| {r['guests']} | {s['host_mib_used']} | {o['host_mib_used']} | "
              f"{s['disk_host_read_mib']} | {o['disk_host_read_mib']} | "
              f"{s['fileset_host_pages']} | {s['fileset_host_pages'] / base:.3f}x |")
    print(f"bench-share: -> {outdir}/share.json, {outdir}/share.svg")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
