#include <string.h>
#include "arch/csr.h"
#include "core/sched.h"
#include "host/console.h"
#include "host/hart.h"
#include "host/virtio_net.h"
#include "lib/counters.h"
#include "lib/spinlock.h"
#include "vnet/uplink.h"
#include "vnet/vnet.h"
#include "vnet/vnet_offload.h"

#define RX_BUDGET 32			/* frames taken per poll */
#define POLL_TICKS 200			/* 20 us at QEMU virt's 10 MHz */
/* A packet waits at most this long, for the uplink and then for the
 * card to give back transmit buffers, before (the rest of) it is dropped:
 * one deadline per packet, so no sender holds the uplink for longer. */
#define TX_GIVE_UP_HZ_DIVISOR 100	/* 10 ms */
/* A frame from the card whose receiver has no buffer is held at most this
 * long (timed here, whatever the receiver does meanwhile), then dropped:
 * the frames behind it, to other guests, wait for it. */
#define RX_HOLD_HZ_DIVISOR 20		/* 50 ms */

static struct {
	int port;
	struct spinlock tx_lock, rx_lock;
	/* The received frame waiting for its receiver's buffer (rx_lock). */
	bool held;
	const uint8_t *held_frame;
	uint32_t held_len;
	unsigned held_slot;
	uint64_t held_since;		/* when it first found no buffer, 0 */
	/* The packet being sent (tx_lock), copied out of the sender's
	 * buffers, and the time it gives up at. */
	uint64_t tx_deadline;
	uint8_t packet[VNET_GSO_PACKET_MAX] __attribute__((aligned(8)));
	/* counters (hvstat, the totals) */
	uint64_t tx_packets;		/* packets the guests sent out */
	uint64_t tx_segments;		/* frames on the card after cutting them */
	uint64_t rx_packets;		/* frames that came in */
	uint64_t tx_drops, rx_drops;
} up = { .port = -1 };

/* A free transmit buffer, waiting for the card to complete earlier
 * frames (made visible to it once, first) if there is none; NULL if none
 * came free before the packet's deadline. */
static uint8_t *tx_buffer(void)
{
	uint8_t *buf = host_net_tx_buffer();

	if (buf)
		return buf;
	host_net_tx_flush();
	while (!(buf = host_net_tx_buffer())) {
		if (read_time() > up.tx_deadline)
			return NULL;
		hart_pause(POLL_TICKS);
	}
	return buf;
}

/* One frame of len bytes onto the card, as it is. */
static bool send_frame(const uint8_t *frame, uint32_t len)
{
	uint8_t *buf = tx_buffer();

	if (!buf)
		return false;
	memcpy(buf, frame, len);
	host_net_tx_queue(len);
	up.tx_segments++;
	return true;
}

/* A TCP packet cut into segments the size the sender asked for, each
 * written straight into a transmit buffer. */
static bool send_segments(uint32_t len, uint16_t mss)
{
	struct vnet_gso gso;
	uint8_t *buf;
	uint32_t n;

	if (vnet_gso_begin(&gso, up.packet, len, mss, HOST_NET_FRAME_MAX) != VNET_GSO_OK)
		return false;
	while (!vnet_gso_done(&gso)) {
		if (!(buf = tx_buffer()))
			return false;
		n = vnet_gso_next(&gso, buf, HOST_NET_FRAME_MAX);
		if (!n)
			return false;	/* cannot be: the buffer holds max_frame */
		host_net_tx_queue(n);
		up.tx_segments++;
	}
	return true;
}

uint8_t *uplink_send_begin(void)
{
	uint64_t deadline = read_time() + timebase_hz / TX_GIVE_UP_HZ_DIVISOR;

	/* The holder may wait for the card (tx_buffer), for 10 ms at most:
	 * sleep between looks, so that this hart does not take a host CPU
	 * from QEMU, and give up when the packet's time is spent. */
	while (!spin_trylock(&up.tx_lock)) {
		if (read_time() > deadline) {
			__atomic_fetch_add(&up.tx_drops, 1, __ATOMIC_RELAXED);
			return NULL;
		}
		hart_pause(POLL_TICKS);
	}
	up.tx_deadline = deadline;
	return up.packet;
}

