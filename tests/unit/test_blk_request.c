/*
 * hyp/vdisk/blk_request.c: virtio-blk requests out of descriptor chains.
 * Chains are built by hand (as virtq_pop would return them) over a fake
 * guest RAM holding the headers; one test goes through virtq_pop and
 * virtq_push end to end.
 */
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "vdisk/blk_request.h"

#define RAM_BASE 0x80000000ULL
#define RAM_SIZE (1ULL << 20)
#define RAM_END (RAM_BASE + RAM_SIZE)
#define HDR_GPA (RAM_BASE + 0x1000)
#define DATA_GPA (RAM_BASE + 0x10000)
#define STATUS_GPA (RAM_BASE + 0x2000)
#define CAPACITY 1000	/* sectors */

static uint8_t *mem;
static unsigned refused;

static bool in_ram(uint64_t gpa, size_t len)
{
	return gpa >= RAM_BASE && gpa - RAM_BASE <= RAM_SIZE && len <= RAM_SIZE - (gpa - RAM_BASE);
}

static bool fake_read(void *ctx, uint64_t gpa, void *dst, size_t len)
{
	(void)ctx;
	if (!in_ram(gpa, len)) {
		refused++;
		return false;
	}
	memcpy(dst, mem + (gpa - RAM_BASE), len);
	return true;
}

static bool fake_write(void *ctx, uint64_t gpa, const void *src, size_t len)
{
	(void)ctx;
	if (!in_ram(gpa, len)) {
		refused++;
		return false;
	}
	memcpy(mem + (gpa - RAM_BASE), src, len);
	return true;
}

static const struct guest_mem_ops ops = { .read = fake_read, .write = fake_write };

static uint8_t *at(uint64_t gpa)
{
	return mem + (gpa - RAM_BASE);
}

/* Writes a header {type, reserved, sector} at gpa. */
static void put_header(uint64_t gpa, uint32_t type, uint64_t sector)
{
	uint8_t *h = at(gpa);

	virtq_put_le32(h, type);
	virtq_put_le32(h + 4, 0xdeadbeef);	/* reserved: ignored */
	virtq_put_le32(h + 8, (uint32_t)sector);
	virtq_put_le32(h + 12, (uint32_t)(sector >> 32));
}

static struct virtq_chain chain;
static struct blk_request req;

static void chain_start(void)
{
	memset(&chain, 0xcc, sizeof(chain));
	chain.head = 3;
	chain.nbufs = 0;
	chain.readable_bytes = chain.writable_bytes = 0;
}

static void add(uint64_t gpa, uint32_t len, bool writable)
{
	chain.buf[chain.nbufs++] = (struct virtq_buf){ gpa, len, writable };
	if (writable)
		chain.writable_bytes += len;
	else
		chain.readable_bytes += len;
}

static enum blk_parse_result parse(void)
{
	memset(&req, 0xcc, sizeof(req));	/* every field must be set */
	return blk_request_parse(&chain, &ops, CAPACITY, &req);
}

/* The common chain: header, data of `len` bytes (writable or not), status. */
static void simple(uint32_t type, uint64_t sector, uint32_t len, bool writable)
{
	chain_start();
	put_header(HDR_GPA, type, sector);
	add(HDR_GPA, 16, false);
	if (len)
		add(DATA_GPA, len, writable);
	add(STATUS_GPA, 1, true);
}

