#!/usr/bin/env python3
"""The host's side of the boot test net-uplink (tests/boot/run.sh).

    uplink_host.py WEB_PORT DONE_PORT TRAP_PORT LOG

While the guests run: listens on 127.0.0.1:TRAP_PORT (a guest that could
reach the host's loopback through slirp's 10.0.2.2 would connect here;
restrict=on must stop it); waits until the guest's console says
"uplink-ready", fetches http://127.0.0.1:WEB_PORT/big (forwarded to guest1's
busybox httpd by FWD) three times and compares each with the checksum the
guest printed ("big-md5 SUM"); then connects to DONE_PORT (guest1's nc,
which ends its command). Prints "host: ..." lines, appended to the log.
"""
import hashlib
import re
import socket
import sys
import threading
import time
import urllib.request


def wait_for(log, pattern, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with open(log, errors="replace") as f:
                m = re.search(pattern, f.read())
            if m:
                return m
        except FileNotFoundError:
            pass
        time.sleep(0.2)
    return None


def trap(port, stop):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(4)
    s.settimeout(0.5)
    while not stop.is_set():
        try:
            conn, peer = s.accept()
            print(f"host: a guest reached the host's loopback from {peer}", flush=True)
            conn.close()
        except socket.timeout:
            pass
    s.close()


def main():
    web, done, trap_port, log = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    stop = threading.Event()
    t = threading.Thread(target=trap, args=(trap_port, stop), daemon=True)
    t.start()
    m = wait_for(log, r"big-md5 ([0-9a-f]{32})", 100)
    if not m or not wait_for(log, r"uplink-ready", 30):
        print("host: the guest never said uplink-ready", flush=True)
        stop.set()
        return
    want = m.group(1)
    for k in (1, 2, 3):
        try:
            start = time.time()
            body = urllib.request.urlopen(f"http://127.0.0.1:{web}/big", timeout=30).read()
            secs = time.time() - start
            got = hashlib.md5(body).hexdigest()
            verdict = "ok" if got == want else f"WRONG ({got}, want {want})"
            print(f"host: fetch-{k} {verdict}: {len(body)} bytes in {secs:.2f} s", flush=True)
        except OSError as e:
            print(f"host: fetch-{k} failed: {e}", flush=True)
    # The guest's attempt to reach the host happens before uplink-ready.
    stop.set()
    t.join()
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", done), timeout=5).close()
            break
        except OSError:
            time.sleep(0.2)


if __name__ == "__main__":
    main()
