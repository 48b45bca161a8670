/*
 * A guest's disk: the shared read-only base disk seen through the guest's
 * private delta (overlay.c), block by block (4 KiB = one guest page).
 *
 * Reads come from the delta where the guest has written the block, else
 * from the base; writes go only to the delta, in the guest's region of the
 * delta host disk: region k = the k-th GiB of that disk (a sparse file:
 * what a guest never wrote costs nothing; 64 regions once, 256 now, at
 * the same offsets, so older delta files stay readable). The
 * base is never written. The delta survives guest reboots and later runs;
 * `make reset-disks` deletes it.
 */
#ifndef DISCV_VDISK_H
#define DISCV_VDISK_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/spinlock.h"
#include "vdisk/overlay.h"

#define VDISK_BLOCK 4096
#define VDISK_REGION_BYTES (1ULL << 30)	/* each guest's part of the delta disk */

struct host_blk;

struct vdisk {
	struct spinlock lock;		/* one request at a time per guest disk */
	struct host_blk *base, *delta;
	uint64_t base_blocks;
	uint64_t region_first;		/* the region's first block on the delta disk */
	struct overlay overlay;
	uint8_t *bounce;		/* one page for read-modify-write and metadata */
	uint64_t flush_from;		/* a FLUSH in progress: the next map block to write */
	/* counters (hvstat) */
	uint64_t read_bytes, write_bytes, host_read_bytes;
};

/* Bytes of map storage a guest's delta needs over the base disk (the
 * caller sets it aside at boot, since it must be contiguous). 0 if there
 * is no base disk. */
uint64_t vdisk_map_bytes(void);

/* Blocks of the base disk, 0 if there is none. */
uint64_t vdisk_base_blocks(void);

/* Opens guest `index`'s disk: its delta region is loaded (from the newer
 * valid header copy, a damaged copy rewritten), or formatted (and written)
 * only if the region was never written (all zero). A region that holds
 * something else - both header copies torn or damaged, a map entry out of
 * range, a delta for another base - is refused: false, with *why saying
 * so and how to recover (the delta is left as it is). map is
 * vdisk_map_bytes() of storage; bounce one page. */
bool vdisk_open(struct vdisk *d, unsigned index, uint8_t *map, uint8_t *bounce,
		const char **why);

uint64_t vdisk_capacity_bytes(const struct vdisk *d);

/* One whole block to or from the host-physical page at pa. */
bool vdisk_read_block(struct vdisk *d, uint64_t block, uint64_t pa);
bool vdisk_write_block(struct vdisk *d, uint64_t block, uint64_t pa);

/* Makes every write so far durable (overlay.h gives the order). */
bool vdisk_flush(struct vdisk *d);

/*
 * The same, at most *budget map-block writes at a time (each one
 * decrements it): a FLUSH after many scattered writes dirties thousands
 * of map blocks, more than one exit may take. Returns 1 when durable, 0
 * if the budget ran out first (call again: it goes on where it stopped),
 * -1 on a host disk error. A write to the disk in between starts the
 * map over (its map block may have changed again).
 */
int vdisk_flush_some(struct vdisk *d, unsigned *budget);

#endif