static void test_in(void)
{
	simple(VIRTIO_BLK_T_IN, 8, 4096, true);
	CHECK_EQ(parse(), BLK_REQ_OK);
	CHECK_EQ(req.type, VIRTIO_BLK_T_IN);
	CHECK_EQ(req.sector, 8);
	CHECK_EQ(req.data_len, 4096);
	CHECK_EQ(req.nsegs, 1);
	CHECK_EQ(req.seg[0].gpa, DATA_GPA);
	CHECK_EQ(req.seg[0].len, 4096);
	CHECK(req.has_status);
	CHECK_EQ(req.status_gpa, STATUS_GPA);
	CHECK_EQ(blk_request_written_len(&req, VIRTIO_BLK_S_OK), 4097);
	CHECK_EQ(blk_request_written_len(&req, VIRTIO_BLK_S_IOERR), 1);

	/* Data over three writable descriptors, the status sharing the last. */
	chain_start();
	put_header(HDR_GPA, VIRTIO_BLK_T_IN, 0);
	add(HDR_GPA, 16, false);
	add(DATA_GPA, 512, true);
	add(DATA_GPA + 0x1000, 1024, true);
	add(DATA_GPA + 0x2000, 512 + 1, true);
	CHECK_EQ(parse(), BLK_REQ_OK);
	CHECK_EQ(req.nsegs, 3);
	CHECK_EQ(req.data_len, 2048);
	CHECK_EQ(req.seg[1].gpa, DATA_GPA + 0x1000);
	CHECK_EQ(req.seg[1].len, 1024);
	CHECK_EQ(req.seg[2].gpa, DATA_GPA + 0x2000);
	CHECK_EQ(req.seg[2].len, 512);
	CHECK_EQ(req.status_gpa, DATA_GPA + 0x2000 + 512);

	/* All in one writable descriptor with the status. */
	chain_start();
	add(HDR_GPA, 16, false);
	add(DATA_GPA, 4096 + 1, true);
	CHECK_EQ(parse(), BLK_REQ_OK);
	CHECK_EQ(req.nsegs, 1);
	CHECK_EQ(req.seg[0].len, 4096);
	CHECK_EQ(req.status_gpa, DATA_GPA + 4096);
}

static void test_out(void)
{
	simple(VIRTIO_BLK_T_OUT, 999, 512, false);	/* the last sector */
	CHECK_EQ(parse(), BLK_REQ_OK);
	CHECK_EQ(req.type, VIRTIO_BLK_T_OUT);
	CHECK_EQ(req.sector, 999);
	CHECK_EQ(req.nsegs, 1);
	CHECK_EQ(req.seg[0].gpa, DATA_GPA);
	CHECK_EQ(req.data_len, 512);
	CHECK_EQ(blk_request_written_len(&req, VIRTIO_BLK_S_OK), 1);

	/* Header and data in one descriptor, more data in a second. */
	chain_start();
	put_header(HDR_GPA, VIRTIO_BLK_T_OUT, 4);
	add(HDR_GPA, 16 + 1024, false);
	add(DATA_GPA, 2048, false);
	add(STATUS_GPA, 1, true);
	CHECK_EQ(parse(), BLK_REQ_OK);
	CHECK_EQ(req.sector, 4);
	CHECK_EQ(req.nsegs, 2);
	CHECK_EQ(req.seg[0].gpa, HDR_GPA + 16);
	CHECK_EQ(req.seg[0].len, 1024);
	CHECK_EQ(req.seg[1].gpa, DATA_GPA);
	CHECK_EQ(req.seg[1].len, 2048);
	CHECK_EQ(req.data_len, 3072);

	/* The header spread over three descriptors (10 + 5 + 1 + data). */
	chain_start();
	uint8_t h[16];
	put_header(HDR_GPA, VIRTIO_BLK_T_OUT, 0x0123456789abcdefULL);
	memcpy(h, at(HDR_GPA), 16);
	memcpy(at(RAM_BASE + 0x5000), h, 10);
	memcpy(at(RAM_BASE + 0x6000), h + 10, 5);
	memcpy(at(RAM_BASE + 0x7000), h + 15, 1);
	add(RAM_BASE + 0x5000, 10, false);
	add(RAM_BASE + 0x6000, 5, false);
	add(RAM_BASE + 0x7000, 1 + 512, false);
	add(STATUS_GPA, 1, true);
	CHECK_EQ(parse(), BLK_REQ_IOERR);	/* that sector is far past the end */
	CHECK_EQ(req.type, VIRTIO_BLK_T_OUT);
	CHECK_EQ(req.sector, 0x0123456789abcdefULL);
	CHECK_EQ(req.nsegs, 0);
	CHECK_EQ(req.data_len, 0);
	/* Sector 7, written piecewise: sector bytes 0-1, 2-6 and 7 are in
	 * the three buffers. */
	at(RAM_BASE + 0x5000)[8] = 7;
	at(RAM_BASE + 0x5000)[9] = 0;
	memset(at(RAM_BASE + 0x6000), 0, 5);
	at(RAM_BASE + 0x7000)[0] = 0;
	CHECK_EQ(parse(), BLK_REQ_OK);
	CHECK_EQ(req.sector, 7);
	CHECK_EQ(req.nsegs, 1);
	CHECK_EQ(req.seg[0].gpa, RAM_BASE + 0x7000 + 1);
	CHECK_EQ(req.seg[0].len, 512);
	at(RAM_BASE + 0x6000)[0] = 0x2a;	/* sector byte 2 */
	CHECK_EQ(parse(), BLK_REQ_IOERR);
	CHECK_EQ(req.sector, 0x2a0007);
	at(RAM_BASE + 0x6000)[0] = 0;
	at(RAM_BASE + 0x7000)[0] = 0x80;	/* sector byte 7 */
	CHECK_EQ(parse(), BLK_REQ_IOERR);
	CHECK_EQ(req.sector, 0x8000000000000007ULL);

	/* 62 data descriptors: 64 buffers in all. */
	chain_start();
	put_header(HDR_GPA, VIRTIO_BLK_T_OUT, 0);
	add(HDR_GPA, 16, false);
	for (unsigned i = 0; i < VIRTQ_MAX_CHAIN - 2; i++)
		add(DATA_GPA + 0x1000ULL * i, 512, false);
	add(STATUS_GPA, 1, true);
	CHECK_EQ(parse(), BLK_REQ_OK);
	CHECK_EQ(req.nsegs, VIRTQ_MAX_CHAIN - 2);
	CHECK_EQ(req.data_len, 512 * (VIRTQ_MAX_CHAIN - 2));
	CHECK_EQ(req.seg[VIRTQ_MAX_CHAIN - 3].gpa, DATA_GPA + 0x1000ULL * (VIRTQ_MAX_CHAIN - 3));
}

