/*
 * discv's driver core for the host's virtio devices on the virtio-mmio
 * transport, version 2 (virtio 1.2 section 4.2): what every host virtio
 * driver does the same whatever the device. Finding the devices in the
 * host device tree, the initialisation sequence of 3.1.1 (reset,
 * ACKNOWLEDGE, DRIVER, features, FEATURES_OK, queues, DRIVER_OK),
 * notifications, the interrupt status and the configuration space.
 *
 * A device driver (host/virtio_blk.c, host/virtio_net.c) walks the devices of its device id
 * with host_virtio_probe_next(), initialises each through these steps in
 * order, registers the device's interrupt with host/irq.h, and lays out
 * its queues with host/host_vq.h.
 */
#ifndef DISCV_HOST_VIRTIO_MMIO_H
#define DISCV_HOST_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>
#include "arch/virtio_defs.h"


struct host_vq;

/* A host virtio-mmio device, as its device-tree node describes it. */
struct host_virtio {
	uint64_t base;			/* its registers' physical address */
	volatile uint8_t *regs;
	uint32_t irq_parent;		/* the phandle of its interrupt controller, or 0 */
	uint32_t irq_source;		/* its source there, or 0: no interrupt */
	uint8_t status;			/* the status bits the driver has set (2.1) */
};

/*
 * Finds the next "virtio,mmio" node after `node` (-1: from the first)
 * whose device has id `device_id` and speaks version 2, and fills *dev.
 * Returns the node, or a negative number once there is none. Empty slots
 * (device id 0) and other devices are passed over; a legacy device is
 * logged and passed over.
 */
int host_virtio_probe_next(const void *fdt, int node, uint32_t device_id,
			   struct host_virtio *dev);

/* Resets the device and sets ACKNOWLEDGE and DRIVER (3.1.1 steps 1-3). */
void host_virtio_begin_init(struct host_virtio *dev);

/*
 * Feature negotiation (3.1.1 steps 4-6): accepts the features the device
 * offers among `wanted`, plus VIRTIO_F_VERSION_1, which the device must
 * offer; sets FEATURES_OK and checks the device kept it. Returns false if
 * the device refused; else *negotiated is what both sides use.
 */
bool host_virtio_negotiate(struct host_virtio *dev, uint64_t wanted, uint64_t *negotiated);

/* Hands queue `index` the rings of q (4.2.3.2). Returns false if the
 * queue is in use already or smaller than q. */
bool host_virtio_setup_queue(struct host_virtio *dev, unsigned index, const struct host_vq *q);

/* Sets DRIVER_OK: the device is live (3.1.1 step 8). */
void host_virtio_driver_ok(struct host_virtio *dev);

/* Tells the device that queue `index` has new buffers (4.2.3.3). */
void host_virtio_notify(struct host_virtio *dev, unsigned index);

/* Reads and acknowledges the device's interrupt status (4.2.3.4): bit 0
 * a used buffer, bit 1 a configuration change. Returns what it read. */
uint32_t host_virtio_ack_interrupt(struct host_virtio *dev);

/* Device-specific configuration fields at byte `offset` of the
 * configuration space (4.2.2); 64-bit fields read consistently (2.5.1). */
uint32_t host_virtio_config32(const struct host_virtio *dev, unsigned offset);
uint64_t host_virtio_config64(const struct host_virtio *dev, unsigned offset);

#endif
