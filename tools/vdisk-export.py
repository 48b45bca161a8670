#!/usr/bin/env python3
"""Writes out one guest's disk as the guest sees it: the shared base disk
with the guest's delta applied (hyp/vdisk/overlay.h gives the layout).
For inspecting a guest's disk on the host, e.g. `e2fsck -fn OUT`.

usage: vdisk-export.py BASE DELTA GUEST OUT

GUEST is the guest's number (its region of the delta disk: the delta is
split into 64 equal regions). A region without a valid header exports
the base unchanged (the guest never wrote).
"""
import shutil
import struct
import sys
import zlib

BLOCK = 4096
REGIONS = 64


def main(argv):
    if len(argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    base, delta, guest, out = argv[1], argv[2], int(argv[3]), argv[4]
    shutil.copyfile(base, out)
    with open(delta, "rb") as d:
        d.seek(0, 2)
        region_blocks = d.tell() // BLOCK // REGIONS
        first = guest * region_blocks
        d.seek(first * BLOCK)
        header = d.read(BLOCK)
        magic, version, block_bytes, rblocks, bblocks, data_start, next_free, crc = \
            struct.unpack_from("<8sIIQQQQI", header, 0)
        check = bytearray(header)
        check[48:52] = b"\0\0\0\0"
        if (magic != b"DISCVDL1" or version != 1 or block_bytes != BLOCK
                or zlib.crc32(bytes(check)) != crc):
            print(f"vdisk-export: guest {guest} has no delta: the base as is")
            return 0
        nmap = data_start - 1
        d.seek((first + 1) * BLOCK)
        table = d.read(nmap * BLOCK)
        changed = 0
        with open(out, "r+b") as o:
            for b in range(bblocks):
                (entry,) = struct.unpack_from("<I", table, 4 * b)
                if entry:
                    d.seek((first + entry) * BLOCK)
                    o.seek(b * BLOCK)
                    o.write(d.read(BLOCK))
                    changed += 1
    print(f"vdisk-export: guest {guest}: {changed} blocks from its delta -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
