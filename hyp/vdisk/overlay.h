/*
 * A guest's delta: the copy-on-write overlay of one guest over the shared,
 * read-only base disk, at 4 KiB block granularity (one guest page = one
 * disk block).
 *
 * Each guest owns a REGION of R blocks of the delta host disk (all
 * little-endian). Every piece of metadata has two places, so that a write
 * torn by a host crash (power loss: any part of a block written, old
 * bytes, new bytes or garbage) always leaves the other intact:
 *
 *   block 0                 header copy 0
 *   blocks 1..M             map, slot 0: one le32 per base block, 0 = "not
 *                           in the delta, read the base", else the
 *                           region-relative block holding its data;
 *                           M = ceil(base_blocks / 1024)
 *   blocks data_start..     the data, handed out in order (a bump
 *     data_end - 1          allocator; data_start = 1 + M); blocks are
 *                           never freed, so a region only fills up
 *   blocks data_end..R - 2  map, slot 1 (data_end = R - 1 - M)
 *   block R - 1             header copy 1
 *
 *   header: off  0  magic "DISCVDL1"         off 24  le64 base_blocks
 *           off  8  le32 version (2)         off 32  le64 data_start
 *           off 12  le32 block bytes (4096)  off 40  le64 next_free_block
 *           off 16  le64 region_blocks       off 48  le32 CRC-32 of the
 *           whole 4096-byte block with this field 0
 *           off 56  le64 generation 1, 2, ...; header copy (generation % 2)
 *                   holds it
 *           off 128 the slot of each map block, a bit each (M bits, bit i
 *                   of byte i / 8); every other byte is 0
 *
 * The header with the higher generation among the valid copies is the
 * delta; it names, for each map block, the slot that holds it. A FLUSH
 * (steps 2-5 below) never writes what that header refers to: it writes
 * each dirty map block to its other slot, flushes the host disk (data and
 * map durable), then writes the next generation's header to the other
 * copy and flushes again. Torn anywhere, the region still loads as the
 * last completed FLUSH (or the one in progress, if its header got
 * through). A header is valid only if its CRC matches, so a torn header
 * is never taken. (A data block overwritten in place can tear like any
 * disk block written without a FLUSH after it: the guest's own data, as
 * on hardware.)
 *
 * Version 1 (discv before two copies: one header at block 0, map at 1..M
 * only, data up to R - 1, no generation field) loads as generation 0 if
 * its data stayed below data_end; it becomes version 2 at its first
 * FLUSH.
 *
 * Reading base block b: overlay_lookup() gives a delta block (read region
 * block d) or false (read base block b). Writing base block b: if it is in
 * the delta, overwrite its data block in place; else overlay_allocate() a
 * data block, write the data there, and only once that write completed
 * overlay_publish() the map entry. The map lives in memory (the caller's
 * storage, the exact on-disk image) and reaches the disk at the guest's
 * FLUSH, in this order:
 *
 *   1. data blocks: already written before their publish
 *   2. each dirty map block to its free slot (overlay_next_dirty_map_block)
 *   3. host flush: data and map blocks durable before the header naming them
 *   4. the next header (overlay_commit_header: its bytes and its block)
 *   5. host flush, then overlay_committed(): the new generation is the
 *      delta; then complete the guest's FLUSH
 *
 * Steps 2-5 are needed only if overlay_needs_commit(); a FLUSH always
 * flushes the host disk (in-place overwrites). The device must therefore
 * offer VIRTIO_BLK_F_FLUSH (a volatile write cache): completed writes are
 * durable only after a FLUSH. A crash loses at most the blocks allocated
 * since the last FLUSH (leaked, never misread). Publishes must not run
 * during steps 2-5 (a lock per overlay).
 *
 * Pure code: unit-tested natively.
 */
