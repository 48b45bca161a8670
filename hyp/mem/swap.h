/*
 * Swap space: the pager's slots on a host disk of their own (QEMU's
 * virtio disk with serial discv-swap, sized by `SWAP=`), one 4 KiB guest
 * page per slot.
 *
 * Slots are handed out in runs (a "cluster"): the pager writes the pages
 * of one run with one request, through a contiguous bounce buffer, and
 * takes them in a VM's guest-physical order, so pages that were
 * neighbours in the guest are neighbours on the disk too (VSwapper's
 * "decayed sequentiality" is kept small). A slot is freed when its page
 * comes back, or when the guest throws the page away without reading it
 * (a balloon inflate, a free page report, a DMA read over the whole
 * page: the double-paging cases, core/guest_memory.c).
 *
 * Every slot keeps a 32-bit hash of what was written to it (the low half
 * of its page_hash: 4 bytes per 4 KiB slot), and a read whose page does
 * not hash the same fails (hvstat swap_checksum_errors):
 * a page that comes back wrong - a bad disk, or a slot that a bug let
 * two pages share - stops its VM with a swap error instead of giving the
 * guest another page's bytes.
 *
 * Pure code: the disk is two callbacks (main.c wires the host disk
 * driver; the unit tests an array), the bitmap and the hashes are plain
 * words.
 */
#ifndef DISCV_SWAP_H
#define DISCV_SWAP_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/spinlock.h"

#define SWAP_CLUSTER 16		/* pages per clustered write (64 KiB) */
#define SWAP_NO_SLOT UINT64_MAX

/* The disk: whole pages at slot * 4 KiB, to or from a contiguous buffer
 * at host address pa. True on success. */
struct swap_disk_ops {
	bool (*read)(void *ctx, uint64_t slot, uint64_t pa, unsigned pages);
	bool (*write)(void *ctx, uint64_t slot, uint64_t pa, unsigned pages);
	void *ctx;
};

struct swap_space {
	struct spinlock lock;		/* the bitmap and counters below */
	uint64_t *bitmap;		/* one bit per slot, 1 = in use */
	uint32_t *hash;			/* per slot: what was written, page_hash's low half */
	uint64_t nslots, used, cursor;	/* cursor: where the next search starts */
	struct swap_disk_ops disk;
	uint8_t *bounce;		/* SWAP_CLUSTER pages, contiguous */
	struct spinlock bounce_lock;	/* one clustered write at a time */
	/* counters (hvstat) */
	uint64_t read_bytes, write_bytes, full;	/* full: allocations refused */
	uint64_t io_errors, checksum_errors;
};

/* Bytes of bitmap, and of hashes, for a disk of `bytes` (whole pages). */
uint64_t swap_bitmap_bytes(uint64_t bytes);
uint64_t swap_hash_bytes(uint64_t bytes);

/* Sets swap up over a disk of `bytes` (0: no swap: every allocation
 * fails). bitmap: swap_bitmap_bytes(bytes), hash: swap_hash_bytes(bytes),
 * any contents; bounce: SWAP_CLUSTER contiguous pages. */
void swap_init(struct swap_space *s, uint64_t bytes, uint64_t *bitmap, uint32_t *hash,
	       uint8_t *bounce, const struct swap_disk_ops *disk);

/* Up to `want` (1..SWAP_CLUSTER) consecutive free slots: the first free
 * slot from the cursor on (wrapping) and the free ones right after it.
 * Returns how many were taken, *first the first; 0 if swap is full. */
unsigned swap_alloc(struct swap_space *s, unsigned want, uint64_t *first);

/* Frees one slot. False (and nothing changes) if it was not in use. */
bool swap_free(struct swap_space *s, uint64_t slot);

bool swap_in_use(struct swap_space *s, uint64_t slot);

/* Writes n pages (host addresses pa[0..n-1], each one page) to slots
 * first..first+n-1 with one request, through the bounce buffer. */
bool swap_write(struct swap_space *s, uint64_t first, const uint64_t *pa, unsigned n);

/* Reads slot into the page at pa. False if the disk failed, or if the
 * page read is not the page written (its hash differs). */
bool swap_read(struct swap_space *s, uint64_t slot, uint64_t pa);

/* The one swap space of the machine (main.c sets it up; the pager and
 * guest memory use it). */
extern struct swap_space swap_space;

struct counters;
/* swap_slots, swap_slots_used, swap_read_bytes, swap_write_bytes, ... */
void swap_counters(struct swap_space *s, struct counters *c);

#endif
