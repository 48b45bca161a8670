/*
 * hyp/vdisk/virtq.c: the device side of a split virtqueue over a fake
 * guest RAM (a malloc'd buffer at 0x80000000 behind struct guest_mem_ops).
 * The tests play the driver: they write descriptors and the available
 * ring by hand, as a guest would, and read back the used ring.
 */
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "virtio/virtq.h"

#define RAM_BASE 0x80000000ULL
#define RAM_SIZE (256ULL << 10)
#define RAM_END (RAM_BASE + RAM_SIZE)
#define DESC_GPA (RAM_BASE + 0x0000)
#define AVAIL_GPA (RAM_BASE + 0x2000)
#define USED_GPA (RAM_BASE + 0x3000)
#define BUF_GPA (RAM_BASE + 0x10000)

struct fake_ram {
	uint8_t *mem;
	unsigned reads, writes;		/* accessor calls */
	unsigned refused;		/* calls outside RAM */
	uint64_t fail_write_gpa;	/* a write starting here fails (0: none) */
};

static bool in_ram(uint64_t gpa, size_t len)
{
	return gpa >= RAM_BASE && gpa - RAM_BASE <= RAM_SIZE && len <= RAM_SIZE - (gpa - RAM_BASE);
}

static bool fake_read(void *ctx, uint64_t gpa, void *dst, size_t len)
{
	struct fake_ram *r = ctx;

	r->reads++;
	if (!in_ram(gpa, len)) {
		r->refused++;
		return false;
	}
	memcpy(dst, r->mem + (gpa - RAM_BASE), len);
	return true;
}

static bool fake_write(void *ctx, uint64_t gpa, const void *src, size_t len)
{
	struct fake_ram *r = ctx;

	r->writes++;
	if (!in_ram(gpa, len) || (r->fail_write_gpa && gpa == r->fail_write_gpa)) {
		r->refused++;
		return false;
	}
	memcpy(r->mem + (gpa - RAM_BASE), src, len);
	return true;
}

static struct fake_ram ram;
static struct guest_mem_ops ops = { .ctx = &ram, .read = fake_read, .write = fake_write };

static void ram_reset(void)
{
	free(ram.mem);
	ram = (struct fake_ram){ .mem = malloc(RAM_SIZE) };
	if (!ram.mem)
		abort();
	memset(ram.mem, 0, RAM_SIZE);
}

static uint8_t *at(uint64_t gpa)
{
	return ram.mem + (gpa - RAM_BASE);
}

/* ---- the driver's side, by hand ---- */

static void put16(uint64_t gpa, uint16_t v)
{
	virtq_put_le16(at(gpa), v);
}

static uint16_t get16(uint64_t gpa)
{
	return virtq_le16(at(gpa));
}

static uint32_t get32(uint64_t gpa)
{
	return virtq_le32(at(gpa));
}

static void set_desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = at(DESC_GPA + 16ULL * i);

	virtq_put_le32(d, (uint32_t)addr);
	virtq_put_le32(d + 4, (uint32_t)(addr >> 32));
	virtq_put_le32(d + 8, len);
	virtq_put_le16(d + 12, flags);
	virtq_put_le16(d + 14, next);
}

/* Offers head in the next available slot and publishes avail->idx. */
static void offer(const struct virtq *q, uint16_t head)
{
	uint16_t idx = get16(AVAIL_GPA + 2);

	put16(AVAIL_GPA + 4 + 2ULL * (idx & (q->size - 1)), head);
	put16(AVAIL_GPA + 2, (uint16_t)(idx + 1));
}

static struct virtq queue(uint16_t size)
{
	struct virtq q = {
		.size = size, .ready = true,
		.desc_gpa = DESC_GPA, .avail_gpa = AVAIL_GPA, .used_gpa = USED_GPA,
	};
	return q;
}

static struct virtq_chain chain;

/* ---- tests ---- */

