#!/usr/bin/env python3
"""The peer, side by side (issue 11, docs/performance.md "The peer"): the
same guests and the same work under discv and under KVM + KSM, on the
same emulated machine (QEMU virt, 4 harts, 2 GiB; 2 NUMA nodes for idle,
1 for the others: see nodes()), in one invocation. The works:

  idle     N guests boot the initramfs (build/guest/initramfs.cpio.gz)
           and stay idle (discv: DISK=0 with GUEST_INITRD).
  fileset  Disco's Figure 6 case (make bench-share's): N guests boot the
           base disk (build/guest/base.img) and each reads the same file
           set (the first FILESET_MIB MiB of /usr/lib/riscv64-linux-gnu/
           lib*), then stays idle.
  tcp      make bench-net's bulk TCP: guest1 sends to guest0 with iperf3
           -Z for 5 s (Mbit/s).
  nfs      make bench-net's NFS read: guest0 exports /usr, guest1 reads
           /usr/lib over NFS and the md5s are compared.

All but idle boot the base disk: discv with DISK=1 and the work's command
as GUEST_CMD (NET=1 for tcp and nfs); the peer with the base disk as its
host's virtio disk, each guest's a qcow2 overlay over it (qemu-img create
-b, the way a KVM user runs it), guests on a Linux bridge through taps
(tcp, nfs), and the same command typed into each guest's console. Both
sides boot the same guest kernel (build/guest/Image), 128 MiB and one
vCPU each. The peer host is ci/build-peer.sh's: Debian 13's kernel with
kvm.ko, Debian 13's QEMU as the VMM (-accel kvm), KSM off, at its
defaults, or fast (1000 pages per 20 ms); its /init (peer/init) launches
the guests and samples every second. discv's side is sampled by the
monitor's `stats` every second.

The figure compared is what the guests cost the host, `host_mib`: host
memory in use above the empty host's baseline - discv: hvstat
host_pages_used minus the pages in use when the hypervisor came up
(before any guest); the peer: MemTotal - MemAvailable minus the same
before the first VMM started. Beside it for the peer, `vmm_pss_mib`, the
VMM processes' proportional set sizes. `all_up_s`: from the launch of
the guests (discv: QEMU's start; the peer: the first VMM's) until every
guest printed discv-init's marker line; `all_done_s`: until every guest
finished the work's command; `disk_read_mib`: the host disk bytes read
(discv: hvstat disk_host_read_bytes; the peer: its disk's sectors read,
from /sys/block/vda/stat, since the baseline). A side whose guests are
not all up, or did not all finish, or one of whose guests crashed
(`guests_crashed`: its kernel oopsed or panicked, or its shell reported
a program killed by a fault) or powered off (`guests_gone`: the peer's
VMM exited), has no memory figure (null): only confirmed guests count;
its row says why (`failures`, the guests' last console lines in
`console_tail`). The exit status is 1 if a discv row or a peer row with
KSM off has no figure: a peer guest lost with KSM on is a finding about
the peer (its guests' memory goes wrong while KSM merges it quickly and
the peer host's transparent huge pages are on: docs/performance.md),
which the table shows, not a failure of
the bench; a lost guest with KSM off means the peer itself is broken.

Writes OUTDIR/peer.json (one entry per measurement, the time series in
"samples"), OUTDIR/peer-idle-N.svg (host_mib over time per N, both
systems), OUTDIR/peer-fileset.svg (host_mib and disk_read_mib per N) and
each run's console as OUTDIR/peer-WORK-N-discv.log or -ksm-K.log.

usage: peer.py --self-test   (the row parser and the exit rule on made-up consoles)
       peer.py OUTDIR [--smoke] [--seconds S] [--work W]... [--ksm K]...
               [--fileset-mib M] [--thp T] [N ...]
       (default: every work; N: 1 4 8 16 idle, 1 4 8 fileset, 2 tcp and
       nfs; S: 180; K: off, default and fast idle,
       off and fast the others; M: 32; --smoke: idle, N=1, S=10, KSM fast;
       T: never, madvise or always, the peer host's transparent huge pages
       (its kernel's transparent_hugepage=); without it, Debian's default,
       madvise, which Debian's QEMU asks for its guests' RAM)
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
from chart import bar_chart, line_chart  # noqa: E402  (tests/bench/chart.py)
import net  # noqa: E402  (tests/bench/net.py: the network's commands)
from share import read_cmd  # noqa: E402  (tests/bench/share.py: the file set's reader)

PAGE = 4096
HARTS, HOST_MEM_MIB = 4, 2048


def nodes(work):
    """NUMA nodes of the machine, both sides. Idle: 2, discv's default. The
    works that boot the base disk: 1, since with 2 nodes QEMU 7.2 wires
    every virtio interrupt to node 1's PLIC and Debian's 6.12 kernel on
    the peer host never receives one (its first read of the disk never
    completes); one node is also make bench-share's machine."""
    return 2 if work == "idle" else 1


