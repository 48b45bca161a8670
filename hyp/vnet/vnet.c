#include <stddef.h>
#include <string.h>
#include "core/guest_memory.h"
#include "arch/csr.h"
#include "core/vm.h"
#include "host/hart.h"
#include "lib/counters.h"
#include "lib/spinlock.h"
#include "virtio/guest_mem.h"
#include "vnet/vnet.h"
#include "vnet/rx_plan.h"
#include "vnet/vnet_hdr.h"
#include "vnet/uplink.h"

#define RXQ 0
#define TXQ 1
/* Feature bits (5.1.3) */
#define F_CSUM (1ULL << 0)		/* the driver may leave tx checksums to us */
#define F_GUEST_CSUM (1ULL << 1)	/* the driver takes rx frames with NEEDS_CSUM */
#define F_MTU (1ULL << 3)		/* the device says the MTU in its config */
/* discv's own (bit 4 is unassigned in virtio 1.2): the device may split a
 * big frame at a page boundary, saying where in hdr_len
 * (guest-kernel/patches/0001, vnet/rx_plan.h). */
#define F_DISCV_SPLIT (1ULL << 4)
#define F_MAC (1ULL << 5)		/* the device has a MAC in its config */
#define F_GUEST_TSO4 (1ULL << 7)	/* the driver takes rx TCPv4 GSO packets */
#define F_HOST_TSO4 (1ULL << 11)	/* the driver may send TCPv4 GSO packets */
/* Offered: packets pass between guests whole and unsummed (vnet_hdr.h).
 * Not MRG_RXBUF: with GUEST_TSO4 the driver then posts "big" receive
 * buffers, a header and 17 whole pages each. */
#define DEVICE_FEATURES \
	(F_CSUM | F_GUEST_CSUM | F_MTU | F_MAC | F_GUEST_TSO4 | F_HOST_TSO4 | F_DISCV_SPLIT)
#define MTU 1500			/* one L2 segment, one MTU (VNET_ETH_FRAME_MAX) */
/* A unicast frame whose receiver stays busy this long is dropped: a
 * receiver that keeps its device lock taken must not hold up the
 * sender's whole transmit queue. */
#define BUSY_GIVE_UP_HZ_DIVISOR 100	/* 10 ms */
/* A receiver that has had no buffer for this long (and posted none) is
 * taken for stopped: frames to it are dropped instead of waiting. */
#define STARVED_GIVE_UP_HZ_DIVISOR 20	/* 50 ms */
#define BUDGET_FRAMES 32		/* frames sent per serve: one fence for all */

/* The switch between the guests' devices: which device is on each port.
 * Ports are added before any guest runs; the lock (a leaf) guards the
 * switch's counters, which every sender updates. */
static struct vswitch the_switch;
static struct vnet *port_device[VSWITCH_MAX_PORTS];
static struct spinlock switch_lock;
static bool switch_ready;

static struct vnet *vnet_of(struct virtio_device *d)
{
	return (struct vnet *)((char *)d - offsetof(struct vnet, virtio));
}

/* A position in a chain's device-readable (or -writable) buffers. */
struct chain_cursor {
	const struct virtq_chain *chain;
	bool writable;
	unsigned buf;		/* the buffer reached */
	uint32_t off;		/* the offset in it */
};

static void cursor_init(struct chain_cursor *c, const struct virtq_chain *chain, bool writable)
{
	*c = (struct chain_cursor){ chain, writable, 0, 0 };
	while (c->buf < chain->nbufs && chain->buf[c->buf].device_writable != writable)
		c->buf++;
}

/* The guest-physical run at the cursor (at most max bytes), 0 at the end. */
static uint32_t cursor_run(const struct chain_cursor *c, uint32_t max, uint64_t *gpa)
{
	if (c->buf >= c->chain->nbufs || c->chain->buf[c->buf].device_writable != c->writable)
		return 0;
	const struct virtq_buf *b = &c->chain->buf[c->buf];
	uint32_t n = b->len - c->off;

	*gpa = b->gpa + c->off;
	return n < max ? n : max;
}

static void cursor_advance(struct chain_cursor *c, uint32_t n)
{
	c->off += n;
	if (c->off == c->chain->buf[c->buf].len) {
		c->buf++;
		c->off = 0;
	}
}

