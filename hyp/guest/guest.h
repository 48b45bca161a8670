/*
 * The machine each guest sees, assembled from core's VM and the devices:
 * its guest-physical map, its interrupt controller, its disk
 * (docs/guest-platform.md). This layer is the only one that names every
 * device; the devices name only core and what lies below it.
 */
#ifndef DISCV_GUEST_H
#define DISCV_GUEST_H

#include <stdbool.h>
#include <stdint.h>
#include "core/vm.h"
#include "vdisk/vblk.h"
#include "vnet/vnet.h"
#include "balloon/vballoon.h"
#include "vplic/vplic_dev.h"

/* The guest-physical memory map (docs/guest-platform.md). */
#define GUEST_PLIC_BASE 0x0c000000UL
#define GUEST_VIRTIO_BASE 0x10001000UL	/* slot k at + 0x1000 * k, irq k + 1 */
#define GUEST_KERNEL_OFFSET 0x200000UL	/* Linux RISC-V boot protocol: RAM + 2 MiB */
#define GUEST_DISK_IRQ 1		/* the disk's vPLIC source (virtio slot 0) */
#define GUEST_NET_BASE (GUEST_VIRTIO_BASE + 0x1000)	/* virtio slot 1 */
#define GUEST_NET_IRQ 2			/* the network device's vPLIC source */
#define GUEST_BALLOON_BASE (GUEST_VIRTIO_BASE + 0x2000)	/* virtio slot 2 */
#define GUEST_BALLOON_IRQ 3		/* the balloon's vPLIC source */

struct hyp_config;
struct host_memory;

/* A guest: core's VM (vms[id]) and the devices it has. */
struct guest {
	struct vm *vm;
	struct vplic_dev plic;
	bool has_disk;
	struct vblk disk;		/* virtio-blk over the base disk + its delta */
	bool has_net;
	struct vnet net;		/* virtio-net, a port on the switch */
	bool has_balloon;
	struct vballoon balloon;	/* virtio-balloon (BALLOON=1) */
};

extern struct guest guests[MAX_VMS];

static inline struct guest *guest_of(const struct vm *vm)
{
	return &guests[vm->id];
}

/* Creates and boots the configured guests. disk_maps: if not NULL,
 * cfg->guests * disk_map_bytes of contiguous memory for the guests' delta
 * maps: each guest gets a virtio-blk disk. Returns false (having printed
 * why) if one could not be created. */
bool guests_create(const struct hyp_config *cfg, struct host_memory *host, uint8_t *disk_maps,
		   uint64_t disk_map_bytes);

/* Sets guest K's balloon target (the monitor's `balloon K MIB`); false
 * if it has no balloon. */
bool guests_set_balloon(struct vm *vm, uint32_t pages);

/* Host disk bytes read for every guest's disk, and whether any has one
 * (hvstat's total line). */
bool guests_disk_host_read_bytes(uint64_t *bytes);

#endif
