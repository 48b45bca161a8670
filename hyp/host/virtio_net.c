/*
 * The host network card driver: what is network-specific on top of the
 * virtio-mmio driver core. Two queues of one-buffer chains, the receive
 * queue kept full, the transmit queue's buffers taken back as the device
 * completes them.
 */
#include <string.h>
#include "arch/riscv_defs.h"
#include "host/console.h"
#include "host/hart.h"
#include "host/host_vq.h"
#include "host/irq.h"
#include "host/virtio_mmio.h"
#include "host/virtio_net.h"

#define RXQ 0				/* receiveq1 (5.1.2) */
#define TXQ 1				/* transmitq1 */
#define NET_HDR_BYTES 12		/* struct virtio_net_hdr with VERSION_1 (5.1.6) */
/* A header and the largest frame, rounded up to keep buffers 64-aligned. */
#define BUFFER_BYTES ((NET_HDR_BYTES + HOST_NET_FRAME_MAX + 63) / 64 * 64)

struct host_net_queue {
	struct host_vq vq;
	uint8_t slot_of_head[HOST_NET_QUEUE_SIZE];	/* the buffer each chain in flight is */
	uint8_t buffer[HOST_NET_QUEUE_SIZE][BUFFER_BYTES] __attribute__((aligned(64)));
};

static struct {
	bool present;
	struct host_virtio dev;
	int irq;
	struct host_net_queue rx, tx;
	/* Transmit buffers not in flight, a stack; the one handed out by
	 * host_net_tx_buffer is `handed` until it is queued. */
	uint8_t tx_free[HOST_NET_QUEUE_SIZE];
	unsigned ntx_free;
	int handed;
} card = { .irq = -1, .handed = -1 };

static uint8_t rings[2][HOST_VQ_BYTES(HOST_NET_QUEUE_SIZE)] __attribute__((aligned(16)));

/* Puts buffer `slot` on queue q as one chain: device-writable (receive)
 * or device-readable, len bytes (transmit). */
static bool add_buffer(struct host_net_queue *q, unsigned slot, uint32_t len, bool device_writes)
{
	struct host_vq_buf buf = { ptr_to_pa(q->buffer[slot]), len, device_writes };
	int head = host_vq_add(&q->vq, &buf, 1);

	if (head < 0)
		return false;
	q->slot_of_head[head] = (uint8_t)slot;
	return true;
}

/*
 * The card's interrupt: a used receive buffer (the transmit queue asks
 * for none). Acknowledged at once, so its line drops before the PLIC
 * completion; the frames are taken by the uplink's poll, which the
 * kicked hart reaches at its next scheduling decision.
 */
static void net_interrupt(void *ctx)
{
	(void)ctx;
	host_virtio_ack_interrupt(&card.dev);
	this_hart()->kicked = true;
}

static bool init_device(void)
{
	uint64_t features;

	host_virtio_begin_init(&card.dev);
	/* VERSION_1 only: no offload (see virtio_net.h), no MAC of its own
	 * wanted (the uplink port owns no address), no control queue. */
	if (!host_virtio_negotiate(&card.dev, 0, &features))
		return false;
	if (!host_vq_init(&card.rx.vq, rings[RXQ], HOST_NET_QUEUE_SIZE) ||
	    !host_vq_init(&card.tx.vq, rings[TXQ], HOST_NET_QUEUE_SIZE) ||
	    !host_virtio_setup_queue(&card.dev, RXQ, &card.rx.vq) ||
	    !host_virtio_setup_queue(&card.dev, TXQ, &card.tx.vq))
		return false;
	/* Completed transmissions are taken back when buffers are needed:
	 * no interrupt for them (2.7.7). */
	card.tx.vq.avail->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	for (unsigned i = 0; i < HOST_NET_QUEUE_SIZE; i++) {
		add_buffer(&card.rx, i, BUFFER_BYTES, true);
		card.tx_free[i] = (uint8_t)i;
	}
	card.ntx_free = HOST_NET_QUEUE_SIZE;
	host_vq_publish(&card.rx.vq);
	host_virtio_driver_ok(&card.dev);
	host_virtio_notify(&card.dev, RXQ);
	return true;
}

bool host_net_probe(const void *fdt)
{
	if (host_virtio_probe_next(fdt, -1, VIRTIO_ID_NET, &card.dev) < 0)
		return false;
	if (!init_device()) {
		log_info("host network card at %lx: initialisation failed", card.dev.base);
		return false;
	}
	card.present = true;
	card.irq = host_irq_register(card.dev.irq_parent, card.dev.irq_source, net_interrupt,
				     NULL, "host network card");
	log_info("host network card at %lx: the switch's uplink", card.dev.base);
	return true;
}

bool host_net_present(void)
{
	return card.present;
}

bool host_net_rx_pending(void)
{
	return card.present &&
	       __atomic_load_n(&card.rx.vq.used->idx, __ATOMIC_ACQUIRE) != card.rx.vq.used_seen;
}

bool host_net_rx_take(const uint8_t **frame, uint32_t *len, unsigned *slot)
{
	uint16_t head;
	uint32_t written;

	while (card.present && host_vq_take_used(&card.rx.vq, &head, &written)) {
		*slot = card.rx.slot_of_head[head];
		if (written <= NET_HDR_BYTES || written > BUFFER_BYTES) {
			/* No frame in it (QEMU never does this): back to the
			 * device at once, so that no buffer is ever lost. */
			host_net_rx_put(*slot);
			host_net_rx_flush();
			continue;
		}
		*frame = card.rx.buffer[*slot] + NET_HDR_BYTES;
		*len = written - NET_HDR_BYTES;
		return true;
	}
	return false;
}

void host_net_rx_put(unsigned slot)
{
	add_buffer(&card.rx, slot, BUFFER_BYTES, true);	/* a free descriptor: the one taken */
}

void host_net_rx_flush(void)
{
	host_vq_publish(&card.rx.vq);
	host_virtio_notify(&card.dev, RXQ);
}

uint8_t *host_net_tx_buffer(void)
{
	uint16_t head;
	uint32_t written;

	if (!card.present)
		return NULL;
	if (card.handed >= 0)	/* handed out before and not queued: still free */
		return card.tx.buffer[card.handed] + NET_HDR_BYTES;
	while (host_vq_take_used(&card.tx.vq, &head, &written))
		card.tx_free[card.ntx_free++] = card.tx.slot_of_head[head];
	if (!card.ntx_free)
		return NULL;
	card.handed = card.tx_free[--card.ntx_free];
	/* The header says nothing: the frame is whole and summed (5.1.6.2). */
	memset(card.tx.buffer[card.handed], 0, NET_HDR_BYTES);
	return card.tx.buffer[card.handed] + NET_HDR_BYTES;
}

void host_net_tx_queue(uint32_t len)
{
	if (card.handed < 0)
		return;
	if (len > HOST_NET_FRAME_MAX)
		card.tx_free[card.ntx_free++] = (uint8_t)card.handed;	/* not sent */
	else
		add_buffer(&card.tx, (unsigned)card.handed, NET_HDR_BYTES + len, false);
	card.handed = -1;
}

void host_net_tx_flush(void)
{
	if (!card.present)
		return;
	host_vq_publish(&card.tx.vq);
	host_virtio_notify(&card.dev, TXQ);
}

uint64_t host_net_interrupts(void)
{
	return host_irq_count(card.irq);
}

