/*
 * hyp/vdisk/overlay.c: the copy-on-write delta map of one guest. Besides
 * the API one call at a time, a simulated delta disk with a volatile
 * write cache checks the FLUSH order of overlay.h: after a crash that
 * keeps any subset of the writes since the last host flush, the region
 * loads, its map is valid, and every block reads as the guest expects.
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
	CHECK_STR(overlay_error_name(OVERLAY_E_ALREADY_MAPPED), "OVERLAY_E_ALREADY_MAPPED");
	CHECK_STR(overlay_error_name(OVERLAY_E_ALREADY_MAPPED - 1), "?");
	CHECK_STR(overlay_error_name(1), "?");
	for (int e = OVERLAY_OK; e >= OVERLAY_E_ALREADY_MAPPED; e--) {
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
	CHECK_EQ(overlay_format(&o, map, 2, 1000), OVERLAY_E_SIZE);	/* no data block */
	CHECK_EQ(overlay_format(&o, map, 3, 1025), OVERLAY_E_SIZE);
	CHECK_EQ(overlay_format(&o, map, 0, 1), OVERLAY_E_SIZE);
	CHECK_EQ(overlay_format(&o, map, 3, 1000), OVERLAY_OK);	/* one data block */
	CHECK_EQ(o.data_start, 2);
	CHECK_EQ(overlay_format(&o, map, 1ULL << 24, 1ULL << 20), OVERLAY_OK);	/* the largest */
	CHECK_EQ(o.map_blocks, 1024);
	CHECK_EQ(o.data_start, 1025);
	CHECK_EQ(dirty_count(&o), 1024);
	free(map);
}

static void test_format(void)
{
	struct overlay o;
	void *map = map_new(2500);

	memset(&o, 0x55, sizeof(o));
	CHECK_EQ(overlay_format(&o, map, 5000, 2500), OVERLAY_OK);
	CHECK_EQ(o.region_blocks, 5000);
	CHECK_EQ(o.base_blocks, 2500);
	CHECK_EQ(o.map_blocks, 3);
	CHECK_EQ(o.data_start, 4);
	CHECK_EQ(o.next_free, 4);
	CHECK(o.map == map);
	CHECK(o.header_dirty);
	CHECK_EQ(dirty_count(&o), 3);	/* the disk holds garbage until written */
	static const uint8_t zeros[3 * BS];
	CHECK_MEM(map, zeros, 3 * BS);
	for (uint64_t b = 0; b < 2500; b += 7) {
		uint64_t d = 12345;
		CHECK(!overlay_lookup(&o, b, &d));
		CHECK_EQ(d, 12345);
	}
	CHECK_EQ(overlay_check_map(&o), OVERLAY_OK);

	/* The header block, byte by byte. */
	memset(header, 0x33, sizeof(header));
	overlay_header_bytes(&o, header);
	CHECK_MEM(header, "DISCVDL1", 8);
	CHECK_EQ(le32_at(header + 8), 1);
	CHECK_EQ(le32_at(header + 12), 4096);
	CHECK_EQ(le64_at(header + 16), 5000);
	CHECK_EQ(le64_at(header + 24), 2500);
	CHECK_EQ(le64_at(header + 32), 4);
	CHECK_EQ(le64_at(header + 40), 4);
	CHECK_MEM(header + 52, zeros, BS - 52);
	uint32_t crc = le32_at(header + 48);
	put32_at(header + 48, 0);
	CHECK_EQ(overlay_crc32(header, BS), crc);
	free(map);
}

static void test_round_trip(void)
{
	struct overlay o, p;
	void *map = map_new(3000), *map2 = map_new(3000);
	uint64_t d;

	CHECK_EQ(overlay_format(&o, map, 10000, 3000), OVERLAY_OK);
	for (uint64_t b = 0; b < 3000; b += 37) {
		CHECK_EQ(overlay_allocate(&o, &d), OVERLAY_OK);
		CHECK_EQ(overlay_publish(&o, b, d), OVERLAY_OK);
	}
	CHECK_EQ(overlay_allocate(&o, &d), OVERLAY_OK);	/* allocated, never published */
	overlay_header_bytes(&o, header);
	memcpy(map2, map, overlay_map_bytes(3000));	/* "map blocks 1..M from disk" */

	memset(&p, 0x55, sizeof(p));
	CHECK_EQ(overlay_load(&p, map2, header, 10000, 3000), OVERLAY_OK);
	CHECK_EQ(p.region_blocks, 10000);
	CHECK_EQ(p.base_blocks, 3000);
	CHECK_EQ(p.map_blocks, 3);
	CHECK_EQ(p.data_start, 4);
	CHECK_EQ(p.next_free, o.next_free);
	CHECK(p.map == map2);
	CHECK(!p.header_dirty);
	CHECK_EQ(dirty_count(&p), 0);
	CHECK_EQ(overlay_check_map(&p), OVERLAY_OK);
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
	/* Its header serialises to the same bytes (after that allocation). */
	uint8_t again[BS];
	p.next_free--;
	overlay_header_bytes(&p, again);
	CHECK_MEM(again, header, BS);
	free(map);
	free(map2);
}