static void test_error_names(void)
{
	static const int codes[] = {
		VIRTQ_OK, VIRTQ_E_NOT_READY, VIRTQ_E_SIZE, VIRTQ_E_ALIGN, VIRTQ_E_RING_WRAPS,
		VIRTQ_E_AVAIL_UNREADABLE, VIRTQ_E_AVAIL_IDX, VIRTQ_E_HEAD_INDEX,
		VIRTQ_E_DESC_UNREADABLE, VIRTQ_E_NEXT_INDEX, VIRTQ_E_LOOP,
		VIRTQ_E_CHAIN_TOO_LONG, VIRTQ_E_INDIRECT, VIRTQ_E_READABLE_AFTER_WRITABLE,
		VIRTQ_E_ZERO_LENGTH, VIRTQ_E_BUF_WRAPS, VIRTQ_E_CHAIN_BYTES,
		VIRTQ_E_USED_UNWRITABLE, VIRTQ_E_BAD_ID,
	};
	const unsigned n = sizeof(codes) / sizeof(codes[0]);

	CHECK_STR(virtq_error_name(VIRTQ_E_LOOP), "VIRTQ_E_LOOP");
	CHECK_STR(virtq_error_name(VIRTQ_OK), "VIRTQ_OK");
	CHECK_STR(virtq_error_name(1), "?");
	CHECK_STR(virtq_error_name(-(int)n), "?");
	CHECK_STR(virtq_error_name(-1000), "?");
	for (unsigned i = 0; i < n; i++) {
		CHECK_EQ(codes[i], -(int)i);	/* distinct, dense */
		CHECK(strncmp(virtq_error_name(codes[i]), "VIRTQ_", 6) == 0);
		for (unsigned j = 0; j < i; j++)
			CHECK(strcmp(virtq_error_name(codes[i]), virtq_error_name(codes[j])) != 0);
	}
}

static void test_validate_setup(void)
{
	struct virtq q = queue(8);

	CHECK_EQ(virtq_validate_setup(&q), VIRTQ_OK);
	for (unsigned s = 1; s <= VIRTQ_MAX_SIZE; s *= 2) {
		q.size = (uint16_t)s;
		CHECK_EQ(virtq_validate_setup(&q), VIRTQ_OK);
	}
	static const uint16_t bad[] = { 0, 3, 6, 100, 255, 257, 1023, 1025, 2048, 32768, 65535 };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		q.size = bad[i];
		CHECK_EQ(virtq_validate_setup(&q), VIRTQ_E_SIZE);
	}
	/* Alignment (2.7): desc 16, avail 2, used 4. */
	q = queue(8);
	q.desc_gpa = DESC_GPA + 8;
	CHECK_EQ(virtq_validate_setup(&q), VIRTQ_E_ALIGN);
	q.desc_gpa = DESC_GPA + 16;
	CHECK_EQ(virtq_validate_setup(&q), VIRTQ_OK);
	q.avail_gpa = AVAIL_GPA + 1;
	CHECK_EQ(virtq_validate_setup(&q), VIRTQ_E_ALIGN);
	q.avail_gpa = AVAIL_GPA + 2;
	CHECK_EQ(virtq_validate_setup(&q), VIRTQ_OK);
	q.used_gpa = USED_GPA + 2;
	CHECK_EQ(virtq_validate_setup(&q), VIRTQ_E_ALIGN);
	q.used_gpa = USED_GPA + 4;
	CHECK_EQ(virtq_validate_setup(&q), VIRTQ_OK);
	/* Parts that run past 2^64; the last one that fits. */
	q = queue(8);
	q.desc_gpa = UINT64_MAX - 127;	/* 16 * 8 = 128 bytes: ends exactly at 2^64 */
	CHECK_EQ(virtq_validate_setup(&q), VIRTQ_OK);
	q.desc_gpa = UINT64_MAX - 111;
	CHECK_EQ(virtq_validate_setup(&q), VIRTQ_E_RING_WRAPS);
	q = queue(8);
	q.avail_gpa = UINT64_MAX - 19;	/* 4 + 16 = 20 bytes */
	CHECK_EQ(virtq_validate_setup(&q), VIRTQ_OK);
	q.avail_gpa = UINT64_MAX - 17;
	CHECK_EQ(virtq_validate_setup(&q), VIRTQ_E_RING_WRAPS);
	q = queue(8);
	q.used_gpa = UINT64_MAX - 67;	/* 4 + 64 = 68 bytes */
	CHECK_EQ(virtq_validate_setup(&q), VIRTQ_OK);
	q.used_gpa = UINT64_MAX - 63;
	CHECK_EQ(virtq_validate_setup(&q), VIRTQ_E_RING_WRAPS);
	/* Whether the parts are RAM is not the setup's business. */
	q = queue(8);
	q.desc_gpa = 0x1000;
	CHECK_EQ(virtq_validate_setup(&q), VIRTQ_OK);
}

