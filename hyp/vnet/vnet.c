#include <stddef.h>
#include <string.h>
#include "core/guest_memory.h"
#include "core/vm.h"
#include "lib/counters.h"
#include "lib/spinlock.h"
#include "virtio/guest_mem.h"
#include "vnet/vnet.h"

#define RXQ 0
#define TXQ 1
#define F_MAC (1ULL << 5)		/* 5.1.3: the device has a MAC in its config */
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

/* Reads a chain's device-readable bytes (header + frame) into dst; false
 * if they are not all guest RAM. */
static bool gather(struct vm *vm, const struct virtq_chain *c, uint8_t *dst)
{
	for (unsigned i = 0; i < c->nbufs && !c->buf[i].device_writable; i++) {
		if (!guest_copy_from(vm, dst, c->buf[i].gpa, c->buf[i].len))
			return false;
		dst += c->buf[i].len;
	}
	return true;
}

/* Writes len bytes into a chain's device-writable buffers, in order. */
static bool scatter(struct vm *vm, const struct virtq_chain *c, const uint8_t *src, size_t len)
{
	for (unsigned i = 0; i < c->nbufs && len; i++) {
		if (!c->buf[i].device_writable)
			continue;
		size_t n = c->buf[i].len < len ? c->buf[i].len : len;
		if (!guest_copy_to(vm, c->buf[i].gpa, src, n))
			return false;
		src += n;
		len -= n;
	}
	return len == 0;
}

enum delivery { DELIVERED, RECEIVER_BUSY, RECEIVER_DROPPED };

/*
 * Puts the frame into the receiver's next receive buffer, after a header
 * (5.1.6.3: no offload, so flags 0 and GSO_NONE; num_buffers 1 without
 * MRG_RXBUF), and completes it. Runs on the sender's hart with the
 * sender's lock held, so the receiver's queue is taken without waiting.
 * `frame` has VNET_HDR_BYTES of room before it (the sender's header,
 * already read), where the receiver's header is built.
 */
static enum delivery deliver(struct vnet *to, uint8_t *frame, size_t len)
{
	static const uint8_t rx_header[VNET_HDR_BYTES] = { [10] = 1 };
	struct virtio_device *d = &to->virtio;
	const struct guest_mem_ops mem = virtio_guest_memory(d->vm);
	struct retired_pages retired;
	struct virtq_chain chain;
	struct virtio_used used;
	int got;

	switch (virtio_mmio_try_begin_serve(d, RXQ)) {
	case VIRTIO_SERVE_TAKEN: break;
	case VIRTIO_SERVE_BUSY: return RECEIVER_BUSY;
	default: return RECEIVER_DROPPED;	/* no driver there (yet, or any more) */
	}
	retired_init(&retired);
	got = virtq_pop(&d->queue[RXQ].vq, &mem, &chain);
	if (got <= 0) {
		if (got < 0)
			virtio_mmio_needs_reset(d, virtq_error_name(got));
		virtio_mmio_end_serve(d, RXQ);
		return RECEIVER_DROPPED;	/* no buffer posted, or a broken ring */
	}
	used.head = chain.head;
	used.len = 0;
	if (chain.readable_bytes) {
		/* 5.1.6.3.1: receive buffers are device-writable only. */
		virtio_mmio_needs_reset(d, "a device-readable receive buffer");
	} else if (chain.writable_bytes >= VNET_HDR_BYTES + len) {
		memcpy(frame - VNET_HDR_BYTES, rx_header, VNET_HDR_BYTES);
		if (scatter(d->vm, &chain, frame - VNET_HDR_BYTES, VNET_HDR_BYTES + len))
			used.len = (uint32_t)(VNET_HDR_BYTES + len);
		else
			virtio_mmio_needs_reset(d, "a receive buffer outside RAM");
	}
	/* A buffer too small for the frame goes back empty (the driver drops
	 * it as too short and posts another); so does nothing on an error. */
	if (virtio_mmio_complete(d, RXQ, &used, 1, &retired) && used.len) {
		to->rx_packets++;
		to->rx_bytes += len;
	}
	virtio_mmio_end_serve(d, RXQ);
	return used.len ? DELIVERED : RECEIVER_DROPPED;
}

