/*
 * The network scenario (GUEST_APPEND=virtio-test=net, NET=1 DISK=0
 * GUESTS=2): guest0 drives its virtio-net device (virtio 1.2 section 5.1)
 * as a broken driver would, guest1 as a plain receiver.
 *
 *  - guest0 sends three good frames to guest1 and, between them, the
 *    malformed ones of the list: a header outside RAM, a chain
 *    shorter than the header, a device-writable buffer, a frame over the
 *    MTU, a checksum offset past the frame, a GSO frame without GSO
 *    negotiated, a spoofed source MAC - each must come back used and be
 *    dropped (the test reads net_drops in hvstat) - and a looping chain,
 *    which must set DEVICE_NEEDS_RESET; after a reset it sends again.
 *    Then the paravirtual copy's refusals (docs/guest-platform.md): a
 *    misaligned page, a page outside RAM, the same page twice, a page of
 *    its own rings; and one good remap, whose contents it checks.
 *  - guest1 must receive exactly the three good frames, in order, and
 *    nothing else.
 */
#include "console.h"
#include "mmio.h"
#include "virtio_test.h"

#define NET_BASE	0x10002000UL
#define TICKS_PER_SEC	10000000UL
#define NOT_RAM		0x1000UL

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
#define S_ACK_DRIVER		3
#define S_FEATURES_OK		8
#define S_DRIVER_OK		4
#define S_NEEDS_RESET		64
#define F_CSUM			(1U << 0)
#define F_MAC			(1U << 5)
#define DESC_F_NEXT		1
#define DESC_F_WRITE		2
#define RXQ			0
#define TXQ			1
#define QSZ			64
#define HDR			12	/* struct virtio_net_hdr_v1 */
#define ETH_MAX			1514
#define ETHERTYPE_TEST		0x88b5	/* IEEE local experimental */
#define SBI_EXT_DISCV		0x0A647363

struct vdesc {
	unsigned long addr;
	u32 len;
	u16 flags, next;
};

/* One queue: descriptor table, avail ring, used ring, in one page each. */
struct queue {
	struct vdesc desc[QSZ] __attribute__((aligned(4096)));
	u16 avail[2 + QSZ] __attribute__((aligned(4096)));
	struct { u16 flags, idx; struct { u32 id, len; } ring[QSZ]; } used
		__attribute__((aligned(4096)));
	u16 avail_idx, used_idx;
};

static struct queue q[2];
static u8 bufs[QSZ][2048] __attribute__((aligned(4096)));
static u8 src_page[4096] __attribute__((aligned(4096)));
static u8 dst_page[4096] __attribute__((aligned(4096)));

static u32 rd(ulong off)
{
	return mmio_read32(NET_BASE + off);
}

static void wr(ulong off, u32 v)
{
	mmio_write32(NET_BASE + off, v);
}

static void wr64(ulong off, ulong v)
{
	wr(off, (u32)v);
	wr(off + 4, (u32)(v >> 32));
}

