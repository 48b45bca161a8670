/*
 * The guest's virtio-balloon device (virtio 1.2 section 5.5; ESX's
 * balloon, Waldspurger OSDI 2002 section 3.2), for Linux 6.1's stock
 * driver, on discv's virtio-mmio device core.
 *
 * The hypervisor sets a target (num_pages, in 4 KiB pages); the guest's
 * driver allocates that many pages from its own allocator - choosing,
 * with its own knowledge, what it can best do without - and hands their
 * numbers to the inflate queue. The device unmaps each, fences, frees the
 * host pages, and only then acknowledges (MUST_TELL_HOST). Deflate hands
 * numbers back: the pages are the guest's again, and the next touch of
 * each is a first touch (a zeroed page). Free page reporting (REPORTING)
 * hands over ranges the guest's allocator holds free, which the device
 * unmaps the same way before acknowledging; the guest may use them again
 * at any time after. The statistics queue (STATS_VQ) brings the guest's
 * own figures, shown in hvstat.
 *
 * Queue numbers (5.5.2): inflate 0, deflate 1, then statistics and
 * reporting take the next numbers only if negotiated - Linux's
 * virtio-mmio gives an absent queue no index, so with STATS_VQ and
 * REPORTING (and no FREE_PAGE_HINT, which discv does not offer)
 * reporting is queue 3, without STATS_VQ it is queue 2.
 */
#ifndef DISCV_VBALLOON_H
#define DISCV_VBALLOON_H

#include <stdbool.h>
#include <stdint.h>
#include "balloon/balloon_parse.h"
#include "core/irq_line.h"
#include "virtio/virtio_mmio.h"

struct vm;

#define VBALLOON_BITMAP_PAGES 16	/* 16 pages of bits: 8 GiB of guest RAM */

struct vballoon {
	struct virtio_device virtio;	/* the transport; its lock guards all below */
	struct virtio_device_ops ops;	/* vballoon.c's, with this device's features */
	uint32_t target_pages;		/* num_pages: what the device asks for */
	uint32_t actual_pages;		/* actual: what the driver says it holds */
	uint64_t *ballooned[VBALLOON_BITMAP_PAGES];	/* a bit per guest page in the balloon */
	uint64_t pages;			/* bits set */
	bool stats_held;		/* the driver's statistics buffer, kept until we want more */
	uint16_t stats_head;
	uint64_t stats_asked;		/* time of the last request for fresh statistics */
	struct balloon_stats stats;
	/* counters (hvstat) */
	uint64_t inflated, deflated;	/* pages the driver gave, took back */
	uint64_t reported_pages;	/* free pages reported (and unmapped) */
	uint64_t pages_freed;		/* host pages those unmaps gave back (or dropped shares) */
	uint64_t bad_pfns;		/* numbers outside RAM or of the device's own pages: ignored */
	uint64_t repeated_pfns;		/* inflates of a page in the balloon already: ignored */
	uint64_t deflate_unknown;	/* deflates of a page not in the balloon: ignored */
	uint64_t stats_updates;
};

/* Creates the VM's balloon, its registers at base, its interrupt on irq,
 * offering DEFLATE_ON_OOM if asked (BALLOON_OOM=1). Bitmap pages come
 * from the VM's home node. */
bool vballoon_init(struct vballoon *b, struct vm *vm, uint64_t base, const struct irq_line *irq,
		   bool deflate_on_oom, const char **why);

/* Back to power-on for the VM's reboot: the balloon is empty (its pages
 * are the new guest's RAM again: all of it was unmapped by the reboot),
 * the target stays. */
void vballoon_reset(struct vballoon *b);

/* Sets the target (the monitor's `balloon K MIB`, the policy): a
 * configuration change the driver acts on. */
void vballoon_set_target(struct vballoon *b, uint32_t pages);

/* Asks the driver for fresh statistics if the last are over a second
 * old (the memory policy's tick; they arrive when the driver answers). */
void vballoon_refresh_stats(struct vballoon *b);

/* The guest's available memory (its statistic 6, MemAvailable), in
 * pages, as last reported; false if it never reported it. */
bool vballoon_available_pages(struct vballoon *b, uint64_t *pages);

struct counters;
/* The balloon's hvstat fields (dev: the struct vballoon). */
void vballoon_counters(const void *dev, struct counters *c);

#endif
