/*
 * hyp/host/host_vq.c: the driver side of a split virtqueue, over a page
 * of ordinary memory. The tests play the device: they read the
 * descriptors and the available ring as QEMU would, and write used
 * entries and used->idx by hand.
 */
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "host/host_vq.h"

static uint8_t page[2 * PAGE_SIZE] __attribute__((aligned(4096)));	/* room to misalign */
static struct host_vq q;

/* ---- the device's side, by hand ---- */

static uint16_t device_avail_seen;	/* avail entries the device has read */

/* The next published head, or -1 if the driver published nothing new. */
static int device_next_avail(void)
{
	if (q.avail->idx == device_avail_seen)
		return -1;
	return q.avail->ring[device_avail_seen++ % q.size];
}

static void device_use(uint16_t head, uint32_t written)
{
	q.used->ring[q.used->idx % q.size] = (struct host_vq_used_elem){ head, written };
	q.used->idx++;
}

/* Walks a chain the way a device does; returns its length (0: loops or
 * leaves the table). */
static unsigned chain_length(uint16_t head)
{
	unsigned n = 1;

	for (uint16_t i = head; q.desc[i].flags & VIRTQ_DESC_F_NEXT; n++) {
		i = q.desc[i].next;
		if (i >= q.size || n > q.size)
			return 0;
	}
	return n;
}

static void reset(uint16_t size)
{
	memset(page, 0xa5, sizeof(page));	/* init must clear it */
	device_avail_seen = 0;
	if (!host_vq_init(&q, page, size))
		abort();
}

static struct host_vq_buf buf(uint64_t pa, uint32_t len, bool device_writes)
{
	return (struct host_vq_buf){ pa, len, device_writes };
}

/* ---- tests ---- */

static void test_init_layout(void)
{
	struct host_vq v;

	CHECK(!host_vq_init(&v, page, 0));
	CHECK(!host_vq_init(&v, page, 3));
	CHECK(!host_vq_init(&v, page, 12));
	CHECK(!host_vq_init(&v, page, 256));		/* its rings need more than a page */
	CHECK(!host_vq_init(&v, page + 8, 8));		/* descriptors are 16-aligned (2.7) */
	CHECK(host_vq_init(&v, page + 16, 8));
	CHECK(host_vq_init(&v, page, HOST_VQ_MAX_SIZE));
	/* 128 entries: 2048 bytes of descriptors, the available ring (4 +
	 * 256 + 2 bytes) at 2048, the used ring 4-aligned after it. */
	CHECK_EQ((uint8_t *)v.desc - page, 0);
	CHECK_EQ((uint8_t *)v.avail - page, 2048);
	CHECK_EQ((uint8_t *)v.used - page, 2312);
	CHECK_EQ(HOST_VQ_BYTES(HOST_VQ_MAX_SIZE), 3344);	/* 2312 + 6 + 1024, to 16 */
	CHECK((uint8_t *)&v.used->ring[HOST_VQ_MAX_SIZE] + 2 <= page + HOST_VQ_BYTES(HOST_VQ_MAX_SIZE));
	CHECK(HOST_VQ_BYTES(HOST_VQ_MAX_SIZE) <= PAGE_SIZE);

	reset(8);
	CHECK_EQ((uint8_t *)q.avail - page, 128);
	CHECK_EQ((uint8_t *)q.used - page, 152);	/* 128 + 6 + 16 = 150, aligned to 4 */
	CHECK_EQ(q.size, 8);
	CHECK_EQ(q.nfree, 8);
	CHECK_EQ(q.avail->idx, 0);
	CHECK_EQ(q.avail->flags, 0);
	CHECK_EQ(q.used->idx, 0);
	CHECK_EQ(q.desc[5].addr, 0);			/* the 0xa5 filler is gone */
	CHECK_EQ(HOST_VQ_BYTES(8), 224);		/* 152 + 6 + 64 = 222, to 16 */
	CHECK_EQ(page[HOST_VQ_BYTES(8) - 1], 0);	/* all of its bytes cleared, */
	CHECK_EQ(page[HOST_VQ_BYTES(8)], 0xa5);		/* not one more */
}