/* Moves len bytes between buf and the chain's buffers from the cursor
 * on: out of them into buf (read), or from buf into them (write). False
 * if they are not all guest RAM or the buffers end first. */
static bool cursor_move(struct vm *vm, struct chain_cursor *c, uint8_t *buf, uint32_t len,
			bool write)
{
	uint64_t gpa;

	while (len) {
		uint32_t n = cursor_run(c, len, &gpa);
		if (!n || !(write ? guest_copy_to(vm, gpa, buf, n) : guest_copy_from(vm, buf, gpa, n)))
			return false;
		cursor_advance(c, n);
		buf += n;
		len -= n;
	}
	return true;
}

/* The frame being sent: its sender's port, and either its sender's
 * device, chain and where the frame starts in it (just past the header),
 * or (from the uplink) the frame in host memory; its decoded header and
 * its length. */
struct outgoing {
	unsigned port;
	struct vnet *from;		/* NULL: from the uplink */
	const uint8_t *host_frame;	/* the uplink's frame, or NULL */
	const struct virtq_chain *chain;
	struct chain_cursor frame_start;
	struct vnet_hdr hdr;
	uint32_t len;
};

/* Moves the cursor n bytes on. */
static void cursor_skip(struct chain_cursor *c, uint32_t n)
{
	uint64_t gpa;

	while (n) {
		uint32_t run = cursor_run(c, n, &gpa);
		if (!run)
			return;
		cursor_advance(c, run);
		n -= run;
	}
}

/* Copies n bytes of the frame from the sender's buffers into the
 * receiver's, through a small buffer on the stack: no copy of a 64 KiB
 * packet is kept. */
static bool copy_bytes(struct vm *from, struct chain_cursor *src, struct vm *to,
		       struct chain_cursor *dst, uint32_t n)
{
	uint8_t chunk[256];

	while (n) {
		uint32_t k = n < sizeof(chunk) ? n : sizeof(chunk);
		if (!cursor_move(from, src, chunk, k, false) || !cursor_move(to, dst, chunk, k, true))
			return false;
		n -= k;
	}
	return true;
}

/*
 * The remap of one planned page: the receiver's page at dst_gpa becomes
 * the sender's host page (pinned, and fenced read-only in the sender),
 * read-only in the receiver too. Its old page waits in *retired for the
 * receiver's fence (virtio_mmio_complete pays it before the used ring
 * says the frame is there). Where the mapping cannot be made now, the
 * page is copied instead (*remapped false). False if neither worked.
 */
static bool remap_page(struct vm *to, uint64_t dst_gpa, uint64_t src_pa,
		       struct retired_pages *retired, bool *remapped)
{
	*remapped = guest_memory_map_shared(to, dst_gpa, src_pa, retired);
	return *remapped || guest_copy_to(to, dst_gpa, pa_to_ptr(src_pa), PAGE_SIZE);
}

/*
 * Writes the header and the frame into the receive chain `rx`: the whole
 * pages that rx_plan found go by remap, the rest is copied. Called with
 * the receiver's device lock held (and `serving`); it releases the lock
 * while the sender's pages are pinned and fenced, and *reset tells if
 * the receiver was reset meanwhile (then nothing is written). False if a
 * buffer is not guest RAM.
 */
static bool place_frame(struct vnet *to, const struct outgoing *o, const struct virtq_chain *rx,
			struct retired_pages *retired, bool *reset)
{
	struct virtio_device *d = &to->virtio;
	struct vm *from_vm = o->from->virtio.vm;
	bool split_ok = virtio_mmio_has_feature(d, F_DISCV_SPLIT);
	struct chain_cursor src = o->frame_start, dst;
	uint64_t pinned[RX_PLAN_MAX_REMAPS];
	uint8_t hdr_bytes[VNET_HDR_BYTES];
	struct vnet_hdr hdr = o->hdr;
	struct rx_plan plan;
	uint32_t at = 0;
	unsigned kept = 0, remapped = 0;
	bool ok = true;