/* What happened to one frame: sent (to all or some), or to be tried
 * again (the one receiver was busy: the chain stays unconsumed). */
static bool route_and_deliver(struct vnet *from, size_t len)
{
	uint8_t *frame = from->frame + VNET_HDR_BYTES;
	struct vswitch_ports out;
	enum vswitch_verdict verdict;
	unsigned receivers;

	spin_lock(&switch_lock);
	verdict = vswitch_route(&the_switch, (unsigned)from->port, frame, len, &out);
	spin_unlock(&switch_lock);
	if (verdict != VSWITCH_FORWARD) {
		from->drops++;
		return true;
	}
	receivers = vswitch_ports_count(&out);
	for (unsigned p = 0; p < the_switch.nports; p++) {
		if (!vswitch_ports_has(&out, p) || !port_device[p])
			continue;
		enum delivery r = deliver(port_device[p], frame, len);
		/* Backpressure for the one receiver of a unicast frame; a
		 * flooded frame is not sent twice to the ports that took it. */
		if (r == RECEIVER_BUSY && receivers == 1)
			return false;
		if (r != DELIVERED) {
			from->drops++;
			if (r == RECEIVER_DROPPED)
				from->drops_no_buffer++;
		}
	}
	return true;
}

/*
 * The transmit queue's serve: frames until the queue is empty or the
 * budget is spent, each copied out, routed and delivered; then their
 * completions together. True if work is left (the vCPU stores again).
 */
static bool serve_transmit(struct virtio_device *d, unsigned q)
{
	struct vnet *n = vnet_of(d);
	const struct guest_mem_ops mem = virtio_guest_memory(d->vm);
	struct virtio_used done[BUDGET_FRAMES];
	struct retired_pages retired;
	struct virtq_chain chain;
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
		uint64_t bytes = chain.readable_bytes;
		if (chain.writable_bytes || bytes < VNET_HDR_BYTES + ETH_HEADER_BYTES ||
		    bytes > VNET_HDR_BYTES + VNET_FRAME_MAX || !gather(d->vm, &chain, n->frame)) {
			/* 5.1.6.2: header + frame, device-readable, within the
			 * MTU (no GSO offered). Dropped, the buffer given back. */
			n->drops++;
		} else if (!route_and_deliver(n, bytes - VNET_HDR_BYTES)) {
			vq->last_avail_idx--;	/* unconsumed: popped again on the retry */
			more = true;
			break;
		} else {
			n->tx_packets++;
			n->tx_bytes += bytes - VNET_HDR_BYTES;
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

/* The configuration space (5.1.4): mac[6] (status, MTU, ... not offered). */
static uint32_t config_read(struct virtio_device *d, uint64_t off, unsigned width)
{
	const struct vnet *n = vnet_of(d);
	uint32_t v = 0;

	if (off + width <= ETH_ADDR_BYTES)
		memcpy(&v, n->mac + off, width);
	return v;
}

static const struct virtio_device_ops vnet_ops = {
	.name = "virtio-net",
	.device_id = 1,			/* 5: network card */
	.features = F_MAC,
	.nqueues = 2,			/* receiveq1, transmitq1 */
	.queue_num_max = VIRTQ_MAX_SIZE,
	.config_read = config_read,
	.config_write = NULL,		/* MAC is read-only without CTRL_MAC_ADDR */
	.queue_serve = serve,
	.reset = NULL,			/* nothing of its own outlives a serve */
};

bool vnet_init(struct vnet *n, struct vm *vm, unsigned index, uint64_t base,
	       const struct irq_line *irq, const char **why)
{
	memset(n, 0, sizeof(*n));
	if (!switch_ready) {
		vswitch_init(&the_switch);
		switch_ready = true;
	}
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
}
