#!/usr/bin/env python3
"""Writes out one guest's disk as the guest sees it: the shared base disk
with the guest's delta applied (hyp/vdisk/overlay.h gives the layout).
For inspecting a guest's disk on the host, e.g. `e2fsck -fn OUT`.

usage: vdisk-export.py BASE DELTA GUEST OUT
       vdisk-export.py --headers DELTA GUEST BASE_BLOCKS

GUEST is the guest's number (its region of the delta disk: guest K's is
the K-th GiB, hyp/vdisk/vdisk.h). Of the region's two header copies (block 0
and the region's last block) the valid one of the higher generation is
the delta; each map block is read from the slot it names. A region whose
two copies are all zero exports the base unchanged (the guest never
wrote); one with no valid copy is an error (exit status 1), as discv
refuses to start that guest. --headers prints each copy's state, one line
each: "copy N: generation G" or "copy N: empty" or "copy N: damaged (why)".
"""
import shutil
import struct
import sys
import zlib

BLOCK = 4096
REGION_BYTES = 1 << 30
ENTRIES = BLOCK // 4
H_SLOTS = 128


def parse_copy(h, copy, region_blocks, base_blocks):
    """(generation, next_free, slot bits) of one header copy, or a str: why not."""
    m = (base_blocks + ENTRIES - 1) // ENTRIES
    data_end = region_blocks - 1 - m
    if h == bytes(BLOCK):
        return "empty"
    magic, version, block_bytes, rblocks, bblocks, data_start, next_free, crc = \
        struct.unpack_from("<8sIIQQQQI", h, 0)
    if magic != b"DISCVDL1" or version not in (1, 2):
        return "bad magic or version"
    check = bytearray(h)
    check[48:52] = b"\0\0\0\0"
    if zlib.crc32(bytes(check)) != crc:
        return "bad checksum"
    if (block_bytes != BLOCK or rblocks != region_blocks or bblocks != base_blocks
            or data_start != 1 + m):
        return "made for another geometry"
    if version == 1:
        if copy != 0 or not data_start <= next_free <= data_end:
            return "version 1 out of place or too full"
        return (0, next_free, 0)
    (generation,) = struct.unpack_from("<Q", h, 56)
    if generation == 0 or generation % 2 != copy or not data_start <= next_free <= data_end:
        return "bad generation or next_free"
    return (generation, next_free, int.from_bytes(h[H_SLOTS:H_SLOTS + 128], "little"))


def read_copies(d, first, region_blocks, base_blocks):
    copies = []
    for c, block in enumerate((0, region_blocks - 1)):
        d.seek((first + block) * BLOCK)
        copies.append(parse_copy(d.read(BLOCK), c, region_blocks, base_blocks))
    return copies


def region_of(d, guest):
    d.seek(0, 2)
    if d.tell() < (guest + 1) * REGION_BYTES:
        raise SystemExit(f"vdisk-export: the delta disk has no region for guest {guest}")
    region_blocks = REGION_BYTES // BLOCK
    return region_blocks, guest * region_blocks


def main(argv):
    if len(argv) == 5 and argv[1] == "--headers":
        with open(argv[2], "rb") as d:
            region_blocks, first = region_of(d, int(argv[3]))
            for c, got in enumerate(read_copies(d, first, region_blocks, int(argv[4]))):
                if isinstance(got, str):
                    print(f"copy {c}: {got if got == 'empty' else 'damaged (' + got + ')'}")
                else:
                    print(f"copy {c}: generation {got[0]}")
        return 0
    if len(argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    base, delta, guest, out = argv[1], argv[2], int(argv[3]), argv[4]
    shutil.copyfile(base, out)
    with open(base, "rb") as b:
        b.seek(0, 2)
        base_blocks = b.tell() // BLOCK
    m = (base_blocks + ENTRIES - 1) // ENTRIES
    with open(delta, "rb") as d:
        region_blocks, first = region_of(d, guest)
        copies = read_copies(d, first, region_blocks, base_blocks)
        valid = [c for c in copies if not isinstance(c, str)]
        if not valid:
            if copies == ["empty", "empty"]:
                print(f"vdisk-export: guest {guest} has no delta: the base as is")
                return 0
            print(f"vdisk-export: guest {guest}: its delta is damaged: {copies}", file=sys.stderr)
            return 1
        generation, next_free, slots = max(valid)
        data_end = region_blocks - 1 - m
        table = bytearray()
        for i in range(m):
            d.seek((first + (data_end if slots >> i & 1 else 1) + i) * BLOCK)
            table += d.read(BLOCK)
        changed = 0
        with open(out, "r+b") as o:
            for b in range(base_blocks):
                (entry,) = struct.unpack_from("<I", table, 4 * b)
                if entry:
                    d.seek((first + entry) * BLOCK)
                    o.seek(b * BLOCK)
                    o.write(d.read(BLOCK))
                    changed += 1
    print(f"vdisk-export: guest {guest}: {changed} blocks from its delta "
          f"(generation {generation}) -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
