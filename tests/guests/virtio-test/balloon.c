/*
 * The balloon scenario (GUEST_APPEND=virtio-test=balloon, BALLOON=1
 * DISK=0): the guest drives its virtio-balloon (virtio 1.2 section 5.5)
 * as a careless or hostile driver would, and checks what a driver may
 * rely on:
 *
 *  - a page it writes, inflates, and touches again reads as zeroes (the
 *    host page went back; the touch is counted as balloon_touched);
 *  - inflate entries outside RAM, repeated, or naming the device's own
 *    ring pages are ignored (counted), the buffer still comes back used;
 *  - a deflate of pages never inflated is ignored (counted);
 *  - a PFN buffer whose length is not a whole number of words, and a
 *    looping chain, set DEVICE_NEEDS_RESET; after a reset the device
 *    works again (these come first: a reset empties the balloon);
 *  - the configuration space: num_pages reads as the target (0), actual
 *    is writable.
 * The boot test reads the counters in hvstat.
 */
#include "console.h"
#include "mmio.h"
#include "virtio_test.h"

#define BALLOON_BASE	0x10003000UL
#define TICKS_PER_SEC	10000000UL

#define REG_DEVICE_ID		0x008
#define REG_DRIVER_FEATURES	0x020
#define REG_DRIVER_FEATURES_SEL	0x024
#define REG_QUEUE_SEL		0x030
#define REG_QUEUE_NUM		0x038
#define REG_QUEUE_READY		0x044
#define REG_QUEUE_NOTIFY	0x050
#define REG_STATUS		0x070
#define REG_QUEUE_DESC_LOW	0x080
#define REG_QUEUE_DRIVER_LOW	0x090
#define REG_QUEUE_DEVICE_LOW	0x0a0
#define REG_CONFIG		0x100
#define S_ACK_DRIVER		3
#define S_FEATURES_OK		8
#define S_DRIVER_OK		4
#define S_NEEDS_RESET		64
#define F_MUST_TELL_HOST	(1U << 0)
#define DESC_F_NEXT		1
#define INFLATEQ		0
#define DEFLATEQ		1
#define QSZ			16

struct vdesc {
	unsigned long addr;
	u32 len;
	u16 flags, next;
};

struct queue {
	struct vdesc desc[QSZ] __attribute__((aligned(4096)));
	u16 avail[2 + QSZ] __attribute__((aligned(4096)));
	struct { u16 flags, idx; struct { u32 id, len; } ring[QSZ]; } used
		__attribute__((aligned(4096)));
	u16 avail_idx, used_idx;
};

static struct queue q[2];
static u32 pfns[64] __attribute__((aligned(64)));
static u8 victim[4][4096] __attribute__((aligned(4096)));

static u32 rd(ulong off)
{
	return mmio_read32(BALLOON_BASE + off);
}

static void wr(ulong off, u32 v)
{
	mmio_write32(BALLOON_BASE + off, v);
}

static void wr64(ulong off, ulong v)
{
	wr(off, (u32)v);
	wr(off + 4, (u32)(v >> 32));
}

