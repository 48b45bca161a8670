#include <string.h>
#include "console.h"
#include "host_pages.h"
#include "vdisk/host_blk.h"
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
	return host_blk_capacity_bytes(d->delta) / VDISK_BLOCK / VDISK_REGIONS;
}

/* Region block b of this guest's delta, as a byte offset on the delta disk. */
static uint64_t delta_offset(const struct vdisk *d, uint64_t b)
{
	return (d->region_first + b) * VDISK_BLOCK;
}

/* Writes every dirty piece of the overlay, in the order overlay.h gives. */
static bool write_metadata(struct vdisk *d)
{
	uint64_t map_block;
	const void *bytes;
	bool header_was_dirty = d->overlay.header_dirty;

	if (header_was_dirty) {
		overlay_header_bytes(&d->overlay, d->bounce);
		if (!host_blk_write(d->delta, delta_offset(d, 0), ptr_to_pa(d->bounce), VDISK_BLOCK))
			return false;
	}
	if (!overlay_next_dirty_map_block(&d->overlay, &map_block, &bytes)) {
		d->overlay.header_dirty = false;
		return host_blk_flush(d->delta);
	}
	if (!host_blk_flush(d->delta))	/* data and header before the map */
		return false;
	while (overlay_next_dirty_map_block(&d->overlay, &map_block, &bytes)) {
		memcpy(d->bounce, bytes, VDISK_BLOCK);
		if (!host_blk_write(d->delta, delta_offset(d, 1 + map_block), ptr_to_pa(d->bounce),
				    VDISK_BLOCK))
			return false;
		overlay_clear_dirty(&d->overlay, map_block);
	}
	d->overlay.header_dirty = false;
	return host_blk_flush(d->delta);
}

bool vdisk_open(struct vdisk *d, unsigned index, uint8_t *map, uint8_t *bounce,
		const char **why)
{
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

	/* A valid delta for this base in the region: take it up. */
	if (host_blk_read(d->delta, delta_offset(d, 0), ptr_to_pa(bounce), VDISK_BLOCK) &&
	    overlay_load(&d->overlay, map, bounce, region_blocks(d), d->base_blocks) == OVERLAY_OK) {
		bool ok = true;
		for (uint64_t m = 0; ok && m < d->overlay.map_blocks; m++) {
			ok = host_blk_read(d->delta, delta_offset(d, 1 + m), ptr_to_pa(bounce),
					   VDISK_BLOCK);
			memcpy(map + m * VDISK_BLOCK, bounce, VDISK_BLOCK);
		}
		if (ok && overlay_check_map(&d->overlay) == OVERLAY_OK)
			return true;
		log_info("guest %u: its delta's map is damaged: starting a fresh delta", index);
	}
	/* Otherwise a fresh, empty delta, written out at once. */
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
	return overlay_publish(&d->overlay, block, delta_block) == OVERLAY_OK;
}

bool vdisk_flush(struct vdisk *d)
{
	return write_metadata(d);
}
