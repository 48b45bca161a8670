#include <string.h>
#include "overlay.h"

/* Header field offsets (overlay.h). */
#define H_MAGIC 0
#define H_VERSION 8
#define H_BLOCK_BYTES 12
#define H_REGION_BLOCKS 16
#define H_BASE_BLOCKS 24
#define H_DATA_START 32
#define H_NEXT_FREE 40
#define H_CRC 48
#define H_END 52	/* bytes from here on are reserved, 0 */

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
	return ~crc32_update(crc, h + H_END, OVERLAY_BLOCK_BYTES - H_END);
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
	    region_blocks > OVERLAY_MAX_REGION_BLOCKS || region_blocks <= 1 + m)
		return OVERLAY_E_SIZE;
	memset(o, 0, sizeof(*o));
	o->region_blocks = region_blocks;
	o->base_blocks = base_blocks;
	o->map_blocks = m;
	o->data_start = 1 + m;
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

/* The header's fields against the geometry o was set up with. */
static int check_fields(const struct overlay *o, const uint8_t *h)
{
	uint64_t next_free = get_le64(h + H_NEXT_FREE);

	if (get_le32(h + H_BLOCK_BYTES) != OVERLAY_BLOCK_BYTES)
		return OVERLAY_E_BLOCK_BYTES;
	if (get_le64(h + H_REGION_BLOCKS) != o->region_blocks)
		return OVERLAY_E_REGION_BLOCKS;
	if (get_le64(h + H_BASE_BLOCKS) != o->base_blocks)
		return OVERLAY_E_BASE_BLOCKS;
	if (get_le64(h + H_DATA_START) != o->data_start)
		return OVERLAY_E_DATA_START;
	if (next_free < o->data_start || next_free > o->region_blocks)
		return OVERLAY_E_NEXT_FREE;
	if (!all_zero(h + H_END, OVERLAY_BLOCK_BYTES - H_END))
		return OVERLAY_E_RESERVED;
	return OVERLAY_OK;
}

int overlay_load(struct overlay *o, void *map, const void *header, uint64_t region_blocks,
		 uint64_t base_blocks)
{
	const uint8_t *h = header;
	int err;

	if (memcmp(h + H_MAGIC, OVERLAY_MAGIC, 8) != 0)
		return OVERLAY_E_MAGIC;
	if (get_le32(h + H_VERSION) != OVERLAY_VERSION)
		return OVERLAY_E_VERSION;
	if (!checksum_ok(h))
		return OVERLAY_E_CHECKSUM;
	err = set_geometry(o, map, region_blocks, base_blocks);
	if (err)
		return err;
	err = check_fields(o, h);
	if (err)
		return err;
	o->next_free = get_le64(h + H_NEXT_FREE);
	return OVERLAY_OK;
}

static uint32_t map_entry(const struct overlay *o, uint64_t b)
{
	return get_le32(o->map + 4 * b);
}

int overlay_check_map(const struct overlay *o)
{
	uint64_t entries = o->map_blocks * OVERLAY_ENTRIES_PER_MAP_BLOCK;

	for (uint64_t b = 0; b < entries; b++) {
		uint32_t e = map_entry(o, b);
		if (e == 0)
			continue;
		if (b >= o->base_blocks || e < o->data_start || e >= o->next_free)
			return OVERLAY_E_MAP_ENTRY;
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
	if (o->next_free >= o->region_blocks)
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

bool overlay_next_dirty_map_block(const struct overlay *o, uint64_t *map_block,
				  const void **bytes)
{
	for (uint64_t i = 0; i < o->map_blocks; i++) {
		if (!o->dirty[i / 64]) {
			i |= 63;	/* skip the clean word */
			continue;
		}
		if (o->dirty[i / 64] & (1ULL << (i % 64))) {
			*map_block = i;
			*bytes = o->map + i * OVERLAY_BLOCK_BYTES;
			return true;
		}
	}
	return false;
}

void overlay_clear_dirty(struct overlay *o, uint64_t map_block)
{
	if (map_block < o->map_blocks)
		o->dirty[map_block / 64] &= ~(1ULL << (map_block % 64));
}

void overlay_header_bytes(const struct overlay *o, void *buf)
{
	uint8_t *h = buf;

	memset(h, 0, OVERLAY_BLOCK_BYTES);
	memcpy(h + H_MAGIC, OVERLAY_MAGIC, 8);
	put_le32(h + H_VERSION, OVERLAY_VERSION);
	put_le32(h + H_BLOCK_BYTES, OVERLAY_BLOCK_BYTES);
	put_le64(h + H_REGION_BLOCKS, o->region_blocks);
	put_le64(h + H_BASE_BLOCKS, o->base_blocks);
	put_le64(h + H_DATA_START, o->data_start);
	put_le64(h + H_NEXT_FREE, o->next_free);
	put_le32(h + H_CRC, header_crc(h));
}
