/*
 * hyp/vnet/rx_plan.c: where a frame lands in a receive chain (the split)
 * and which whole pages are remapped instead of copied. The shapes are
 * the ones Linux 6.1 builds (docs/virtual-network.md): big receive
 * buffers, sendfile and nfsd transmit chains; then random chains checked
 * against a byte-by-byte model of the layout.
 */
#include <stdlib.h>
#include "unit.h"
#include "vnet/rx_plan.h"

#define PG 4096u
#define HDR 12u

static void add(struct virtq_chain *c, uint64_t gpa, uint32_t len, bool writable)
{
	c->buf[c->nbufs++] = (struct virtq_buf){ gpa, len, writable };
	if (writable)
		c->writable_bytes += len;
	else
		c->readable_bytes += len;
}

/* add_recvbuf_big: the header at page0, 4064 bytes at page0+32, then 17
 * whole pages (not contiguous: every other page). */
static void big_rx(struct virtq_chain *c, uint64_t page0)
{
	*c = (struct virtq_chain){ 0 };
	add(c, page0, HDR, true);
	add(c, page0 + 32, PG - 32, true);
	for (unsigned i = 0; i < 17; i++)
		add(c, 0x90000000 + 2 * i * PG, PG, true);
}

/* A TCP sendfile packet: header and 66 bytes of L2-L4 headers in one
 * buffer, then `lead` bytes ending a page, then n whole pages. */
static uint32_t sendfile_tx(struct virtq_chain *c, uint32_t lead, unsigned n)
{
	uint32_t len = 66;

	*c = (struct virtq_chain){ 0 };
	add(c, 0x80000100, HDR + 66, false);
	if (lead) {
		add(c, 0x80100000 + PG - lead, lead, false);
		len += lead;
	}
	for (unsigned i = 0; i < n; i++)
		add(c, 0x80200000 + 3 * i * PG, PG, false);
	return len + n * PG;
}

static void test_sendfile_split(void)
{
	struct virtq_chain tx, rx;
	struct rx_plan p;
	uint32_t len = sendfile_tx(&tx, 0, 15);

	big_rx(&rx, 0x88000000);
	rx_plan_make(&tx, &rx, HDR, len, true, true, &p);
	CHECK_EQ(p.split, 66);
	CHECK_EQ(p.dst_skip, PG - 32 - 66);
	CHECK_EQ(p.nremaps, 15);
	for (unsigned i = 0; i < p.nremaps; i++) {
		CHECK_EQ(p.remap[i].frame_off, 66 + i * PG);
		CHECK_EQ(p.remap[i].src_gpa, 0x80200000 + 3 * i * PG);
		CHECK_EQ(p.remap[i].dst_gpa, 0x90000000 + 2 * i * PG);
	}
	/* Without the feature the payload is 98 bytes into every page. */
	rx_plan_make(&tx, &rx, HDR, len, false, true, &p);
	CHECK_EQ(p.split, 0);
	CHECK_EQ(p.dst_skip, 0);
	CHECK_EQ(p.nremaps, 0);
	/* NET_REMAP=0: nothing. */
	rx_plan_make(&tx, &rx, HDR, len, true, false, &p);
	CHECK_EQ(p.split, 0);
	CHECK_EQ(p.nremaps, 0);
}

static void test_partial_first_page(void)
{
	struct virtq_chain tx, rx;
	struct rx_plan p;
	uint32_t len = sendfile_tx(&tx, 1000, 10);

	big_rx(&rx, 0x88000000);
	rx_plan_make(&tx, &rx, HDR, len, true, true, &p);
	CHECK_EQ(p.split, 66 + 1000);
	CHECK_EQ(p.nremaps, 10);
	CHECK_EQ(p.remap[0].frame_off, 1066);
	CHECK_EQ(p.remap[0].dst_gpa, 0x90000000);
	/* A lead so long the first whole page starts past 4096: the split is
	 * its offset modulo 4096, the page before it is copied whole. */
	len = sendfile_tx(&tx, 4090, 10);
	rx_plan_make(&tx, &rx, HDR, len, true, true, &p);
	CHECK_EQ(p.split, (66 + 4090) % PG);
	CHECK_EQ(p.nremaps, 10);
	CHECK_EQ(p.remap[0].dst_gpa, 0x90000000 + 2 * PG);
	/* Modulo 4096 it would be 14 bytes: too few for the driver's Ethernet
	 * header (the patch's check), so no split and no remap. */
	len = sendfile_tx(&tx, PG + 14 - 66, 4);
	rx_plan_make(&tx, &rx, HDR, len, true, true, &p);
	CHECK_EQ(p.split, 0);
	CHECK_EQ(p.nremaps, 0);
}

/* tcp_sendmsg's frags: one descriptor of three pages of a compound
 * page, not starting a page: the whole pages inside it are found. */
