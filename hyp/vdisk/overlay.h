/*
 * A guest's delta: the copy-on-write overlay of one guest over the shared,
 * read-only base disk, at 4 KiB block granularity (one guest page = one
 * disk block).
 *
 * Each guest owns a REGION of the delta host disk (all little-endian):
 *
 *   block 0                 the header (below)
 *   blocks 1..M             the map: one le32 per base block, 0 = "not in
 *                           the delta, read the base", else the
 *                           region-relative block holding its data;
 *                           M = ceil(base_blocks / 1024)
 *   blocks data_start..     the data, handed out in order (a bump
 *     region_blocks - 1     allocator; data_start = 1 + M); blocks are
 *                           never freed, so a region only fills up
 *
 *   header: off  0  magic "DISCVDL1"         off 24  le64 base_blocks
 *           off  8  le32 version (1)         off 32  le64 data_start
 *           off 12  le32 block bytes (4096)  off 40  le64 next_free_block
 *           off 16  le64 region_blocks       off 48  le32 CRC-32 of the
 *           the whole 4096-byte block with this field 0; bytes 52.. are 0
 *
 * Reading base block b: overlay_lookup() gives a delta block (read region
 * block d) or false (read base block b). Writing base block b: if it is in
 * the delta, overwrite its data block in place; else overlay_allocate() a
 * data block, write the data there, and only once that write completed
 * overlay_publish() the map entry. The map lives in memory (the caller's
 * storage, the exact on-disk image) and reaches the disk at the guest's
 * FLUSH, in this order (crash-consistent: a map entry on disk never points
 * at data or at a next_free that is not on disk):
 *
 *   1. data blocks: already written before their publish
 *   2. if header_dirty: the header (overlay_header_bytes; next_free)
 *   3. host flush: data and header durable before any map block that
 *      refers to them (skippable if no map block is dirty)
 *   4. each dirty map block (overlay_next_dirty_map_block), then
 *      overlay_clear_dirty; header_dirty = false once step 2 succeeded
 *   5. host flush, then complete the guest's FLUSH
 *
 * The device must therefore offer VIRTIO_BLK_F_FLUSH (a volatile write
 * cache): completed writes are durable only after a FLUSH. A crash loses
 * at most the blocks allocated since the last FLUSH (leaked, never
 * misread). Publishes must not run while a map block is being written
 * (a lock per overlay), or the caller writes a copy of it.
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
#define OVERLAY_VERSION 1

struct overlay {
	uint64_t region_blocks;	/* the region, header and map included */
	uint64_t base_blocks;
	uint64_t map_blocks;	/* M */
	uint64_t data_start;	/* 1 + M */
	uint64_t next_free;	/* the next data block to allocate */
	uint8_t *map;		/* map_blocks * 4096 bytes: the on-disk map image */
	bool header_dirty;	/* next_free changed since the header was written */
	uint64_t dirty[OVERLAY_MAX_MAP_BLOCKS / 64];	/* map blocks to write back */
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
 * 2^24). map is overlay_map_bytes(base_blocks) bytes, zeroed here. The
 * header and every map block start dirty: the region on disk holds
 * garbage until the first FLUSH sequence writes them.
 * Returns OVERLAY_OK or OVERLAY_E_SIZE.
 */
int overlay_format(struct overlay *o, void *map, uint64_t region_blocks, uint64_t base_blocks);

/*
 * Takes up an existing region from its header block (4096 bytes read from
 * region block 0): magic, version, checksum, then every field against the
 * caller's region_blocks and base_blocks. On OVERLAY_OK the caller reads
 * map blocks 1..M into map (overlay_map_bytes(base_blocks) bytes) and
 * calls overlay_check_map. Nothing is dirty.
 */
int overlay_load(struct overlay *o, void *map, const void *header, uint64_t region_blocks,
		 uint64_t base_blocks);

/* Checks every map entry read from disk: 0 or in [data_start, next_free),
 * and 0 past base_blocks. (Two entries naming the same block are not
 * detected.) Returns OVERLAY_OK or OVERLAY_E_MAP_ENTRY. */
int overlay_check_map(const struct overlay *o);

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

/* The lowest dirty map block: its index (region block 1 + index on disk)
 * and its 4096 bytes in the map. False if none is dirty. */
bool overlay_next_dirty_map_block(const struct overlay *o, uint64_t *map_block,
				  const void **bytes);

/* Marks map block i clean: after it was written. */
void overlay_clear_dirty(struct overlay *o, uint64_t map_block);

/* Serialises the header into buf (OVERLAY_BLOCK_BYTES bytes). */
void overlay_header_bytes(const struct overlay *o, void *buf);

/* CRC-32 (IEEE 802.3, the zlib one: reflected 0xedb88320, ~0 in and out). */
uint32_t overlay_crc32(const void *buf, size_t len);

#endif
