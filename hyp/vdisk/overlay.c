#include <string.h>
#include "vdisk/overlay.h"

/* Header field offsets (overlay.h). */
#define H_MAGIC 0
#define H_VERSION 8
#define H_BLOCK_BYTES 12
#define H_REGION_BLOCKS 16
#define H_BASE_BLOCKS 24
#define H_DATA_START 32
#define H_NEXT_FREE 40
#define H_CRC 48
#define H_END_V1 52	/* version 1: bytes from here on are reserved, 0 */
#define H_GENERATION 56
#define H_SLOTS 128	/* OVERLAY_MAX_MAP_BLOCKS bits */
#define H_SLOTS_END (H_SLOTS + OVERLAY_MAX_MAP_BLOCKS / 8)

static const char *const error_names[] = {
	[-OVERLAY_OK] = "OVERLAY_OK",
	[-OVERLAY_E_SIZE] = "OVERLAY_E_SIZE",
	[-OVERLAY_E_MAGIC] = "OVERLAY_E_MAGIC",
	[-OVERLAY_E_VERSION] = "OVERLAY_E_VERSION",
	[-OVERLAY_E_CHECKSUM] = "OVERLAY_E_CHECKSUM",
	[-OVERLAY_E_BLOCK_BYTES] = "OVERLAY_E_BLOCK_BYTES",
	[-OVERLAY_E_REGION_BLOCKS] = "OVERLAY_E_REGION_BLOCKS",
	[-OVERLAY_E_BASE_BLOCKS] = "OVERLAY_E_BASE_BLOCKS",
	[-OVERLAY_E_DATA_START] = "OVERLAY_E_DATA_START",
	[-OVERLAY_E_NEXT_FREE] = "OVERLAY_E_NEXT_FREE",
	[-OVERLAY_E_RESERVED] = "OVERLAY_E_RESERVED",
	[-OVERLAY_E_MAP_ENTRY] = "OVERLAY_E_MAP_ENTRY",
	[-OVERLAY_E_FULL] = "OVERLAY_E_FULL",
	[-OVERLAY_E_RANGE] = "OVERLAY_E_RANGE",
	[-OVERLAY_E_NOT_ALLOCATED] = "OVERLAY_E_NOT_ALLOCATED",
	[-OVERLAY_E_ALREADY_MAPPED] = "OVERLAY_E_ALREADY_MAPPED",
	[-OVERLAY_E_EMPTY] = "OVERLAY_E_EMPTY",
	[-OVERLAY_E_DAMAGED] = "OVERLAY_E_DAMAGED",
	[-OVERLAY_E_SLOTS] = "OVERLAY_E_SLOTS",
	[-OVERLAY_E_OLD_FULL] = "OVERLAY_E_OLD_FULL",
};

const char *overlay_error_name(int err)
{
	if (err > 0 || -(long)err >= (long)(sizeof(error_names) / sizeof(error_names[0])) ||
	    !error_names[-err])
		return "?";
	return error_names[-err];
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

/* CRC-32 of len more bytes, on the inverted running value: four bits at a
 * time with the table of the 16 nibble remainders. */
static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t len)
{
	static const uint32_t nibble[16] = {
		0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac,
		0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
		0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
		0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
	};

	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		crc = (crc >> 4) ^ nibble[crc & 15];
		crc = (crc >> 4) ^ nibble[crc & 15];
	}
	return crc;
}

uint32_t overlay_crc32(const void *buf, size_t len)
{
	return ~crc32_update(0xffffffff, buf, len);
}

/* The CRC of a header block as if its CRC field were 0 (no 4 KiB copy:
 * hypervisor stacks are small). */
static uint32_t header_crc(const uint8_t *h)
{
	static const uint8_t zero[4];
	uint32_t crc = crc32_update(0xffffffff, h, H_CRC);

	crc = crc32_update(crc, zero, sizeof(zero));
	return ~crc32_update(crc, h + H_CRC + 4, OVERLAY_BLOCK_BYTES - H_CRC - 4);
}