static void test_flush(void)
{
	simple(VIRTIO_BLK_T_FLUSH, 12345, 0, false);
	CHECK_EQ(parse(), BLK_REQ_OK);
	CHECK_EQ(req.type, VIRTIO_BLK_T_FLUSH);
	CHECK_EQ(req.sector, 0);	/* unused for flush (5.2.6) */
	CHECK_EQ(req.data_len, 0);
	CHECK_EQ(req.nsegs, 0);
	CHECK_EQ(req.status_gpa, STATUS_GPA);
	CHECK_EQ(blk_request_written_len(&req, VIRTIO_BLK_S_OK), 1);
	/* A flush carrying data, in either direction. */
	simple(VIRTIO_BLK_T_FLUSH, 0, 512, false);
	CHECK_EQ(parse(), BLK_REQ_IOERR);
	simple(VIRTIO_BLK_T_FLUSH, 0, 512, true);
	CHECK_EQ(parse(), BLK_REQ_IOERR);
	CHECK(req.has_status);
}

static void test_get_id(void)
{
	simple(VIRTIO_BLK_T_GET_ID, 77, 20, true);
	CHECK_EQ(parse(), BLK_REQ_OK);
	CHECK_EQ(req.type, VIRTIO_BLK_T_GET_ID);
	CHECK_EQ(req.sector, 0);
	CHECK_EQ(req.data_len, 20);
	CHECK_EQ(req.nsegs, 1);
	CHECK_EQ(blk_request_written_len(&req, VIRTIO_BLK_S_OK), 21);
	CHECK_EQ(blk_request_written_len(&req, VIRTIO_BLK_S_UNSUPP), 1);
	/* More room: only the first 20 bytes, over several descriptors. */
	chain_start();
	put_header(HDR_GPA, VIRTIO_BLK_T_GET_ID, 0);
	add(HDR_GPA, 16, false);
	add(DATA_GPA, 8, true);
	add(DATA_GPA + 0x100, 100, true);
	add(STATUS_GPA, 1, true);
	CHECK_EQ(parse(), BLK_REQ_OK);
	CHECK_EQ(req.nsegs, 2);
	CHECK_EQ(req.seg[0].len, 8);
	CHECK_EQ(req.seg[1].gpa, DATA_GPA + 0x100);
	CHECK_EQ(req.seg[1].len, 12);
	CHECK_EQ(req.data_len, 20);
	/* Exactly 20 + the status in one descriptor. */
	chain_start();
	add(HDR_GPA, 16, false);
	add(DATA_GPA, 21, true);
	CHECK_EQ(parse(), BLK_REQ_OK);
	CHECK_EQ(req.data_len, 20);
	CHECK_EQ(req.status_gpa, DATA_GPA + 20);
	/* Too small; readable data. */
	simple(VIRTIO_BLK_T_GET_ID, 0, 19, true);
	CHECK_EQ(parse(), BLK_REQ_IOERR);
	CHECK_EQ(req.nsegs, 0);
	CHECK_EQ(blk_request_written_len(&req, VIRTIO_BLK_S_IOERR), 1);
	simple(VIRTIO_BLK_T_GET_ID, 0, 20, false);
	CHECK_EQ(parse(), BLK_REQ_IOERR);
}

