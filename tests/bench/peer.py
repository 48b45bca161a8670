#!/usr/bin/env python3
"""The peer, side by side (issue 11, docs/performance.md "The peer"): the
same idle guests under discv and under KVM + KSM, on the same emulated
machine (QEMU virt, 4 harts, 2 NUMA nodes, 2 GiB), in one invocation.

Both sides boot the same guest kernel (build/guest/Image) and initramfs
(build/guest/initramfs.cpio.gz), 128 MiB and one vCPU each. The peer host
is ci/build-peer.sh's: Debian 13's kernel with kvm.ko, Debian 13's QEMU as
the VMM (-accel kvm), KSM off, at its defaults, or fast (1000 pages per
20 ms); its /init (peer/init) launches the guests and samples every
second. discv runs them with GUEST_INITRD (DISK=0) and the monitor's
`stats` every second.

The figure compared is what the guests cost the host, `host_mib`: host
memory in use above the empty host's baseline - discv: hvstat
host_pages_used minus the pages in use when the hypervisor came up
(before any guest); the peer: MemTotal - MemAvailable minus the same
before the first VMM started. Beside it for the peer, `vmm_pss_mib`, the
VMM processes' proportional set sizes. `all_up_s`: from the launch of
the guests (discv: QEMU's start; the peer: the first VMM's) until every
guest printed discv-init's marker line; a side whose guests are not all
up has no memory figure (null), since only confirmed guests count.

Writes OUTDIR/peer.json (one entry per measurement, the time series in
"samples") and OUTDIR/peer.svg (host_mib over time, both systems).

usage: peer.py OUTDIR [--smoke] [--seconds S] [N ...]
       (default N: 1 4 8 16, S: 180; --smoke: N=1, S=10, KSM fast only)
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
import hvstat  # noqa: E402  (tests/lib/hvstat.py)
from chart import line_chart  # noqa: E402  (tests/bench/chart.py)

PAGE = 4096
HARTS, NODES, HOST_MEM_MIB = 4, 2, 2048
OPENSBI = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin"
MARKER = "discv-init: user space up"


def log(msg):
    print(f"bench-peer: {msg}", flush=True)


def spawn(cmd, env=None):
    """Starts cmd; returns (proc, lines) with lines filled by a reader
    thread as (seconds since the start, line)."""
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace", cwd=ROOT)
    lines, start = [], time.monotonic()

    def reader():
        for line in proc.stdout:
            lines.append((time.monotonic() - start, line.rstrip("\n")))
    threading.Thread(target=reader, daemon=True).start()
    return proc, lines, start


def stop(proc):
    if proc.poll() is None:
        proc.kill()
    proc.wait()


# --- discv ------------------------------------------------------------------

UP_LINE = re.compile(r"\[guest(\d+)\] " + re.escape(MARKER))


def guests_up(lines):
    """{guest: seconds} of the marker lines seen. The monitor's prompt may
    share a line with a guest's (so the marker is looked for anywhere in
    a line), and the console ends lines with CR LF."""
    ups = {}
    for t, l in list(lines):
        for m in UP_LINE.finditer(l):
            ups.setdefault(int(m.group(1)), t)
    return ups


def run_discv(build, n, seconds):
    with tempfile.TemporaryDirectory(prefix="discv-bench-peer.") as state:
        env = dict(os.environ, GUESTS=str(n), HARTS=str(HARTS), NODES=str(NODES),
                   HOST_MEM=f"{HOST_MEM_MIB}M", DISK="0", DISCV_STATE=state,
                   GUEST_KERNEL=f"{build}/guest/Image",
                   GUEST_INITRD=f"{build}/guest/initramfs.cpio.gz",
                   DISCV_BIN=f"{build}/discv.bin", GUEST_CMD=f"sleep {seconds + 600}")
        env.pop("GUEST_CMD_FILE", None)
        proc, lines, start = spawn(["tools/run-qemu.sh"], env)
        opened, all_up, deadline = False, None, time.monotonic() + seconds + 600
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(1)
            ups = guests_up(lines)
            if all_up is None and len(ups) >= n:
                all_up = max(ups.values())
            try:
                if not opened and any("hypervisor on hart" in l for _, l in lines):
                    proc.stdin.write("\x1d")	# the monitor stays open
                    opened = True
                if opened:
                    proc.stdin.write("stats\n")
                proc.stdin.flush()
            except (BrokenPipeError, ValueError):
                break
            if all_up is not None and time.monotonic() - start >= seconds:
                break	# sampled from the launch until `seconds`, as the peer is
        stop(proc)
    text = [l for _, l in lines]
    m = next((re.search(r"(\d+) MiB host RAM in \d+ node\(s\), (\d+) MiB free", l) for l in text
              if "MiB host RAM in" in l), None)
    if not m:
        raise RuntimeError("discv did not come up:\n" + "\n".join(text[-20:]))
    baseline_mib = int(m.group(1)) - int(m.group(2))
    samples = []
    for ts, l in lines:
        i = l.find("hvstat: ")
        if i >= 0 and '"vm":"total"' in l:
            tot = json.loads(l[i + len("hvstat: "):])
            samples.append((round(ts, 1), round(tot["host_pages_used"] * PAGE / 2**20 - baseline_mib, 1)))
    up = len(guests_up(lines))
    return {"system": "discv", "work": "idle", "guests": n, "ksm": None,
            "guests_up": up, "all_up_s": round(all_up, 1) if all_up is not None else None,
            "host_mib": samples[-1][1] if samples and up == n else None,
            "baseline_mib": baseline_mib, "vmm_pss_mib": None, "samples": samples}


# --- the peer ---------------------------------------------------------------

def peer_initrd(build, tmp):
    """The peer host's initramfs with the guests' images appended as a
    second cpio (4-byte aligned: Linux looks for the next archive there)."""
    tools = os.path.join(os.path.expanduser(os.environ.get("DISCV_CACHE", "~/.cache/discv")), "tools")
    tool = sorted(p for p in os.listdir(tools) if p.startswith("gen_init_cpio"))
    if not tool:
        raise RuntimeError("no gen_init_cpio in the cache (make guest-initramfs builds it)")
    gen = os.path.join(tools, tool[-1])
    lst = os.path.join(tmp, "guests.list")
    with open(lst, "w") as f:
        f.write("dir /guest 0755 0 0\n"
                f"file /guest/Image {build}/guest/Image 0644 0 0\n"
                f"file /guest/initramfs.cpio.gz {build}/guest/initramfs.cpio.gz 0644 0 0\n")
    guests = subprocess.run([gen, "-t", "0", lst], check=True, capture_output=True).stdout
    with open(f"{build}/peer/host.cpio.gz", "rb") as f:
        host = f.read()
    out = os.path.join(tmp, "peer-initrd.img")
    with open(out, "wb") as f:
        f.write(host + b"\0" * (-len(host) % 4) + guests)
    return out


def numa_args():
    per, a = HARTS // NODES, []
    for n in range(NODES):
        a += ["-object", f"memory-backend-ram,size={HOST_MEM_MIB // NODES}M,id=mem{n}",
              "-numa", f"node,memdev=mem{n},cpus={n * per}-{(n + 1) * per - 1},nodeid={n}"]
    return a + ["-numa", "dist,src=0,dst=1,val=20"]


def run_peer(build, initrd, n, ksm, seconds):
    cmd = ["qemu-system-riscv64", "-M", "virt", "-cpu", "rv64", "-smp", str(HARTS),
           "-m", f"{HOST_MEM_MIB}M", *numa_args(), "-nographic", "-bios", OPENSBI,
           "-kernel", f"{build}/peer/Image", "-initrd", initrd,
           "-append", f"console=ttyS0 quiet peer.guests={n} peer.ksm={ksm} peer.seconds={seconds}"]
    proc, lines, _ = spawn(cmd)
    deadline = time.monotonic() + seconds * 4 + 900
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(1)
        if any(l.startswith("peer: done") or l.startswith("peer: error") for _, l in lines):
            time.sleep(2)
            break
    stop(proc)
    text = [l for _, l in lines]
    err = [l for l in text if l.startswith("peer: error")]
    base = next((int(l.split("=")[1]) for l in text if l.startswith("peer: baseline used_kib=")), None)
    if err or base is None:
        raise RuntimeError("the peer host failed:\n" + "\n".join((err or text)[-20:]))
    samples, pss, up = [], None, 0
    for l in text:
        if l.startswith("peer-sample: "):
            f = dict(kv.split("=") for kv in l[len("peer-sample: "):].split())
            samples.append((float(f["t"]), round((int(f["used_kib"]) - base) / 1024, 1)))
            pss, up = round(int(f["pss_kib"]) / 1024, 1), int(f["up"])
    all_up = next((float(l.split()[4]) for l in text if l.startswith("peer: all up after")), None)
    return {"system": "kvm-ksm", "work": "idle", "guests": n, "ksm": ksm != "off",
            "ksm_setting": ksm, "guests_up": up, "all_up_s": all_up,
            "host_mib": samples[-1][1] if samples and up == n else None,
            "baseline_mib": round(base / 1024, 1), "vmm_pss_mib": pss if up == n else None,
            "samples": samples,
            "never_up": [l for l in text if "never came up" in l]}


# --- the chart ----------------------------------------------------------------

def svg(rows, path):
    line_chart(path, "What N idle guests cost the host: discv vs KVM + KSM", "seconds since launch",
               "host MiB above the empty host",
               [(f'{r["system"]} N={r["guests"]}' +
                 (f' ksm={r["ksm_setting"]}' if r["system"] != "discv" else ""),
                 r["samples"], r["system"] != "discv") for r in rows])


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    outdir, args = argv[1], list(argv[2:])
    smoke, seconds, counts = False, None, []
    while args:
        a = args.pop(0)
        if a == "--smoke":
            smoke = True
        elif a == "--seconds" and args and args[0].isdigit():
            seconds = int(args.pop(0))
        elif a.isdigit() and int(a) > 0:
            counts.append(int(a))
        else:
            print(__doc__, file=sys.stderr)
            return 2
    seconds = seconds or (10 if smoke else 180)
    counts = counts or ([1] if smoke else [1, 4, 8, 16])
    settings = ["fast"] if smoke else ["off", "default", "fast"]
    build = os.path.join(ROOT, os.environ.get("BUILD", "build"))
    os.makedirs(outdir, exist_ok=True)
    subprocess.run([os.path.join(ROOT, "ci", "build-peer.sh"), f"{build}/peer"], check=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="discv-bench-peer.") as tmp:
        initrd = peer_initrd(build, tmp)
        for n in counts:
            log(f"discv: {n} idle guest(s), {seconds} s ...")
            rows.append(run_discv(build, n, seconds))
            log(f"  all up {rows[-1]['all_up_s']} s, host_mib {rows[-1]['host_mib']}")
            for ksm in settings:
                log(f"kvm-ksm: {n} idle guest(s), KSM {ksm}, {seconds} s ...")
                rows.append(run_peer(build, initrd, n, ksm, seconds))
                r = rows[-1]
                log(f"  up {r['guests_up']}/{n}, all up {r['all_up_s']} s, host_mib {r['host_mib']}, "
                    f"vmm_pss_mib {r['vmm_pss_mib']}")
    with open(os.path.join(outdir, "peer.json"), "w") as f:
        json.dump(rows, f, indent=1)
    svg(rows, os.path.join(outdir, "peer.svg"))
    print("| guests | system | KSM | all up | host MiB above baseline | VMM PSS MiB |")
    print("|---:|---|---|---:|---:|---:|")
    for r in rows:
        ksm = r.get("ksm_setting", "-") if r["system"] != "discv" else "-"
        print(f'| {r["guests"]} | {r["system"]} | {ksm} | {r["all_up_s"]} s | {r["host_mib"]} | '
              f'{r["vmm_pss_mib"] if r["vmm_pss_mib"] is not None else "-"} |')
    log(f"-> {outdir}/peer.json, peer.svg")
    return 0 if all(r["guests_up"] == r["guests"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