	*reset = false;
	rx_plan_make(o->chain, rx, VNET_HDR_BYTES, o->len, split_ok, to->remap, &plan);
	if (plan.nremaps) {
		/* Pin the sender's pages, made read-only, and fence the
		 * sender before any receiver maps them: without holding the
		 * receiver's lock (a fence waits for other harts). A page the
		 * sender has not mapped is copied (its pin fails). */
		spin_unlock(&d->lock);
		for (unsigned i = 0; i < plan.nremaps; i++) {
			uint64_t pa = guest_memory_pin_shared(from_vm, plan.remap[i].src_gpa);
			if (pa) {
				plan.remap[kept] = plan.remap[i];
				pinned[kept++] = pa;
			}
		}
		plan.nremaps = kept;
		guest_memory_sync(from_vm);
		spin_lock_acking(&d->lock);
		if (virtio_mmio_was_reset(d, RXQ)) {
			*reset = true;
			plan.nremaps = 0;
			goto unpin;
		}
	}
	/* The header: with the split feature, hdr_len is the split (0: none). */
	hdr.num_buffers = 1;
	if (split_ok)
		hdr.hdr_len = (uint16_t)plan.split;
	vnet_hdr_encode(&hdr, hdr_bytes);
	cursor_init(&dst, rx, true);
	if (!cursor_move(d->vm, &dst, hdr_bytes, VNET_HDR_BYTES, true)) {
		ok = false;
		goto unpin;
	}
	cursor_skip(&dst, plan.dst_skip);
	/* The frame: copy up to each planned page, remap it, skip it. */
	for (unsigned i = 0; i <= plan.nremaps && ok; i++) {
		uint32_t upto = i < plan.nremaps ? plan.remap[i].frame_off : o->len;
		ok = copy_bytes(from_vm, &src, d->vm, &dst, upto - at);
		at = upto;
		if (i == plan.nremaps || !ok)
			break;
		bool this_remapped;
		ok = remap_page(d->vm, plan.remap[i].dst_gpa, pinned[i], retired, &this_remapped);
		remapped += this_remapped;
		cursor_skip(&src, PAGE_SIZE);
		cursor_skip(&dst, PAGE_SIZE);
		at += PAGE_SIZE;
	}
	if (ok) {
		to->pages_remapped += remapped;
		to->bytes_copied += o->len - (uint64_t)remapped * PAGE_SIZE;
	}
unpin:
	for (unsigned i = 0; i < kept; i++)
		guest_memory_unpin(from_vm, pinned[i]);
	return ok;
}

/* A frame from the uplink, in host memory: a plain header, the frame
 * copied (nothing of it is a guest's page to remap). */
static bool place_host_frame(struct vnet *to, const struct outgoing *o,
			     const struct virtq_chain *rx)
{
	struct virtio_device *d = &to->virtio;
	struct vnet_hdr hdr = { .num_buffers = 1 };
	uint8_t hdr_bytes[VNET_HDR_BYTES];
	struct chain_cursor dst;

	vnet_hdr_encode(&hdr, hdr_bytes);
	cursor_init(&dst, rx, true);
	if (!cursor_move(d->vm, &dst, hdr_bytes, VNET_HDR_BYTES, true) ||
	    !cursor_move(d->vm, &dst, (uint8_t *)o->host_frame /* only read */, o->len, true))
		return false;
	to->bytes_copied += o->len;
	return true;
}

enum delivery {
	DELIVERED,
	FRAME_DROPPED,		/* not passed on (spoofed, nowhere to go): counted */
	RECEIVER_BUSY,		/* another hart is in its receive queue */
	RECEIVER_NO_BUFFER,	/* it has no receive buffer posted */
	RECEIVER_DROPPED,	/* no driver, a broken ring or buffer, an offload it lacks */
};

/* Since when the receiver has had no buffer for a frame (0: it has). */
static void note_starved(struct vnet *to, bool starved)
{
	uint64_t since = __atomic_load_n(&to->starved_since, __ATOMIC_RELAXED);

	if (starved && !since)
		__atomic_store_n(&to->starved_since, read_time() | 1, __ATOMIC_RELAXED);
	else if (!starved && since)
		__atomic_store_n(&to->starved_since, 0, __ATOMIC_RELAXED);
}

static bool starved_too_long(const struct vnet *to)
{
	uint64_t since = __atomic_load_n(&to->starved_since, __ATOMIC_RELAXED);

	return since && read_time() - since > timebase_hz / STARVED_GIVE_UP_HZ_DIVISOR;
}

