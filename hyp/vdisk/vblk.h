/*
 * The guest's virtio-blk device (virtio 1.2 section 5.2) on discv's
 * virtio-mmio device core (virtio/virtio_mmio.h): one request queue,
 * requests served from the guest's vdisk (base + delta), base-disk reads
 * shared by mapping (hyp/share/). The transport, feature negotiation,
 * queue setup, reset and the completion protocol are the core's; this
 * device holds what is block-specific.
 */
#ifndef DISCV_VBLK_H
#define DISCV_VBLK_H

#include <stdbool.h>
#include <stdint.h>
#include "core/irq_line.h"
#include "vdisk/blk_request.h"
#include "vdisk/vdisk.h"
#include "virtio/virtio_mmio.h"

struct vm;

struct vblk {
	struct virtio_device virtio;	/* the transport; its lock guards all below */
	struct vdisk disk;
	/* The request being served, if one had to stop at the end of a
	 * serve's budget: the next QueueNotify (or its retry) goes on with it. */
	struct vblk_inflight {
		bool active;
		uint16_t head;
		struct blk_request req;
		int parse_status;	/* -1: serve it; else answer this status */
		unsigned seg;		/* segment and offset reached */
		uint32_t seg_off;
		uint64_t pos;		/* disk byte offset reached */
	} inflight;
	uint64_t requests;		/* completed */
};

/* Creates the VM's disk device, its registers at base, its interrupt on
 * the wire irq; map: the delta's map buffer (vdisk_open). */
bool vblk_init(struct vblk *b, struct vm *vm, uint64_t base, const struct irq_line *irq,
	       uint8_t *map, const char **why);

/* Resets the device for the VM's reboot (virtio_mmio_reset). The delta's
 * unflushed writes stay where they are (in memory, reaching the disk at
 * the next FLUSH), as with a driver's reset. */
void vblk_reset(struct vblk *b);

struct counters;
/* The disk's hvstat fields (dev: the struct vblk). */
void vblk_counters(const void *dev, struct counters *c);

#endif
