"""Shared by the benchmarks: how long a QEMU run takes to print what we
wait for."""
import os
import signal
import subprocess
import time


def seconds_until(cmd, done, env=None, timeout=60):
    """Starts cmd in its own process group and reads its output line by
    line until done(line) is true; returns the seconds since the start, or
    None if the output ended or `timeout` passed first. The whole process
    group (QEMU with it) is killed either way."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        for line in proc.stdout:
            if done(line):
                return time.monotonic() - start
            if time.monotonic() - start > timeout:
                return None
        return None
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