/*
 * Puts the frame into the receiver's next receive buffer, after the
 * sender's header (5.1.6.4: the checksum and segmentation the sender left
 * to "the device" are left to the receiver's kernel, which negotiated
 * them; num_buffers 1 without MRG_RXBUF), and completes it. Runs on the
 * sender's hart, which holds no lock of its own now; the receiver's queue
 * is taken without waiting all the same (docs/concurrency.md).
 */
static enum delivery deliver(struct vnet *to, const struct outgoing *o)
{
	struct virtio_device *d = &to->virtio;
	const struct guest_mem_ops mem = virtio_guest_memory(d->vm);
	struct retired_pages retired;
	struct virtq_chain chain;
	struct virtio_used used;
	bool reset = false;
	int got;

	switch (virtio_mmio_try_begin_serve(d, RXQ)) {
	case VIRTIO_SERVE_TAKEN: break;
	case VIRTIO_SERVE_BUSY: return RECEIVER_BUSY;
	default: return RECEIVER_DROPPED;	/* no driver there (yet, or any more) */
	}
	/* An offload the receiver did not take would need the switch to sum
	 * or cut in software: not yet (docs/virtual-network.md). */
	if (((o->hdr.flags & VNET_HDR_F_NEEDS_CSUM) && !virtio_mmio_has_feature(d, F_GUEST_CSUM)) ||
	    (o->hdr.gso_type == VNET_HDR_GSO_TCPV4 && !virtio_mmio_has_feature(d, F_GUEST_TSO4))) {
		virtio_mmio_end_serve(d, RXQ);
		return RECEIVER_DROPPED;
	}
	retired_init(&retired);
	got = virtq_pop(&d->queue[RXQ].vq, &mem, &chain);
	if (got <= 0) {
		if (got < 0)
			virtio_mmio_needs_reset(d, virtq_error_name(got));
		virtio_mmio_end_serve(d, RXQ);
		note_starved(to, !got);
		return got ? RECEIVER_DROPPED : RECEIVER_NO_BUFFER;
	}
	note_starved(to, false);
	used.head = chain.head;
	used.len = 0;
	if (chain.readable_bytes) {
		/* 5.1.6.3.1: receive buffers are device-writable only. */
		virtio_mmio_needs_reset(d, "a device-readable receive buffer");
	} else if (chain.writable_bytes >= VNET_HDR_BYTES + (uint64_t)o->len) {
		if (o->host_frame ? place_host_frame(to, o, &chain)
				  : place_frame(to, o, &chain, &retired, &reset))
			used.len = VNET_HDR_BYTES + o->len;
		else
			virtio_mmio_needs_reset(d, "a receive buffer outside RAM, or the sender's");
	}
	if (reset) {
		/* The driver reset the device while the sender's pages were
		 * fenced: the chain is no longer the device's to complete. */
		virtio_mmio_end_serve(d, RXQ);
		guest_memory_free_retired(d->vm, &retired);
		return RECEIVER_DROPPED;
	}
	/* A buffer too small for the frame goes back empty (the driver drops
	 * it as too short and posts another); so does nothing on an error. */
	if (virtio_mmio_complete(d, RXQ, &used, 1, &retired) && used.len) {
		to->rx_packets++;
		to->rx_bytes += o->len;
	}
	virtio_mmio_end_serve(d, RXQ);
	return used.len ? DELIVERED : RECEIVER_DROPPED;
}

/* The sender waits for the receiver's next receive buffers: it is kicked
 * when the receiver's driver notifies its receive queue (after_notify). */
static void wait_for_buffers(struct vnet *to, unsigned sender_port)
{
	__atomic_fetch_or(&to->rx_waiters[sender_port / 64], 1ULL << (sender_port % 64),
			  __ATOMIC_SEQ_CST);
}

/* Sends the frame out through the uplink: copied out of the sender's
 * buffers once, then summed or cut for the card (vnet/uplink.h). */
static enum delivery send_to_uplink(const struct outgoing *o)
{
	struct chain_cursor src = o->frame_start;
	uint8_t *packet;
	bool copied;

	if (!o->from)
		return RECEIVER_DROPPED;	/* never back out of the uplink */
	packet = uplink_send_begin();
	if (!packet)
		return RECEIVER_DROPPED;	/* the uplink stayed busy: counted there */
	copied = cursor_move(o->from->virtio.vm, &src, packet, o->len, false);
	return uplink_send_end(copied ? o->len : 0, &o->hdr) ? DELIVERED : RECEIVER_DROPPED;
}

