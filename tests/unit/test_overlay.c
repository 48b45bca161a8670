/*
 * hyp/vdisk/overlay.c: the copy-on-write delta map of one guest. Besides
 * the API one call at a time, a simulated delta disk with a volatile
 * write cache checks the FLUSH order of overlay.h: after a crash that
 * keeps any subset of the writes since the last host flush, and tears
 * some of them (each 512-byte sector old, new, or garbage), the region
 * loads, its map is valid, and every block reads as the guest expects.
 * The header copies: a torn copy, both torn, a fresh zeroed region, a
 * version 1 region.
 */
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "vdisk/overlay.h"

#define BS OVERLAY_BLOCK_BYTES

static uint8_t header[BS];

static uint32_t le32_at(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64_at(const uint8_t *p)
{
	return (uint64_t)le32_at(p) | (uint64_t)le32_at(p + 4) << 32;
}

static void put32_at(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64_at(uint8_t *p, uint64_t v)
{
	put32_at(p, (uint32_t)v);
	put32_at(p + 4, (uint32_t)(v >> 32));
}

/* Recomputes a header's CRC after a test changed a field. */
static void fix_crc(uint8_t *h)
{
	put32_at(h + 48, 0);
	put32_at(h + 48, overlay_crc32(h, BS));
}

/* A whole region in memory (zeroed: a fresh sparse delta file). */
static uint8_t (*disk_new(uint64_t blocks))[BS]
{
	uint8_t (*d)[BS] = calloc(blocks, BS);

	if (!d)
		abort();
	return d;
}

/* The FLUSH sequence of overlay.h, against a region in memory, no crash. */
static void commit_to(struct overlay *o, uint8_t (*disk)[BS])
{
	uint64_t i, where;
	const void *bytes;

	for (uint64_t from = 0; overlay_next_dirty_map_block(o, from, &i, &where, &bytes); from = i + 1)
		memcpy(disk[where], bytes, BS);
	overlay_commit_header(o, header, &where);
	memcpy(disk[where], header, BS);
	overlay_committed(o);
}

/* vdisk_open's loading, from a region in memory: the overlay_load
 * result, or overlay_check_map's. */
static int load_from(struct overlay *p, void *map, uint8_t (*disk)[BS], uint64_t region,
		     uint64_t base, int err[2])
{
	int e = overlay_load(p, map, disk[0], disk[region - 1], region, base, err);

	if (e)
		return e;
	for (uint64_t m = 0; m < p->map_blocks; m++)
		memcpy((uint8_t *)map + m * BS, disk[overlay_map_block_location(p, m)], BS);
	return overlay_check_map(p);
}

static void *map_new(uint64_t base_blocks)
{
	void *m = malloc(overlay_map_bytes(base_blocks));

	if (!m)
		abort();
	memset(m, 0xaa, overlay_map_bytes(base_blocks));
	return m;
}

static unsigned dirty_count(const struct overlay *o)
{
	unsigned n = 0;

	for (uint64_t i = 0; i < OVERLAY_MAX_MAP_BLOCKS; i++)
		n += (o->dirty[i / 64] >> (i % 64)) & 1;
	return n;
}

static void test_crc32(void)
{
	CHECK_EQ(overlay_crc32("123456789", 9), 0xcbf43926);	/* the check value */
	CHECK_EQ(overlay_crc32("", 0), 0);
	CHECK_EQ(overlay_crc32("a", 1), 0xe8b7be43);
	static uint8_t zeros[4096];
	CHECK_EQ(overlay_crc32(zeros, 32), 0x190a55ad);
}

static void test_error_names(void)
{
	CHECK_STR(overlay_error_name(OVERLAY_OK), "OVERLAY_OK");
	CHECK_STR(overlay_error_name(OVERLAY_E_FULL), "OVERLAY_E_FULL");
	CHECK_STR(overlay_error_name(OVERLAY_E_DAMAGED), "OVERLAY_E_DAMAGED");
	CHECK_STR(overlay_error_name(OVERLAY_E_OLD_FULL), "OVERLAY_E_OLD_FULL");
	CHECK_STR(overlay_error_name(OVERLAY_E_OLD_FULL - 1), "?");
	CHECK_STR(overlay_error_name(1), "?");
	for (int e = OVERLAY_OK; e >= OVERLAY_E_OLD_FULL; e--) {
		CHECK(strncmp(overlay_error_name(e), "OVERLAY_", 8) == 0);
		for (int f = OVERLAY_OK; f > e; f--)
			CHECK(strcmp(overlay_error_name(e), overlay_error_name(f)) != 0);
	}
}

static void test_sizes(void)
{
	CHECK_EQ(overlay_map_blocks(1), 1);
	CHECK_EQ(overlay_map_blocks(1024), 1);
	CHECK_EQ(overlay_map_blocks(1025), 2);
	CHECK_EQ(overlay_map_blocks(1ULL << 20), 1024);
	CHECK_EQ(overlay_map_bytes(1), 4096);
	CHECK_EQ(overlay_map_bytes(1025), 8192);
	CHECK_EQ(overlay_map_bytes(1ULL << 20), 4ULL << 20);

	struct overlay o;
	void *map = map_new(OVERLAY_MAX_BASE_BLOCKS + 1024);
	CHECK_EQ(overlay_format(&o, map, 100, 0), OVERLAY_E_SIZE);
	CHECK_EQ(overlay_format(&o, map, 1ULL << 24, (1ULL << 20) + 1), OVERLAY_E_SIZE);
	CHECK_EQ(overlay_format(&o, map, (1ULL << 24) + 1, 1000), OVERLAY_E_SIZE);
	CHECK_EQ(overlay_format(&o, map, 4, 1000), OVERLAY_E_SIZE);	/* no data block */
	CHECK_EQ(overlay_format(&o, map, 6, 1025), OVERLAY_E_SIZE);
	CHECK_EQ(overlay_format(&o, map, 0, 1), OVERLAY_E_SIZE);
	CHECK_EQ(overlay_format(&o, map, 5, 1000), OVERLAY_OK);	/* one data block */
	CHECK_EQ(o.data_start, 2);
	CHECK_EQ(o.data_end, 3);
	CHECK_EQ(overlay_format(&o, map, 1ULL << 24, 1ULL << 20), OVERLAY_OK);	/* the largest */
	CHECK_EQ(o.map_blocks, 1024);
	CHECK_EQ(o.data_start, 1025);
	CHECK_EQ(o.data_end, (1ULL << 24) - 1025);
	CHECK_EQ(dirty_count(&o), 1024);
	free(map);
}

static void test_format(void)
{
	struct overlay o;
	void *map = map_new(2500);
	uint64_t where = 0;

	memset(&o, 0x55, sizeof(o));
	CHECK_EQ(overlay_format(&o, map, 5000, 2500), OVERLAY_OK);
	CHECK_EQ(o.region_blocks, 5000);
	CHECK_EQ(o.base_blocks, 2500);
	CHECK_EQ(o.map_blocks, 3);
	CHECK_EQ(o.data_start, 4);
	CHECK_EQ(o.data_end, 4996);
	CHECK_EQ(o.next_free, 4);
	CHECK_EQ(o.generation, 0);
	CHECK(o.map == map);
	CHECK(o.header_dirty);
	CHECK(overlay_needs_commit(&o));
	CHECK_EQ(dirty_count(&o), 3);	/* the disk holds nothing until written */
	static const uint8_t zeros[3 * BS];
	CHECK_MEM(map, zeros, 3 * BS);
	for (uint64_t b = 0; b < 2500; b += 7) {
		uint64_t d = 12345;
		CHECK(!overlay_lookup(&o, b, &d));
		CHECK_EQ(d, 12345);
	}
	CHECK_EQ(overlay_check_map(&o), OVERLAY_OK);
	/* The first map writes go to slot 1 (slot 0 is "the durable one"). */
	uint64_t i = 9;
	const void *bytes = NULL;
	CHECK(overlay_next_dirty_map_block(&o, 0, &i, &where, &bytes));
	CHECK_EQ(i, 0);
	CHECK_EQ(where, 4996);
	CHECK(overlay_next_dirty_map_block(&o, 2, &i, &where, &bytes));
	CHECK_EQ(where, 4998);
	CHECK(!overlay_next_dirty_map_block(&o, 3, &i, &where, &bytes));

	/* The first header, byte by byte: generation 1, in copy 1. */
	memset(header, 0x33, sizeof(header));
	overlay_commit_header(&o, header, &where);
	CHECK_EQ(where, 4999);
	CHECK_MEM(header, "DISCVDL1", 8);
	CHECK_EQ(le32_at(header + 8), 2);
	CHECK_EQ(le32_at(header + 12), 4096);
	CHECK_EQ(le64_at(header + 16), 5000);
	CHECK_EQ(le64_at(header + 24), 2500);
	CHECK_EQ(le64_at(header + 32), 4);
	CHECK_EQ(le64_at(header + 40), 4);
	CHECK_MEM(header + 52, zeros, 4);
	CHECK_EQ(le64_at(header + 56), 1);
	CHECK_MEM(header + 64, zeros, 128 - 64);
	CHECK_EQ(header[128], 0x07);	/* the 3 map blocks move to slot 1 */
	CHECK_MEM(header + 129, zeros, BS - 129);
	uint32_t crc = le32_at(header + 48);
	put32_at(header + 48, 0);
	CHECK_EQ(overlay_crc32(header, BS), crc);
	/* Committed: slot 1 is theirs now, nothing dirty; a retry before it
	 * would have given the same header. */
	uint8_t again[BS];
	overlay_commit_header(&o, again, &where);
	put32_at(again + 48, 0);
	CHECK_MEM(again, header, BS);
	overlay_committed(&o);
	CHECK_EQ(o.generation, 1);
	CHECK(!overlay_needs_commit(&o));
	CHECK_EQ(overlay_map_block_location(&o, 0), 4996);
	CHECK_EQ(overlay_map_block_location(&o, 2), 4998);
	overlay_commit_header(&o, again, &where);
	CHECK_EQ(where, 0);	/* generation 2 goes to copy 0 */
	CHECK_EQ(le64_at(again + 56), 2);
	CHECK_EQ(again[128], 0x07);	/* nothing dirty: nothing moves */
	free(map);
}

static void test_round_trip(void)
{
	struct overlay o, p;
	void *map = map_new(3000), *map2 = map_new(3000);
	uint8_t (*disk)[BS] = disk_new(200);
	uint64_t d;
	int err[2];

	CHECK_EQ(overlay_format(&o, map, 200, 3000), OVERLAY_OK);
	commit_to(&o, disk);
	for (uint64_t b = 0; b < 3000; b += 37) {
		CHECK_EQ(overlay_allocate(&o, &d), OVERLAY_OK);
		CHECK_EQ(overlay_publish(&o, b, d), OVERLAY_OK);
		if (b % 5 == 0)
			commit_to(&o, disk);	/* map blocks move between slots */
	}
	CHECK_EQ(overlay_allocate(&o, &d), OVERLAY_OK);	/* allocated, never published */
	commit_to(&o, disk);

	memset(&p, 0x55, sizeof(p));
	CHECK_EQ(load_from(&p, map2, disk, 200, 3000, err), OVERLAY_OK);
	CHECK_EQ(err[0], OVERLAY_OK);
	CHECK_EQ(err[1], OVERLAY_OK);
	CHECK_EQ(p.region_blocks, 200);
	CHECK_EQ(p.base_blocks, 3000);
	CHECK_EQ(p.map_blocks, 3);
	CHECK_EQ(p.data_start, 4);
	CHECK_EQ(p.data_end, 196);
	CHECK_EQ(p.next_free, o.next_free);
	CHECK_EQ(p.generation, o.generation);
	CHECK_MEM(p.slot, o.slot, sizeof(o.slot));
	CHECK(p.map == map2);
	CHECK(!p.header_dirty);
	CHECK_EQ(dirty_count(&p), 0);
	unsigned same = 0;
	for (uint64_t b = 0; b < 3000; b++) {
		uint64_t d1 = 0, d2 = 0;
		bool in1 = overlay_lookup(&o, b, &d1), in2 = overlay_lookup(&p, b, &d2);
		same += in1 == in2 && d1 == d2 && in1 == (b % 37 == 0);
	}
	CHECK_EQ(same, 3000);
	/* The loaded overlay goes on where the other stopped. */
	CHECK_EQ(overlay_allocate(&p, &d), OVERLAY_OK);
	CHECK_EQ(d, o.next_free);
	free(disk);
	free(map);
	free(map2);
}

/* Loads copy 1 of generation 1 changed by `edit` (CRC fixed after it
 * unless told), copy 0 empty: OVERLAY_OK, or the copy's error. */
static int load_edited(const uint8_t *good, void (*edit)(uint8_t *h), bool fix)
{
	static uint8_t h[BS];
	static const uint8_t zeros[BS];
	struct overlay p;
	void *map = map_new(2500);
	int err[2];

	memcpy(h, good, BS);
	edit(h);
	if (fix)
		fix_crc(h);
	int e = overlay_load(&p, map, zeros, h, 5000, 2500, err);
	free(map);
	if (e == OVERLAY_E_DAMAGED && err[0] == OVERLAY_E_EMPTY)
		return err[1];
	return e;
}

static void e_magic(uint8_t *h) { h[7] = '2'; }
static void e_magic0(uint8_t *h) { h[0] = 0; }
static void e_version0(uint8_t *h) { put32_at(h + 8, 0); }
static void e_version3(uint8_t *h) { put32_at(h + 8, 3); }
static void e_block_bytes(uint8_t *h) { put32_at(h + 12, 512); }
static void e_region_more(uint8_t *h) { put64_at(h + 16, 5001); }
static void e_region_less(uint8_t *h) { put64_at(h + 16, 4999); }
static void e_region_high(uint8_t *h) { put64_at(h + 16, 5000 | 1ULL << 40); }
static void e_base(uint8_t *h) { put64_at(h + 24, 2501); }
static void e_base_less(uint8_t *h) { put64_at(h + 24, 2048); }	/* same map size */
static void e_data_start(uint8_t *h) { put64_at(h + 32, 5); }
static void e_data_start0(uint8_t *h) { put64_at(h + 32, 0); }
static void e_next_low(uint8_t *h) { put64_at(h + 40, 3); }
static void e_next_high(uint8_t *h) { put64_at(h + 40, 4997); }	/* in map slot 1 */
static void e_next_huge(uint8_t *h) { put64_at(h + 40, UINT64_MAX); }
static void e_next_full(uint8_t *h) { put64_at(h + 40, 4996); }
static void e_reserved(uint8_t *h) { h[52] = 1; }
static void e_reserved_mid(uint8_t *h) { h[100] = 1; }
static void e_reserved_last(uint8_t *h) { h[BS - 1] = 0x80; }
static void e_generation0(uint8_t *h) { put64_at(h + 56, 0); }
static void e_generation_even(uint8_t *h) { put64_at(h + 56, 2); }	/* not copy 1's */
static void e_slot_past(uint8_t *h) { h[128] |= 0x08; }	/* map block 3 of 3 */
static void e_slot_far(uint8_t *h) { h[255] = 0x80; }
static void e_crc(uint8_t *h) { h[48] ^= 1; }
static void e_nothing(uint8_t *h) { (void)h; }

static void test_corrupt_header(void)
{
	struct overlay o;
	void *map = map_new(2500);
	uint8_t good[BS];
	uint64_t d, where;

	CHECK_EQ(overlay_format(&o, map, 5000, 2500), OVERLAY_OK);
	CHECK_EQ(overlay_allocate(&o, &d), OVERLAY_OK);
	overlay_commit_header(&o, good, &where);
	CHECK_EQ(where, 4999);

	CHECK_EQ(load_edited(good, e_nothing, false), OVERLAY_OK);
	CHECK_EQ(load_edited(good, e_nothing, true), OVERLAY_OK);
	CHECK_EQ(load_edited(good, e_next_full, true), OVERLAY_OK);	/* a full region */
	CHECK_EQ(load_edited(good, e_magic, true), OVERLAY_E_MAGIC);
	CHECK_EQ(load_edited(good, e_magic0, false), OVERLAY_E_MAGIC);
	CHECK_EQ(load_edited(good, e_version0, true), OVERLAY_E_VERSION);
	CHECK_EQ(load_edited(good, e_version3, true), OVERLAY_E_VERSION);
	CHECK_EQ(load_edited(good, e_crc, false), OVERLAY_E_CHECKSUM);
	CHECK_EQ(load_edited(good, e_block_bytes, true), OVERLAY_E_BLOCK_BYTES);
	CHECK_EQ(load_edited(good, e_region_more, true), OVERLAY_E_REGION_BLOCKS);
	CHECK_EQ(load_edited(good, e_region_less, true), OVERLAY_E_REGION_BLOCKS);
	CHECK_EQ(load_edited(good, e_region_high, true), OVERLAY_E_REGION_BLOCKS);
	CHECK_EQ(load_edited(good, e_base, true), OVERLAY_E_BASE_BLOCKS);
	CHECK_EQ(load_edited(good, e_base_less, true), OVERLAY_E_BASE_BLOCKS);
	CHECK_EQ(load_edited(good, e_data_start, true), OVERLAY_E_DATA_START);
	CHECK_EQ(load_edited(good, e_data_start0, true), OVERLAY_E_DATA_START);
	CHECK_EQ(load_edited(good, e_next_low, true), OVERLAY_E_NEXT_FREE);
	CHECK_EQ(load_edited(good, e_next_high, true), OVERLAY_E_NEXT_FREE);
	CHECK_EQ(load_edited(good, e_next_huge, true), OVERLAY_E_NEXT_FREE);
	CHECK_EQ(load_edited(good, e_reserved, true), OVERLAY_E_RESERVED);
	CHECK_EQ(load_edited(good, e_reserved_mid, true), OVERLAY_E_RESERVED);
	CHECK_EQ(load_edited(good, e_reserved_last, true), OVERLAY_E_RESERVED);
	CHECK_EQ(load_edited(good, e_generation0, true), OVERLAY_E_RESERVED);
	CHECK_EQ(load_edited(good, e_generation_even, true), OVERLAY_E_RESERVED);
	CHECK_EQ(load_edited(good, e_slot_past, true), OVERLAY_E_SLOTS);
	CHECK_EQ(load_edited(good, e_slot_far, true), OVERLAY_E_SLOTS);
	/* Every field's edit without the CRC fixed: the checksum catches it
	 * (magic and version are looked at first). */
	void (*edits[])(uint8_t *) = {
		e_block_bytes, e_region_more, e_base, e_data_start, e_next_low, e_next_full,
		e_reserved, e_reserved_last, e_generation_even, e_slot_past,
	};
	for (unsigned i = 0; i < sizeof(edits) / sizeof(edits[0]); i++)
		CHECK_EQ(load_edited(good, edits[i], false), OVERLAY_E_CHECKSUM);
	/* Any single flipped bit anywhere in the block. */
	unsigned caught = 0, tried = 0;
	for (unsigned byte = 0; byte < BS; byte += 13) {
		static uint8_t h[BS];
		memcpy(h, good, BS);
		h[byte] ^= (uint8_t)(1u << (byte % 8));
		tried++;
		caught += load_edited(h, e_nothing, false) != OVERLAY_OK;
	}
	CHECK_EQ(caught, tried);
	/* The caller's sizes themselves out of range. */
	struct overlay p;
	static const uint8_t zeros[BS];
	int err[2];
	CHECK_EQ(overlay_load(&p, map, zeros, good, 5000, 0, err), OVERLAY_E_SIZE);
	CHECK_EQ(overlay_load(&p, map, zeros, good, 1ULL << 25, 2500, err), OVERLAY_E_SIZE);
	/* The caller's sizes not those of the header: refused, not "empty". */
	CHECK_EQ(overlay_load(&p, map, zeros, good, 6000, 2500, err), OVERLAY_E_DAMAGED);
	CHECK_EQ(err[1], OVERLAY_E_REGION_BLOCKS);
	CHECK_EQ(overlay_load(&p, map, zeros, good, 5000, 2400, err), OVERLAY_E_DAMAGED);
	CHECK_EQ(err[1], OVERLAY_E_BASE_BLOCKS);
	free(map);
}

/* A version 1 header (discv before two copies) for the given fields. */
static void v1_header(uint8_t *h, uint64_t region, uint64_t base, uint64_t next_free)
{
	memset(h, 0, BS);
	memcpy(h, "DISCVDL1", 8);
	put32_at(h + 8, 1);
	put32_at(h + 12, BS);
	put64_at(h + 16, region);
	put64_at(h + 24, base);
	put64_at(h + 32, 1 + overlay_map_blocks(base));
	put64_at(h + 40, next_free);
	fix_crc(h);
}

/* Tears a block as a host crash may: some sectors garbage. */
static void tear(uint8_t *block)
{
	for (unsigned i = 512; i < BS; i += 1024)
		memset(block + i, 0x5c, 512);
}

static void test_two_copies(void)
{
	enum { R = 64, BASE = 2000 };	/* M = 2: data 3..60, slot 1 at 61, 62 */
	struct overlay o, p;
	void *map = map_new(BASE), *map2 = map_new(BASE);
	uint8_t (*disk)[BS] = disk_new(R), (*saved)[BS] = disk_new(R);
	uint64_t d, got;
	int err[2];

	/* A fresh region, all zero: "empty", the one case to format. */
	CHECK_EQ(load_from(&p, map2, disk, R, BASE, err), OVERLAY_E_EMPTY);
	CHECK_EQ(err[0], OVERLAY_E_EMPTY);
	CHECK_EQ(err[1], OVERLAY_E_EMPTY);
	/* Not all zero, no valid copy: damaged, never "empty". */
	disk[R - 1][4000] = 1;
	CHECK_EQ(load_from(&p, map2, disk, R, BASE, err), OVERLAY_E_DAMAGED);
	CHECK_EQ(err[0], OVERLAY_E_EMPTY);
	CHECK_EQ(err[1], OVERLAY_E_MAGIC);
	disk[R - 1][4000] = 0;
	disk[0][0] = 'D';
	CHECK_EQ(load_from(&p, map2, disk, R, BASE, err), OVERLAY_E_DAMAGED);
	disk[0][0] = 0;

	/* Generations 1 (copy 1), 2 (copy 0), 3 (copy 1). */
	CHECK_EQ(overlay_format(&o, map, R, BASE), OVERLAY_OK);
	commit_to(&o, disk);
	CHECK_EQ(load_from(&p, map2, disk, R, BASE, err), OVERLAY_OK);
	CHECK_EQ(p.generation, 1);
	CHECK(!p.header_dirty);	/* copy 0 empty: fine */
	CHECK_EQ(overlay_allocate(&o, &d), OVERLAY_OK);
	CHECK_EQ(overlay_publish(&o, 5, d), OVERLAY_OK);	/* map block 0 */
	commit_to(&o, disk);
	memcpy(saved, disk, (size_t)R * BS);	/* generation 2: block 5 at d */
	CHECK_EQ(overlay_allocate(&o, &d), OVERLAY_OK);
	CHECK_EQ(overlay_publish(&o, 1500, d), OVERLAY_OK);	/* map block 1 */
	CHECK_EQ(overlay_allocate(&o, &d), OVERLAY_OK);
	CHECK_EQ(overlay_publish(&o, 6, d), OVERLAY_OK);	/* map block 0 again */
	commit_to(&o, disk);
	CHECK_EQ(o.generation, 3);
	CHECK_EQ(load_from(&p, map2, disk, R, BASE, err), OVERLAY_OK);
	CHECK_EQ(p.generation, 3);
	CHECK_EQ(p.next_free, 6);
	CHECK(overlay_lookup(&p, 1500, &got) && got == 4);
	CHECK(overlay_lookup(&p, 6, &got) && got == 5);

	/* Generation 3's header torn (copy 1): generation 2 loads, whole,
	 * with its own map (generation 3 wrote only the other slots), and the
	 * torn copy is to be rewritten. */
	tear(disk[R - 1]);
	CHECK_EQ(load_from(&p, map2, disk, R, BASE, err), OVERLAY_OK);
	CHECK_EQ(err[1], OVERLAY_E_CHECKSUM);
	CHECK_EQ(p.generation, 2);
	CHECK_EQ(p.next_free, 4);
	CHECK(p.header_dirty);
	CHECK(overlay_lookup(&p, 5, &got) && got == 3);
	CHECK(!overlay_lookup(&p, 1500, &got));
	CHECK(!overlay_lookup(&p, 6, &got));
	/* The repair writes generation 3 again, into the torn copy. */
	commit_to(&p, disk);
	CHECK_EQ(load_from(&p, map2, disk, R, BASE, err), OVERLAY_OK);
	CHECK_EQ(err[0], OVERLAY_OK);
	CHECK_EQ(err[1], OVERLAY_OK);
	CHECK_EQ(p.generation, 3);
	CHECK(overlay_lookup(&p, 5, &got) && got == 3);

	/* Copy 1 torn (the older one): the newer loads. Both torn: damaged. */
	commit_to(&p, disk);	/* nothing dirty: generation 4 in copy 0 */
	CHECK_EQ(p.generation, 4);
	memcpy(saved, disk, (size_t)R * BS);
	tear(disk[R - 1]);	/* generation 3 */
	CHECK_EQ(load_from(&p, map2, disk, R, BASE, err), OVERLAY_OK);
	CHECK_EQ(p.generation, 4);
	CHECK(overlay_lookup(&p, 5, &got) && got == 3);
	tear(disk[0]);
	CHECK_EQ(load_from(&p, map2, disk, R, BASE, err), OVERLAY_E_DAMAGED);
	CHECK_EQ(err[0], OVERLAY_E_CHECKSUM);
	CHECK_EQ(err[1], OVERLAY_E_CHECKSUM);
	/* Zeroed (a hole punched) and torn: damaged too, not "empty". */
	memset(disk[0], 0, BS);
	CHECK_EQ(load_from(&p, map2, disk, R, BASE, err), OVERLAY_E_DAMAGED);
	/* A copy moved to the other's place is not taken. */
	memcpy(disk, saved, (size_t)R * BS);
	memcpy(disk[R - 1], disk[0], BS);	/* generation 4 at copy 1's block */
	memset(disk[0], 0, BS);
	CHECK_EQ(load_from(&p, map2, disk, R, BASE, err), OVERLAY_E_DAMAGED);
	CHECK_EQ(err[1], OVERLAY_E_RESERVED);

	/* An older generation's next_free behind the map (the newer header
	 * lost after its map blocks were rewritten): raised past every entry. */
	memcpy(disk, saved, (size_t)R * BS);
	CHECK_EQ(load_from(&p, map2, disk, R, BASE, err), OVERLAY_OK);
	CHECK_EQ(p.next_free, 4);
	CHECK(!p.header_dirty);
	put32_at((uint8_t *)map2 + 4 * 9, 5);
	CHECK_EQ(overlay_check_map(&p), OVERLAY_OK);
	CHECK_EQ(p.next_free, 6);
	CHECK(p.header_dirty);
	CHECK_EQ(overlay_allocate(&p, &d), OVERLAY_OK);
	CHECK_EQ(d, 6);

	/* A version 1 region: generation 0, its map in slot 0; upgraded by
	 * its first commit, which leaves the version 1 header in place. */
	memset(disk, 0, (size_t)R * BS);
	v1_header(disk[0], R, BASE, 5);
	put32_at(disk[1] + 4 * 7, 3);
	put32_at(disk[2] + 4 * (1100 - 1024), 4);
	CHECK_EQ(load_from(&p, map2, disk, R, BASE, err), OVERLAY_OK);
	CHECK_EQ(err[1], OVERLAY_E_EMPTY);
	CHECK_EQ(p.generation, 0);
	CHECK(!p.header_dirty);
	CHECK(overlay_lookup(&p, 7, &got) && got == 3);
	CHECK(overlay_lookup(&p, 1100, &got) && got == 4);
	CHECK_EQ(overlay_allocate(&p, &d), OVERLAY_OK);
	CHECK_EQ(overlay_publish(&p, 8, d), OVERLAY_OK);
	commit_to(&p, disk);
	CHECK_EQ(le32_at(disk[0] + 8), 1);	/* untouched */
	CHECK_EQ(le32_at(disk[R - 1] + 8), 2);
	CHECK_EQ(load_from(&p, map2, disk, R, BASE, err), OVERLAY_OK);
	CHECK_EQ(p.generation, 1);
	CHECK(overlay_lookup(&p, 7, &got) && got == 3);
	CHECK(overlay_lookup(&p, 8, &got) && got == 5);
	CHECK(overlay_lookup(&p, 1100, &got) && got == 4);
	/* A version 1 region whose data reached where map slot 1 goes. */
	memset(disk, 0, (size_t)R * BS);
	v1_header(disk[0], R, BASE, 62);
	CHECK_EQ(load_from(&p, map2, disk, R, BASE, err), OVERLAY_E_DAMAGED);
	CHECK_EQ(err[0], OVERLAY_E_OLD_FULL);
	free(disk);
	free(saved);
	free(map);
	free(map2);
}

static void test_allocate_publish(void)
{
	struct overlay o;
	void *map = map_new(3000);
	uint64_t d = 0, d2 = 0, got = 0;

	CHECK_EQ(overlay_format(&o, map, 100, 3000), OVERLAY_OK);
	overlay_committed(&o);	/* as if written: slot 1 holds the map */
	CHECK_EQ(dirty_count(&o), 0);
	CHECK(!overlay_needs_commit(&o));

	CHECK_EQ(overlay_allocate(&o, &d), OVERLAY_OK);
	CHECK_EQ(d, 4);	/* data_start: header + 3 map blocks */
	CHECK(o.header_dirty);
	CHECK(overlay_needs_commit(&o));
	CHECK_EQ(dirty_count(&o), 0);	/* nothing published yet */
	CHECK(!overlay_lookup(&o, 1500, &got));
	CHECK_EQ(overlay_publish(&o, 1500, d), OVERLAY_OK);
	CHECK(overlay_lookup(&o, 1500, &got));
	CHECK_EQ(got, 4);
	CHECK_EQ(le32_at((uint8_t *)map + 4 * 1500), 4);	/* the on-disk image */
	CHECK_EQ(dirty_count(&o), 1);
	uint64_t mb = 99, where = 0;
	const void *bytes = NULL;
	CHECK(overlay_next_dirty_map_block(&o, 0, &mb, &where, &bytes));
	CHECK_EQ(mb, 1);	/* 1500 / 1024 */
	CHECK_EQ(where, 2);	/* its slot 0: slot 1 is the durable one */
	CHECK(bytes == (uint8_t *)map + BS);

	CHECK_EQ(overlay_allocate(&o, &d2), OVERLAY_OK);
	CHECK_EQ(d2, 5);
	/* Publish errors: out of range, not allocated, already mapped. */
	CHECK_EQ(overlay_publish(&o, 3000, d2), OVERLAY_E_RANGE);
	CHECK_EQ(overlay_publish(&o, UINT64_MAX, d2), OVERLAY_E_RANGE);
	CHECK_EQ(overlay_publish(&o, 7, 6), OVERLAY_E_NOT_ALLOCATED);	/* next_free */
	CHECK_EQ(overlay_publish(&o, 7, 3), OVERLAY_E_NOT_ALLOCATED);	/* a map block */
	CHECK_EQ(overlay_publish(&o, 7, 0), OVERLAY_E_NOT_ALLOCATED);	/* the header */
	CHECK_EQ(overlay_publish(&o, 7, 1ULL << 32 | 5), OVERLAY_E_NOT_ALLOCATED);
	CHECK_EQ(overlay_publish(&o, 1500, d2), OVERLAY_E_ALREADY_MAPPED);
	CHECK(overlay_lookup(&o, 1500, &got));
	CHECK_EQ(got, 4);
	CHECK_EQ(overlay_publish(&o, 0, d2), OVERLAY_OK);
	CHECK_EQ(overlay_publish(&o, 2999, d), OVERLAY_OK);	/* two entries, one block: not caught */
	CHECK(overlay_lookup(&o, 0, &got));
	CHECK_EQ(got, 5);
	CHECK(overlay_lookup(&o, 2999, &got));
	CHECK_EQ(got, 4);
	CHECK_EQ(dirty_count(&o), 3);
	/* Lookups out of range say "base" (the caller checks ranges). */
	CHECK(!overlay_lookup(&o, 3000, &got));
	CHECK(!overlay_lookup(&o, UINT64_MAX, &got));
	free(map);
}

static void test_full(void)
{
	struct overlay o;
	void *map = map_new(100);
	uint8_t (*disk)[BS] = disk_new(7);
	uint64_t d = 0;
	int err[2];

	CHECK_EQ(overlay_format(&o, map, 7, 100), OVERLAY_OK);	/* data blocks 2, 3, 4 */
	for (uint64_t i = 0; i < 3; i++) {
		CHECK_EQ(overlay_allocate(&o, &d), OVERLAY_OK);
		CHECK_EQ(d, 2 + i);
		CHECK_EQ(overlay_publish(&o, 10 * i, d), OVERLAY_OK);
	}
	CHECK_EQ(overlay_allocate(&o, &d), OVERLAY_E_FULL);	/* 5: map slot 1 */
	CHECK_EQ(overlay_allocate(&o, &d), OVERLAY_E_FULL);
	CHECK_EQ(d, 4);	/* untouched */
	CHECK_EQ(o.next_free, 5);
	/* Writes to blocks already in the delta still work: in place. */
	CHECK(overlay_lookup(&o, 20, &d));
	CHECK_EQ(d, 4);
	/* A full region round-trips. */
	struct overlay p;
	void *map2 = map_new(100);
	commit_to(&o, disk);
	CHECK_EQ(load_from(&p, map2, disk, 7, 100, err), OVERLAY_OK);
	CHECK_EQ(overlay_allocate(&p, &d), OVERLAY_E_FULL);
	CHECK(overlay_lookup(&p, 20, &d));
	CHECK_EQ(d, 4);
	free(disk);
	free(map);
	free(map2);
}

static void test_dirty(void)
{
	struct overlay o;
	void *map = map_new(1ULL << 20);
	uint64_t d, i = 0, where;
	const void *bytes;

	CHECK_EQ(overlay_format(&o, map, 1ULL << 22, 1ULL << 20), OVERLAY_OK);
	/* Format: every map block dirty, handed out lowest first, each to
	 * its slot 1. */
	uint64_t expect = 0;
	bool in_order = true;
	for (uint64_t from = 0; overlay_next_dirty_map_block(&o, from, &i, &where, &bytes);
	     from = i + 1) {
		in_order = in_order && i == expect && bytes == (uint8_t *)map + i * BS &&
			   where == o.data_end + i;
		expect++;
	}
	CHECK(in_order);
	CHECK_EQ(expect, 1024);
	CHECK_EQ(dirty_count(&o), 1024);	/* until committed */
	overlay_committed(&o);
	CHECK_EQ(dirty_count(&o), 0);

	/* Publishes dirty exactly their map blocks. */
	static const uint64_t blocks[] = { 5 * 1024 + 3, 0, 63 * 1024, 64 * 1024 + 1023,
					   1023 * 1024 + 1023, 5 * 1024 + 4, 65 * 1024 };
	static const uint64_t want[] = { 0, 5, 63, 64, 65, 1023 };
	for (unsigned k = 0; k < sizeof(blocks) / sizeof(blocks[0]); k++) {
		CHECK_EQ(overlay_allocate(&o, &d), OVERLAY_OK);
		CHECK_EQ(overlay_publish(&o, blocks[k], d), OVERLAY_OK);
	}
	CHECK_EQ(dirty_count(&o), 6);
	uint64_t from = 0;
	for (unsigned k = 0; k < 6; k++) {
		CHECK(overlay_next_dirty_map_block(&o, from, &i, &where, &bytes));
		CHECK_EQ(i, want[k]);
		CHECK_EQ(where, 1 + want[k]);	/* back to slot 0 */
		CHECK(bytes == (uint8_t *)map + want[k] * BS);
		from = i + 1;
	}
	CHECK(!overlay_next_dirty_map_block(&o, from, &i, &where, &bytes));
	overlay_committed(&o);
	CHECK_EQ(dirty_count(&o), 0);
	CHECK_EQ(overlay_map_block_location(&o, 5), 1 + 5);
	CHECK_EQ(overlay_map_block_location(&o, 6), o.data_end + 6);
	/* A later publish dirties its block again, to its other slot. */
	CHECK_EQ(overlay_allocate(&o, &d), OVERLAY_OK);
	CHECK_EQ(overlay_publish(&o, 64 * 1024 + 5, d), OVERLAY_OK);
	CHECK(overlay_next_dirty_map_block(&o, 0, &i, &where, &bytes));
	CHECK_EQ(i, 64);
	CHECK_EQ(where, o.data_end + 64);
	free(map);
}

static void test_check_map(void)
{
	struct overlay o;
	void *map = map_new(1000);
	uint8_t *m = map;
	uint64_t d;

	CHECK_EQ(overlay_format(&o, map, 50, 1000), OVERLAY_OK);	/* data 2..47 */
	for (int k = 0; k < 10; k++) {
		CHECK_EQ(overlay_allocate(&o, &d), OVERLAY_OK);
		CHECK_EQ(overlay_publish(&o, 100u * (unsigned)k, d), OVERLAY_OK);
	}
	overlay_committed(&o);
	CHECK_EQ(overlay_check_map(&o), OVERLAY_OK);	/* next_free 12 */
	CHECK(!o.header_dirty);
	put32_at(m + 4 * 5, 11);
	CHECK_EQ(overlay_check_map(&o), OVERLAY_OK);	/* (a duplicate: not detected) */
	put32_at(m + 4 * 5, 20);	/* past next_free: raises it */
	CHECK_EQ(overlay_check_map(&o), OVERLAY_OK);
	CHECK_EQ(o.next_free, 21);
	CHECK(o.header_dirty);
	put32_at(m + 4 * 5, 48);	/* map slot 1 */
	CHECK_EQ(overlay_check_map(&o), OVERLAY_E_MAP_ENTRY);
	put32_at(m + 4 * 5, 1);	/* the map block */
	CHECK_EQ(overlay_check_map(&o), OVERLAY_E_MAP_ENTRY);
	put32_at(m + 4 * 5, 0xffffffff);
	CHECK_EQ(overlay_check_map(&o), OVERLAY_E_MAP_ENTRY);
	put32_at(m + 4 * 5, 0);
	put32_at(m + 4 * 1000, 2);	/* padding past base_blocks */
	CHECK_EQ(overlay_check_map(&o), OVERLAY_E_MAP_ENTRY);
	put32_at(m + 4 * 1000, 0);
	put32_at(m + 4 * 1023, 3);
	CHECK_EQ(overlay_check_map(&o), OVERLAY_E_MAP_ENTRY);
	put32_at(m + 4 * 1023, 0);
	CHECK_EQ(overlay_check_map(&o), OVERLAY_OK);
	free(map);
}

/*
 * The simulated delta disk: `durable` is what survives a crash; writes
 * since the last host flush sit in a volatile cache, and a crash drops,
 * keeps or tears each of them (a torn metadata block has sectors old, new
 * or garbage; a torn data block sectors old or new). Data blocks hold a tag (base block << 32 | a
 * sequence number) in their first 8 bytes; base block b holds tag
 * 0xba5e << 32 | b.
 */
#define SIM_BASE 2500
#define SIM_REGION 400
#define SIM_PENDING 1024

struct sim {
	uint8_t durable[SIM_REGION][BS];
	struct { uint64_t block; uint8_t data[BS]; } pending[SIM_PENDING];
	unsigned npending;
	struct overlay o;
	uint8_t *map;
	uint64_t seed;
	/* The guest's view. */
	uint64_t latest[SIM_BASE];	/* the last tag written, 0: never */
	uint64_t flushed[SIM_BASE];	/* the tag as of the last completed FLUSH */
	uint64_t seq;
	unsigned full_errors, tears;
};

static const uint8_t *sim_read_block(struct sim *s, uint64_t block)
{
	for (unsigned i = s->npending; i-- > 0;)
		if (s->pending[i].block == block)
			return s->pending[i].data;
	return s->durable[block];
}

static void sim_write_block(struct sim *s, uint64_t block, const void *data)
{
	if (s->npending == SIM_PENDING)
		abort();
	s->pending[s->npending].block = block;
	memcpy(s->pending[s->npending].data, data, BS);
	s->npending++;
}

static void sim_host_flush(struct sim *s)
{
	for (unsigned i = 0; i < s->npending; i++)
		memcpy(s->durable[s->pending[i].block], s->pending[i].data, BS);
	s->npending = 0;
}

static void sim_crash(struct sim *s)
{
	for (unsigned i = 0; i < s->npending; i++) {
		uint64_t b = s->pending[i].block;
		bool data = b >= s->o.data_start && b < s->o.data_end;
		switch (unit_rand(&s->seed) % 3) {
		case 0:	/* lost */
			break;
		case 1:	/* written whole */
			memcpy(s->durable[b], s->pending[i].data, BS);
			break;
		default:	/* torn */
			s->tears++;
			for (unsigned k = 0; k < BS; k += 512) {
				unsigned how = (unsigned)(unit_rand(&s->seed) % (data ? 2 : 3));
				if (how == 1)
					memcpy(s->durable[b] + k, s->pending[i].data + k, 512);
				else if (how == 2)
					memset(s->durable[b] + k, (int)unit_rand(&s->seed) | 1, 512);
			}
		}
	}
	s->npending = 0;
}

static uint64_t sim_tag_of(const uint8_t *block)
{
	return le64_at(block);
}

/* The device model's write of one 4 KiB block: returns false if full. */
static bool sim_guest_write(struct sim *s, uint64_t b)
{
	static uint8_t data[BS];
	uint64_t d, tag = b << 32 | ++s->seq;

	memset(data, 0, BS);
	put64_at(data, tag);
	if (!overlay_lookup(&s->o, b, &d)) {
		if (overlay_allocate(&s->o, &d) != OVERLAY_OK) {
			s->full_errors++;
			return false;
		}
		sim_write_block(s, d, data);	/* the data first... */
		if (overlay_publish(&s->o, b, d) != OVERLAY_OK)	/* ...then the entry */
			abort();
	} else {
		sim_write_block(s, d, data);
	}
	s->latest[b] = tag;
	return true;
}

static uint64_t sim_guest_read(struct sim *s, uint64_t b)
{
	uint64_t d;

	if (overlay_lookup(&s->o, b, &d))
		return sim_tag_of(sim_read_block(s, d));
	return 0xba5eULL << 32 | b;
}

/*
 * The guest's FLUSH, in the order overlay.h prescribes. The disk crashes
 * before its operation number crash_at (a write or a host flush; ~0u:
 * never), in which case the FLUSH did not complete: returns false.
 */
static bool sim_guest_flush(struct sim *s, unsigned crash_at)
{
	unsigned op = 0;
	uint64_t i, where;
	const void *bytes;

	if (overlay_needs_commit(&s->o)) {
		static uint8_t h[BS];
		for (uint64_t from = 0;
		     overlay_next_dirty_map_block(&s->o, from, &i, &where, &bytes); from = i + 1) {
			if (op++ == crash_at)
				return false;
			sim_write_block(s, where, bytes);
		}
		if (op++ == crash_at)
			return false;
		sim_host_flush(s);
		if (op++ == crash_at)
			return false;
		overlay_commit_header(&s->o, h, &where);
		sim_write_block(s, where, h);
		if (op++ == crash_at)
			return false;
		sim_host_flush(s);
		overlay_committed(&s->o);
	} else {
		if (op++ == crash_at)
			return false;
		sim_host_flush(s);
	}
	memcpy(s->flushed, s->latest, sizeof(s->flushed));
	return true;
}

/* After a crash: the region loads, and every block reads as its flushed
 * tag or as one written to it since. */
static bool sim_recover(struct sim *s)
{
	bool ok = true;

	int err[2];

	if (load_from(&s->o, s->map, s->durable, SIM_REGION, SIM_BASE, err) != OVERLAY_OK)
		return false;
	for (uint64_t b = 0; b < SIM_BASE; b++) {
		uint64_t got = sim_guest_read(s, b);
		uint64_t flushed = s->flushed[b] ? s->flushed[b] : 0xba5eULL << 32 | b;
		bool since = (got >> 32) == b && (uint32_t)got > (uint32_t)s->flushed[b] &&
			     got <= s->latest[b];
		ok = ok && (got == flushed || since);
		s->latest[b] = got == flushed ? s->flushed[b] : got;
	}
	memcpy(s->flushed, s->latest, sizeof(s->flushed));
	return ok;
}

static void test_crash_consistency(void)
{
	struct sim *s = calloc(1, sizeof(*s));
	if (!s)
		abort();
	s->map = map_new(SIM_BASE);
	s->seed = unit_seed();
	/* A never-written region: zero (a sparse file). */
	CHECK_EQ(overlay_format(&s->o, s->map, SIM_REGION, SIM_BASE), OVERLAY_OK);
	CHECK(sim_guest_flush(s, ~0u));

	unsigned crashes = 0, bad = 0, reads_bad = 0;
	for (unsigned round = 0; round < 1500; round++) {
		unsigned writes = unit_rand(&s->seed) % 8;
		for (unsigned w = 0; w < writes; w++) {
			/* Mostly a hot set, so blocks get rewritten in place. */
			uint64_t b = unit_rand(&s->seed) % 4 ? unit_rand(&s->seed) % 300
							    : unit_rand(&s->seed) % SIM_BASE;
			sim_guest_write(s, b);
		}
		for (unsigned r = 0; r < 4; r++) {
			uint64_t b = unit_rand(&s->seed) % SIM_BASE;
			uint64_t want = s->latest[b] ? s->latest[b] : 0xba5eULL << 32 | b;
			reads_bad += sim_guest_read(s, b) != want;
		}
		switch (unit_rand(&s->seed) % 5) {
		case 0:
			sim_guest_flush(s, ~0u);
			break;
		case 1:	/* a crash between requests */
			sim_crash(s);
			crashes++;
			bad += !sim_recover(s);
			break;
		case 2:	/* a crash in the middle of a FLUSH */
			if (!sim_guest_flush(s, (unsigned)(unit_rand(&s->seed) % 6))) {
				sim_crash(s);
				crashes++;
				bad += !sim_recover(s);
			}
			break;
		}
	}
	if (!CHECK_EQ(bad + reads_bad, 0))
		printf("    seed 0x%llx\n", (unsigned long long)unit_seed());
	CHECK(crashes > 50);
	CHECK(s->tears > 50);
	CHECK(s->full_errors > 0);	/* the region did fill up */
	CHECK_EQ(s->o.next_free, s->o.data_end);
	free(s->map);
	free(s);
}

int main(void)
{
	RUN(test_crc32);
	RUN(test_error_names);
	RUN(test_sizes);
	RUN(test_format);
	RUN(test_round_trip);
	RUN(test_corrupt_header);
	RUN(test_two_copies);
	RUN(test_allocate_publish);
	RUN(test_full);
	RUN(test_dirty);
	RUN(test_check_map);
	RUN(test_crash_consistency);
	return unit_report("test_overlay");
}