/* One blk-like request: header (read), data (written), status (written). */
static void test_add_publish_take(void)
{
	struct host_vq_buf chain[3] = { buf(0x1000, 16, false), buf(0x2000, 4096, true),
					buf(0x3000, 1, true) };
	uint16_t head = 0xffff;
	uint32_t written = 0;

	reset(8);
	CHECK(!host_vq_take_used(&q, &head, &written));
	CHECK_EQ(host_vq_add(&q, chain, 3), 0);
	CHECK_EQ(q.nfree, 5);
	/* The descriptors, linked in order, the last without NEXT. */
	CHECK_EQ(q.desc[0].addr, 0x1000);
	CHECK_EQ(q.desc[0].len, 16);
	CHECK_EQ(q.desc[0].flags, VIRTQ_DESC_F_NEXT);
	CHECK_EQ(q.desc[0].next, 1);
	CHECK_EQ(q.desc[1].addr, 0x2000);
	CHECK_EQ(q.desc[1].len, 4096);
	CHECK_EQ(q.desc[1].flags, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE);
	CHECK_EQ(q.desc[1].next, 2);
	CHECK_EQ(q.desc[2].addr, 0x3000);
	CHECK_EQ(q.desc[2].len, 1);
	CHECK_EQ(q.desc[2].flags, VIRTQ_DESC_F_WRITE);
	/* In the ring, but not visible before the index is published. */
	CHECK_EQ(q.avail->ring[0], 0);
	CHECK_EQ(q.avail->idx, 0);
	CHECK_EQ(device_next_avail(), -1);
	host_vq_publish(&q);
	CHECK_EQ(q.avail->idx, 1);
	CHECK_EQ(device_next_avail(), 0);
	CHECK_EQ(chain_length(0), 3);

	/* Nothing used yet; then the device's entry, taken exactly once. */
	CHECK(!host_vq_take_used(&q, &head, &written));
	device_use(0, 4097);
	CHECK(host_vq_take_used(&q, &head, &written));
	CHECK_EQ(head, 0);
	CHECK_EQ(written, 4097);
	CHECK_EQ(q.nfree, 8);
	CHECK(!host_vq_take_used(&q, &head, &written));

	/* The next request reuses the freed descriptors. */
	CHECK_EQ(host_vq_add(&q, chain, 2), 0);
	CHECK_EQ(q.desc[1].flags, VIRTQ_DESC_F_WRITE);	/* now the chain's end */
	host_vq_publish(&q);
	CHECK_EQ(q.avail->ring[1], 0);
	CHECK_EQ(q.avail->idx, 2);
}