/* A frame lost: counted on the device that sent it (or the uplink's). */
static void count_drop(const struct outgoing *o, enum delivery why)
{
	if (!o->from) {
		uplink_count_drop();
		return;
	}
	o->from->drops++;
	if (why == RECEIVER_NO_BUFFER)
		o->from->drops_no_buffer++;
}

/*
 * Routes and delivers one frame: DELIVERED (to at least one port),
 * FRAME_DROPPED (to none; counted), or RECEIVER_BUSY / RECEIVER_NO_BUFFER
 * if its one receiver cannot take it now and it is to stay unconsumed
 * (backpressure).
 */
static enum delivery route_and_deliver(const struct outgoing *o, const uint8_t *eth_header)
{
	struct vswitch_ports out;
	enum vswitch_verdict verdict;
	unsigned receivers, delivered = 0;
	int uplink = uplink_port();

	spin_lock(&switch_lock);
	verdict = vswitch_route(&the_switch, o->port, eth_header, o->len, &out);
	spin_unlock(&switch_lock);
	if (verdict != VSWITCH_FORWARD) {
		count_drop(o, FRAME_DROPPED);
		return FRAME_DROPPED;
	}
	receivers = vswitch_ports_count(&out);
	for (unsigned p = 0; p < the_switch.nports; p++) {
		struct vnet *to = port_device[p];
		enum delivery r;

		if (!vswitch_ports_has(&out, p))
			continue;
		if ((int)p == uplink) {
			r = send_to_uplink(o);
		} else if (to) {
			r = deliver(to, o);
		} else {
			continue;
		}
		/* Backpressure for the one receiver of a unicast frame (a
		 * flooded frame is not sent twice to the ports that took it):
		 * wait while it is busy, or out of buffers unless it has been
		 * for so long that it looks stopped. The wait is registered
		 * before one more try, so buffers posted in between are not
		 * missed (docs/concurrency.md). A frame from the uplink
		 * waits in the card's buffer instead: there is no transmit
		 * queue to kick, the uplink's poll tries it again. */
		if (receivers == 1 && r == RECEIVER_BUSY)
			return r;
		if (receivers == 1 && r == RECEIVER_NO_BUFFER && !starved_too_long(to)) {
			if (!o->from)
				return r;	/* the uplink's poll tries again */
			wait_for_buffers(to, o->port);
			r = deliver(to, o);
			if (r == RECEIVER_NO_BUFFER || r == RECEIVER_BUSY)
				return r;
		}
		if (r != DELIVERED)
			count_drop(o, r);
		delivered += r == DELIVERED;
	}
	return delivered ? DELIVERED : FRAME_DROPPED;
}

/* Reads a transmitted chain's header and Ethernet header; false if the
 * chain is not a frame discv passes on (dropped and counted). */
static bool read_outgoing(struct vnet *n, const struct virtq_chain *chain, struct outgoing *o,
			  uint8_t eth_header[ETH_HEADER_BYTES])
{
	uint8_t hdr_bytes[VNET_HDR_BYTES];
	struct chain_cursor c;
	struct vm *vm = n->virtio.vm;

	/* 5.1.6.2: header + frame, device-readable only. */
	if (chain->writable_bytes || chain->readable_bytes < VNET_HDR_BYTES + ETH_HEADER_BYTES)
		return false;
	o->port = (unsigned)n->port;
	o->from = n;
	o->host_frame = NULL;
	o->chain = chain;
	o->len = (uint32_t)(chain->readable_bytes - VNET_HDR_BYTES);
	cursor_init(&c, chain, false);
	if (!cursor_move(vm, &c, hdr_bytes, VNET_HDR_BYTES, false))
		return false;
	o->frame_start = c;
	vnet_hdr_decode(hdr_bytes, &o->hdr);
	if (vnet_hdr_check(&o->hdr, o->len, virtio_mmio_has_feature(&n->virtio, F_CSUM),
			   virtio_mmio_has_feature(&n->virtio, F_HOST_TSO4)) != VNET_HDR_OK)
		return false;
	return cursor_move(vm, &c, eth_header, ETH_HEADER_BYTES, false);
}

