#!/usr/bin/env python3
"""Memory overcommit on discv (docs/overcommit.md), part two: guests that
really use their memory. N guests of GUEST_MEM (default 8 of 256 MiB, one
vCPU each, 4 harts, one NUMA node) each fill WORK MiB of tmpfs with
checksummed data (16 MiB of random bytes and copies of it), read every
16 MiB piece back against the first md5, and print how long that took
(guest time, /proc/uptime). Every guest has a swap file of its own on its
own disk (48 MiB), so that a ballooned guest can give up memory. The
same work, in one invocation, under:

  enough        HOST_MEM large enough for all (no swap, no balloon)
  balloon       HOST_MEM=1G, no swap: each guest's balloon takes half
                of its RAM (the monitor's `balloon K MIB`), the guest
                swaps to its own file
  pager-clock   HOST_MEM=1G, SWAP=2G: the hypervisor's pager, clock
  pager-random  the same, PAGER_POLICY=random
  both          HOST_MEM=1G, SWAP=2G, balloons at a quarter
  policy        HOST_MEM=1G, SWAP=2G, balloons set by the memory policy
                (the idle memory tax over working sets sampled every
                5 s: WS_PERIOD=5, since the runs are short)

For each: every guest verified or not, the slowest guest's work time and
its ratio to `enough`, the pager's and the balloon's counters, and the
double-paging counters (double_paging_avoided x 4 KiB: swap reads saved).
Content sharing is off in all of them (the copies would merge: this
measures reclaim). Writes overcommit-runs.json to OUTDIR.

usage: overcommit_runs.py OUTDIR [--smoke] [CONFIG ...]
       (--smoke: 2 guests of 192 MiB in 256M, 112 MiB of work each)
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import hvstat  # noqa: E402  (tests/lib/hvstat.py)

PAGE = 4096

# The guest's work: WORK_MB - 16 MiB of copies of a 16 MiB random file.
WORK = """dd if=/dev/zero of=/swapfile bs=1M count=48 2>/dev/null; chmod 600 /swapfile
mkswap /swapfile > /dev/null && swapon /swapfile || echo no-guest-swap
mount -t tmpfs -o size=250m none /mnt
sleep {delay}
t0=$(cut -d' ' -f1 /proc/uptime)
dd if=/dev/urandom of=/mnt/r bs=1M count=16 2>/dev/null
want=$(md5sum < /mnt/r)
for i in $(seq {copies}); do cat /mnt/r; done > /mnt/big
bad=0
for i in $(seq 0 {last}); do [ "$(dd if=/mnt/big bs=1M skip=$((i * 16)) count=16 2>/dev/null | md5sum)" = "$want" ] || bad=1; done
t1=$(cut -d' ' -f1 /proc/uptime)
[ $bad = 0 ] && echo work-verified-$t0-$t1 || echo work-BAD
umount /mnt; swapoff /swapfile; rm -f /swapfile"""


def configs(smoke):
    if smoke:
        return {"pager-clock": dict(HOST_MEM="256M", SWAP="1G")}, 2, "192M", 112
    return {
        "enough": dict(HOST_MEM="3G", SWAP="0"),
        "balloon": dict(HOST_MEM="1G", SWAP="0", BALLOON="1", balloon_mib=128),
        "pager-clock": dict(HOST_MEM="1G", SWAP="2G"),
        "pager-random": dict(HOST_MEM="1G", SWAP="2G", PAGER_POLICY="random"),
        "both": dict(HOST_MEM="1G", SWAP="2G", BALLOON="1", balloon_mib=64),
        "policy": dict(HOST_MEM="1G", SWAP="2G", BALLOON="1", WS_PERIOD="5"),
    }, 8, "256M", 112


def run(name, cfg, n, guest_mem, work_mb, timeout_s):
    copies = work_mb // 16 - 1
    cmd = WORK.format(delay=20, copies=copies, last=copies - 1)	# the balloons inflate meanwhile
    with tempfile.TemporaryDirectory(prefix="discv-bench-overcommit-runs.") as state:
        env = dict(os.environ, GUESTS=str(n), GUEST_MEM=guest_mem, HARTS="4", NODES="1",
                   DISK="1", DISCV_STATE=state, CONTENT_SHARE="0", GUEST_CMD=cmd,
                   **{k: v for k, v in cfg.items() if k.isupper()})
        env.pop("GUEST_CMD_FILE", None)
        proc = subprocess.Popen(["tools/run-qemu.sh"], env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines, start = [], time.monotonic()

        def reader():
            for line in proc.stdout:
                lines.append((time.monotonic() - start, line.rstrip("\n")))
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        ballooned = not cfg.get("balloon_mib")
        while proc.poll() is None and time.monotonic() - start < timeout_s:
            time.sleep(1)
            ups = sum(1 for _, l in lines if l.endswith("discv-init: user space up"))
            if not ballooned and ups == n:
                # Every guest is up: the balloons take their part while the
                # guests sleep before their work.
                try:
                    proc.stdin.write("\x1d")
                    for k in range(n):
                        proc.stdin.write(f"balloon {k} {cfg['balloon_mib']}\n")
                    proc.stdin.write("\n")	# an empty line leaves the monitor
                    proc.stdin.flush()
                except (BrokenPipeError, ValueError):
                    break
                ballooned = True
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        t.join(5)
    text = [l for _, l in lines]
    vms, total = hvstat.parse(text)
    times = [float(b) - float(a) for a, b in
             (m.groups() for m in (re.search(r"work-verified-([\d.]+)-([\d.]+)$", l) for l in text) if m)]
    bad = sum(1 for l in text if "work-BAD" in l or "no-guest-swap" in l)
    vms = vms or []
    row = {
        "config": name, "guests": n, "guest_mem": guest_mem, "work_mib": work_mb,
        "host_mem": cfg["HOST_MEM"], "swap": cfg["SWAP"], "balloon_mib": cfg.get("balloon_mib", 0),
        "pager_policy": cfg.get("PAGER_POLICY", "clock"),
        "verified": len(times), "bad": bad,
        "all_off": bool(vms) and all(v["state"] == "off" for v in vms) and len(vms) == n,
        "work_s_max": round(max(times), 1) if times else None,
        "work_s_mean": round(sum(times) / len(times), 1) if times else None,
        "run_s": round(lines[-1][0], 1) if lines else None,
        "swap_outs": sum(v.get("swap_outs", 0) for v in vms),
        "swap_ins": sum(v.get("swap_ins", 0) for v in vms),
        "balloon_pages": sum(v.get("balloon_pages", 0) for v in vms),
        "balloon_pages_freed": sum(v.get("balloon_pages_freed", 0) for v in vms),
        "policy_inflated_pages": sum(v.get("policy_inflated_pages", 0) for v in vms),
        "low_blocks": sum(v.get("low_blocks", 0) for v in vms),
        "mem_state_end": (total or {}).get("mem_state"),
        "double_paging_reads": sum(v.get("double_paging_reads", 0) for v in vms),
        "double_paging_avoided": sum(v.get("double_paging_avoided", 0) for v in vms),
        "stale_reads_avoided": sum(v.get("stale_reads_avoided", 0) for v in vms),
        "disk_write_mib": round(sum(v.get("disk_write_bytes", 0) for v in vms) / 2**20, 1),
        "swap_write_mib": round((total or {}).get("swap_write_bytes", 0) / 2**20, 1),
        "swap_read_mib": round((total or {}).get("swap_read_bytes", 0) / 2**20, 1),
    }
    row["swap_reads_saved_mib"] = round((row["double_paging_avoided"] + row["stale_reads_avoided"])
                                        * PAGE / 2**20, 1)
    return row


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    outdir, smoke = argv[1], "--smoke" in argv[2:]
    table, n, guest_mem, work_mb = configs(smoke)
    chosen = [a for a in argv[2:] if not a.startswith("--")] or list(table)
    os.makedirs(outdir, exist_ok=True)
    rows = []
    for name in chosen:
        cfg = table[name]
        print(f"bench-overcommit: {n} guests of {guest_mem}, {work_mb} MiB of work each, {name} "
              f"(HOST_MEM={cfg['HOST_MEM']} SWAP={cfg['SWAP']}"
              f"{' balloon ' + str(cfg['balloon_mib']) + ' MiB' if cfg.get('balloon_mib') else ''}) ...",
              flush=True)
        r = run(name, cfg, n, guest_mem, work_mb, 600 if smoke else 1800)
        rows.append(r)
        print(f"  verified {r['verified']}/{n}, slowest {r['work_s_max']} s, swap out/in "
              f"{r['swap_outs']}/{r['swap_ins']}, double paging avoided {r['double_paging_avoided']}, "
              f"reads {r['double_paging_reads']}", flush=True)
    base = next((r for r in rows if r["config"] == "enough"), None)
    for r in rows:
        if base and base["work_s_max"] and r["work_s_max"]:
            r["work_ratio_to_enough"] = round(r["work_s_max"] / base["work_s_max"], 2)
    with open(os.path.join(outdir, "overcommit-runs.json"), "w") as f:
        json.dump(rows, f, indent=1)
    print("| config | host | verified | slowest guest | x enough | swap out / in (pages) | "
          "balloon pages freed | double paging avoided / reads | swap reads saved | guest disk writes |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f'| {r["config"]} | {r["host_mem"]}, swap {r["swap"]} | {r["verified"]}/{r["guests"]} | '
              f'{r["work_s_max"]} s | {r.get("work_ratio_to_enough", "-")} | '
              f'{r["swap_outs"]} / {r["swap_ins"]} | {r["balloon_pages_freed"]} | '
              f'{r["double_paging_avoided"]} / {r["double_paging_reads"]} | {r["swap_reads_saved_mib"]} MiB | '
              f'{r["disk_write_mib"]} MiB |')
    print(f"bench-overcommit: -> {outdir}/overcommit-runs.json")
    return 0 if all(r["verified"] == r["guests"] and not r["bad"] and r["double_paging_reads"] == 0
                    for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