# The peer host's harts: discv's machine's (QEMU's rv64) with Sscofpmf,
# without which KVM offers its guests no SBI PMU extension, and Linux 6.1
# gives user mode the time CSR (its vDSO's clock_gettime) only in its SBI
# PMU driver (guest-kernel/discv.config has it): without both, iperf3 and
# the NFS daemons die of SIGILL in the guests (the tcp and nfs works).
PEER_CPU = "rv64,sscofpmf=true"
OPENSBI = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin"
MARKER = "discv-init: user space up"
WORKS = ["idle", "fileset", "tcp", "nfs"]
DEFAULT_WORKS = WORKS
COUNTS = {"idle": [1, 4, 8, 16], "fileset": [1, 4, 8], "tcp": [2], "nfs": [2]}
TCP_SECONDS = 5


def ksm_settings(work):
    return ["off", "default", "fast"] if work == "idle" else ["off", "fast"]


def command(work, fileset_mib):
    """The shell command a guest runs for the work (not idle), ending in a
    line "peer-cmd-status=N" both sides look for."""
    return {"fileset": read_cmd(fileset_mib),
            "tcp": net.IPERF.format(t=TCP_SECONDS),
            "nfs": net.NFS_READ}[work]


def results(work, text):
    """The work's own figures from the consoles' lines (discv's "[guestK] "
    prefixes or the peer's "peer: gK| ")."""
    if work == "tcp":
        return {"mbit_s": next((float(l.split("MBytes")[1].split()[0]) for l in text
                                if "receiver" in l and "MBytes" in l), None)}
    if work == "nfs":	# the typed line's echo has "echo md5-equal;", not the line alone
        return {"md5_equal": any(re.search(r"(\] |\| )md5-equal\s*$", l) for l in text)}
    return {}


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
DONE_LINE = re.compile(r"\[guest(\d+)\] peer-cmd-status=\d")
# A guest whose kernel oopsed or panicked, or whose shell reported a program
# killed by a fault, does not count (the same as peer/init's crash_pattern).
CRASH = "Oops|Kernel panic|BUG: |Unable to handle kernel|Segmentation fault|Illegal instruction|Bus error"
CRASH_LINE = re.compile(r"\[guest(\d+)\] .*(" + CRASH + ")")


def guests_seen(lines, pattern):
    """{guest: seconds} of the first line of each guest that matches. The
    monitor's prompt may share a line with a guest's (so the pattern is
    looked for anywhere in a line), and the console ends lines with CR LF."""
    seen = {}
    for t, l in list(lines):
        for m in pattern.finditer(l):
            seen.setdefault(int(m.group(1)), t)
    return seen


def keep_log(logfile, lines):
    with open(logfile, "w") as f:
        f.write("".join(f"{t:7.1f} {l}\n" for t, l in lines))


def add_work_fields(row, work, fileset_mib, done, disk_read_mib, all_done_s, text):
    """The fields a disk or network work adds to a row, the same on both
    sides: how many guests finished, the host disk read, when the last
    finished, and what the work's command printed (results())."""
    if work != "idle":
        row.update(guests_done=done, disk_read_mib=disk_read_mib, all_done_s=all_done_s,
                   **results(work, text))
    if work == "fileset":
        row["fileset_mib"] = fileset_mib
    return row