/* The frame at the head of the queue found its receiver busy again:
 * whether it has waited long enough to be dropped. */
static bool gave_up_waiting(struct vnet *n)
{
	uint64_t now = read_time();

	if (!n->busy_since) {
		n->busy_since = now;
		return false;
	}
	return now - n->busy_since > timebase_hz / BUSY_GIVE_UP_HZ_DIVISOR;
}

/*
 * The transmit queue's serve: frames until the queue is empty or the
 * budget is spent, each routed and copied into its receivers; then their
 * completions together. True if work is left (the vCPU stores again).
 */
static bool serve_transmit(struct virtio_device *d, unsigned q)
{
	struct vnet *n = vnet_of(d);
	const struct guest_mem_ops mem = virtio_guest_memory(d->vm);
	struct virtio_used done[BUDGET_FRAMES];
	uint8_t eth_header[ETH_HEADER_BYTES];
	struct retired_pages retired;
	struct virtq_chain chain;
	struct outgoing o;
	struct virtq *vq = &d->queue[q].vq;
	unsigned count = 0;
	bool more = false;

	retired_init(&retired);
	while (vq->ready && virtio_mmio_usable(d)) {
		if (count == BUDGET_FRAMES) {
			more = true;
			break;
		}
		int got = virtq_pop(vq, &mem, &chain);
		if (got < 0) {
			virtio_mmio_needs_reset(d, virtq_error_name(got));
			break;
		}
		if (!got)
			break;
		if (!read_outgoing(n, &chain, &o, eth_header)) {
			n->drops++;	/* dropped, the buffer given back */
		} else {
			/* Delivery takes the receivers' locks and waits in their
			 * fences: it holds none of this device's (the queue stays
			 * ours through `serving`; docs/concurrency.md). */
			enum delivery r;
			spin_unlock(&d->lock);
			r = route_and_deliver(&o, eth_header);
			spin_lock_acking(&d->lock);
			if (virtio_mmio_was_reset(d, q) || !vq->ready)
				break;	/* the driver reset the queue meanwhile */
			if (r == RECEIVER_NO_BUFFER) {
				/* Backpressure: the chain stays unconsumed, and
				 * the queue waits for the receiver's kick. */
				vq->last_avail_idx--;
				n->backpressure_waits++;
				break;
			}
			if (r == RECEIVER_BUSY && !gave_up_waiting(n)) {
				vq->last_avail_idx--;	/* unconsumed: popped again on the retry */
				more = true;
				break;
			}
			n->busy_since = 0;
			if (r == DELIVERED) {
				n->tx_packets++;
				n->tx_bytes += o.len;
			} else if (r == RECEIVER_BUSY) {
				n->drops++;	/* waited long enough */
			}
		}
		done[count].head = chain.head;
		done[count].len = 0;	/* the device writes nothing into a tx chain */
		count++;
	}
	return virtio_mmio_complete(d, q, done, count, &retired) && more;
}

/* Receive buffers wait for frames; a notify of the receive queue (new
 * buffers posted) has nothing to serve. */
static bool serve_receive(struct virtio_device *d, unsigned q)
{
	(void)d;
	(void)q;
	return false;
}

static bool serve(struct virtio_device *d, unsigned q)
{
	return q == TXQ ? serve_transmit(d, q) : serve_receive(d, q);
}

/*
 * After the driver notified its receive queue (it posted buffers): the
 * senders waiting for them are kicked, each serving its transmit queue
 * on this hart (virtio_mmio_kick), in an order that starts one port
 * further each time, so that no sender is always the first to take the
 * new buffers. The receiver holds no lock here, and a kicked sender's
 * deliveries never lead back into a notify.
 */
static void after_notify(struct virtio_device *d, unsigned q)
{
	struct vnet *n = vnet_of(d);
	uint64_t waiting[VSWITCH_PORT_WORDS];
	unsigned first;

	if (q != RXQ)
		return;
	note_starved(n, false);
	for (unsigned w = 0; w < VSWITCH_PORT_WORDS; w++)
		waiting[w] = __atomic_exchange_n(&n->rx_waiters[w], 0, __ATOMIC_SEQ_CST);
	first = __atomic_fetch_add(&n->kick_next, 1, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < the_switch.nports; i++) {
		unsigned p = (first + i) % the_switch.nports;
		if ((waiting[p / 64] >> (p % 64) & 1) && port_device[p])
			virtio_mmio_kick(&port_device[p]->virtio, TXQ);
	}
}