uint64_t overlay_map_blocks(uint64_t base_blocks)
{
	return (base_blocks + OVERLAY_ENTRIES_PER_MAP_BLOCK - 1) / OVERLAY_ENTRIES_PER_MAP_BLOCK;
}

size_t overlay_map_bytes(uint64_t base_blocks)
{
	return (size_t)(overlay_map_blocks(base_blocks) * OVERLAY_BLOCK_BYTES);
}

/* The geometry both format and load start from. */
static int set_geometry(struct overlay *o, void *map, uint64_t region_blocks,
			uint64_t base_blocks)
{
	uint64_t m = overlay_map_blocks(base_blocks);

	if (base_blocks == 0 || base_blocks > OVERLAY_MAX_BASE_BLOCKS ||
	    region_blocks > OVERLAY_MAX_REGION_BLOCKS || region_blocks <= 2 + 2 * m)
		return OVERLAY_E_SIZE;
	memset(o, 0, sizeof(*o));
	o->region_blocks = region_blocks;
	o->base_blocks = base_blocks;
	o->map_blocks = m;
	o->data_start = 1 + m;
	o->data_end = region_blocks - 1 - m;
	o->next_free = o->data_start;
	o->map = map;
	return OVERLAY_OK;
}

int overlay_format(struct overlay *o, void *map, uint64_t region_blocks, uint64_t base_blocks)
{
	int err = set_geometry(o, map, region_blocks, base_blocks);

	if (err)
		return err;
	memset(map, 0, overlay_map_bytes(base_blocks));
	o->header_dirty = true;
	for (uint64_t i = 0; i < o->map_blocks; i++)
		o->dirty[i / 64] |= 1ULL << (i % 64);
	return OVERLAY_OK;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static bool checksum_ok(const uint8_t *h)
{
	return header_crc(h) == get_le32(h + H_CRC);
}

static bool bit(const uint64_t *bits, uint64_t i)
{
	return (bits[i / 64] >> (i % 64)) & 1;
}

/* One header copy against the geometry o was set up with. On OVERLAY_OK
 * its generation, next_free and slots are in *generation, *next_free and
 * slots. */
static int parse_copy(const struct overlay *o, const uint8_t *h, uint64_t *generation,
		      uint64_t *next_free, uint64_t *slots)
{
	uint32_t version = get_le32(h + H_VERSION);
	uint64_t limit;

	if (all_zero(h, OVERLAY_BLOCK_BYTES))
		return OVERLAY_E_EMPTY;
	if (memcmp(h + H_MAGIC, OVERLAY_MAGIC, 8) != 0)
		return OVERLAY_E_MAGIC;
	if (version != OVERLAY_VERSION && version != OVERLAY_VERSION_ONE_COPY)
		return OVERLAY_E_VERSION;
	if (!checksum_ok(h))
		return OVERLAY_E_CHECKSUM;
	*next_free = get_le64(h + H_NEXT_FREE);
	if (get_le32(h + H_BLOCK_BYTES) != OVERLAY_BLOCK_BYTES)
		return OVERLAY_E_BLOCK_BYTES;
	if (get_le64(h + H_REGION_BLOCKS) != o->region_blocks)
		return OVERLAY_E_REGION_BLOCKS;
	if (get_le64(h + H_BASE_BLOCKS) != o->base_blocks)
		return OVERLAY_E_BASE_BLOCKS;
	if (get_le64(h + H_DATA_START) != o->data_start)
		return OVERLAY_E_DATA_START;
	/* Version 1 handed out data blocks up to the region's end. */
	limit = version == OVERLAY_VERSION ? o->data_end : o->region_blocks;
	if (*next_free < o->data_start || *next_free > limit)
		return OVERLAY_E_NEXT_FREE;
	memset(slots, 0, OVERLAY_MAX_MAP_BLOCKS / 8);
	if (version == OVERLAY_VERSION_ONE_COPY) {
		if (!all_zero(h + H_END_V1, OVERLAY_BLOCK_BYTES - H_END_V1))
			return OVERLAY_E_RESERVED;
		if (*next_free > o->data_end)
			return OVERLAY_E_OLD_FULL;	/* data where map slot 1 goes */
		*generation = 0;
		return OVERLAY_OK;
	}
	if (!all_zero(h + H_CRC + 4, H_GENERATION - H_CRC - 4) ||
	    !all_zero(h + H_GENERATION + 8, H_SLOTS - H_GENERATION - 8) ||
	    !all_zero(h + H_SLOTS_END, OVERLAY_BLOCK_BYTES - H_SLOTS_END))
		return OVERLAY_E_RESERVED;
	*generation = get_le64(h + H_GENERATION);
	if (*generation == 0)
		return OVERLAY_E_RESERVED;	/* version 2 starts at 1 */
	for (uint64_t i = 0; i < OVERLAY_MAX_MAP_BLOCKS; i++) {
		if (!((h[H_SLOTS + i / 8] >> (i % 8)) & 1))
			continue;
		if (i >= o->map_blocks)
			return OVERLAY_E_SLOTS;
		slots[i / 64] |= 1ULL << (i % 64);
	}
	return OVERLAY_OK;
}

int overlay_load(struct overlay *o, void *map, const void *copy0, const void *copy1,
		 uint64_t region_blocks, uint64_t base_blocks, int copy_err[OVERLAY_COPIES])
{
	const uint8_t *copy[OVERLAY_COPIES] = { copy0, copy1 };
	uint64_t generation[OVERLAY_COPIES], next_free[OVERLAY_COPIES];
	uint64_t slots[OVERLAY_COPIES][OVERLAY_MAX_MAP_BLOCKS / 64];
	int best = -1, err = set_geometry(o, map, region_blocks, base_blocks);

	if (err) {
		copy_err[0] = copy_err[1] = err;
		return err;
	}
	for (int c = 0; c < OVERLAY_COPIES; c++) {
		copy_err[c] = parse_copy(o, copy[c], &generation[c], &next_free[c], slots[c]);
		/* A copy sits where its generation says (version 1: copy 0). */
		if (copy_err[c] == OVERLAY_OK && generation[c] % 2 != (uint64_t)c)
			copy_err[c] = OVERLAY_E_RESERVED;
		if (copy_err[c] == OVERLAY_OK && (best < 0 || generation[c] > generation[best]))
			best = c;
	}
	if (best < 0)
		return copy_err[0] == OVERLAY_E_EMPTY && copy_err[1] == OVERLAY_E_EMPTY
			       ? OVERLAY_E_EMPTY : OVERLAY_E_DAMAGED;
	o->generation = generation[best];
	o->next_free = next_free[best];
	memcpy(o->slot, slots[best], sizeof(o->slot));
	/* The other copy damaged: rewrite it at the first commit. (An empty
	 * one is fine: a region's first header goes to copy 1, version 1
	 * never wrote copy 1.) */
	o->header_dirty = copy_err[1 - best] != OVERLAY_OK && copy_err[1 - best] != OVERLAY_E_EMPTY;
	return OVERLAY_OK;
}

uint64_t overlay_map_block_location(const struct overlay *o, uint64_t map_block)
{
	return (bit(o->slot, map_block) ? o->data_end : 1) + map_block;
}

static uint32_t map_entry(const struct overlay *o, uint64_t b)
{
	return get_le32(o->map + 4 * b);
}

int overlay_check_map(struct overlay *o)
{
	uint64_t entries = o->map_blocks * OVERLAY_ENTRIES_PER_MAP_BLOCK;
	uint64_t end = o->next_free;

	for (uint64_t b = 0; b < entries; b++) {
		uint32_t e = map_entry(o, b);
		if (e == 0)
			continue;
		if (b >= o->base_blocks || e < o->data_start || e >= o->data_end)
			return OVERLAY_E_MAP_ENTRY;
		if (e >= end)
			end = (uint64_t)e + 1;
	}
	if (end > o->next_free) {
		o->next_free = end;
		o->header_dirty = true;
	}
	return OVERLAY_OK;
}

bool overlay_lookup(const struct overlay *o, uint64_t base_block, uint64_t *delta_block)
{
	uint32_t e;

	if (base_block >= o->base_blocks)
		return false;
	e = map_entry(o, base_block);
	if (e == 0)
		return false;
	*delta_block = e;
	return true;
}

int overlay_allocate(struct overlay *o, uint64_t *delta_block)
{
	if (o->next_free >= o->data_end)
		return OVERLAY_E_FULL;
	*delta_block = o->next_free++;
	o->header_dirty = true;
	return OVERLAY_OK;
}

int overlay_publish(struct overlay *o, uint64_t base_block, uint64_t delta_block)
{
	uint64_t i = base_block / OVERLAY_ENTRIES_PER_MAP_BLOCK;

	if (base_block >= o->base_blocks)
		return OVERLAY_E_RANGE;
	if (delta_block < o->data_start || delta_block >= o->next_free)
		return OVERLAY_E_NOT_ALLOCATED;
	if (map_entry(o, base_block) != 0)
		return OVERLAY_E_ALREADY_MAPPED;
	put_le32(o->map + 4 * base_block, (uint32_t)delta_block);
	o->dirty[i / 64] |= 1ULL << (i % 64);
	return OVERLAY_OK;
}

bool overlay_needs_commit(const struct overlay *o)
{
	if (o->header_dirty)
		return true;
	for (uint64_t w = 0; w < OVERLAY_MAX_MAP_BLOCKS / 64; w++)
		if (o->dirty[w])
			return true;
	return false;
}

bool overlay_next_dirty_map_block(const struct overlay *o, uint64_t from, uint64_t *map_block,
				  uint64_t *region_block, const void **bytes)
{
	for (uint64_t i = from; i < o->map_blocks; i++) {
		if (!o->dirty[i / 64]) {
			i |= 63;	/* skip the clean word */
			continue;
		}
		if (bit(o->dirty, i)) {
			*map_block = i;
			*region_block = (bit(o->slot, i) ? 1 : o->data_end) + i;	/* the free slot */
			*bytes = o->map + i * OVERLAY_BLOCK_BYTES;
			return true;
		}
	}
	return false;
}

void overlay_commit_header(const struct overlay *o, void *buf, uint64_t *region_block)
{
	uint8_t *h = buf;
	uint64_t generation = o->generation + 1;

	memset(h, 0, OVERLAY_BLOCK_BYTES);
	memcpy(h + H_MAGIC, OVERLAY_MAGIC, 8);
	put_le32(h + H_VERSION, OVERLAY_VERSION);
	put_le32(h + H_BLOCK_BYTES, OVERLAY_BLOCK_BYTES);
	put_le64(h + H_REGION_BLOCKS, o->region_blocks);
	put_le64(h + H_BASE_BLOCKS, o->base_blocks);
	put_le64(h + H_DATA_START, o->data_start);
	put_le64(h + H_NEXT_FREE, o->next_free);
	put_le64(h + H_GENERATION, generation);
	for (uint64_t i = 0; i < o->map_blocks; i++)
		if (bit(o->slot, i) != bit(o->dirty, i))	/* dirty ones move */
			h[H_SLOTS + i / 8] |= (uint8_t)(1u << (i % 8));
	put_le32(h + H_CRC, header_crc(h));
	*region_block = generation % 2 ? o->region_blocks - 1 : 0;
}

void overlay_committed(struct overlay *o)
{
	for (uint64_t w = 0; w < OVERLAY_MAX_MAP_BLOCKS / 64; w++) {
		o->slot[w] ^= o->dirty[w];
		o->dirty[w] = 0;
	}
	o->generation++;
	o->header_dirty = false;
}
