/*
 * hyp/balloon/balloon_parse.c: the balloon's PFN arrays, statistics and
 * reporting chains, well-formed and broken, over a fake guest RAM.
 */
#include <string.h>
#include "balloon/balloon_parse.h"
#include "unit.h"

#define RAM_BASE 0x80000000ULL
static uint8_t ram[16384];

static bool ram_read(void *ctx, uint64_t gpa, void *dst, size_t len)
{
	(void)ctx;
	if (gpa < RAM_BASE || gpa - RAM_BASE > sizeof(ram) || len > sizeof(ram) - (gpa - RAM_BASE))
		return false;
	memcpy(dst, ram + (gpa - RAM_BASE), len);
	return true;
}

static const struct guest_mem_ops mem = { .read = ram_read };

static void put32(uint64_t off, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		ram[off + i] = (uint8_t)(v >> (8 * i));
}

static void put_stat(uint64_t off, uint16_t tag, uint64_t v)
{
	ram[off] = (uint8_t)tag;
	ram[off + 1] = (uint8_t)(tag >> 8);
	for (int i = 0; i < 8; i++)
		ram[off + 2 + i] = (uint8_t)(v >> (8 * i));
}

static uint32_t seen[1024];
static unsigned nseen, stop_after;

static bool record(void *arg, uint32_t pfn)
{
	(void)arg;
	if (nseen < 1024)
		seen[nseen] = pfn;
	nseen++;
	return !stop_after || nseen < stop_after;
}

static struct virtq_chain one(uint64_t off, uint32_t len, bool writable)
{
	struct virtq_chain c = { .head = 3, .nbufs = 1 };

	c.buf[0] = (struct virtq_buf){ .gpa = RAM_BASE + off, .len = len, .device_writable = writable };
	return c;
}

static void test_pfns(void)
{
	/* 300 PFNs: more than one read of the parser's buffer. */
	for (unsigned i = 0; i < 300; i++)
		put32(4 * i, 0x80000 + i * 7);
	struct virtq_chain c = one(0, 4 * 300, false);
	nseen = 0;
	CHECK_EQ(balloon_parse_pfns(&c, &mem, record, NULL), BALLOON_OK);
	CHECK_EQ(nseen, 300);
	CHECK_EQ(seen[0], 0x80000);
	CHECK_EQ(seen[299], 0x80000 + 299 * 7);
	/* Two buffers, in order. */
	c.nbufs = 2;
	c.buf[0].len = 8;
	c.buf[1] = (struct virtq_buf){ .gpa = RAM_BASE + 4 * 10, .len = 4 };
	nseen = 0;
	CHECK_EQ(balloon_parse_pfns(&c, &mem, record, NULL), BALLOON_OK);
	CHECK_EQ(nseen, 3);
	CHECK_EQ(seen[2], 0x80000 + 10 * 7);
	/* The callback may stop the walk. */
	c = one(0, 4 * 300, false);
	nseen = 0;
	stop_after = 5;
	CHECK_EQ(balloon_parse_pfns(&c, &mem, record, NULL), BALLOON_OK);
	CHECK_EQ(nseen, 5);
	stop_after = 0;
	/* Broken: a length that is not whole words, a writable buffer, a
	 * buffer past RAM (after the good ones are taken). */
	c = one(0, 6, false);
	CHECK_EQ(balloon_parse_pfns(&c, &mem, record, NULL), BALLOON_E_LENGTH);
	c = one(0, 8, true);
	CHECK_EQ(balloon_parse_pfns(&c, &mem, record, NULL), BALLOON_E_WRITABLE);
	c = one(0, 8, false);
	c.nbufs = 2;
	c.buf[1] = (struct virtq_buf){ .gpa = RAM_BASE + sizeof(ram) - 4, .len = 8 };
	nseen = 0;
	CHECK_EQ(balloon_parse_pfns(&c, &mem, record, NULL), BALLOON_E_UNREADABLE);
	CHECK_EQ(nseen, 2);
}

static void test_stats(void)
{
	struct balloon_stats s;

	memset(&s, 0, sizeof(s));
	put_stat(1000, 4, 12345678901ULL);	/* free memory */
	put_stat(1010, 5, 134217728);		/* total memory */
	put_stat(1020, 77, 1);			/* unknown: skipped */
	put_stat(1030, 4, 42);			/* a later entry of a tag wins */
	struct virtq_chain c = one(1000, 40, false);
	CHECK_EQ(balloon_parse_stats(&c, &mem, &s), BALLOON_OK);
	CHECK(s.valid[4] && s.valid[5] && !s.valid[0]);
	CHECK_EQ(s.value[4], 42);
	CHECK_EQ(s.value[5], 134217728);
	CHECK_EQ(s.unknown_tags, 1);
	CHECK_STR(balloon_stat_name[4], "free_memory");
	c = one(1000, 15, false);
	CHECK_EQ(balloon_parse_stats(&c, &mem, &s), BALLOON_E_LENGTH);
	c = one(1000, 10, true);
	CHECK_EQ(balloon_parse_stats(&c, &mem, &s), BALLOON_E_WRITABLE);
	c = one(sizeof(ram) - 5, 10, false);
	CHECK_EQ(balloon_parse_stats(&c, &mem, &s), BALLOON_E_UNREADABLE);
}

static void test_report(void)
{
	struct virtq_chain c = one(0, 4096, true);

	CHECK_EQ(balloon_parse_report(&c), BALLOON_OK);
	c.nbufs = 2;
	c.buf[1] = (struct virtq_buf){ .gpa = RAM_BASE, .len = 4096, .device_writable = false };
	CHECK_EQ(balloon_parse_report(&c), BALLOON_E_READABLE);
}

int main(void)
{
	RUN(test_pfns);
	RUN(test_stats);
	RUN(test_report);
	return unit_report("test_balloon_parse");
}