/* The driver's initialisation (3.1.1) with features lo (and VERSION_1). */
static int init(u32 features)
{
	wr(REG_STATUS, 0);
	wr(REG_STATUS, S_ACK_DRIVER);
	wr(REG_DRIVER_FEATURES_SEL, 1);
	wr(REG_DRIVER_FEATURES, 1);	/* VERSION_1 */
	wr(REG_DRIVER_FEATURES_SEL, 0);
	wr(REG_DRIVER_FEATURES, features);
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

static void publish(u32 qi, u16 head)
{
	struct queue *x = &q[qi];

	x->avail[2 + x->avail_idx % QSZ] = head;
	mb();
	x->avail[1] = ++x->avail_idx;
	wr(REG_QUEUE_NOTIFY, qi);
}

/* Waits up to `ticks` for the queue's next used element; its length. */
static int next_used(u32 qi, ulong ticks, u32 *len)
{
	struct queue *x = &q[qi];
	ulong end = now() + ticks;

	while (now() < end) {
		if (*(volatile u16 *)&x->used.idx != x->used_idx) {
			mb();
			*len = x->used.ring[x->used_idx % QSZ].len;
			x->used_idx++;
			return 1;
		}
	}
	return 0;
}

static void mac_of(unsigned guest, u8 *mac)
{
	static const u8 base[5] = { 0x02, 0x64, 0x73, 0x63, 0x76 };

	memcpy(mac, base, 5);
	mac[5] = (u8)guest;
}

/* A test frame in buffer b: header (flags, gso), Ethernet to guest1 from
 * `from`, then the marker; returns the frame's length (without header). */
static u32 frame(u8 *b, u8 flags, u8 gso, unsigned from, int marker, u32 len)
{
	memset(b, 0, HDR + len);
	b[0] = flags;
	b[1] = gso;
	if (flags & 1) {		/* NEEDS_CSUM: start 14, offset past the frame */
		b[6] = 14;
		b[8] = (u8)len;
		b[9] = (u8)(len >> 8);
	}
	mac_of(1, b + HDR);
	mac_of(from, b + HDR + 6);
	b[HDR + 12] = ETHERTYPE_TEST >> 8;
	b[HDR + 13] = ETHERTYPE_TEST & 0xff;
	b[HDR + 14] = 'N';
	b[HDR + 15] = (u8)('0' + marker);
	return len;
}

/* Sends one chain of `n` descriptors set up in q[TXQ].desc; 1 if it came
 * back used. */
static int send_chain(void)
{
	u32 len;

	publish(TXQ, 0);
	return next_used(TXQ, TICKS_PER_SEC, &len);
}

static int send_simple(const char *name, u8 *b, u32 len)
{
	q[TXQ].desc[0] = (struct vdesc){ (ulong)b, HDR + len, 0, 0 };
	int used = send_chain();

	check(name, used && !(rd(REG_STATUS) & S_NEEDS_RESET), "got %s",
	      used ? "DEVICE_NEEDS_RESET" : "no completion");
	return used;
}

static void sender(ulong ram_end)
{
	u32 n;

	check("net.init", init(F_MAC | F_CSUM), "got a device that did not initialise");
	/* Give guest1 time to post its receive buffers. */
	for (ulong end = now() + TICKS_PER_SEC; now() < end;)
		;
	send_simple("net.good_1", bufs[0], frame(bufs[0], 0, 0, 0, 1, 60));

	/* The header outside RAM, then the frame in RAM. */
	frame(bufs[1], 0, 0, 0, 9, 60);
	q[TXQ].desc[0] = (struct vdesc){ NOT_RAM, HDR, DESC_F_NEXT, 1 };
	q[TXQ].desc[1] = (struct vdesc){ (ulong)bufs[1] + HDR, 60, 0, 0 };
	check("net.header_outside_ram", send_chain(), "got no completion");
	/* Shorter than the header. */
	q[TXQ].desc[0] = (struct vdesc){ (ulong)bufs[1], 8, 0, 0 };
	check("net.short_header", send_chain(), "got no completion");
	/* A device-writable buffer in a transmit chain (5.1.6.2). */
	q[TXQ].desc[0] = (struct vdesc){ (ulong)bufs[1], HDR + 60, DESC_F_WRITE, 0 };
	check("net.writable_tx", send_chain(), "got no completion");
	/* Over the MTU, without GSO. */
	n = frame(bufs[2], 0, 0, 0, 9, ETH_MAX + 1);
	send_simple("net.over_mtu", bufs[2], n);
	/* NEEDS_CSUM whose checksum lies past the frame. */
	send_simple("net.csum_past_frame", bufs[3], frame(bufs[3], 1, 0, 0, 9, 60));
	/* TCPv4 GSO, which this driver did not negotiate (HOST_TSO4). */
	send_simple("net.gso_not_negotiated", bufs[4], frame(bufs[4], 0, 1, 0, 9, 60));
	/* Another port's source MAC. */
	send_simple("net.spoofed_mac", bufs[5], frame(bufs[5], 0, 0, 1, 9, 60));
	send_simple("net.good_2", bufs[6], frame(bufs[6], 0, 0, 0, 2, 60));

	/* A chain that loops: the device stops and asks for a reset. */
	q[TXQ].desc[0] = (struct vdesc){ (ulong)bufs[7], HDR + 60, DESC_F_NEXT, 0 };
	publish(TXQ, 0);
	for (ulong end = now() + TICKS_PER_SEC / 10; now() < end;)
		;
	check("net.loop_needs_reset", rd(REG_STATUS) & S_NEEDS_RESET,
	      "got status 0x%x without DEVICE_NEEDS_RESET", rd(REG_STATUS));
	check("net.reinit", init(F_MAC | F_CSUM), "got a device that did not initialise again");
	send_simple("net.good_3", bufs[8], frame(bufs[8], 0, 0, 0, 3, 60));

	/* The paravirtual copy: refusals leave the destination alone. */
	memset(src_page, 's', sizeof(src_page));
	memset(dst_page, 'd', sizeof(dst_page));
	static const struct { const char *name; ulong dst, src; long error; } bad[] = {
		{ "pv.misaligned", (ulong)dst_page + 8, (ulong)src_page, -3 },
		{ "pv.not_ram", (ulong)dst_page, NOT_RAM, -5 },
		{ "pv.same_page", (ulong)dst_page, (ulong)dst_page, -3 },
		{ "pv.own_rings", (ulong)q[TXQ].desc, (ulong)src_page, -4 },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long e = sbi_call(SBI_EXT_DISCV, 0, bad[i].dst, bad[i].src);
		check(bad[i].name, e == bad[i].error && dst_page[0] == 'd' && dst_page[4095] == 'd',
		      "got error %ld expected %ld", e, bad[i].error);
	}
	(void)ram_end;
	long e = sbi_call(SBI_EXT_DISCV, 0, (ulong)dst_page, (ulong)src_page);
	check("pv.remap", e == 0 && dst_page[0] == 's' && dst_page[4095] == 's',
	      "got error %ld, dst[0] %c", e, dst_page[0]);
	/* Copy on write: a store into the destination leaves the source. */
	dst_page[0] = 'w';
	check("pv.copy_on_write", src_page[0] == 's' && dst_page[0] == 'w' && dst_page[1] == 's',
	      "got src[0] %c dst[0] %c", src_page[0], dst_page[0]);
	wr(REG_STATUS, 0);
}

static void receiver(void)
{
	int got[4] = { 0 }, others = 0, order_ok = 1, last = 0;
	u32 len;

	check("net.init", init(F_MAC), "got a device that did not initialise");
	for (u16 i = 0; i < QSZ; i++) {
		q[RXQ].desc[i] = (struct vdesc){ (ulong)bufs[i], HDR + ETH_MAX, DESC_F_WRITE, 0 };
		q[RXQ].avail[2 + i] = i;
	}
	mb();
	q[RXQ].avail_idx = QSZ;
	q[RXQ].avail[1] = QSZ;
	wr(REG_QUEUE_NOTIFY, RXQ);
	/* Until the third good frame, then half a second for strays. */
	ulong end = now() + 20 * TICKS_PER_SEC;
	while (now() < end) {
		if (!next_used(RXQ, TICKS_PER_SEC / 10, &len))
			continue;
		u8 *b = bufs[q[RXQ].used.ring[(q[RXQ].used_idx - 1) % QSZ].id % QSZ];
		int m = b[HDR + 15] - '0';
		if (len == HDR + 60 && b[HDR + 14] == 'N' && m >= 1 && m <= 3 && !got[m]) {
			got[m] = 1;
			order_ok &= m == last + 1;
			last = m;
			if (m == 3)
				end = now() + TICKS_PER_SEC / 2;
		} else {
			others++;
		}
	}
	check("net.received_good", got[1] && got[2] && got[3] && order_ok,
	      "got frames 1 %d, 2 %d, 3 %d (in order %d)", got[1], got[2], got[3], order_ok);
	check("net.received_nothing_else", others == 0, "got %d other frames", others);
	wr(REG_STATUS, 0);
}

void net_scenario(int is_sender, ulong ram_end)
{
	if (rd(REG_DEVICE_ID) != 1) {
		check("net.device", 0, "got device id %u at 0x%lx expected 1 (NET=1?)",
		      rd(REG_DEVICE_ID), NET_BASE);
		return;
	}
	if (is_sender)
		sender(ram_end);
	else
		receiver();
}