/* Loads a header changed by `edit` (CRC fixed after it unless told). */
static int load_edited(const uint8_t *good, void (*edit)(uint8_t *h), bool fix)
{
	static uint8_t h[BS];
	struct overlay p;
	void *map = map_new(2500);

	memcpy(h, good, BS);
	edit(h);
	if (fix)
		fix_crc(h);
	int err = overlay_load(&p, map, h, 5000, 2500);
	free(map);
	return err;
}

static void e_magic(uint8_t *h) { h[7] = '2'; }
static void e_magic0(uint8_t *h) { h[0] = 0; }
static void e_version0(uint8_t *h) { put32_at(h + 8, 0); }
static void e_version2(uint8_t *h) { put32_at(h + 8, 2); }
static void e_block_bytes(uint8_t *h) { put32_at(h + 12, 512); }
static void e_region_more(uint8_t *h) { put64_at(h + 16, 5001); }
static void e_region_less(uint8_t *h) { put64_at(h + 16, 4999); }
static void e_region_high(uint8_t *h) { put64_at(h + 16, 5000 | 1ULL << 40); }
static void e_base(uint8_t *h) { put64_at(h + 24, 2501); }
static void e_base_less(uint8_t *h) { put64_at(h + 24, 2048); }	/* same map size */
static void e_data_start(uint8_t *h) { put64_at(h + 32, 5); }
static void e_data_start0(uint8_t *h) { put64_at(h + 32, 0); }
static void e_next_low(uint8_t *h) { put64_at(h + 40, 3); }
static void e_next_high(uint8_t *h) { put64_at(h + 40, 5001); }
static void e_next_huge(uint8_t *h) { put64_at(h + 40, UINT64_MAX); }
static void e_next_full(uint8_t *h) { put64_at(h + 40, 5000); }
static void e_reserved(uint8_t *h) { h[52] = 1; }
static void e_reserved_last(uint8_t *h) { h[BS - 1] = 0x80; }
static void e_crc(uint8_t *h) { h[48] ^= 1; }
static void e_nothing(uint8_t *h) { (void)h; }

static void test_corrupt_header(void)
{
	struct overlay o;
	void *map = map_new(2500);
	uint8_t good[BS];
	uint64_t d;

	CHECK_EQ(overlay_format(&o, map, 5000, 2500), OVERLAY_OK);
	CHECK_EQ(overlay_allocate(&o, &d), OVERLAY_OK);
	overlay_header_bytes(&o, good);

	CHECK_EQ(load_edited(good, e_nothing, false), OVERLAY_OK);
	CHECK_EQ(load_edited(good, e_nothing, true), OVERLAY_OK);
	CHECK_EQ(load_edited(good, e_next_full, true), OVERLAY_OK);	/* a full region */
	CHECK_EQ(load_edited(good, e_magic, true), OVERLAY_E_MAGIC);
	CHECK_EQ(load_edited(good, e_magic0, false), OVERLAY_E_MAGIC);
	CHECK_EQ(load_edited(good, e_version0, true), OVERLAY_E_VERSION);
	CHECK_EQ(load_edited(good, e_version2, true), OVERLAY_E_VERSION);
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
	CHECK_EQ(load_edited(good, e_reserved_last, true), OVERLAY_E_RESERVED);
	/* Every field's edit without the CRC fixed: the checksum catches it
	 * (magic and version are looked at first). */
	void (*edits[])(uint8_t *) = {
		e_block_bytes, e_region_more, e_base, e_data_start, e_next_low, e_next_full,
		e_reserved, e_reserved_last,
	};
	for (unsigned i = 0; i < sizeof(edits) / sizeof(edits[0]); i++)
		CHECK_EQ(load_edited(good, edits[i], false), OVERLAY_E_CHECKSUM);
	/* Any single flipped bit anywhere in the block. */
	unsigned caught = 0, tried = 0;
	for (unsigned byte = 0; byte < BS; byte += 13) {
		static uint8_t h[BS];
		struct overlay p;
		memcpy(h, good, BS);
		h[byte] ^= (uint8_t)(1u << (byte % 8));
		tried++;
		caught += overlay_load(&p, map, h, 5000, 2500) != OVERLAY_OK;
	}
	CHECK_EQ(caught, tried);
	/* The caller's sizes themselves out of range. */
	struct overlay p;
	CHECK_EQ(overlay_load(&p, map, good, 5000, 0), OVERLAY_E_SIZE);
	CHECK_EQ(overlay_load(&p, map, good, 1ULL << 25, 2500), OVERLAY_E_SIZE);
	/* The caller's sizes not those of the header. */
	CHECK_EQ(overlay_load(&p, map, good, 6000, 2500), OVERLAY_E_REGION_BLOCKS);
	CHECK_EQ(overlay_load(&p, map, good, 5000, 2400), OVERLAY_E_BASE_BLOCKS);
	free(map);
}

