#!/usr/bin/env python3
"""Memory overcommit on discv (docs/overcommit.md), part one: content-based
sharing. N identical idle guests (the base disk, 128 MiB, one vCPU each,
4 harts, 2 NUMA nodes, the default 2 GiB host) boot and idle for IDLE_S
seconds, with CONTENT_SHARE=1 and CONTENT_SHARE=0, one run after the
other. The monitor's `stats` is typed every second, so host memory is
sampled over time. For each run: host MiB in use over time, the time
until every guest is up, the final host MiB, the share of guest-touched
pages that shared host pages back, the time from all-up to 95 % of the
final saving, and the scanner's CPU share. Writes overcommit.json and
overcommit.svg to OUTDIR.

Density (--density): N idle guests with content sharing, for the largest
N that runs: host MiB at the end of 60 s idle, and the cost per guest
beyond the first (against one guest, in the same invocation). Writes
density.json. No sampling there: 257 hvstat lines a second would be the
run's bottleneck.

usage: overcommit.py OUTDIR [--smoke] [N ...]     (default N: 1 8; smoke: N=1, 8 s)
       overcommit.py OUTDIR --density [N ...]     (default N: 64 128 256)
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
from chart import line_chart  # noqa: E402  (tests/bench/chart.py)

PAGE = 4096
HARTS = 4
TIMEBASE_HZ = 10_000_000  # QEMU virt's timebase-frequency


def run(n, content_share, idle_s, sample=True):
    """One run: returns the samples and the final hvstat."""
    with tempfile.TemporaryDirectory(prefix="discv-bench-overcommit.") as state:
        env = dict(os.environ, GUESTS=str(n), CONTENT_SHARE=str(content_share),
                   HARTS=str(HARTS), NODES="2", DISK="1", DISCV_STATE=state,
                   GUEST_CMD=f"echo guest-up; sleep {idle_s}")
        env.pop("GUEST_CMD_FILE", None)
        proc = subprocess.Popen(["tools/run-qemu.sh"], env=env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines, start = [], time.monotonic()

        def reader():
            for line in proc.stdout:
                lines.append((time.monotonic() - start, line.rstrip("\n")))
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        # The monitor (Ctrl-]) stays open; `stats` prints the hvstat lines.
        opened = False
        while proc.poll() is None and time.monotonic() - start < idle_s * 4 + 1200:
            time.sleep(1)
            try:
                if not opened and any("hypervisor on hart" in l for _, l in lines):
                    proc.stdin.write("\x1d")
                    opened = True
                if opened and sample:
                    proc.stdin.write("stats\n")
                proc.stdin.flush()
            except (BrokenPipeError, ValueError):
                break
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        t.join(5)
    # The monitor's prompt may share a line with a guest's or hvstat's.
    up = [ts for ts, l in lines if re.search(r"\[guest\d+\] guest-up$", l)]
    samples = []
    for ts, l in lines:
        i = l.find("hvstat: ")
        if i >= 0 and '"vm":"total"' in l:
            tot = json.loads(l[i + len("hvstat: "):])
            samples.append((round(ts, 2), round(tot["host_pages_used"] * PAGE / 2**20, 2)))
    vms, total = hvstat.parse([l for _, l in lines])
    if total is None or len(vms) != n or not all(v["state"] == "off" for v in vms) or len(up) != n:
        tail = "\n".join(l for _, l in lines[-30:])
        raise RuntimeError(f"N={n} CONTENT_SHARE={content_share}: the run did not finish:\n{tail}")
    return samples, max(up), vms, total


def measure(n, content_share, idle_s):
    samples, all_up, vms, total = run(n, content_share, idle_s)
    after_up = [(t, m) for t, m in samples if t >= all_up]
    final = after_up[-1][1] if after_up else samples[-1][1]
    peak = max((m for _, m in after_up), default=final)
    # Time from all-up until the memory in use is within 5 % of the
    # saving (peak after all-up, minus final) of its final value.
    t95 = None
    for t, m in after_up:
        if m <= final + 0.05 * (peak - final):
            t95 = round(t - all_up, 1)
            break
    mapped = sum(v["pages_mapped"] for v in vms)
    shared = sum(v["pages_shared"] for v in vms)
    elapsed = samples[-1][0] if samples else 1
    return {
        "guests": n, "content_share": bool(content_share), "idle_s": idle_s,
        "all_up_s": round(all_up, 1),
        "host_mib": final, "host_mib_peak_after_up": peak,
        "time_to_95pct_saving_s": t95,
        "shared_fraction": round(shared / mapped, 3) if mapped else 0,
        "pages_zero": sum(v.get("pages_zero", 0) for v in vms),
        "pages_content_shared": sum(v.get("pages_content_shared", 0) for v in vms),
        "pages_saved_zero": total.get("pages_saved_zero", 0),
        "pages_saved_content": total.get("pages_saved_content", 0),
        "page_tables_merged": total.get("page_tables_merged", 0),
        "scanner_cpu_share": round(total.get("scan_ticks", 0) / (elapsed * TIMEBASE_HZ * HARTS), 4),
        "samples": samples,
    }


def svg(results, path):
    line_chart(path, "host MiB in use over time: N idle guests, content sharing on and off",
               "seconds since launch", "MiB",
               [(f'N={r["guests"]} {"sharing" if r["content_share"] else "CONTENT_SHARE=0"}: '
                 f'{r["host_mib"]:.0f} MiB', r["samples"], not r["content_share"]) for r in results])


def density(outdir, counts):
    idle_s = 60
    rows = []
    for n in [1] + counts:
        print(f"bench-overcommit: density, {n} idle guest(s), {idle_s} s ...", flush=True)
        t0 = time.monotonic()
        samples, all_up, vms, total = run(n, 1, idle_s, sample=False)
        mapped = sum(v["pages_mapped"] for v in vms)
        shared = sum(v["pages_shared"] for v in vms)
        row = {"guests": n, "host_mib": round(total["host_pages_used"] * PAGE / 2**20, 1),
               "all_up_s": round(all_up, 1), "run_s": round(time.monotonic() - t0, 1),
               "shared_fraction": round(shared / mapped, 3),
               "page_tables_merged": total.get("page_tables_merged", 0)}
        if n > 1:
            row["mib_per_guest_beyond_first"] = round((row["host_mib"] - rows[0]["host_mib"]) / (n - 1), 2)
        rows.append(row)
        print(f"  host {row['host_mib']} MiB, all up {row['all_up_s']} s, "
              f"{row.get('mib_per_guest_beyond_first', '-')} MiB per guest beyond the first", flush=True)
    with open(os.path.join(outdir, "density.json"), "w") as f:
        json.dump(rows, f, indent=1)
    print("| guests | host MiB | per guest beyond the first | all up | shared pages |")
    print("|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f'| {r["guests"]} | {r["host_mib"]} | {r.get("mib_per_guest_beyond_first", "-")} MiB | '
              f'{r["all_up_s"]} s | {r["shared_fraction"]:.0%} |')
    print(f"bench-overcommit: -> {outdir}/density.json")
    return 0


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    outdir = argv[1]
    if "--density" in argv[2:]:
        os.makedirs(outdir, exist_ok=True)
        return density(outdir, [int(x) for x in argv[2:] if x != "--density"] or [64, 128, 256])
    smoke = "--smoke" in argv[2:]
    counts = [int(x) for x in argv[2:] if x != "--smoke"] or ([1] if smoke else [1, 8])
    idle_s = 8 if smoke else 30
    os.makedirs(outdir, exist_ok=True)
    results = []
    for n in counts:
        for cs in (1, 0):
            print(f"bench-overcommit: {n} idle guest(s), CONTENT_SHARE={cs}, {idle_s} s ...", flush=True)
            r = measure(n, cs, idle_s)
            results.append(r)
            print(f"  all up {r['all_up_s']} s, host {r['host_mib']} MiB, shared {r['shared_fraction']:.0%}, "
                  f"95 % of the saving {r['time_to_95pct_saving_s']} s after all up, "
                  f"scanner {r['scanner_cpu_share']:.1%} of the harts", flush=True)
    by = {(r["guests"], r["content_share"]): r for r in results}
    summary = []
    for n in counts:
        on, off = by[(n, True)], by[(n, False)]
        row = {"guests": n, "host_mib_on": on["host_mib"], "host_mib_off": off["host_mib"],
               "shared_fraction_on": on["shared_fraction"]}
        if (1, True) in by:
            row["ratio_to_one_guest_on"] = round(on["host_mib"] / by[(1, True)]["host_mib"], 2)
            row["ratio_to_one_guest_off"] = round(off["host_mib"] / by[(1, False)]["host_mib"], 2)
        summary.append(row)
    with open(os.path.join(outdir, "overcommit.json"), "w") as f:
        json.dump({"idle": results, "summary": summary}, f, indent=1)
    svg(results, os.path.join(outdir, "overcommit.svg"))
    print("| guests | host MiB, sharing | host MiB, CONTENT_SHARE=0 | x one guest (on / off) | shared pages |")
    print("|---:|---:|---:|---:|---:|")
    for s in summary:
        ratio = f'{s.get("ratio_to_one_guest_on", "-")} / {s.get("ratio_to_one_guest_off", "-")}'
        print(f'| {s["guests"]} | {s["host_mib_on"]} | {s["host_mib_off"]} | {ratio} | {s["shared_fraction_on"]:.0%} |')
    print(f"bench-overcommit: -> {outdir}/overcommit.json, {outdir}/overcommit.svg")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