#ifndef DISCV_OVERLAY_H
#define DISCV_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OVERLAY_BLOCK_BYTES 4096
#define OVERLAY_ENTRIES_PER_MAP_BLOCK (OVERLAY_BLOCK_BYTES / 4)
#define OVERLAY_MAX_BASE_BLOCKS (1ULL << 20)	/* a 4 GiB base */
#define OVERLAY_MAX_REGION_BLOCKS (1ULL << 24)	/* a 64 GiB region */
#define OVERLAY_MAX_MAP_BLOCKS (OVERLAY_MAX_BASE_BLOCKS / OVERLAY_ENTRIES_PER_MAP_BLOCK)
#define OVERLAY_MAGIC "DISCVDL1"
#define OVERLAY_VERSION 2
#define OVERLAY_VERSION_ONE_COPY 1	/* read, and upgraded at the first FLUSH */
#define OVERLAY_COPIES 2

struct overlay {
	uint64_t region_blocks;	/* the region, header and map included */
	uint64_t base_blocks;
	uint64_t map_blocks;	/* M */
	uint64_t data_start;	/* 1 + M */
	uint64_t data_end;	/* R - 1 - M: the first block of map slot 1 */
	uint64_t next_free;	/* the next data block to allocate */
	uint64_t generation;	/* of the durable header; 0: none yet (or version 1) */
	uint8_t *map;		/* map_blocks * 4096 bytes: the on-disk map image */
	bool header_dirty;	/* the durable header is not up to date */
	uint64_t dirty[OVERLAY_MAX_MAP_BLOCKS / 64];	/* map blocks to write back */
	uint64_t slot[OVERLAY_MAX_MAP_BLOCKS / 64];	/* where the durable header has them */
};

enum overlay_error {
	OVERLAY_OK = 0,
	OVERLAY_E_SIZE = -1,		/* base or region size outside the limits */
	OVERLAY_E_MAGIC = -2,
	OVERLAY_E_VERSION = -3,
	OVERLAY_E_CHECKSUM = -4,
	OVERLAY_E_BLOCK_BYTES = -5,
	OVERLAY_E_REGION_BLOCKS = -6,	/* not the region the caller holds */
	OVERLAY_E_BASE_BLOCKS = -7,	/* made for a base of another size */
	OVERLAY_E_DATA_START = -8,	/* not 1 + M */
	OVERLAY_E_NEXT_FREE = -9,	/* outside [data_start, region_blocks] */
	OVERLAY_E_RESERVED = -10,	/* a reserved header byte is not 0 */
	OVERLAY_E_MAP_ENTRY = -11,	/* a map entry outside [data_start, next_free) */
	OVERLAY_E_FULL = -12,		/* no data block left */
	OVERLAY_E_RANGE = -13,		/* a base block >= base_blocks */
	OVERLAY_E_NOT_ALLOCATED = -14,	/* publish of a block never allocated */
	OVERLAY_E_ALREADY_MAPPED = -15,	/* publish over an existing entry */
	OVERLAY_E_EMPTY = -16,		/* all zero: never written */
	OVERLAY_E_DAMAGED = -17,	/* no valid header copy, and not empty */
	OVERLAY_E_SLOTS = -18,		/* a slot bit past the map's M blocks */
	OVERLAY_E_OLD_FULL = -19,	/* version 1 with data where map slot 1 goes */
};

/* The name of an enum overlay_error ("OVERLAY_E_FULL"), "?" if unknown. */
const char *overlay_error_name(int err);

/* The map's size for a base of base_blocks blocks: M blocks, M * 4096
 * bytes (the storage to give overlay_format / overlay_load). */
uint64_t overlay_map_blocks(uint64_t base_blocks);
size_t overlay_map_bytes(uint64_t base_blocks);

/*
 * Starts a fresh region of region_blocks blocks over a base of base_blocks
 * (1..2^20) blocks, with at least one data block (region_blocks up to
 * 2^24, and more than 2 + 2M). map is overlay_map_bytes(base_blocks)
 * bytes, zeroed here. The header and every map block start dirty, at
 * generation 0: the first commit writes generation 1 (copy 1). Only for a
 * region that overlay_load found empty: formatting anything else throws
 * the guest's disk away.
 * Returns OVERLAY_OK or OVERLAY_E_SIZE.
 */
int overlay_format(struct overlay *o, void *map, uint64_t region_blocks, uint64_t base_blocks);