/* The configuration space (5.1.4): mac[6] (status, MTU, ... not offered). */
static uint32_t config_read(struct virtio_device *d, uint64_t off, unsigned width)
{
	const struct vnet *n = vnet_of(d);
	uint32_t v = 0;

	/* 5.1.4: mac[6], status (16 bits, not offered), max_virtqueue_pairs
	 * (not offered), mtu (16 bits, at 10). */
	uint8_t config[12] = { [10] = MTU & 0xff, [11] = MTU >> 8 };

	memcpy(config, n->mac, ETH_ADDR_BYTES);
	if (off + width <= sizeof(config))
		memcpy(&v, config + off, width);
	return v;
}

/* The device's own reset: the head frame's wait starts again. */
static void reset(struct virtio_device *d)
{
	vnet_of(d)->busy_since = 0;
}

static const struct virtio_device_ops vnet_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.features = DEVICE_FEATURES,
	.nqueues = 2,			/* receiveq1, transmitq1 */
	/* A big receive buffer takes 19 descriptors (a header and 17
	 * pages): 1024 entries hold 53 of them, 256 only 13. */
	.queue_num_max = 1024,
	.config_read = config_read,
	.config_write = NULL,		/* MAC is read-only without CTRL_MAC_ADDR */
	.queue_serve = serve,
	.reset = reset,
	.after_notify = after_notify,
};

static void switch_init_once(void)
{
	if (!switch_ready) {
		vswitch_init(&the_switch);
		switch_ready = true;
	}
}

int vnet_switch_add_uplink(void)
{
	switch_init_once();
	return vswitch_add_port(&the_switch, NULL);
}

/* How long a frame from the uplink waits for a receiver another hart is
 * in, looking again every 20 us (at QEMU virt's 10 MHz), before it is
 * dropped. */
#define UPLINK_BUSY_TRIES 100
#define UPLINK_BUSY_PAUSE_TICKS 200

bool vnet_switch_from_uplink(unsigned port, const uint8_t *frame, uint32_t len)
{
	struct outgoing o = { .port = port, .host_frame = frame, .len = len };

	if (len > VNET_ETH_FRAME_MAX) {
		uplink_count_drop();
		return true;
	}
	for (unsigned tries = 0; tries < UPLINK_BUSY_TRIES; tries++) {
		enum delivery r = route_and_deliver(&o, frame);
		if (r == RECEIVER_NO_BUFFER)
			return false;
		if (r != RECEIVER_BUSY)
			return true;
		hart_pause(UPLINK_BUSY_PAUSE_TICKS);
	}
	uplink_count_drop();
	return true;
}

bool vnet_init(struct vnet *n, struct vm *vm, unsigned index, uint64_t base,
	       const struct irq_line *irq, bool remap, const char **why)
{
	memset(n, 0, sizeof(*n));
	n->remap = remap;
	switch_init_once();
	vswitch_guest_mac(index, n->mac);
	n->port = vswitch_add_port(&the_switch, n->mac);
	if (n->port < 0) {
		*why = "no port left on the switch";
		return false;
	}
	if (!virtio_mmio_init(&n->virtio, vm, base, irq, &vnet_ops)) {
		*why = "no room for its registers";
		return false;
	}
	port_device[n->port] = n;
	return true;
}

void vnet_reset(struct vnet *n)
{
	virtio_mmio_reset(&n->virtio);
}

void vnet_counters(const void *dev, struct counters *c)
{
	const struct vnet *n = dev;

	counters_u64(c, "net_tx_packets", n->tx_packets);
	counters_u64(c, "net_rx_packets", n->rx_packets);
	counters_u64(c, "net_tx_bytes", n->tx_bytes);
	counters_u64(c, "net_rx_bytes", n->rx_bytes);
	counters_u64(c, "net_drops", n->drops);
	counters_u64(c, "net_drops_no_buffer", n->drops_no_buffer);
	counters_u64(c, "net_backpressure_waits", n->backpressure_waits);
	counters_u64(c, "net_pages_remapped", n->pages_remapped);
	counters_u64(c, "net_bytes_copied", n->bytes_copied);
}