def run_discv(build, n, seconds, work, fileset_mib, logfile):
    with tempfile.TemporaryDirectory(prefix="discv-bench-peer.") as state:
        env = dict(os.environ, GUESTS=str(n), HARTS=str(HARTS), NODES=str(nodes(work)),
                   HOST_MEM=f"{HOST_MEM_MIB}M", DISCV_STATE=state,
                   GUEST_KERNEL=f"{build}/guest/Image", DISCV_BIN=f"{build}/discv.bin")
        if work == "idle":
            env.update(DISK="0", GUEST_INITRD=f"{build}/guest/initramfs.cpio.gz",
                       GUEST_CMD=f"sleep {seconds + 600}")
        else:
            env.update(DISK="1", BASE_DISK=f"{build}/guest/base.img", NET="1" if work in ("tcp", "nfs") else "0",
                       GUEST_CMD=f"{command(work, fileset_mib)}; echo peer-cmd-status=$?; sleep {seconds + 600}")
            env.pop("GUEST_INITRD", None)
        env.pop("GUEST_CMD_FILE", None)
        proc, lines, start = spawn(["tools/run-qemu.sh"], env)
        opened, all_up, all_done = False, None, None
        deadline = time.monotonic() + seconds + 600
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(1)
            ups = guests_seen(lines, UP_LINE)
            if all_up is None and len(ups) >= n:
                all_up = max(ups.values())
            dones = guests_seen(lines, DONE_LINE)
            if all_done is None and len(dones) >= n:
                all_done = max(dones.values())
            try:
                if not opened and any("hypervisor on hart" in l for _, l in lines):
                    proc.stdin.write("\x1d")	# the monitor stays open
                    opened = True
                if opened:
                    proc.stdin.write("stats\n")
                proc.stdin.flush()
            except (BrokenPipeError, ValueError):
                break
            finished = (all_up is not None and (work == "idle" or all_done is not None) or
                        bool(guests_seen(lines, CRASH_LINE)))	# a crashed guest never will
            if finished and time.monotonic() - start >= seconds:
                break	# sampled from the launch until `seconds`, as the peer is
        stop(proc)
    keep_log(logfile, lines)
    text = [l for _, l in lines]
    m = next((re.search(r"(\d+) MiB host RAM in \d+ node\(s\), (\d+) MiB free", l) for l in text
              if "MiB host RAM in" in l), None)
    if not m:
        raise RuntimeError("discv did not come up:\n" + "\n".join(text[-20:]))
    baseline_mib = int(m.group(1)) - int(m.group(2))
    samples, disk_read = [], None
    for ts, l in lines:
        i = l.find("hvstat: ")
        if i >= 0 and '"vm":"total"' in l:
            tot = json.loads(l[i + len("hvstat: "):])
            samples.append((round(ts, 1), round(tot["host_pages_used"] * PAGE / 2**20 - baseline_mib, 1)))
            disk_read = round(tot.get("disk_host_read_bytes", 0) / 2**20, 1)	# none with DISK=0
    up = len(guests_seen(lines, UP_LINE))
    done = len(guests_seen(lines, DONE_LINE)) if work != "idle" else up
    crashed = len(guests_seen(lines, CRASH_LINE))
    row = {"system": "discv", "work": work, "guests": n, "ksm": False, "content_share": True,
           "guests_up": up, "guests_crashed": crashed, "guests_gone": 0,
           "all_up_s": round(all_up, 1) if all_up is not None else None,
           "host_mib": samples[-1][1] if samples and up == n and done == n and not crashed else None,
           "baseline_mib": baseline_mib, "vmm_pss_mib": None, "samples": samples}
    return add_work_fields(row, work, fileset_mib, done, disk_read,
                           round(all_done, 1) if all_done is not None else None, text)


# --- the peer ---------------------------------------------------------------

def peer_initrd(build, tmp, fileset_mib):
    """The peer host's initramfs with the guests' images and the file
    set's command appended as a second cpio (4-byte aligned: Linux looks
    for the next archive there)."""
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
        for work in WORKS[1:]:
            path = os.path.join(tmp, f"cmd-{work}")
            with open(path, "w") as c:
                c.write(command(work, fileset_mib) + "\n")
            f.write(f"file /guest/cmd-{work} {path} 0644 0 0\n")
    guests = subprocess.run([gen, "-t", "0", lst], check=True, capture_output=True).stdout
    with open(f"{build}/peer/host.cpio.gz", "rb") as f:
        host = f.read()
    out = os.path.join(tmp, "peer-initrd.img")
    with open(out, "wb") as f:
        f.write(host + b"\0" * (-len(host) % 4) + guests)
    return out


def numa_args(count):
    if count == 1:
        return []
    per, a = HARTS // count, []
    for n in range(count):
        a += ["-object", f"memory-backend-ram,size={HOST_MEM_MIB // count}M,id=mem{n}",
              "-numa", f"node,memdev=mem{n},cpus={n * per}-{(n + 1) * per - 1},nodeid={n}"]
    return a + ["-numa", "dist,src=0,dst=1,val=20"]