bool uplink_send_end(uint32_t len, const struct vnet_hdr *hdr)
{
	bool sent;

	/* vnet_hdr_check passed the header: GSO is TCPv4 with NEEDS_CSUM, a
	 * frame without GSO is at most 1514 bytes. */
	if (hdr->gso_type == VNET_HDR_GSO_TCPV4)
		sent = len && send_segments(len, hdr->gso_size);
	else if (hdr->flags & VNET_HDR_F_NEEDS_CSUM)
		sent = len && vnet_offload_checksum(up.packet, len, hdr->csum_start,
						    hdr->csum_offset) &&
		       send_frame(up.packet, len);
	else
		sent = len && send_frame(up.packet, len);
	host_net_tx_flush();
	if (sent)
		up.tx_packets++;
	else
		__atomic_fetch_add(&up.tx_drops, 1, __ATOMIC_RELAXED);
	spin_unlock(&up.tx_lock);
	return sent;
}

void uplink_count_drop(void)
{
	__atomic_fetch_add(&up.rx_drops, 1, __ATOMIC_RELAXED);
}

/* Whether the held frame has waited for its receiver long enough. */
static bool held_too_long(void)
{
	uint64_t now = read_time();

	if (!up.held_since) {
		up.held_since = now | 1;
		return false;
	}
	return now - up.held_since > timebase_hz / RX_HOLD_HZ_DIVISOR;
}

/*
 * Takes what the card received, on whichever hart gets here first. A
 * frame whose receiver has no buffer now stays in the card's buffer
 * (`held`) and is offered again at the next poll, before anything newer
 * (frames from the uplink keep their order), for 50 ms at most.
 */
static void poll_card(void)
{
	unsigned n, returned = 0;

again:
	if ((!up.held && !host_net_rx_pending()) || !spin_trylock(&up.rx_lock))
		return;
	for (n = 0; n < RX_BUDGET; n++) {
		if (!up.held) {
			if (!host_net_rx_take(&up.held_frame, &up.held_len, &up.held_slot))
				break;
			up.held = true;
			up.held_since = 0;
			up.rx_packets++;
		}
		if (!vnet_switch_from_uplink((unsigned)up.port, up.held_frame, up.held_len)) {
			if (!held_too_long())
				break;	/* no buffer at its receiver yet */
			uplink_count_drop();
		}
		host_net_rx_put(up.held_slot);
		up.held = false;
		returned++;
	}
	if (returned)
		host_net_rx_flush();
	spin_unlock(&up.rx_lock);
	/* A frame that came after our last look, while another hart found
	 * the lock taken and went on, is not left for a later poll. */
	if (n < RX_BUDGET && !up.held && host_net_rx_pending()) {
		returned = 0;
		goto again;
	}
}

void uplink_init(void)
{
	if (up.port >= 0 || !host_net_present())
		return;
	up.port = vnet_switch_add_uplink();
	if (up.port >= 0 && !sched_add_poll(poll_card))
		log_info("uplink: no room for its poll; frames from the outside are not taken");
}

int uplink_port(void)
{
	return up.port;
}

void uplink_counters(struct counters *c)
{
	if (up.port < 0)
		return;
	counters_u64(c, "uplink_tx_packets", up.tx_packets);
	counters_u64(c, "uplink_tx_segments", up.tx_segments);
	counters_u64(c, "uplink_rx_packets", up.rx_packets);
	counters_u64(c, "uplink_tx_drops", up.tx_drops);
	counters_u64(c, "uplink_rx_drops", up.rx_drops);
	counters_u64(c, "host_net_interrupts", host_net_interrupts());
}