static void test_allocate_publish(void)
{
	struct overlay o;
	void *map = map_new(3000);
	uint64_t d = 0, d2 = 0, got = 0;

	CHECK_EQ(overlay_format(&o, map, 100, 3000), OVERLAY_OK);
	o.header_dirty = false;
	for (uint64_t i = 0; i < 3; i++)
		overlay_clear_dirty(&o, i);
	CHECK_EQ(dirty_count(&o), 0);

	CHECK_EQ(overlay_allocate(&o, &d), OVERLAY_OK);
	CHECK_EQ(d, 4);	/* data_start: header + 3 map blocks */
	CHECK(o.header_dirty);
	CHECK_EQ(dirty_count(&o), 0);	/* nothing published yet */
	CHECK(!overlay_lookup(&o, 1500, &got));
	CHECK_EQ(overlay_publish(&o, 1500, d), OVERLAY_OK);
	CHECK(overlay_lookup(&o, 1500, &got));
	CHECK_EQ(got, 4);
	CHECK_EQ(le32_at((uint8_t *)map + 4 * 1500), 4);	/* the on-disk image */
	CHECK_EQ(dirty_count(&o), 1);
	uint64_t mb = 99;
	const void *bytes = NULL;
	CHECK(overlay_next_dirty_map_block(&o, &mb, &bytes));
	CHECK_EQ(mb, 1);	/* 1500 / 1024 */
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
	uint64_t d = 0;

	CHECK_EQ(overlay_format(&o, map, 5, 100), OVERLAY_OK);	/* data blocks 2, 3, 4 */
	for (uint64_t i = 0; i < 3; i++) {
		CHECK_EQ(overlay_allocate(&o, &d), OVERLAY_OK);
		CHECK_EQ(d, 2 + i);
		CHECK_EQ(overlay_publish(&o, 10 * i, d), OVERLAY_OK);
	}
	CHECK_EQ(overlay_allocate(&o, &d), OVERLAY_E_FULL);
	CHECK_EQ(overlay_allocate(&o, &d), OVERLAY_E_FULL);
	CHECK_EQ(d, 4);	/* untouched */
	CHECK_EQ(o.next_free, 5);
	/* Writes to blocks already in the delta still work: in place. */
	CHECK(overlay_lookup(&o, 20, &d));
	CHECK_EQ(d, 4);
	/* A full region round-trips. */
	struct overlay p;
	void *map2 = map_new(100);
	overlay_header_bytes(&o, header);
	memcpy(map2, map, overlay_map_bytes(100));
	CHECK_EQ(overlay_load(&p, map2, header, 5, 100), OVERLAY_OK);
	CHECK_EQ(overlay_check_map(&p), OVERLAY_OK);
	CHECK_EQ(overlay_allocate(&p, &d), OVERLAY_E_FULL);
	free(map);
	free(map2);
}