static void test_not_ready(void)
{
	ram_reset();
	struct virtq q = queue(8);

	q.ready = false;
	set_desc(0, BUF_GPA, 10, 0, 0);
	offer(&q, 0);
	CHECK_EQ(virtq_pop(&q, &ops, &chain), VIRTQ_E_NOT_READY);
	CHECK_EQ(virtq_push(&q, &ops, 0, 0), VIRTQ_E_NOT_READY);
	CHECK_EQ(ram.reads + ram.writes, 0);
	/* Ready but (since) invalid: refused before any access. */
	q.ready = true;
	q.size = 12;
	CHECK_EQ(virtq_pop(&q, &ops, &chain), VIRTQ_E_SIZE);
	CHECK_EQ(virtq_push(&q, &ops, 0, 0), VIRTQ_E_SIZE);
	q.size = 8;
	q.used_gpa += 2;
	CHECK_EQ(virtq_push(&q, &ops, 0, 0), VIRTQ_E_ALIGN);
	CHECK_EQ(ram.reads + ram.writes, 0);
	CHECK(virtq_needs_notify(&q, &ops));
	q.used_gpa -= 2;
	CHECK_EQ(virtq_pop(&q, &ops, &chain), 1);
}

static void test_empty(void)
{
	ram_reset();
	struct virtq q = queue(8);

	CHECK_EQ(virtq_pop(&q, &ops, &chain), 0);
	CHECK_EQ(q.last_avail_idx, 0);
	CHECK_EQ(ram.reads, 1);		/* avail->idx only */
	q.last_avail_idx = 500;
	put16(AVAIL_GPA + 2, 500);
	CHECK_EQ(virtq_pop(&q, &ops, &chain), 0);
	CHECK_EQ(q.last_avail_idx, 500);
}

