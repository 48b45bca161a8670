#include <string.h>
#include "host/console.h"
#include "mem/host_pages.h"
#include "host/virtio_blk.h"
#include "vdisk/vdisk.h"

#define BASE_SERIAL "discv-base"
#define DELTA_SERIAL "discv-delta"

uint64_t vdisk_map_bytes(void)
{
	struct host_blk *base = host_blk_find(BASE_SERIAL);

	if (!base)
		return 0;
	return overlay_map_bytes(host_blk_capacity_bytes(base) / VDISK_BLOCK);
}

uint64_t vdisk_base_blocks(void)
{
	struct host_blk *base = host_blk_find(BASE_SERIAL);

	return base ? host_blk_capacity_bytes(base) / VDISK_BLOCK : 0;
}

static uint64_t region_blocks(const struct vdisk *d)
{
	(void)d;
	return VDISK_REGION_BYTES / VDISK_BLOCK;
}

/* Region block b of this guest's delta, as a byte offset on the delta disk. */
static uint64_t delta_offset(const struct vdisk *d, uint64_t b)
{
	return (d->region_first + b) * VDISK_BLOCK;
}

/* Writes every dirty piece of the overlay, in the order overlay.h gives,
 * at most *budget map blocks at a time (see vdisk_flush_some); always
 * ends with a host flush (the guest's in-place overwrites). */
int vdisk_flush_some(struct vdisk *d, unsigned *budget)
{
	uint64_t map_block, where;
	const void *bytes;

	if (!d->flush_from && !overlay_needs_commit(&d->overlay))
		return host_blk_flush(d->delta) ? 1 : -1;
	for (uint64_t from = d->flush_from;
	     overlay_next_dirty_map_block(&d->overlay, from, &map_block, &where, &bytes);
	     from = map_block + 1) {
		if (!*budget) {
			d->flush_from = map_block;	/* the rest in the next exit */
			return 0;
		}
		(*budget)--;
		memcpy(d->bounce, bytes, VDISK_BLOCK);
		if (!host_blk_write(d->delta, delta_offset(d, where), ptr_to_pa(d->bounce),
				    VDISK_BLOCK)) {
			d->flush_from = 0;
			return -1;
		}
	}
	d->flush_from = 0;
	if (!host_blk_flush(d->delta))	/* data and map before the header naming them */
		return -1;
	overlay_commit_header(&d->overlay, d->bounce, &where);
	if (!host_blk_write(d->delta, delta_offset(d, where), ptr_to_pa(d->bounce), VDISK_BLOCK) ||
	    !host_blk_flush(d->delta))
		return -1;
	overlay_committed(&d->overlay);
	return 1;
}

static bool write_metadata(struct vdisk *d)
{
	unsigned unbounded = ~0U;

	d->flush_from = 0;
	return vdisk_flush_some(d, &unbounded) == 1;
}

/* The refusal every damaged delta gets: the run says which guest (the
 * caller prefixes its name), why, and how to get going again. */
#define REFUSED "refusing to start it rather than format its disk anew (the delta is kept " \
	"as it is); to discard every guest's delta and start again from the base disk: make reset-disks"

