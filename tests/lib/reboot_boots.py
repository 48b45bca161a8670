#!/usr/bin/env python3
"""Checks a log of reboot-test guests in rt=dtb:N mode (tests/guests/reboot-test):
every "[guestK] reboot-test: name=NAME boot=B" line names guestK, and each
of the GUESTS guests counted its boots 0, 1, ..., N. Prints "ok" or each
problem; exits non-zero on any.

usage: reboot_boots.py LOG GUESTS N
"""
import re
import sys


def main(argv):
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    log, guests, last = argv[1], int(argv[2]), int(argv[3])
    seen = {f"guest{k}": [] for k in range(guests)}
    bad = []
    with open(log, errors="replace") as f:
        for line in f:
            m = re.match(r"\[(guest\d+)\] reboot-test: name=(\S*) boot=(\d+)", line)
            if not m:
                continue
            prefix, name, boot = m.group(1), m.group(2), int(m.group(3))
            if name != prefix:
                bad.append(f"{prefix} booted with {name}'s device tree (boot {boot})")
            seen.setdefault(prefix, []).append(boot)
    for g, boots in seen.items():
        if boots != list(range(last + 1)):
            bad.append(f"{g}: boot counts {boots}, expected 0..{last}")
    print("\n".join(bad) if bad else "ok")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