static void test_chains(void)
{
	ram_reset();
	struct virtq q = queue(8);

	/* One readable descriptor. */
	set_desc(5, BUF_GPA, 100, 0, 0);
	offer(&q, 5);
	/* Readable then writable. */
	set_desc(0, BUF_GPA + 0x1000, 16, VIRTQ_DESC_F_NEXT, 7);
	set_desc(7, BUF_GPA + 0x2000, 4096, VIRTQ_DESC_F_WRITE, 3);	/* next ignored: no F_NEXT */
	offer(&q, 0);
	/* Three, out of order in the table, the last two writable. */
	set_desc(6, BUF_GPA + 0x3000, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, BUF_GPA + 0x4000, 512, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
	set_desc(2, BUF_GPA + 0x5000, 1, VIRTQ_DESC_F_WRITE, 0);
	offer(&q, 6);
	/* Only writable ones. */
	set_desc(4, BUF_GPA + 0x6000, 8, VIRTQ_DESC_F_WRITE, 0);
	offer(&q, 4);

	CHECK_EQ(virtq_pop(&q, &ops, &chain), 1);
	CHECK_EQ(chain.head, 5);
	CHECK_EQ(chain.nbufs, 1);
	CHECK_EQ(chain.buf[0].gpa, BUF_GPA);
	CHECK_EQ(chain.buf[0].len, 100);
	CHECK(!chain.buf[0].device_writable);
	CHECK_EQ(chain.readable_bytes, 100);
	CHECK_EQ(chain.writable_bytes, 0);
	CHECK_EQ(q.last_avail_idx, 1);

	CHECK_EQ(virtq_pop(&q, &ops, &chain), 1);
	CHECK_EQ(chain.head, 0);
	CHECK_EQ(chain.nbufs, 2);
	CHECK_EQ(chain.buf[0].gpa, BUF_GPA + 0x1000);
	CHECK(!chain.buf[0].device_writable);
	CHECK_EQ(chain.buf[1].gpa, BUF_GPA + 0x2000);
	CHECK_EQ(chain.buf[1].len, 4096);
	CHECK(chain.buf[1].device_writable);
	CHECK_EQ(chain.readable_bytes, 16);
	CHECK_EQ(chain.writable_bytes, 4096);

	unsigned reads = ram.reads;
	CHECK_EQ(virtq_pop(&q, &ops, &chain), 1);
	/* avail->idx, the ring slot, and each descriptor exactly once. */
	CHECK_EQ(ram.reads - reads, 2 + 3);
	CHECK_EQ(chain.head, 6);
	CHECK_EQ(chain.nbufs, 3);
	CHECK_EQ(chain.buf[0].gpa, BUF_GPA + 0x3000);
	CHECK_EQ(chain.buf[1].gpa, BUF_GPA + 0x4000);
	CHECK_EQ(chain.buf[2].gpa, BUF_GPA + 0x5000);
	CHECK_EQ(chain.buf[2].len, 1);
	CHECK(!chain.buf[0].device_writable && chain.buf[1].device_writable &&
	      chain.buf[2].device_writable);
	CHECK_EQ(chain.readable_bytes, 16);
	CHECK_EQ(chain.writable_bytes, 513);

	CHECK_EQ(virtq_pop(&q, &ops, &chain), 1);
	CHECK_EQ(chain.head, 4);
	CHECK_EQ(chain.readable_bytes, 0);
	CHECK_EQ(chain.writable_bytes, 8);

	CHECK_EQ(virtq_pop(&q, &ops, &chain), 0);
	CHECK_EQ(q.last_avail_idx, 4);
	CHECK_EQ(ram.refused, 0);
	CHECK_EQ(ram.writes, 0);	/* popping never writes guest memory */
}

/* Buffers far from RAM, unknown flag bits, extreme lengths: pop does not
 * judge where buffers are (their users do, through the accessor). */
static void test_chain_edges(void)
{
	ram_reset();
	struct virtq q = queue(4);

	set_desc(0, UINT64_MAX, 1, 0x80 | VIRTQ_DESC_F_NEXT, 1);	/* ends exactly at 2^64 */
	set_desc(1, 0, 0xffffffffU - 1, VIRTQ_DESC_F_WRITE | 0xff00, 0);
	offer(&q, 0);
	CHECK_EQ(virtq_pop(&q, &ops, &chain), 1);
	CHECK_EQ(chain.nbufs, 2);
	CHECK_EQ(chain.buf[0].gpa, UINT64_MAX);
	CHECK_EQ(chain.buf[1].len, 0xfffffffeU);
	CHECK(chain.buf[1].device_writable);
	CHECK_EQ(chain.readable_bytes + chain.writable_bytes, UINT32_MAX);

	/* A chain as long as the queue. */
	for (uint16_t i = 0; i < 4; i++)
		set_desc(i, BUF_GPA + i, 1, i < 3 ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	offer(&q, 0);
	CHECK_EQ(virtq_pop(&q, &ops, &chain), 1);
	CHECK_EQ(chain.nbufs, 4);

	/* A queue of size 1. */
	q = queue(1);
	put16(AVAIL_GPA + 2, 0);
	set_desc(0, BUF_GPA, 7, 0, 0);
	offer(&q, 0);
	CHECK_EQ(virtq_pop(&q, &ops, &chain), 1);
	CHECK_EQ(chain.head, 0);
	CHECK_EQ(virtq_pop(&q, &ops, &chain), 0);
	offer(&q, 0);
	CHECK_EQ(virtq_pop(&q, &ops, &chain), 1);
}

/* VIRTQ_MAX_CHAIN descriptors pass, one more does not. */
static void test_chain_limit(void)
{
	ram_reset();
	struct virtq q = queue(128);

	for (uint16_t i = 0; i < 128; i++)
		set_desc(i, BUF_GPA + 16ULL * i, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1));
	set_desc(VIRTQ_MAX_CHAIN - 1, BUF_GPA, 16, 0, 0);
	offer(&q, 0);
	CHECK_EQ(virtq_pop(&q, &ops, &chain), 1);
	CHECK_EQ(chain.nbufs, VIRTQ_MAX_CHAIN);
	CHECK_EQ(chain.readable_bytes, 16 * VIRTQ_MAX_CHAIN);

	set_desc(VIRTQ_MAX_CHAIN - 1, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, VIRTQ_MAX_CHAIN);
	set_desc(VIRTQ_MAX_CHAIN, BUF_GPA, 16, 0, 0);
	offer(&q, 0);
	CHECK_EQ(virtq_pop(&q, &ops, &chain), VIRTQ_E_CHAIN_TOO_LONG);
	/* A loop longer than VIRTQ_MAX_CHAIN: too long first. */
	set_desc(99, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 0);
	for (uint16_t i = 0; i < 99; i++)
		set_desc(i, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1));
	CHECK_EQ(virtq_pop(&q, &ops, &chain), VIRTQ_E_CHAIN_TOO_LONG);
	CHECK_EQ(q.last_avail_idx, 1);
}

/* Sets up one bad chain at head 0 of a fresh queue and checks pop's error,
 * that it is sticky, and that q did not move. */
static void expect_pop_error(struct virtq *q, int err, const char *what)
{
	uint16_t last = q->last_avail_idx, used = q->used_idx;
	int got = virtq_pop(q, &ops, &chain);

	if (!CHECK_EQ(got, err))
		printf("    (%s: got %s)\n", what, virtq_error_name(got));
	CHECK_EQ(virtq_pop(q, &ops, &chain), err);
	CHECK_EQ(q->last_avail_idx, last);
	CHECK_EQ(q->used_idx, used);
}