static void test_unsupported(void)
{
	static const uint32_t types[] = { 2, 3, 5, 7, 9, 10, 11, 13, 14, 0x80000000U, 0xffffffffU };

	for (unsigned i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		simple(types[i], 0, 512, false);
		CHECK_EQ(parse(), BLK_REQ_UNSUPP);
		CHECK_EQ(req.type, types[i]);
		CHECK(req.has_status);
		CHECK_EQ(req.status_gpa, STATUS_GPA);
		CHECK_EQ(req.nsegs, 0);
		CHECK_EQ(blk_request_written_len(&req, VIRTIO_BLK_S_UNSUPP), 1);
	}
}

static void test_sizes_and_range(void)
{
	/* Not a multiple of 512, or empty. */
	simple(VIRTIO_BLK_T_IN, 0, 1000, true);
	CHECK_EQ(parse(), BLK_REQ_IOERR);
	simple(VIRTIO_BLK_T_OUT, 0, 511, false);
	CHECK_EQ(parse(), BLK_REQ_IOERR);
	simple(VIRTIO_BLK_T_IN, 0, 0, true);
	CHECK_EQ(parse(), BLK_REQ_IOERR);
	simple(VIRTIO_BLK_T_OUT, 0, 0, false);
	CHECK_EQ(parse(), BLK_REQ_IOERR);
	/* The whole disk; one sector past; starting at or past the end. */
	simple(VIRTIO_BLK_T_IN, 0, CAPACITY * 512, true);
	CHECK_EQ(parse(), BLK_REQ_OK);
	simple(VIRTIO_BLK_T_IN, 1, CAPACITY * 512, true);
	CHECK_EQ(parse(), BLK_REQ_IOERR);
	simple(VIRTIO_BLK_T_OUT, 998, 1024, false);
	CHECK_EQ(parse(), BLK_REQ_OK);
	simple(VIRTIO_BLK_T_OUT, 999, 1024, false);
	CHECK_EQ(parse(), BLK_REQ_IOERR);
	simple(VIRTIO_BLK_T_OUT, CAPACITY, 512, false);
	CHECK_EQ(parse(), BLK_REQ_IOERR);
	/* Sectors whose byte offset or end would overflow 64 bits. */
	simple(VIRTIO_BLK_T_IN, UINT64_MAX, 512, true);
	CHECK_EQ(parse(), BLK_REQ_IOERR);
	simple(VIRTIO_BLK_T_IN, 1ULL << 55, 512, true);
	CHECK_EQ(parse(), BLK_REQ_IOERR);
	simple(VIRTIO_BLK_T_IN, UINT64_MAX / 512, 512, true);
	CHECK_EQ(parse(), BLK_REQ_IOERR);
	/* A huge disk: the range check is exact at the top. */
	simple(VIRTIO_BLK_T_IN, UINT64_MAX - 1, 512, true);
	CHECK_EQ(blk_request_parse(&chain, &ops, UINT64_MAX, &req), BLK_REQ_OK);
	simple(VIRTIO_BLK_T_IN, UINT64_MAX - 1, 1024, true);
	CHECK_EQ(blk_request_parse(&chain, &ops, UINT64_MAX, &req), BLK_REQ_IOERR);
	simple(VIRTIO_BLK_T_IN, UINT64_MAX - 2, 1024, true);
	CHECK_EQ(blk_request_parse(&chain, &ops, UINT64_MAX, &req), BLK_REQ_OK);
	simple(VIRTIO_BLK_T_IN, UINT64_MAX, 512, true);
	CHECK_EQ(blk_request_parse(&chain, &ops, UINT64_MAX, &req), BLK_REQ_IOERR);
	/* A disk of 0 sectors. */
	simple(VIRTIO_BLK_T_IN, 0, 512, true);
	CHECK_EQ(blk_request_parse(&chain, &ops, 0, &req), BLK_REQ_IOERR);
	simple(VIRTIO_BLK_T_FLUSH, 0, 0, true);
	CHECK_EQ(blk_request_parse(&chain, &ops, 0, &req), BLK_REQ_OK);
}