/*
 * Takes up an existing region from its two header copies (4096 bytes each,
 * read from region blocks 0 and R - 1): each copy is checked (magic,
 * version, checksum, then every field against the caller's region_blocks
 * and base_blocks; an all-zero block is OVERLAY_E_EMPTY) and its result
 * stored in copy_err[0], copy_err[1]. The valid copy of the higher
 * generation wins. Returns
 *   OVERLAY_OK         loaded: the caller reads each map block i from
 *                      region block overlay_map_block_location(o, i) into
 *                      map + i * 4096, then calls overlay_check_map.
 *                      header_dirty is set if the other copy is damaged
 *                      (neither valid nor empty), so the next commit
 *                      repairs it.
 *   OVERLAY_E_EMPTY    both copies all zero: a region never written, which
 *                      the caller may format.
 *   OVERLAY_E_DAMAGED  anything else: no copy can be trusted. The caller
 *                      must not format it (that would throw the guest's
 *                      disk away): it refuses the guest.
 * Neither copy is read after the call returns, and map is not written: the
 * caller may pass copy 0 in the map's storage.
 */
int overlay_load(struct overlay *o, void *map, const void *copy0, const void *copy1,
		 uint64_t region_blocks, uint64_t base_blocks, int copy_err[OVERLAY_COPIES]);

/* The region block that holds map block i in the durable header's slot
 * (where to read it from when loading). */
uint64_t overlay_map_block_location(const struct overlay *o, uint64_t map_block);

/* Checks every map entry read from disk: 0 or in [data_start, data_end),
 * and 0 past base_blocks. (Two entries naming the same block are not
 * detected.) An entry at or past next_free (the newer header copy was
 * lost, and the older one's next_free is behind the map) raises
 * next_free past it, and marks the header dirty: no data block the map
 * names is ever handed out again. Returns OVERLAY_OK or
 * OVERLAY_E_MAP_ENTRY. */
int overlay_check_map(struct overlay *o);

/* Where base block b's data is: true and *delta_block (region-relative)
 * if the delta holds it, false to read the base (also for b out of
 * range: the caller checks b against the disk's size first). */
bool overlay_lookup(const struct overlay *o, uint64_t base_block, uint64_t *delta_block);

/* Hands out the next data block (marks the header dirty). Returns
 * OVERLAY_OK or OVERLAY_E_FULL. The caller writes the block's data, then
 * publishes it. */
int overlay_allocate(struct overlay *o, uint64_t *delta_block);

/* Points base block b at delta_block, which must be allocated and b not
 * yet mapped; marks b's map block dirty. Call only after the data write
 * to delta_block completed. Returns OVERLAY_OK or a negative error. */
int overlay_publish(struct overlay *o, uint64_t base_block, uint64_t delta_block);

/* Whether a FLUSH has metadata to write (steps 2-5 above). */
bool overlay_needs_commit(const struct overlay *o);

/* Step 2: the lowest dirty map block at or after `from`: its index, the
 * region block to write it to (its free slot: never the one the durable
 * header names) and its 4096 bytes in the map. False if none. Dirty bits
 * stay set until overlay_committed(). */
bool overlay_next_dirty_map_block(const struct overlay *o, uint64_t from, uint64_t *map_block,
				  uint64_t *region_block, const void **bytes);

/* Step 4: the next generation's header, with every dirty map block in its
 * other slot, serialised into buf (4096 bytes); *region_block is where it
 * goes (the copy the durable header is not in). Calling it again before
 * overlay_committed() gives the same bytes and block (a retry after a
 * failed write). */
void overlay_commit_header(const struct overlay *o, void *buf, uint64_t *region_block);

/* Step 5, after the host flush that followed the header write succeeded:
 * that header is now the durable one (generation + 1, the written map
 * blocks in their new slots, nothing dirty). */
void overlay_committed(struct overlay *o);

/* CRC-32 (IEEE 802.3, the zlib one: reflected 0xedb88320, ~0 in and out). */
uint32_t overlay_crc32(const void *buf, size_t len);

#endif
