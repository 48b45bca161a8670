#!/usr/bin/env python3
"""The virtual network's targets (docs/virtual-network.md), each measured
with the remap on and off in the same run, on the default machine (4
harts, 2 NUMA nodes, 2 GiB, 128 MiB guests booting the base disk):

  tcp     guest1 sends to guest0 with iperf3 -Z (sendfile) for SECONDS:
          throughput, the share of received bytes that arrived by remap,
          host memory; NET_REMAP=1 against NET_REMAP=0.
  nfs     guest0 exports /usr (nfs-serve), guest1 reads /usr/lib over NFS
          (nfs-mount) and checks its md5 against guest0's: the share of
          pages that arrived by pv copy, and how much the host's memory
          grew against a run where guest1 only mounts (the server's own
          first read of the files included) and against one where guest1
          only mounts after guest0 read the files itself (the client's
          read alone); remap and pv copy on against NET_REMAP=0 PV_COPY=0.
  disco8  Disco's row: guest0 serves, guests 1-7 read the same files (16
          MiB of libraries) over NFS, against 8 guests each reading them
          from its own disk (the base disk, shared): host memory.

Writes OUTDIR/net.json and OUTDIR/net.svg and prints the tables.
usage: net.py OUTDIR [--smoke] (--smoke: tcp only, 1 s, to check the bench runs)
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
FILES = "find {d} -type f | sort | xargs cat | md5sum"
# guest0 serves one test (-1) and stays up until it is over; guest1 tries
# to connect for up to 60 s (a guest may be up seconds before the other:
# the peer's under KSM's fast setting once was, and its client was
# refused). A server gone mid-test makes iperf3 3.18's threaded client
# segfault, so the server never leaves on a timer.
IPERF = ("n=$(hostname); if [ $n = guest0 ]; then timeout 120 iperf3 -s -1 >/dev/null; "
         "else k=0; until iperf3 -c guest0 -Z -t {t} -f m > /tmp/iperf 2>&1; do k=$((k + 1)); "
         "[ $k -ge 60 ] && break; sleep 1; done; grep -e receiver -e error /tmp/iperf; fi")
NFS_READ = ("if [ $(hostname) = guest0 ]; then nfs-serve /usr && "
            "timeout 300 nc -l -p 81 > /tmp/there.md5; " + FILES.format(d="/usr/lib") +
            " > /tmp/here.md5; cmp /tmp/here.md5 /tmp/there.md5 && echo md5-equal; "
            "else nfs-mount guest0 /usr /mnt && " + FILES.format(d="/mnt/lib") +
            " | nc guest0 81; fi")
NFS_MOUNT_ONLY = ("if [ $(hostname) = guest0 ]; then nfs-serve /usr && timeout 300 nc -l -p 81 >/dev/null; "
                  "else nfs-mount guest0 /usr /mnt && echo mounted | nc guest0 81; fi")
# The same two guests, the server having read the files itself (its cache
# warm) and the client only mounting: what the client's read adds to it.
NFS_SERVER_WARM = ("if [ $(hostname) = guest0 ]; then nfs-serve /usr && " +
                   FILES.format(d="/usr/lib") + " >/dev/null; timeout 300 nc -l -p 81 >/dev/null; "
                   "else nfs-mount guest0 /usr /mnt && "
                   "until echo mounted | nc guest0 81 2>/dev/null; do sleep 1; done; fi")
DISCO_MIB = 16	# Disco's row: the same files, the first 16 MiB of the libraries


def fileset(root, mib=DISCO_MIB):
    """Reads the first `mib` MiB of ROOT/lib/riscv64-linux-gnu/lib*, in name order."""
    return (f"t=0; for f in {root}/lib/riscv64-linux-gnu/lib*; do [ -f \"$f\" ] || continue; "
            f"cat \"$f\" > /dev/null; t=$((t + $(stat -c %s \"$f\"))); "
            f"[ $t -ge {mib << 20} ] && break; done; echo fileset=$t")


# Guests 1..7 read over NFS; guest0 waits for all seven. Each says it is
# done through a CGI of busybox httpd on guest0 (one process per request),
# retrying until it is answered: a count of `nc -l` connections misses a
# client that connects while the previous one is being served (the
# connection sits in the backlog and is reset).
DONE_CGI = ("mkdir -p /tmp/www/cgi-bin /tmp/done; "
            "printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\n"
            "touch /tmp/done/$QUERY_STRING\\necho ok\\n' > /tmp/www/cgi-bin/done; "
            "chmod +x /tmp/www/cgi-bin/done; httpd -p 80 -h /tmp/www; ")
NFS_MANY = ("if [ $(hostname) = guest0 ]; then " + DONE_CGI + "nfs-serve /usr && "
            "until [ $(ls /tmp/done | wc -l) -ge 7 ]; do sleep 1; done; "
            "else nfs-mount guest0 /usr /mnt && " + fileset("/mnt") +
            " && until wget -q -T 5 -O - \"http://guest0/cgi-bin/done?$(hostname)\" | grep -q ok; "
            "do sleep 1; done; fi")
LOCAL_READ = fileset("/usr")


def run(guests, cmd, **env_extra):
    with tempfile.TemporaryDirectory(prefix="discv-bench-net.") as state:
        # The network's mechanisms alone: content sharing would merge the
        # copying runs' pages later (bench-overcommit measures it).
        env = dict(os.environ, GUESTS=str(guests), NET="1", DISK="1", DISCV_STATE=state,
                   GUEST_CMD=cmd, CONTENT_SHARE="0",
                   **{k: str(v) for k, v in env_extra.items()})
        env.pop("GUEST_CMD_FILE", None)
        out = subprocess.run(["tools/run-qemu.sh"], env=env, stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=3600).stdout
    vms, total = hvstat.parse(out.splitlines())
    if total is None or len(vms) != guests or not all(v["state"] == "off" for v in vms):
        raise RuntimeError(f"{guests} guests, {env_extra}: the run did not finish:\n{out[-3000:]}")
    return out, vms, total


def mib(pages):
    return round(pages * PAGE / 2**20, 1)


def tcp(seconds, remap):
    out, vms, total = run(2, IPERF.format(t=seconds), NET_REMAP=remap)
    mbits = next((float(l.split("MBytes")[1].split()[0]) for l in out.splitlines()
                  if "receiver" in l and "MBytes" in l), None)
    rx = vms[0]["net_rx_bytes"]
    return {"net_remap": remap, "mbit_s": mbits, "rx_bytes": rx,
            "pages_remapped": vms[0]["net_pages_remapped"],
            "remapped_fraction": round(vms[0]["net_pages_remapped"] * PAGE / rx, 3) if rx else 0,
            "host_mib_used": mib(total["host_pages_used"])}


def nfs(on):
    knobs = {} if on else {"NET_REMAP": 0, "PV_COPY": 0}
    out, vms, total = run(2, NFS_READ, **knobs)
    _, _, base = run(2, NFS_MOUNT_ONLY, **knobs)
    _, _, warm = run(2, NFS_SERVER_WARM, **knobs)
    rx = vms[1]["net_rx_bytes"]
    grown = (total["host_pages_used"] - base["host_pages_used"]) * PAGE
    grown_warm = (total["host_pages_used"] - warm["host_pages_used"]) * PAGE
    return {"remap_and_pv_copy": on, "md5_equal": "[guest0] md5-equal" in out,
            "bytes_read": rx, "pages_remapped": vms[1]["net_pages_remapped"],
            "pv_remaps": vms[1]["pv_remaps"],
            "pv_fraction": round(vms[1]["pv_remaps"] * PAGE / rx, 3) if rx else 0,
            "host_mib_used": mib(total["host_pages_used"]),
            "host_mib_mount_only": mib(base["host_pages_used"]),
            "host_growth_of_bytes_read": round(grown / rx, 3) if rx else None,
            "host_mib_server_warm": mib(warm["host_pages_used"]),
            "client_growth_of_bytes_read": round(grown_warm / rx, 3) if rx else None}


def disco8():
    rows = {}
    for name, cmd, knobs in (("nfs", NFS_MANY, {}),
                             ("nfs_copy", NFS_MANY, {"NET_REMAP": 0, "PV_COPY": 0}),
                             ("own_disk", LOCAL_READ, {})):
        _, vms, total = run(8, cmd, **knobs)
        rows[name] = {"host_mib_used": mib(total["host_pages_used"]),
                      "pv_remaps": sum(v.get("pv_remaps", 0) for v in vms),
                      "net_rx_mib": round(sum(v.get("net_rx_bytes", 0) for v in vms) / 2**20, 1)}
        print(f"bench-net: disco8 {name} done", file=sys.stderr)
    return rows


def svg(result, path):
    bars = []
    for r in result["tcp"]:
        bars.append((f"tcp remap={r['net_remap']}", r["host_mib_used"]))
    for r in result.get("nfs", []):
        bars.append(("nfs " + ("remap+pv" if r["remap_and_pv_copy"] else "copy"), r["host_mib_used"]))
    for k, v in result.get("disco8", {}).items():
        bars.append((f"8 VMs {k}", v["host_mib_used"]))
    chart.bar_chart(path, "host memory used (MiB) at the end of each run", ["host MiB"],
                    [(label, [v]) for label, v in bars], one_scale=True)


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    outdir, smoke = argv[1], "--smoke" in argv[2:]
    seconds = 1 if smoke else 5
    result = {"benchmark": "virtual network", "machine": "4 harts, 2 NUMA nodes, 2 GiB; 128 MiB guests",
              "smoke": smoke, "tcp": [tcp(seconds, 1), tcp(seconds, 0)]}
    print("bench-net: tcp done", file=sys.stderr)
    if not smoke:
        result["nfs"] = [nfs(True), nfs(False)]
        print("bench-net: nfs done", file=sys.stderr)
        result["disco8"] = disco8()
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "net.json"), "w") as f:
        json.dump(result, f, indent=2)
    svg(result, os.path.join(outdir, "net.svg"))
    print(f"| iperf3 -Z -t {seconds} | Mbit/s | received MB | by remap | host MiB |")
    print("|---|---:|---:|---:|---:|")
    for r in result["tcp"]:
        print(f"| NET_REMAP={r['net_remap']} | {r['mbit_s']} | {r['rx_bytes'] / 1e6:.1f} | "
              f"{100 * r['remapped_fraction']:.0f} % | {r['host_mib_used']} |")
    if not smoke:
        print("| NFS read of /usr/lib | md5 equal | MiB read | by pv copy | host MiB | mount only "
              "| growth / bytes read | server warm | client's growth / bytes read |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in result["nfs"]:
            print(f"| {'remap + pv copy' if r['remap_and_pv_copy'] else 'NET_REMAP=0 PV_COPY=0'} | "
                  f"{r['md5_equal']} | {r['bytes_read'] / 2**20:.1f} | {100 * r['pv_fraction']:.0f} % | "
                  f"{r['host_mib_used']} | {r['host_mib_mount_only']} | "
                  f"{100 * r['host_growth_of_bytes_read']:.0f} % | {r['host_mib_server_warm']} | "
                  f"{100 * r['client_growth_of_bytes_read']:.0f} % |")
        d = result["disco8"]
        print("| 8 VMs | host MiB |")
        print("|---|---:|")
        print(f"| guest0 serves, 1-7 read over NFS (remap + pv copy) | {d['nfs']['host_mib_used']} |")
        print(f"| the same, NET_REMAP=0 PV_COPY=0 | {d['nfs_copy']['host_mib_used']} |")
        print(f"| each reads from its own disk (shared base) | {d['own_disk']['host_mib_used']} |")
    print(f"bench-net: -> {outdir}/net.json, {outdir}/net.svg")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