static void test_wrong_direction(void)
{
	/* IN with readable data after the header. */
	chain_start();
	put_header(HDR_GPA, VIRTIO_BLK_T_IN, 0);
	add(HDR_GPA, 16 + 512, false);
	add(DATA_GPA, 512, true);
	add(STATUS_GPA, 1, true);
	CHECK_EQ(parse(), BLK_REQ_IOERR);
	CHECK_EQ(req.nsegs, 0);
	/* OUT with writable bytes before the status. */
	chain_start();
	put_header(HDR_GPA, VIRTIO_BLK_T_OUT, 0);
	add(HDR_GPA, 16, false);
	add(DATA_GPA, 512, false);
	add(STATUS_GPA, 2, true);
	CHECK_EQ(parse(), BLK_REQ_IOERR);
	CHECK_EQ(req.status_gpa, STATUS_GPA + 1);
	/* OUT whose data is writable. */
	simple(VIRTIO_BLK_T_OUT, 0, 512, true);
	CHECK_EQ(parse(), BLK_REQ_IOERR);
	/* IN whose data is readable. */
	simple(VIRTIO_BLK_T_IN, 0, 512, false);
	CHECK_EQ(parse(), BLK_REQ_IOERR);
}

static void test_malformed(void)
{
	/* No writable byte at all: nowhere to put a status. */
	chain_start();
	put_header(HDR_GPA, VIRTIO_BLK_T_OUT, 0);
	add(HDR_GPA, 16 + 512, false);
	CHECK_EQ(parse(), BLK_REQ_MALFORMED);
	CHECK(!req.has_status);
	CHECK_EQ(blk_request_written_len(&req, VIRTIO_BLK_S_OK), 0);
	CHECK(!blk_request_write_status(&req, &ops, VIRTIO_BLK_S_IOERR));
	/* An empty chain. */
	chain_start();
	CHECK_EQ(parse(), BLK_REQ_MALFORMED);
	CHECK(!req.has_status);
	/* A header shorter than 16 bytes: 15, or none (only writable). */
	chain_start();
	add(HDR_GPA, 15, false);
	add(STATUS_GPA, 1, true);
	CHECK_EQ(parse(), BLK_REQ_MALFORMED);
	CHECK(req.has_status);
	CHECK_EQ(req.status_gpa, STATUS_GPA);
	chain_start();
	add(HDR_GPA, 8, false);
	add(HDR_GPA + 8, 7, false);
	add(DATA_GPA, 513, true);
	CHECK_EQ(parse(), BLK_REQ_MALFORMED);
	chain_start();
	add(DATA_GPA, 4096, true);
	CHECK_EQ(parse(), BLK_REQ_MALFORMED);
	CHECK_EQ(req.nsegs, 0);
	/* A last buffer of length 0 (virtq_pop never returns one). */
	chain_start();
	add(HDR_GPA, 16, false);
	add(STATUS_GPA, 0, true);
	CHECK_EQ(parse(), BLK_REQ_MALFORMED);
	/* The header not in RAM: there is a status to answer with. */
	chain_start();
	add(RAM_END - 8, 16, false);
	add(STATUS_GPA, 1, true);
	unsigned before = refused;
	CHECK_EQ(parse(), BLK_REQ_IOERR);
	CHECK_EQ(refused, before + 1);
	CHECK(req.has_status);
	chain_start();
	add(HDR_GPA, 8, false);
	add(0x1000, 8, false);
	add(STATUS_GPA, 1, true);
	CHECK_EQ(parse(), BLK_REQ_IOERR);
}