def run_peer(build, initrd, n, ksm, seconds, work, fileset_mib, logfile, thp=None):
    # The base disk on virtio-mmio, as discv's guests see theirs (on the
    # PCI transport the peer kernel's first read of it never completed).
    disk = (["-drive", f"file={build}/guest/base.img,if=none,id=base,format=raw,readonly=on",
             "-device", "virtio-blk-device,drive=base"] if work != "idle" else [])
    cmd = ["qemu-system-riscv64", "-M", "virt", "-cpu", PEER_CPU, "-smp", str(HARTS),
           "-m", f"{HOST_MEM_MIB}M", *numa_args(nodes(work)), "-nographic", "-bios", OPENSBI,
           "-kernel", f"{build}/peer/Image", "-initrd", initrd, *disk,
           "-append", f"console=ttyS0 quiet peer.guests={n} peer.ksm={ksm} peer.seconds={seconds} "
                      f"peer.work={work}" + (f" transparent_hugepage={thp}" if thp else "")]
    proc, lines, _ = spawn(cmd)
    deadline = time.monotonic() + seconds * 4 + 900
    while proc.poll() is None and time.monotonic() < deadline:
        time.sleep(1)
        if any(l.startswith("peer: done") or l.startswith("peer: error") for _, l in lines):
            time.sleep(2)
            break
    stop(proc)
    keep_log(logfile, lines)
    row = peer_row([l for _, l in lines], n, ksm, work, fileset_mib)
    if thp:
        row["thp"] = thp
    return row


def peer_row(text, n, ksm, work, fileset_mib):
    """The row of one peer run, from its console's lines (peer/init's)."""
    err = [l for l in text if l.startswith("peer: error")]
    base = next((int(l.split("=")[1]) for l in text if l.startswith("peer: baseline used_kib=")), None)
    if err or base is None:
        raise RuntimeError("the peer host failed:\n" + "\n".join((err or text)[-20:]))
    samples, pss, up, done, crashed, gone, disk_read = [], None, 0, 0, 0, 0, None
    for l in text:
        if l.startswith("peer-sample: "):
            f = dict(kv.split("=") for kv in l[len("peer-sample: "):].split())
            samples.append((float(f["t"]), round((int(f["used_kib"]) - base) / 1024, 1)))
            pss, up, done = round(int(f["pss_kib"]) / 1024, 1), int(f["up"]), int(f["done"])
            crashed, gone = int(f["crashed"]), int(f["gone"])
            disk_read = round(int(f["disk_read_kib"]) / 1024, 1)
    if work == "idle":
        done = up

    def after(prefix):
        return next((float(l.split()[4]) for l in text if l.startswith(prefix)), None)
    ok = samples and up == n and done == n and not crashed and not gone
    row = {"system": "kvm-ksm", "work": work, "guests": n, "ksm": ksm != "off",
           "ksm_setting": ksm, "guests_up": up, "guests_crashed": crashed, "guests_gone": gone,
           "all_up_s": after("peer: all up after"),
           "host_mib": samples[-1][1] if ok else None,
           "baseline_mib": round(base / 1024, 1), "vmm_pss_mib": pss if ok else None,
           "samples": samples,
           "failures": [l for l in text if re.match(r"peer: guest \d+( never| crashed|'s VMM exited)", l)]}
    if not ok:	# the guests' last console lines say why (peer/init prints them)
        row["console_tail"] = [l for l in text if re.match(r"peer: (g\d+)?\| ", l)][-40:]
    return add_work_fields(row, work, fileset_mib, done, disk_read,
                           after("peer: all done after"), text)


# --- the charts and the table -------------------------------------------------

def label(r):
    return r["system"] + (f' ksm={r["ksm_setting"]}' if r["system"] != "discv" else "") + \
        (f' thp={r["thp"]}' if "thp" in r else "")


def charts(rows, outdir):
    for n in sorted({r["guests"] for r in rows if r["work"] == "idle"}):
        line_chart(os.path.join(outdir, f"peer-idle-{n}.svg"),
                   f"What {n} idle guest(s) cost the host: discv vs KVM + KSM", "seconds since launch",
                   "host MiB above the empty host",
                   [(label(r), r["samples"], r["system"] != "discv")
                    for r in rows if r["work"] == "idle" and r["guests"] == n])
    fs = [r for r in rows if r["work"] == "fileset"]
    if fs:
        systems = list(dict.fromkeys(label(r) for r in fs))
        groups = [(f"N={n} {what}", [next((r[key] for r in fs if r["guests"] == n and label(r) == sys_),
                                          None) for sys_ in systems])
                  for n in sorted({r["guests"] for r in fs})
                  for key, what in (("host_mib", "host"), ("disk_read_mib", "disk"))]
        bar_chart(os.path.join(outdir, "peer-fileset.svg"),
                  f"N guests read the same {fs[0]['fileset_mib']} MiB: host MiB, then host disk MiB read",
                  systems, groups)