static void test_pages_inside_a_buffer(void)
{
	struct virtq_chain tx, rx;
	struct rx_plan p;

	tx = (struct virtq_chain){ 0 };
	add(&tx, 0x80000100, HDR + 66, false);
	add(&tx, 0x80200100, 3 * PG, false);
	big_rx(&rx, 0x88000000);
	rx_plan_make(&tx, &rx, HDR, 66 + 3 * PG, true, true, &p);
	CHECK_EQ(p.split, 66 + PG - 0x100);
	CHECK_EQ(p.nremaps, 2);
	CHECK_EQ(p.remap[0].src_gpa, 0x80201000);
	CHECK_EQ(p.remap[1].src_gpa, 0x80202000);
	CHECK_EQ(p.remap[1].dst_gpa, 0x90000000 + 2 * PG);
}

/* A receive buffer of several pages that does not start a page: the
 * whole pages inside it take whole source pages (no split needed). */
static void test_pages_inside_a_receive_buffer(void)
{
	struct virtq_chain tx, rx;
	struct rx_plan p;

	tx = (struct virtq_chain){ 0 };
	add(&tx, 0x80000100, HDR + 66, false);
	add(&tx, 0x80201000 - 0x800 + 66, 3 * PG, false);
	rx = (struct virtq_chain){ 0 };
	add(&rx, 0x88000000, HDR, true);
	add(&rx, 0x89000800, 4 * PG, true);
	rx_plan_make(&tx, &rx, HDR, 66 + 3 * PG, false, true, &p);
	CHECK_EQ(p.nremaps, 2);
	CHECK_EQ(p.remap[0].frame_off, 0x800);
	CHECK_EQ(p.remap[0].dst_gpa, 0x89001000);
	CHECK_EQ(p.remap[1].src_gpa, 0x80202000);
}

/* nfsd's READ reply: headers, marker 4, RPC+NFS 128, then the pages. */
static void test_nfs_reply(void)
{
	struct virtq_chain tx, rx;
	struct rx_plan p;

	tx = (struct virtq_chain){ 0 };
	add(&tx, 0x80000100, HDR + 66, false);
	add(&tx, 0x80000800, 4, false);
	add(&tx, 0x80001000, 128, false);
	for (unsigned i = 0; i < 8; i++)
		add(&tx, 0x80400000 + i * PG, PG, false);
	big_rx(&rx, 0x88000000);
	rx_plan_make(&tx, &rx, HDR, 66 + 4 + 128 + 8 * PG, true, true, &p);
	CHECK_EQ(p.split, 66 + 132);	/* the split covers the RPC header */
	CHECK_EQ(p.nremaps, 8);
}

/* With the usual layout a page lines up by itself when the bytes before
 * it fill the first data buffer exactly: remapped without the feature. */
static void test_aligned_by_chance(void)
{
	struct virtq_chain tx, rx;
	struct rx_plan p;
	uint32_t len = sendfile_tx(&tx, PG - 32 - 66, 3);

	big_rx(&rx, 0x88000000);
	rx_plan_make(&tx, &rx, HDR, len, false, true, &p);
	CHECK_EQ(p.split, 0);
	CHECK_EQ(p.nremaps, 3);
	CHECK_EQ(p.remap[0].frame_off, PG - 32);
}

static void test_no_chance(void)
{
	struct virtq_chain tx, rx;
	struct rx_plan p;
	uint32_t len;

	/* Small receive buffers (no GUEST_TSO4): one 1526-byte buffer. */
	sendfile_tx(&tx, 0, 0);
	add(&tx, 0x80200000, 1448, false);
	rx = (struct virtq_chain){ 0 };
	add(&rx, 0x88000000, HDR + 1514, true);
	rx_plan_make(&tx, &rx, HDR, 66 + 1448, true, true, &p);
	CHECK_EQ(p.nremaps, 0);
	CHECK_EQ(p.split, 0);
	/* A whole page of the frame in two descriptors (contiguous even) is
	 * not one page of the sender's: copied. */
	tx = (struct virtq_chain){ 0 };
	add(&tx, 0x80000100, HDR + 66, false);
	add(&tx, 0x80200000, 2048, false);
	add(&tx, 0x80200800, 2048, false);
	add(&tx, 0x80300000, 100, false);
	big_rx(&rx, 0x88000000);
	rx_plan_make(&tx, &rx, HDR, 66 + PG + 100, true, true, &p);
	CHECK_EQ(p.nremaps, 0);
	CHECK_EQ(p.split, 0);
	/* A frame that ends inside its only whole page: no page is whole at
	 * the end, nothing is split. */
	len = sendfile_tx(&tx, 0, 1) - 1;
	rx_plan_make(&tx, &rx, HDR, len, true, true, &p);
	CHECK_EQ(p.nremaps, 0);
	CHECK_EQ(p.split, 0);
	/* A receive chain whose first data buffer does not end a page. */
	len = sendfile_tx(&tx, 0, 4);
	big_rx(&rx, 0x88000000);
	rx.buf[1].len -= 8;
	rx_plan_make(&tx, &rx, HDR, len, true, true, &p);
	CHECK_EQ(p.split, 0);
	CHECK_EQ(p.nremaps, 0);
	/* ... or one too short for the rest after the split. */
	big_rx(&rx, 0x88000000);
	rx.nbufs = 4;	/* header, first buffer, 2 pages: 4 do not fit */
	rx_plan_make(&tx, &rx, HDR, len, true, true, &p);
	CHECK_EQ(p.split, 0);
}