static void test_dirty(void)
{
	struct overlay o;
	void *map = map_new(1ULL << 20);
	uint64_t d, i = 0;
	const void *bytes;

	CHECK_EQ(overlay_format(&o, map, 1ULL << 22, 1ULL << 20), OVERLAY_OK);
	/* Format: every map block dirty, handed out lowest first. */
	uint64_t expect = 0;
	bool in_order = true;
	while (overlay_next_dirty_map_block(&o, &i, &bytes)) {
		in_order = in_order && i == expect && bytes == (uint8_t *)map + i * BS;
		overlay_clear_dirty(&o, i);
		expect++;
	}
	CHECK(in_order);
	CHECK_EQ(expect, 1024);
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
	for (unsigned k = 0; k < 6; k++) {
		CHECK(overlay_next_dirty_map_block(&o, &i, &bytes));
		CHECK_EQ(i, want[k]);
		CHECK(bytes == (uint8_t *)map + want[k] * BS);
		CHECK(overlay_next_dirty_map_block(&o, &i, &bytes));	/* not cleared: same */
		CHECK_EQ(i, want[k]);
		overlay_clear_dirty(&o, i);
	}
	CHECK(!overlay_next_dirty_map_block(&o, &i, &bytes));
	/* Clearing a clean or nonexistent block is harmless. */
	overlay_clear_dirty(&o, 7);
	overlay_clear_dirty(&o, 1024);
	overlay_clear_dirty(&o, UINT64_MAX);
	CHECK_EQ(dirty_count(&o), 0);
	/* A later publish dirties its block again. */
	CHECK_EQ(overlay_allocate(&o, &d), OVERLAY_OK);
	CHECK_EQ(overlay_publish(&o, 64 * 1024 + 5, d), OVERLAY_OK);
	CHECK(overlay_next_dirty_map_block(&o, &i, &bytes));
	CHECK_EQ(i, 64);
	free(map);
}

static void test_check_map(void)
{
	struct overlay o;
	void *map = map_new(1000);
	uint8_t *m = map;
	uint64_t d;

	CHECK_EQ(overlay_format(&o, map, 50, 1000), OVERLAY_OK);	/* data 2..49 */
	for (int k = 0; k < 10; k++) {
		CHECK_EQ(overlay_allocate(&o, &d), OVERLAY_OK);
		CHECK_EQ(overlay_publish(&o, 100u * (unsigned)k, d), OVERLAY_OK);
	}
	CHECK_EQ(overlay_check_map(&o), OVERLAY_OK);	/* next_free 12 */
	put32_at(m + 4 * 5, 11);
	CHECK_EQ(overlay_check_map(&o), OVERLAY_OK);	/* (a duplicate: not detected) */
	put32_at(m + 4 * 5, 12);	/* at next_free */
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
 * since the last host flush sit in a volatile cache, and a crash keeps a
 * random subset of them. Data blocks hold a tag (base block << 32 | a
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
	unsigned full_errors;
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
	for (unsigned i = 0; i < s->npending; i++)
		if (unit_rand(&s->seed) & 1)
			memcpy(s->durable[s->pending[i].block], s->pending[i].data, BS);
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
	uint64_t i;
	const void *bytes;

	if (s->o.header_dirty) {
		static uint8_t h[BS];
		if (op++ == crash_at)
			return false;
		overlay_header_bytes(&s->o, h);
		sim_write_block(s, 0, h);
		s->o.header_dirty = false;
	}
	if (op++ == crash_at)
		return false;
	sim_host_flush(s);
	while (overlay_next_dirty_map_block(&s->o, &i, &bytes)) {
		if (op++ == crash_at)
			return false;
		sim_write_block(s, 1 + i, bytes);
		overlay_clear_dirty(&s->o, i);
	}
	if (op++ == crash_at)
		return false;
	sim_host_flush(s);
	memcpy(s->flushed, s->latest, sizeof(s->flushed));
	return true;
}

/* After a crash: the region loads, and every block reads as its flushed
 * tag or as one written to it since. */
static bool sim_recover(struct sim *s)
{
	bool ok = true;

	if (overlay_load(&s->o, s->map, s->durable[0], SIM_REGION, SIM_BASE) != OVERLAY_OK)
		return false;
	for (uint64_t i = 0; i < s->o.map_blocks; i++)
		memcpy(s->map + i * BS, s->durable[1 + i], BS);
	if (overlay_check_map(&s->o) != OVERLAY_OK)
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
	memset(s->durable, 0xa5, sizeof(s->durable));	/* a never-written region */
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
	CHECK(s->full_errors > 0);	/* the region did fill up */
	CHECK_EQ(s->o.next_free, SIM_REGION);
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
	RUN(test_allocate_publish);
	RUN(test_full);
	RUN(test_dirty);
	RUN(test_check_map);
	RUN(test_crash_consistency);
	return unit_report("test_overlay");
}