def summary(r):
    extra = {k: r[k] for k in ("guests_crashed", "guests_gone", "all_done_s", "disk_read_mib", "mbit_s", "md5_equal")
             if k in r}
    return (f"up {r['guests_up']}/{r['guests']}, all up {r['all_up_s']} s, host_mib {r['host_mib']}, "
            f"vmm_pss_mib {r['vmm_pss_mib']}" + "".join(f", {k} {v}" for k, v in extra.items()))


def table(rows):
    """The side-by-side table (markdown). A row whose guests did not all
    get there says why in place of its figures: "guest crashed" (its
    kernel oopsed or panicked, or a program died of a fault), "guest
    powered off" (its VMM exited), "not up" or "not done"."""
    print("| work | guests | system | KSM | all up | all done | host MiB above baseline | VMM PSS MiB "
          "| host disk MiB read | result |")
    print("|---|---:|---|---|---:|---:|---:|---:|---:|---|")

    def s(v, unit=""):
        return "-" if v is None else f"{v}{unit}"
    for r in rows:
        ksm = r.get("ksm_setting", "-") if r["system"] != "discv" else "-"
        ksm += f', THP {r["thp"]}' if "thp" in r else ""
        idle = r["work"] == "idle"
        why = ("guest crashed" if r["guests_crashed"] else
               "guest powered off" if r["guests_gone"] else
               "not up" if r["guests_up"] < r["guests"] else
               "not done" if not idle and r.get("guests_done", 0) < r["guests"] else None)
        result = why or (f'{r["mbit_s"]} Mbit/s' if "mbit_s" in r else
                         f'md5 equal: {r["md5_equal"]}' if "md5_equal" in r else
                         f'{r["fileset_mib"]} MiB read' if "fileset_mib" in r else "-")
        print(f'| {r["work"]} | {r["guests"]} | {r["system"]} | {ksm} | {s(r["all_up_s"], " s")} | '
              f'{"-" if idle else s(r["all_done_s"], " s")} | {why or s(r["host_mib"])} | '
              f'{s(r["vmm_pss_mib"])} | {"-" if idle else s(r["disk_read_mib"])} | {result} |')


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    if argv[1] == "--self-test":
        return 1 if self_test() else 0
    outdir, args = argv[1], list(argv[2:])
    smoke, seconds, works, fileset_mib, counts, ksms, thp = False, None, [], 32, [], [], None
    while args:
        a = args.pop(0)
        if a == "--smoke":
            smoke = True
        elif a == "--seconds" and args and args[0].isdigit():
            seconds = int(args.pop(0))
        elif a == "--work" and args and args[0] in WORKS:
            works.append(args.pop(0))
        elif a == "--ksm" and args and args[0] in ("off", "default", "fast"):
            ksms.append(args.pop(0))
        elif a == "--thp" and args and args[0] in ("never", "madvise", "always"):
            thp = args.pop(0)
        elif a == "--fileset-mib" and args and args[0].isdigit() and int(args[0]) > 0:
            fileset_mib = int(args.pop(0))
        elif a.isdigit() and int(a) > 0:
            counts.append(int(a))
        else:
            print(__doc__, file=sys.stderr)
            return 2
    works = works or (["idle"] if smoke else DEFAULT_WORKS)
    build = os.path.join(ROOT, os.environ.get("BUILD", "build"))
    os.makedirs(outdir, exist_ok=True)
    subprocess.run([os.path.join(ROOT, "ci", "build-peer.sh"), f"{build}/peer"], check=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="discv-bench-peer.") as tmp:
        initrd = peer_initrd(build, tmp, fileset_mib)
        for work in works:
            secs = seconds or (10 if smoke else 180)
            for n in counts or ([1] if smoke else COUNTS[work]):
                log(f"discv: {work}, {n} guest(s), {secs} s ...")
                rows.append(run_discv(build, n, secs, work, fileset_mib,
                                      os.path.join(outdir, f"peer-{work}-{n}-discv.log")))
                log("  " + summary(rows[-1]))
                for ksm in ksms or (["fast"] if smoke else ksm_settings(work)):
                    log(f"kvm-ksm: {work}, {n} guest(s), KSM {ksm}" + (f", THP {thp}" if thp else "") +
                        f", {secs} s ...")
                    rows.append(run_peer(build, initrd, n, ksm, secs, work, fileset_mib,
                                         os.path.join(outdir, f"peer-{work}-{n}-ksm-{ksm}.log"), thp))
                    log("  " + summary(rows[-1]))
    with open(os.path.join(outdir, "peer.json"), "w") as f:
        json.dump(rows, f, indent=1)
    charts(rows, outdir)
    table(rows)
    log(f"-> {outdir}/peer.json, peer-*.svg")
    return 1 if bench_failures(rows) else 0


