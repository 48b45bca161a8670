/*
 * The guest's virtio-net device (virtio 1.2 section 5.1) on discv's
 * virtio-mmio device core, and its port on the switch between guests
 * (vnet/vswitch.c).
 *
 * Two queues (5.1.2): 0 receive, 1 transmit. The device offers MAC (the
 * switch assigns it, from the guest's index), CSUM/GUEST_CSUM and
 * HOST_TSO4/GUEST_TSO4: TCP segments of up to 64 KiB pass from one guest
 * to another whole and unsummed, their header checked (vnet_hdr.h), and
 * the receiver's kernel does what a NIC would have. Without MRG_RXBUF the
 * driver posts "big" receive buffers (a header and 17 pages each).
 *
 * A transmitted packet goes from the sender's buffers into each
 * receiver's next receive buffer, by the sender's hart, whole pages by
 * remap and the rest copied (place_frame), with the receiver's
 * completion protocol (fence, used ring, fence, interrupt). The sender's
 * hart takes the receiver's queue only without waiting
 * (virtio_mmio_try_begin_serve): if it is busy, the sender's chain stays
 * unconsumed and the notifying vCPU stores again (mmio_retry); if the
 * receiver has no buffer posted, the chain stays unconsumed until the
 * receiver posts some (after_notify kicks the sender), unless it has had
 * none for 50 ms (then the frame is dropped, counted: net_drops). A
 * packet to an address no guest owns goes out through the uplink
 * (vnet/uplink.h), and what comes in through it is routed like a
 * guest's frame (vnet_switch_from_uplink).
 */
#ifndef DISCV_VNET_H
#define DISCV_VNET_H

#include <stdbool.h>
#include <stdint.h>
#include "core/irq_line.h"
#include "virtio/virtio_mmio.h"
#include "vnet/vswitch.h"

struct vm;


struct vnet {
	struct virtio_device virtio;	/* the transport; its lock guards all below */
	int port;			/* its port on the switch */
	uint8_t mac[ETH_ADDR_BYTES];
	/* counters (hvstat) */
	uint64_t busy_since;		/* time the head frame's receiver was first busy, 0 */
	uint64_t tx_packets, tx_bytes, rx_packets, rx_bytes;
	uint64_t drops;			/* frames this device sent or was sent that were lost */
	uint64_t drops_no_buffer;	/* of those: the receiver had no buffer posted */
	uint64_t backpressure_waits;	/* times its transmit queue waited for a receiver's buffers */
	/* Backpressure (atomic): the ports whose transmit queues wait for this
	 * device's receive buffers, since when it has had none, and where the
	 * next kick starts. */
	uint64_t rx_waiters[VSWITCH_PORT_WORDS];
	uint64_t starved_since;
	unsigned kick_next;
	uint64_t pages_remapped;	/* received pages that became the sender's page */
	uint64_t bytes_copied;		/* received bytes that were copied */
	bool remap;			/* remap whole pages it receives (NET_REMAP) */
};

/* Creates the VM's network device: registers at base, interrupt on irq,
 * the switch port of guest index `index` (its MAC). remap: whole pages it
 * receives may be remapped (false: NET_REMAP=0, everything copied). */
bool vnet_init(struct vnet *n, struct vm *vm, unsigned index, uint64_t base,
	       const struct irq_line *irq, bool remap, const char **why);

/* The uplink's side of the switch (vnet/uplink.c): adds the uplink's
 * port (no MAC of its own; -1 if the switch is full), and routes a frame
 * that came in through it, copied into its receivers. True if it is done
 * with (delivered, or lost and counted by the uplink); false if its one
 * receiver has no buffer now: the frame is to be offered again later. */
int vnet_switch_add_uplink(void);
bool vnet_switch_from_uplink(unsigned port, const uint8_t *frame, uint32_t len);

/* Resets the device for the VM's reboot (virtio_mmio_reset). */
void vnet_reset(struct vnet *n);

struct counters;
/* The device's hvstat fields (dev: the struct vnet). */
void vnet_counters(const void *dev, struct counters *c);

#endif