/* The driver's initialisation with MUST_TELL_HOST, inflate and deflate. */
static int init(void)
{
	wr(REG_STATUS, 0);
	wr(REG_STATUS, S_ACK_DRIVER);
	wr(REG_DRIVER_FEATURES_SEL, 1);
	wr(REG_DRIVER_FEATURES, 1);	/* VERSION_1 */
	wr(REG_DRIVER_FEATURES_SEL, 0);
	wr(REG_DRIVER_FEATURES, F_MUST_TELL_HOST);
	wr(REG_STATUS, S_ACK_DRIVER | S_FEATURES_OK);
	if (!(rd(REG_STATUS) & S_FEATURES_OK))
		return 0;
	memset(q, 0, sizeof(q));
	for (u32 i = 0; i < 2; i++) {
		wr(REG_QUEUE_SEL, i);
		wr(REG_QUEUE_NUM, QSZ);
		wr64(REG_QUEUE_DESC_LOW, (ulong)q[i].desc);
		wr64(REG_QUEUE_DRIVER_LOW, (ulong)q[i].avail);
		wr64(REG_QUEUE_DEVICE_LOW, (ulong)&q[i].used);
		wr(REG_QUEUE_READY, 1);
	}
	wr(REG_STATUS, S_ACK_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	return !(rd(REG_STATUS) & S_NEEDS_RESET);
}

/* Sends the first `bytes` bytes of pfns[] (4 per page number) on queue
 * qi as one descriptor; 1 if it came back used within a second. */
static int send(u32 qi, u32 bytes)
{
	struct queue *x = &q[qi];
	u16 head = x->avail_idx % QSZ;
	ulong end = now() + TICKS_PER_SEC;

	x->desc[head] = (struct vdesc){ .addr = (ulong)pfns, .len = bytes, .flags = 0 };
	x->avail[2 + x->avail_idx % QSZ] = head;
	mb();
	x->avail[1] = ++x->avail_idx;
	wr(REG_QUEUE_NOTIFY, qi);
	while (now() < end) {
		if (*(volatile u16 *)&x->used.idx != x->used_idx) {
			mb();
			x->used_idx++;
			return 1;
		}
	}
	return 0;
}

static u32 pfn_of(const void *p)
{
	return (u32)((ulong)p >> 12);
}

void balloon_scenario(ulong ram_end)
{
	if (rd(REG_DEVICE_ID) != 5) {
		check("balloon.device", 0, "got device id %u at 0x%lx expected 5 (BALLOON=1?)",
		      rd(REG_DEVICE_ID), BALLOON_BASE);
		return;
	}
	check("balloon.init", init(), "the device refused a plain initialisation");
	check("balloon.target_zero", rd(REG_CONFIG) == 0, "num_pages %u, expected 0", rd(REG_CONFIG));
	wr(REG_CONFIG + 4, 7);
	check("balloon.actual_writable", rd(REG_CONFIG + 4) == 7, "actual %u, expected 7",
	      rd(REG_CONFIG + 4));

	/* A length that is not whole words. */
	pfns[0] = pfn_of(victim[2]);
	send(INFLATEQ, 6);
	check("balloon.short_pfn_needs_reset", rd(REG_STATUS) & S_NEEDS_RESET,
	      "status %#x, expected DEVICE_NEEDS_RESET", rd(REG_STATUS));
	/* Reset: usable again; then a looping chain. */
	check("balloon.reinit", init(), "the device refused a reset and initialisation");
	struct queue *x = &q[INFLATEQ];
	x->desc[0] = (struct vdesc){ .addr = (ulong)pfns, .len = 4, .flags = DESC_F_NEXT, .next = 1 };
	x->desc[1] = (struct vdesc){ .addr = (ulong)pfns, .len = 4, .flags = DESC_F_NEXT, .next = 0 };
	x->avail[2] = 0;
	mb();
	x->avail[1] = ++x->avail_idx;
	wr(REG_QUEUE_NOTIFY, INFLATEQ);
	check("balloon.loop_needs_reset", rd(REG_STATUS) & S_NEEDS_RESET,
	      "status %#x, expected DEVICE_NEEDS_RESET", rd(REG_STATUS));
	check("balloon.reinit_after_loop", init(), "the device refused a reset after the loop");

	/* Good pages: written, inflated, touched again: zeroes. */
	for (int i = 0; i < 4; i++)
		memset(victim[i], 0x5a, sizeof(victim[i]));
	for (int i = 0; i < 4; i++)
		pfns[i] = pfn_of(victim[i]);
	check("balloon.inflate_used", send(INFLATEQ, 16), "the inflate never came back");
	int zero = 1;
	for (int i = 0; i < 4; i++)
		for (int k = 0; k < 4096; k += 512)
			zero &= victim[i][k] == 0;
	check("balloon.touched_reads_zero", zero, "a ballooned page kept its old bytes");

	/* Ignored entries: outside RAM (3), repeated (1), the inflate queue's
	 * own descriptor page (1); the buffer still comes back. */
	pfns[0] = 0x1;
	pfns[1] = (u32)(ram_end >> 12);
	pfns[2] = 0xffffffffU;
	pfns[3] = pfn_of(victim[0]);
	pfns[4] = pfn_of(q[INFLATEQ].desc);
	check("balloon.bad_pfns_used", send(INFLATEQ, 20), "the inflate never came back");
	/* Deflate: two that were inflated, one that never was. */
	pfns[0] = pfn_of(victim[0]);
	pfns[1] = pfn_of(victim[1]);
	pfns[2] = pfn_of(pfns);
	check("balloon.deflate_used", send(DEFLATEQ, 12), "the deflate never came back");
	memset(victim[0], 0x11, 4096);	/* the guest's page again */
	check("balloon.deflated_writable", victim[0][100] == 0x11, "write lost");
	check("balloon.still_usable", !(rd(REG_STATUS) & S_NEEDS_RESET), "needs reset");
	/* Left in the balloon (no reset: it would empty it): victim[2] and
	 * [3], both touched (read) above. */
}