def bench_failures(rows):
    """The rows that fail the bench, logged with every row that has no
    figure. A peer guest lost with KSM on is a finding of the run, not a
    failure of the bench (docs/performance.md, "The peer"); any other row
    without a figure is one."""
    lost = [r for r in rows if r["host_mib"] is None]
    for r in lost:
        log(f'no figure for {label(r)} {r["work"]} N={r["guests"]}: ' +
            "; ".join(r.get("failures") or ["see its log"]))
    failed = [r for r in lost if r["system"] == "discv" or not r["ksm"]]
    if failed:
        log("the bench failed: " + ", ".join(f'{label(r)} {r["work"]} N={r["guests"]}' for r in failed))
    return failed


def self_test():
    """peer_row and bench_failures on made-up consoles of peer/init: a
    confirmed guest, one that powered off, one whose shell saw a fault,
    one never up; lost with KSM fast (a finding) and with KSM off (a
    failure). Returns the number of checks that failed."""
    def console(sample, tail=()):
        return (["peer: ksm=fast pages_to_scan=1000 sleep_millisecs=20",
                 "peer: baseline used_kib=102400", "peer: launched 1 guest(s)", "peer: all up after 9.0 s",
                 "peer-sample: t=1.0 up=0 done=0 crashed=0 gone=0 used_kib=112640 pss_kib=2048 "
                 "ksm_sharing=0 ksm_shared=0 disk_read_kib=1024",
                 "peer-sample: t=9.0 " + sample + " used_kib=153600 pss_kib=51200 "
                 "ksm_sharing=10 ksm_shared=2 disk_read_kib=2048"] + list(tail) +
                ["peer: g0| discv-init: user space up", "peer: done"])
    up_done = "up=1 done=1 crashed=0 gone=0"
    good = peer_row(console(up_done) + ["peer: all done after 20.0 s", "peer: g0| fileset=33554432"],
                    1, "fast", "fileset", 32)
    off = peer_row(console("up=1 done=1 crashed=0 gone=1", ["peer: guest 0's VMM exited before the end"]),
                   1, "off", "fileset", 32)	# done, then powered off: not confirmed at the end
    fast = dict(peer_row(console("up=1 done=0 crashed=1 gone=0", ["peer: guest 0 crashed: Segmentation fault"]),
                         1, "fast", "fileset", 32))
    never = peer_row(console("up=0 done=0 crashed=0 gone=0", ["peer: guest 0 never came up"]), 1, "fast", "idle", 32)
    checks = [
        ("a confirmed guest has figures", good["host_mib"] == 50.0 and good["vmm_pss_mib"] == 50.0
         and good["all_done_s"] == 20.0 and good["disk_read_mib"] == 2.0 and "console_tail" not in good),
        ("a powered-off guest has none, and says why", off["host_mib"] is None and off["guests_gone"] == 1
         and len(off["failures"]) == 1 and off["console_tail"]),
        ("a fault is a crash", fast["host_mib"] is None and fast["guests_crashed"] == 1),
        ("a guest never up has none", never["host_mib"] is None and never["failures"]),
        ("the crash pattern sees a shell's fault", bool(CRASH_LINE.search("[guest3] Segmentation fault"))),
        ("a guest lost with KSM on is a finding", bench_failures([good, fast, never]) == []),
        ("a guest lost with KSM off fails the bench", bench_failures([good, off]) == [off]),
        ("a discv row without a figure fails the bench",
         bench_failures([dict(good, system="discv", ksm=False, host_mib=None)]) != []),
    ]
    for what, ok in checks:
        print(f"peer.py self-test: {'ok  ' if ok else 'FAIL'} {what}")
    return sum(not ok for _, ok in checks)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
