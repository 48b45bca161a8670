/*
 * The guest's virtio-blk device on the virtio-mmio transport, version 2
 * (virtio 1.2 sections 4.2 and 5.2): registers emulated by trapping, one
 * request queue, requests served from the guest's vdisk (base + delta).
 */
#ifndef DISCV_VBLK_H
#define DISCV_VBLK_H

#include <stdbool.h>
#include <stdint.h>
#include "core/irq_line.h"
#include "lib/spinlock.h"
#include "core/guest_memory.h"
#include "vdisk/blk_request.h"
#include "vdisk/vdisk.h"
#include "virtio/virtq.h"

struct vm;

struct vblk {
	struct spinlock lock;
	struct vm *vm;
	struct irq_line irq;		/* its interrupt wire */
	struct vdisk disk;
	/* transport state (4.2.2) */
	uint32_t status;
	uint32_t device_features_sel, driver_features_sel;
	uint64_t driver_features;
	uint32_t queue_sel;
	uint32_t interrupt_status;
	struct virtq vq;
	unsigned resets;		/* driver resets so far: work from before one is dropped */
	/* The request being served, if one had to stop at the end of an
	 * exit's budget: the next QueueNotify (or its retry) goes on with it. */
	struct vblk_inflight {
		bool active;
		uint16_t head;
		struct blk_request req;
		int parse_status;	/* -1: serve it; else answer this status */
		unsigned seg;		/* segment and offset reached */
		uint32_t seg_off;
		uint64_t pos;		/* disk byte offset reached */
	} inflight;
	int serving;			/* a hart is serving the queue (atomic) */
	int notify_pending;		/* a QueueNotify not yet served (atomic) */
	/* counters (hvstat) */
	uint64_t requests, errors;
	uint64_t budget_yields;		/* exits that stopped at their budget, work left */
};

/* Creates the VM's disk device, its registers at base, its interrupt on
 * the wire irq. */
bool vblk_init(struct vblk *b, struct vm *vm, uint64_t base, const struct irq_line *irq,
	       uint8_t *map, const char **why);

struct counters;
/* The disk's hvstat fields (dev: the struct vblk). */
void vblk_counters(const void *dev, struct counters *c);

/* Resets the device as a driver's write of 0 to Status does (virtio 1.2,
 * 4.2.2.1 and 2.4): status, features, queue and interrupt status cleared,
 * its interrupt line lowered. For the VM's reboot, so that the new guest
 * meets a device in its reset state whatever the old one left. The
 * delta's unflushed writes stay where they are (in memory, reaching the
 * disk at the next FLUSH), as with a driver's reset. Takes the device's
 * lock; no vCPU of the VM may be in the device (a reboot: none loaded). */
void vblk_reset(struct vblk *b);

#endif