/* Several chains published at once, used in another order. */
static void test_batch_out_of_order(void)
{
	struct host_vq_buf two[2] = { buf(0xa000, 8, false), buf(0xb000, 8, true) };
	struct host_vq_buf one[1] = { buf(0xc000, 64, true) };
	int a, b, c;
	uint16_t head;
	uint32_t written;

	reset(8);
	a = host_vq_add(&q, two, 2);
	b = host_vq_add(&q, one, 1);
	c = host_vq_add(&q, two, 2);
	CHECK(a >= 0 && b >= 0 && c >= 0);
	CHECK(a != b && b != c && a != c);
	CHECK_EQ(q.avail->idx, 0);
	host_vq_publish(&q);
	CHECK_EQ(q.avail->idx, 3);
	CHECK_EQ(device_next_avail(), a);
	CHECK_EQ(device_next_avail(), b);
	CHECK_EQ(device_next_avail(), c);
	CHECK_EQ(chain_length((uint16_t)a), 2);
	CHECK_EQ(chain_length((uint16_t)b), 1);
	CHECK_EQ(chain_length((uint16_t)c), 2);
	CHECK_EQ(q.desc[b].addr, 0xc000);

	device_use((uint16_t)c, 1);
	device_use((uint16_t)a, 2);
	CHECK(host_vq_take_used(&q, &head, &written));
	CHECK_EQ(head, c);
	CHECK_EQ(written, 1);
	CHECK_EQ(q.nfree, 8 - 3);
	CHECK(host_vq_take_used(&q, &head, &written));
	CHECK_EQ(head, a);
	CHECK_EQ(written, 2);
	CHECK_EQ(q.nfree, 8 - 1);
	CHECK(!host_vq_take_used(&q, &head, &written));
	/* b is still in flight: new chains never touch its descriptor. */
	struct host_vq_buf seven[7];
	for (unsigned i = 0; i < 7; i++)
		seven[i] = buf(0x100000 + i, 1, false);
	int d = host_vq_add(&q, seven, 7);
	CHECK(d >= 0 && d != b);
	CHECK_EQ(q.desc[b].addr, 0xc000);
	CHECK_EQ(q.desc[b].flags, VIRTQ_DESC_F_WRITE);
	CHECK_EQ(q.nfree, 0);
	for (uint16_t i = (uint16_t)d, k = 0; k < 7; k++, i = q.desc[i].next)
		CHECK(i != b && q.desc[i].addr == 0x100000u + k);
}

static void test_full_ring_refused(void)
{
	struct host_vq_buf bufs[5] = { buf(1, 1, false), buf(2, 1, false), buf(3, 1, true),
				       buf(4, 1, true), buf(5, 1, true) };
	uint16_t head;
	uint32_t written;

	reset(4);
	CHECK_EQ(host_vq_add(&q, bufs, 0), -1);		/* an empty chain */
	CHECK_EQ(host_vq_add(&q, bufs, 5), -1);		/* longer than the ring */
	CHECK_EQ(q.nfree, 4);
	int first = host_vq_add(&q, bufs, 3);
	CHECK(first >= 0);
	CHECK_EQ(host_vq_add(&q, bufs, 2), -1);		/* one descriptor left */
	CHECK_EQ(q.nfree, 1);
	CHECK_EQ(q.avail_idx, 1);			/* a refused chain takes no slot */
	int last = host_vq_add(&q, bufs, 1);
	CHECK(last >= 0 && last != first);
	CHECK_EQ(host_vq_add(&q, bufs, 1), -1);		/* full */
	host_vq_publish(&q);
	CHECK_EQ(q.avail->idx, 2);
	device_use((uint16_t)first, 0);
	CHECK(host_vq_take_used(&q, &head, &written));
	CHECK_EQ(head, first);
	CHECK_EQ(q.nfree, 3);
	CHECK(host_vq_add(&q, bufs + 2, 3) >= 0);	/* room again */
	CHECK_EQ(host_vq_add(&q, bufs, 1), -1);
}

/* Used entries that name no chain in flight are skipped and counted. */
static void test_bad_used_entries(void)
{
	struct host_vq_buf one = buf(0x5000, 4, true);
	uint16_t head;
	uint32_t written;

	reset(8);
	int h = host_vq_add(&q, &one, 1);
	host_vq_publish(&q);
	device_use(8, 1);		/* outside the table */
	device_use(5, 1);		/* a free descriptor */
	device_use((uint16_t)h, 4);
	device_use((uint16_t)h, 4);	/* the same chain twice */
	CHECK(host_vq_take_used(&q, &head, &written));
	CHECK_EQ(head, h);
	CHECK_EQ(written, 4);
	CHECK_EQ(q.bad_used, 2);
	CHECK_EQ(q.nfree, 8);
	CHECK(!host_vq_take_used(&q, &head, &written));
	CHECK_EQ(q.bad_used, 3);
	CHECK_EQ(q.used_seen, 4);
}

/*
 * A random device across the wrap of both free-running 16-bit indices:
 * chains of 1..4 buffers, published in batches, completed in random
 * order. Every published head is one the driver added, every chain reads
 * back as written, descriptors are never shared by two chains in flight,
 * and free + in flight always adds up to the ring.
 */