/* The header itself across buffers (ANY_LAYOUT): skipped correctly. */
static void test_header_spans_buffers(void)
{
	struct virtq_chain tx, rx;
	struct rx_plan p;

	tx = (struct virtq_chain){ 0 };
	add(&tx, 0x80000100, 5, false);
	add(&tx, 0x80000200, 7 + 66, false);
	for (unsigned i = 0; i < 2; i++)
		add(&tx, 0x80200000 + i * PG, PG, false);
	big_rx(&rx, 0x88000000);
	rx_plan_make(&tx, &rx, HDR, 66 + 2 * PG, true, true, &p);
	CHECK_EQ(p.split, 66);
	CHECK_EQ(p.nremaps, 2);
}

/* Byte-by-byte model: the gpa that frame byte `at` has in a chain. */
static uint64_t model_gpa(const struct virtq_chain *c, bool writable, uint64_t at)
{
	for (unsigned i = 0; i < c->nbufs; i++) {
		if (c->buf[i].device_writable != writable)
			continue;
		if (at < c->buf[i].len)
			return c->buf[i].gpa + at;
		at -= c->buf[i].len;
	}
	return UINT64_MAX;
}

static uint64_t rnd(uint64_t n)
{
	return (uint64_t)rand() % n;
}

/* Random chains; every planned remap must be what the byte model says:
 * the frame's 4096 bytes from frame_off are one aligned page on each side. */
static void test_random_against_model(void)
{
	srand(7);
	unsigned planned = 0, split = 0;

	for (unsigned round = 0; round < 20000; round++) {
		struct virtq_chain tx = { 0 }, rx = { 0 };
		struct rx_plan p;
		uint32_t len = 0;
		unsigned n = 1 + (unsigned)rnd(20);

		add(&tx, 0x80000000 + rnd(PG), HDR + (uint32_t)rnd(200), false);
		for (unsigned i = 0; i < n; i++) {
			uint32_t l = rnd(3) ? PG : 1 + (uint32_t)rnd(2 * PG);
			uint64_t g = 0x81000000 + i * 4 * PG + (rnd(3) ? 0 : rnd(PG));
			add(&tx, g, l, false);
		}
		len = (uint32_t)(tx.readable_bytes - HDR) - (uint32_t)rnd(100);
		if (rnd(2)) {
			big_rx(&rx, 0x88000000);
		} else {
			add(&rx, 0x88000000 + rnd(64), HDR + (uint32_t)rnd(PG), true);
			for (unsigned i = 0; i < 30; i++)
				add(&rx, 0x89000000 + i * 2 * PG + (rnd(4) ? 0 : rnd(PG)),
				    rnd(4) ? PG : 1 + (uint32_t)rnd(PG), true);
		}
		if (rx.writable_bytes < HDR + (uint64_t)len + PG)
			continue;
		rx_plan_make(&tx, &rx, HDR, len, rnd(4) != 0, true, &p);
		split += p.split != 0;
		uint64_t last_end = 0;
		if (p.split)
			CHECK((model_gpa(&rx, true, HDR + p.dst_skip + p.split) % PG) == 0);
		for (unsigned i = 0; i < p.nremaps; i++) {
			const struct rx_remap *r = &p.remap[i];
			uint64_t d = HDR + p.dst_skip + r->frame_off;
			CHECK(r->frame_off >= last_end);
			CHECK((uint64_t)r->frame_off + PG <= len);
			CHECK_EQ(r->src_gpa, model_gpa(&tx, false, HDR + r->frame_off));
			CHECK_EQ(r->src_gpa + PG - 1, model_gpa(&tx, false, HDR + r->frame_off + PG - 1));
			CHECK_EQ(r->dst_gpa, model_gpa(&rx, true, d));
			CHECK_EQ(r->dst_gpa + PG - 1, model_gpa(&rx, true, d + PG - 1));
			CHECK(r->src_gpa % PG == 0 && r->dst_gpa % PG == 0);
			last_end = r->frame_off + PG;
			planned++;
		}
	}
	/* The test exercised what it checks. */
	CHECK(planned > 10000);
	CHECK(split > 1000);
}

int main(void)
{
	RUN(test_sendfile_split);
	RUN(test_partial_first_page);
	RUN(test_pages_inside_a_buffer);
	RUN(test_pages_inside_a_receive_buffer);
	RUN(test_nfs_reply);
	RUN(test_aligned_by_chance);
	RUN(test_no_chance);
	RUN(test_header_spans_buffers);
	RUN(test_random_against_model);
	return unit_report("test_rx_plan");
}