static void test_pop_errors(void)
{
	struct virtq q;

	/* avail->idx out of RAM; a ring slot out of RAM. */
	ram_reset();
	q = queue(8);
	q.avail_gpa = RAM_END;
	expect_pop_error(&q, VIRTQ_E_AVAIL_UNREADABLE, "avail idx");
	q.avail_gpa = RAM_END - 4;	/* idx is the last word of RAM, ring[0] beyond */
	put16(RAM_END - 2, 1);
	expect_pop_error(&q, VIRTQ_E_AVAIL_UNREADABLE, "avail ring");
	q.avail_gpa = RAM_BASE - 4;	/* idx is the last word before RAM */
	expect_pop_error(&q, VIRTQ_E_AVAIL_UNREADABLE, "avail before RAM");

	/* avail->idx more than size ahead, or behind (a decrement). */
	ram_reset();
	q = queue(8);
	set_desc(0, BUF_GPA, 1, 0, 0);
	put16(AVAIL_GPA + 2, 9);
	expect_pop_error(&q, VIRTQ_E_AVAIL_IDX, "9 ahead");
	put16(AVAIL_GPA + 2, 0xffff);
	expect_pop_error(&q, VIRTQ_E_AVAIL_IDX, "decrement");
	put16(AVAIL_GPA + 2, 8);	/* exactly size ahead is a full ring: fine */
	CHECK_EQ(virtq_pop(&q, &ops, &chain), 1);
	q.last_avail_idx = 0xfffe;	/* across the wrap: 0xfffe -> 7 is 9 ahead */
	put16(AVAIL_GPA + 2, 7);
	expect_pop_error(&q, VIRTQ_E_AVAIL_IDX, "9 ahead across the wrap");
	put16(AVAIL_GPA + 2, 6);
	CHECK_EQ(virtq_pop(&q, &ops, &chain), 1);

	/* A head outside the table. */
	ram_reset();
	q = queue(8);
	offer(&q, 8);
	expect_pop_error(&q, VIRTQ_E_HEAD_INDEX, "head 8");
	put16(AVAIL_GPA + 4, 0xffff);
	expect_pop_error(&q, VIRTQ_E_HEAD_INDEX, "head 0xffff");

	/* The descriptor table (partly) outside RAM. */
	ram_reset();
	q = queue(8);
	q.desc_gpa = RAM_END - 16 * 4;	/* descriptors 0..3 in RAM */
	offer(&q, 4);
	expect_pop_error(&q, VIRTQ_E_DESC_UNREADABLE, "head beyond RAM");
	put16(AVAIL_GPA + 4, 3);
	virtq_put_le32(at(RAM_END - 16 + 8), 1);	/* desc 3: len 1, NEXT -> 5 */
	virtq_put_le16(at(RAM_END - 16 + 12), VIRTQ_DESC_F_NEXT);
	virtq_put_le16(at(RAM_END - 16 + 14), 5);
	expect_pop_error(&q, VIRTQ_E_DESC_UNREADABLE, "next beyond RAM");

	/* next outside the table. */
	ram_reset();
	q = queue(8);
	set_desc(0, BUF_GPA, 1, VIRTQ_DESC_F_NEXT, 8);
	offer(&q, 0);
	expect_pop_error(&q, VIRTQ_E_NEXT_INDEX, "next 8");
	set_desc(0, BUF_GPA, 1, VIRTQ_DESC_F_NEXT, 0xffff);
	expect_pop_error(&q, VIRTQ_E_NEXT_INDEX, "next 0xffff");

	/* Loops: to itself, to the head, in the middle. */
	set_desc(0, BUF_GPA, 1, VIRTQ_DESC_F_NEXT, 0);
	expect_pop_error(&q, VIRTQ_E_LOOP, "self");
	set_desc(0, BUF_GPA, 1, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, BUF_GPA, 1, VIRTQ_DESC_F_NEXT, 0);
	expect_pop_error(&q, VIRTQ_E_LOOP, "two");
	for (uint16_t i = 0; i < 7; i++)
		set_desc(i, BUF_GPA, 1, VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1));
	set_desc(7, BUF_GPA, 1, VIRTQ_DESC_F_NEXT, 3);
	expect_pop_error(&q, VIRTQ_E_LOOP, "longer than the queue");

	/* Indirect descriptors are not offered: as head, as a later one. */
	ram_reset();
	q = queue(8);
	set_desc(0, BUF_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(&q, 0);
	expect_pop_error(&q, VIRTQ_E_INDIRECT, "indirect head");
	set_desc(0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, BUF_GPA, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	expect_pop_error(&q, VIRTQ_E_INDIRECT, "indirect second");

	/* A readable descriptor after a writable one (2.7.4.2). */
	set_desc(0, BUF_GPA, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, BUF_GPA, 16, 0, 0);
	expect_pop_error(&q, VIRTQ_E_READABLE_AFTER_WRITABLE, "R after W");
	set_desc(0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, BUF_GPA, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
	set_desc(2, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 3);
	set_desc(3, BUF_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
	expect_pop_error(&q, VIRTQ_E_READABLE_AFTER_WRITABLE, "R W R W");

	/* Zero-length buffers, first or later. */
	set_desc(0, BUF_GPA, 0, 0, 0);
	expect_pop_error(&q, VIRTQ_E_ZERO_LENGTH, "zero head");
	set_desc(0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, BUF_GPA, 0, VIRTQ_DESC_F_WRITE, 0);
	expect_pop_error(&q, VIRTQ_E_ZERO_LENGTH, "zero second");

	/* A buffer past 2^64. */
	set_desc(0, UINT64_MAX - 10, 12, 0, 0);
	expect_pop_error(&q, VIRTQ_E_BUF_WRAPS, "buf wraps");
	set_desc(0, UINT64_MAX - 10, 11, 0, 0);	/* ends exactly at 2^64 */
	CHECK_EQ(virtq_pop(&q, &ops, &chain), 1);

	/* The chain's bytes past UINT32_MAX (2.7.5.2: at most 2^32). */
	ram_reset();
	q = queue(8);
	set_desc(0, BUF_GPA, 0x80000000U, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, BUF_GPA, 0x80000000U, VIRTQ_DESC_F_WRITE, 0);
	offer(&q, 0);
	expect_pop_error(&q, VIRTQ_E_CHAIN_BYTES, "2^32");
	set_desc(0, BUF_GPA, 0xffffffffU, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, BUF_GPA, 1, 0, 0);
	expect_pop_error(&q, VIRTQ_E_CHAIN_BYTES, "UINT32_MAX + 1");
	for (uint16_t i = 0; i < 8; i++)	/* 8 x 0x7fffffff: overflows u32 */
		set_desc(i, BUF_GPA, 0x7fffffffU, i < 7 ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	expect_pop_error(&q, VIRTQ_E_CHAIN_BYTES, "8 x 2^31-1");

	/* After the driver repairs the chain, the same entry pops. */
	set_desc(0, BUF_GPA, 0xffffffffU, 0, 0);
	CHECK_EQ(virtq_pop(&q, &ops, &chain), 1);
	CHECK_EQ(chain.readable_bytes, 0xffffffffU);
}

static void test_push(void)
{
	ram_reset();
	struct virtq q = queue(4);

	memset(at(USED_GPA), 0xee, 4 + 8 * 4 + 2);
	put16(USED_GPA, 0);	/* the driver zeroed flags (2.7.10.1) */
	CHECK_EQ(virtq_push(&q, &ops, 3, 4097), VIRTQ_OK);
	CHECK_EQ(q.used_idx, 1);
	CHECK_EQ(get16(USED_GPA + 2), 1);
	CHECK_EQ(get32(USED_GPA + 4), 3);
	CHECK_EQ(get32(USED_GPA + 8), 4097);
	CHECK_EQ(get16(USED_GPA), 0);	/* flags untouched */
	CHECK_EQ(get32(USED_GPA + 12), 0xeeeeeeee);	/* next slot untouched */

	CHECK_EQ(virtq_push(&q, &ops, 0, 0), VIRTQ_OK);
	CHECK_EQ(virtq_push(&q, &ops, 1, 0xffffffffU), VIRTQ_OK);
	CHECK_EQ(virtq_push(&q, &ops, 2, 1), VIRTQ_OK);
	CHECK_EQ(get16(USED_GPA + 2), 4);
	CHECK_EQ(get32(USED_GPA + 4 + 8 * 1), 0);
	CHECK_EQ(get32(USED_GPA + 4 + 8 * 2), 1);
	CHECK_EQ(get32(USED_GPA + 4 + 8 * 2 + 4), 0xffffffffU);
	CHECK_EQ(get32(USED_GPA + 4 + 8 * 3), 2);
	/* The fifth wraps to slot 0. */
	CHECK_EQ(virtq_push(&q, &ops, 1, 77), VIRTQ_OK);
	CHECK_EQ(get32(USED_GPA + 4), 1);
	CHECK_EQ(get32(USED_GPA + 8), 77);
	CHECK_EQ(get16(USED_GPA + 2), 5);
	CHECK_EQ(get16(USED_GPA + 4 + 8 * 4), 0xeeee);	/* avail_event: never written */

	/* An id outside the table: refused, nothing written. */
	unsigned writes = ram.writes;
	CHECK_EQ(virtq_push(&q, &ops, 4, 0), VIRTQ_E_BAD_ID);
	CHECK_EQ(virtq_push(&q, &ops, 0xffff, 0), VIRTQ_E_BAD_ID);
	CHECK_EQ(ram.writes, writes);
	CHECK_EQ(q.used_idx, 5);

	/* The used ring outside RAM; its idx write failing alone. */
	q.used_gpa = RAM_END - 4;
	CHECK_EQ(virtq_push(&q, &ops, 0, 0), VIRTQ_E_USED_UNWRITABLE);
	CHECK_EQ(q.used_idx, 5);
	q.used_gpa = USED_GPA;
	ram.fail_write_gpa = USED_GPA + 2;
	CHECK_EQ(virtq_push(&q, &ops, 0, 9), VIRTQ_E_USED_UNWRITABLE);
	CHECK_EQ(q.used_idx, 5);
	CHECK_EQ(get16(USED_GPA + 2), 5);
	ram.fail_write_gpa = 0;
	CHECK_EQ(virtq_push(&q, &ops, 0, 9), VIRTQ_OK);
	CHECK_EQ(get16(USED_GPA + 2), 6);
}

/* 16-bit indices wrapping at 65536 on both rings. */
static void test_wraparound(void)
{
	ram_reset();
	struct virtq q = queue(8);

	q.last_avail_idx = 65533;
	q.used_idx = 65534;
	put16(AVAIL_GPA + 2, 65533);
	put16(USED_GPA + 2, 65534);
	for (uint16_t i = 0; i < 6; i++) {
		set_desc(i, BUF_GPA + 0x100ULL * i, 10 + i, VIRTQ_DESC_F_WRITE, 0);
		offer(&q, i);
	}
	CHECK_EQ(get16(AVAIL_GPA + 2), 3);	/* 65533 + 6 */
	/* Slots 65533 % 8 = 5, 6, 7, 0, 1, 2. */
	CHECK_EQ(get16(AVAIL_GPA + 4 + 2 * 5), 0);
	CHECK_EQ(get16(AVAIL_GPA + 4 + 2 * 2), 5);
	for (uint16_t i = 0; i < 6; i++) {
		CHECK_EQ(virtq_pop(&q, &ops, &chain), 1);
		CHECK_EQ(chain.head, i);
		CHECK_EQ(chain.buf[0].len, 10 + i);
		CHECK_EQ(virtq_push(&q, &ops, chain.head, chain.buf[0].len), VIRTQ_OK);
	}
	CHECK_EQ(virtq_pop(&q, &ops, &chain), 0);
	CHECK_EQ(q.last_avail_idx, 3);
	CHECK_EQ(q.used_idx, 4);	/* 65534 + 6 */
	CHECK_EQ(get16(USED_GPA + 2), 4);
	/* Used slots 65534 % 8 = 6, 7, 0, 1, 2, 3. */
	CHECK_EQ(get32(USED_GPA + 4 + 8 * 6), 0);
	CHECK_EQ(get32(USED_GPA + 4 + 8 * 7), 1);
	CHECK_EQ(get32(USED_GPA + 4 + 8 * 0), 2);
	CHECK_EQ(get32(USED_GPA + 4 + 8 * 3), 5);
	CHECK_EQ(get32(USED_GPA + 4 + 8 * 3 + 4), 15);
}

static void test_notify(void)
{
	ram_reset();
	struct virtq q = queue(8);

	CHECK(virtq_needs_notify(&q, &ops));
	put16(AVAIL_GPA, VIRTQ_AVAIL_F_NO_INTERRUPT);
	CHECK(!virtq_needs_notify(&q, &ops));
	put16(AVAIL_GPA, 0xfffe);	/* other bits mean nothing without EVENT_IDX */
	CHECK(virtq_needs_notify(&q, &ops));
	put16(AVAIL_GPA, VIRTQ_AVAIL_F_NO_INTERRUPT);
	q.avail_gpa = RAM_END;
	CHECK(virtq_needs_notify(&q, &ops));	/* unreadable: notify */
	q.avail_gpa = AVAIL_GPA;
	q.ready = false;
	CHECK(virtq_needs_notify(&q, &ops));
}

/*
 * A driver model against the device: random chains of 1..5 descriptors
 * (readable ones, then writable ones) from a free list, offered in
 * batches; the device pops, checks each chain against what was offered,
 * and pushes with a length the driver checks when it reaps the used ring.
 * Indices start just below the wrap.
 */
struct offered {
	unsigned n;
	uint16_t desc[5];
	uint32_t len[5];
	bool writable[5];
};

static void test_random_driver(void)
{
	enum { SIZE = 16 };
	ram_reset();
	struct virtq q = queue(SIZE);
	struct offered chains[SIZE];
	uint16_t free_list[SIZE], nfree = SIZE, last_used = 65500;
	uint64_t seed = unit_seed();
	unsigned popped = 0, bad = 0;

	q.last_avail_idx = 65500;
	q.used_idx = 65500;
	put16(AVAIL_GPA + 2, 65500);
	put16(USED_GPA + 2, 65500);
	for (uint16_t i = 0; i < SIZE; i++)
		free_list[i] = i;
	for (unsigned round = 0; round < 3000; round++) {
		/* Driver: offer a few chains while descriptors last. */
		unsigned batch = unit_rand(&seed) % 4;
		for (unsigned b = 0; b < batch; b++) {
			unsigned n = 1 + unit_rand(&seed) % 5, nread = unit_rand(&seed) % (n + 1);
			if (n > nfree)
				break;
			struct offered c = { .n = n };
			for (unsigned k = 0; k < n; k++) {
				unsigned pick = unit_rand(&seed) % nfree;
				c.desc[k] = free_list[pick];
				free_list[pick] = free_list[--nfree];
				c.len[k] = 1 + unit_rand(&seed) % 5000;
				c.writable[k] = k >= nread;
			}
			for (unsigned k = 0; k < n; k++)
				set_desc(c.desc[k], BUF_GPA + 0x10000ULL * c.desc[k] + k, c.len[k],
					 (uint16_t)((c.writable[k] ? VIRTQ_DESC_F_WRITE : 0) |
						    (k + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
					 k + 1 < n ? c.desc[k + 1] : 0);
			chains[c.desc[0]] = c;
			offer(&q, c.desc[0]);
		}
		/* Device: pop some, push each back at once. */
		unsigned take = unit_rand(&seed) % 4;
		for (unsigned t = 0; t < take; t++) {
			int got = virtq_pop(&q, &ops, &chain);
			if (got == 0)
				break;
			if (got != 1) {
				bad++;
				break;
			}
			popped++;
			const struct offered *c = &chains[chain.head];
			bool same = chain.nbufs == c->n;
			for (unsigned k = 0; same && k < c->n; k++)
				same = chain.buf[k].len == c->len[k] &&
				       chain.buf[k].device_writable == c->writable[k] &&
				       chain.buf[k].gpa == BUF_GPA + 0x10000ULL * c->desc[k] + k;
			bad += !same;
			bad += virtq_push(&q, &ops, chain.head,
					  (uint32_t)chain.writable_bytes) != VIRTQ_OK;
		}
		/* Driver: reap the used ring, freeing descriptors. */
		while (last_used != get16(USED_GPA + 2)) {
			uint64_t e = USED_GPA + 4 + 8ULL * (last_used % SIZE);
			uint16_t id = (uint16_t)get32(e);
			const struct offered *c = &chains[id];
			uint32_t wr = 0;
			for (unsigned k = 0; k < c->n; k++)
				wr += c->writable[k] ? c->len[k] : 0;
			bad += get32(e + 4) != wr;
			for (unsigned k = 0; k < c->n; k++)
				free_list[nfree++] = c->desc[k];
			last_used++;
		}
	}
	if (!CHECK_EQ(bad, 0))
		printf("    seed 0x%llx\n", (unsigned long long)unit_seed());
	CHECK(popped > 1000);
	CHECK_EQ(ram.refused, 0);
	CHECK((uint16_t)(q.last_avail_idx - 65500) == (uint16_t)popped);
}

int main(void)
{
	RUN(test_error_names);
	RUN(test_validate_setup);
	RUN(test_not_ready);
	RUN(test_empty);
	RUN(test_chains);
	RUN(test_chain_edges);
	RUN(test_chain_limit);
	RUN(test_pop_errors);
	RUN(test_push);
	RUN(test_wraparound);
	RUN(test_notify);
	RUN(test_random_driver);
	free(ram.mem);
	return unit_report("test_virtq");
}