bool vdisk_open(struct vdisk *d, unsigned index, uint8_t *map, uint8_t *bounce,
		const char **why)
{
	int err, copy_err[OVERLAY_COPIES];

	memset(d, 0, sizeof(*d));
	d->base = host_blk_find(BASE_SERIAL);
	d->delta = host_blk_find(DELTA_SERIAL);
	d->bounce = bounce;
	if (!d->base || !d->delta) {
		*why = "no host disk with serial " BASE_SERIAL " and " DELTA_SERIAL;
		return false;
	}
	if (host_blk_read_only(d->delta)) {
		*why = "the delta disk is read-only";
		return false;
	}
	d->base_blocks = host_blk_capacity_bytes(d->base) / VDISK_BLOCK;
	d->region_first = (uint64_t)index * region_blocks(d);
	if (host_blk_capacity_bytes(d->delta) < (uint64_t)(index + 1) * VDISK_REGION_BYTES) {
		*why = "the delta disk has no region for it (1 GiB per guest)";
		return false;
	}

	/* Both header copies: copy 0 read into the map's storage (it is
	 * overwritten only once overlay_load is done with it). */
	if (!host_blk_read(d->delta, delta_offset(d, 0), ptr_to_pa(map), VDISK_BLOCK) ||
	    !host_blk_read(d->delta, delta_offset(d, region_blocks(d) - 1), ptr_to_pa(bounce),
			   VDISK_BLOCK)) {
		*why = "cannot read its delta's headers from the delta disk";
		return false;
	}
	err = overlay_load(&d->overlay, map, map, bounce, region_blocks(d), d->base_blocks, copy_err);
	if (err == OVERLAY_E_EMPTY) {
		/* Never written: a fresh, empty delta, written out at once. */
		if (overlay_format(&d->overlay, map, region_blocks(d), d->base_blocks) != OVERLAY_OK) {
			*why = "the delta disk is too small for the base disk";
			return false;
		}
		if (!write_metadata(d)) {
			*why = "cannot write the delta disk";
			return false;
		}
		return true;
	}
	if (err != OVERLAY_OK) {
		log_info("guest%u: its delta's headers: copy 0 %s, copy 1 %s", index,
			 overlay_error_name(copy_err[0]), overlay_error_name(copy_err[1]));
		*why = err == OVERLAY_E_DAMAGED ? "its delta (its disk) is damaged: both header copies "
						  "are invalid; " REFUSED
						: "the delta disk is too small for the base disk";
		return false;
	}
	for (int c = 0; c < OVERLAY_COPIES; c++)
		if (copy_err[c] != OVERLAY_OK && copy_err[c] != OVERLAY_E_EMPTY)
			log_info("guest%u: its delta's header copy %d is damaged (%s): using copy %d "
				 "(generation %lu), and rewriting copy %d", index, c,
				 overlay_error_name(copy_err[c]), 1 - c,
				 (unsigned long)d->overlay.generation, c);
	for (uint64_t m = 0; m < d->overlay.map_blocks; m++) {
		if (!host_blk_read(d->delta, delta_offset(d, overlay_map_block_location(&d->overlay, m)),
				   ptr_to_pa(bounce), VDISK_BLOCK)) {
			*why = "cannot read its delta's map from the delta disk";
			return false;
		}
		memcpy(map + m * VDISK_BLOCK, bounce, VDISK_BLOCK);
	}
	err = overlay_check_map(&d->overlay);
	if (err != OVERLAY_OK) {
		log_info("guest%u: its delta's map (generation %lu): %s", index,
			 (unsigned long)d->overlay.generation, overlay_error_name(err));
		*why = "its delta (its disk) is damaged: a map entry points outside its data; " REFUSED;
		return false;
	}
	/* A damaged copy (or a next_free behind the map) is repaired now, not
	 * at the guest's first FLUSH: until then one more tear would leave
	 * nothing to load. */
	if (d->overlay.header_dirty) {
		if (!write_metadata(d)) {
			*why = "cannot write the delta disk";
			return false;
		}
	}
	return true;
}

uint64_t vdisk_capacity_bytes(const struct vdisk *d)
{
	return d->base_blocks * VDISK_BLOCK;
}

bool vdisk_read_block(struct vdisk *d, uint64_t block, uint64_t pa)
{
	uint64_t delta_block;

	if (block >= d->base_blocks)
		return false;
	d->host_read_bytes += VDISK_BLOCK;
	if (overlay_lookup(&d->overlay, block, &delta_block))
		return host_blk_read(d->delta, delta_offset(d, delta_block), pa, VDISK_BLOCK);
	return host_blk_read(d->base, block * VDISK_BLOCK, pa, VDISK_BLOCK);
}

/* Data first, then its map entry (in memory now, on disk at the flush). */
bool vdisk_write_block(struct vdisk *d, uint64_t block, uint64_t pa)
{
	uint64_t delta_block;

	if (block >= d->base_blocks)
		return false;
	if (overlay_lookup(&d->overlay, block, &delta_block))
		return host_blk_write(d->delta, delta_offset(d, delta_block), pa, VDISK_BLOCK);
	if (overlay_allocate(&d->overlay, &delta_block) != OVERLAY_OK)
		return false;	/* the region is full */
	if (!host_blk_write(d->delta, delta_offset(d, delta_block), pa, VDISK_BLOCK))
		return false;	/* the block stays allocated, unused: leaked, never misread */
	d->flush_from = 0;	/* a FLUSH in progress writes the map again from its start */
	return overlay_publish(&d->overlay, block, delta_block) == OVERLAY_OK;
}

bool vdisk_flush(struct vdisk *d)
{
	return write_metadata(d);
}