static void test_write_status(void)
{
	simple(VIRTIO_BLK_T_IN, 0, 512, true);
	at(STATUS_GPA)[0] = 0xff;
	at(STATUS_GPA)[1] = 0x77;
	CHECK_EQ(parse(), BLK_REQ_OK);
	CHECK(blk_request_write_status(&req, &ops, VIRTIO_BLK_S_OK));
	CHECK_EQ(at(STATUS_GPA)[0], VIRTIO_BLK_S_OK);
	CHECK_EQ(at(STATUS_GPA)[1], 0x77);
	CHECK(blk_request_write_status(&req, &ops, VIRTIO_BLK_S_UNSUPP));
	CHECK_EQ(at(STATUS_GPA)[0], VIRTIO_BLK_S_UNSUPP);
	/* A status byte outside RAM. */
	chain_start();
	put_header(HDR_GPA, VIRTIO_BLK_T_FLUSH, 0);
	add(HDR_GPA, 16, false);
	add(RAM_END, 1, true);
	CHECK_EQ(parse(), BLK_REQ_OK);
	CHECK_EQ(req.status_gpa, RAM_END);
	CHECK(!blk_request_write_status(&req, &ops, VIRTIO_BLK_S_OK));
}

/* Through a real queue: pop, parse, write the data and status, push. */
static void test_end_to_end(void)
{
	const uint64_t desc = RAM_BASE, avail = RAM_BASE + 0x800, used = RAM_BASE + 0xc00;
	struct virtq q = {
		.size = 4, .ready = true, .desc_gpa = desc, .avail_gpa = avail, .used_gpa = used,
	};
	static const struct { uint64_t addr; uint32_t len; uint16_t flags, next; } d[3] = {
		{ HDR_GPA, 16, VIRTQ_DESC_F_NEXT, 2 },
		{ STATUS_GPA, 1, VIRTQ_DESC_F_WRITE, 0 },
		{ DATA_GPA, 1024, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1 },
	};

	memset(mem, 0, 0x10000);
	for (unsigned i = 0; i < 3; i++) {
		uint8_t *p = at(desc + 16 * i);
		virtq_put_le32(p, (uint32_t)d[i].addr);
		virtq_put_le32(p + 4, (uint32_t)(d[i].addr >> 32));
		virtq_put_le32(p + 8, d[i].len);
		virtq_put_le16(p + 12, d[i].flags);
		virtq_put_le16(p + 14, d[i].next);
	}
	put_header(HDR_GPA, VIRTIO_BLK_T_IN, 2);
	virtq_put_le16(at(avail + 4), 0);
	virtq_put_le16(at(avail + 2), 1);
	at(STATUS_GPA)[0] = 0xff;

	CHECK_EQ(virtq_pop(&q, &ops, &chain), 1);
	CHECK_EQ(blk_request_parse(&chain, &ops, CAPACITY, &req), BLK_REQ_OK);
	CHECK_EQ(req.sector, 2);
	CHECK_EQ(req.nsegs, 1);
	CHECK_EQ(req.seg[0].gpa, DATA_GPA);
	CHECK_EQ(req.seg[0].len, 1024);
	CHECK_EQ(req.status_gpa, STATUS_GPA);
	memset(at(DATA_GPA), 0x5a, 1024);	/* the device model's read */
	CHECK(blk_request_write_status(&req, &ops, VIRTIO_BLK_S_OK));
	CHECK_EQ(virtq_push(&q, &ops, chain.head,
			    blk_request_written_len(&req, VIRTIO_BLK_S_OK)), VIRTQ_OK);
	CHECK_EQ(at(STATUS_GPA)[0], 0);
	CHECK_EQ(virtq_le16(at(used + 2)), 1);
	CHECK_EQ(virtq_le32(at(used + 4)), 0);
	CHECK_EQ(virtq_le32(at(used + 8)), 1025);
	CHECK_EQ(virtq_pop(&q, &ops, &chain), 0);
}

int main(void)
{
	mem = calloc(1, RAM_SIZE);
	if (!mem)
		abort();
	RUN(test_in);
	RUN(test_out);
	RUN(test_flush);
	RUN(test_get_id);
	RUN(test_unsupported);
	RUN(test_sizes_and_range);
	RUN(test_wrong_direction);
	RUN(test_malformed);
	RUN(test_write_status);
	RUN(test_end_to_end);
	free(mem);
	return unit_report("test_blk_request");
}