static void test_random_across_wrap(void)
{
	uint64_t seed = unit_seed(), rnd = seed;
	unsigned in_flight[HOST_VQ_MAX_SIZE], nflight = 0;	/* heads the device holds */
	unsigned pending = 0;		/* added, not published yet */
	unsigned long added = 0, taken = 0, bad = 0;

	reset(16);
	/* Bounded: a driver that stops giving descriptors back must fail,
	 * not hang. About 4 steps per completion. */
	for (unsigned long step = 0; step < 1000000 && taken < 70000 + 1000; step++) {
		unsigned action = (unsigned)(unit_rand(&rnd) % 4);
		if (action <= 1) {
			unsigned n = 1 + (unsigned)(unit_rand(&rnd) % 4);
			struct host_vq_buf bufs[4];
			for (unsigned k = 0; k < n; k++)
				bufs[k] = buf(added << 8 | k, (uint32_t)(k + 1), k == n - 1);
			uint16_t nfree = q.nfree;
			int h = host_vq_add(&q, bufs, n);
			if ((h < 0) != (n > nfree))
				bad++;
			if (h >= 0) {
				added++;
				pending++;
			}
		} else if (action == 2) {
			host_vq_publish(&q);
			pending = 0;
			int h;
			while ((h = device_next_avail()) >= 0) {
				unsigned n = chain_length((uint16_t)h);
				uint16_t i = (uint16_t)h;
				if (n == 0)
					bad++;
				for (unsigned k = 0; k < n; k++, i = q.desc[i].next)
					if (q.desc[i].len != k + 1 ||
					    (q.desc[i].addr & 0xff) != k ||
					    (q.desc[i].addr >> 8) != (q.desc[h].addr >> 8) ||
					    !!(q.desc[i].flags & VIRTQ_DESC_F_WRITE) != (k == n - 1))
						bad++;
				for (unsigned f = 0; f < nflight; f++)
					for (uint16_t j = (uint16_t)in_flight[f], m = 0;
					     m < chain_length(in_flight[f]); m++, j = q.desc[j].next)
						for (unsigned k = 0, x = (unsigned)h; k < n;
						     k++, x = q.desc[x].next)
							if (x == j)
								bad++;
				in_flight[nflight++] = (unsigned)h;
			}
		} else if (nflight) {
			unsigned pick = (unsigned)(unit_rand(&rnd) % nflight);
			uint16_t h = (uint16_t)in_flight[pick], head;
			uint32_t written;
			in_flight[pick] = in_flight[--nflight];
			device_use(h, h * 3u);
			if (!host_vq_take_used(&q, &head, &written) || head != h || written != h * 3u)
				bad++;
			taken++;
		}
		unsigned held = 0;
		for (unsigned f = 0; f < nflight; f++)
			held += chain_length((uint16_t)in_flight[f]);
		for (uint16_t i = 0; i < q.size; i++)
			if (q.chain_len[i] && chain_length(i) != q.chain_len[i])
				bad++;
		if (pending == 0 && q.nfree + held != q.size)
			bad++;
	}
	/* Both indices went round 2^16 at least once. */
	CHECK(taken > 65536);
	CHECK_EQ(q.used->idx, (uint16_t)taken);
	CHECK_EQ(q.used_seen, (uint16_t)taken);
	CHECK_EQ(q.avail->idx, (uint16_t)(added - pending));
	CHECK_EQ(q.bad_used, 0);
	if (!CHECK_EQ(bad, 0))
		printf("    seed 0x%llx\n", (unsigned long long)seed);
}

int main(void)
{
	RUN(test_init_layout);
	RUN(test_add_publish_take);
	RUN(test_batch_out_of_order);
	RUN(test_full_ring_refused);
	RUN(test_bad_used_entries);
	RUN(test_random_across_wrap);
	return unit_report("test_host_vq");
}
