#include <stddef.h>
#include <string.h>
#include "core/guest_memory.h"
#include "core/vm.h"
#include "lib/counters.h"
#include "lib/format.h"
#include "mem/swap.h"
#include "share/share.h"
#include "vdisk/blk_request.h"
#include "vdisk/vblk.h"
#include "virtio/guest_mem.h"

/* Features offered (5.2.3; VERSION_1 is the core's). No indirect
 * descriptors, no event index: virtq.h says why. */
#define DEVICE_FEATURES (VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH)

#define SEG_MAX (VIRTQ_MAX_CHAIN - 2)	/* + header + status */

/* virtio-blk configuration space (5.2.4), the fields discv fills. */
struct blk_config {
	uint64_t capacity;	/* 512-byte sectors */
	uint32_t size_max;
	uint32_t seg_max;
	uint32_t geometry;
	uint32_t blk_size;
} __attribute__((packed));

/*
 * How much one serve may do. A guest can queue 256 requests of a
 * megabyte or more each; served in one exit, that is seconds with the
 * device lock held and the hart taken from every other guest. At the
 * budget the device core sends the notifying vCPU back to its guest, which
 * executes its QueueNotify store again and so comes back for the rest
 * (virtio/virtio_mmio.h).
 */
#define BUDGET_BLOCKS 256	/* 4 KiB disk blocks moved per exit (1 MiB) */
#define BUDGET_REQUESTS 32	/* requests completed per exit: one fence for all */

struct budget {
	unsigned blocks, requests;
};

static struct vblk *vblk_of(struct virtio_device *d)
{
	return (struct vblk *)((char *)d - offsetof(struct vblk, virtio));
}

/*
 * A read of a base-disk block (not in the guest's delta) with sharing on
 * (hyp/share/): a whole, page-aligned guest page gets the block's shared
 * host page mapped read-only, instead of a copy; anything less is copied
 * out of that page, which then serves as the block cache. A private page
 * the mapping replaced is retired (freed after the fence).
 */
static bool read_shared(struct vblk *b, uint64_t block, uint64_t in_block, uint64_t gpa,
			uint64_t n, struct retired_pages *retired)
{
	unsigned node = b->virtio.vm->home_node;
	uint64_t pa = share_base_block(b->disk.base, &b->disk.host_read_bytes, block, node,
				       (uint16_t)b->virtio.vm->id);
	bool ok;

	if (!pa)
		return false;
	if (in_block == 0 && n == VDISK_BLOCK && (gpa & ~PAGE_MASK) == 0)
		ok = guest_memory_map_shared(b->virtio.vm, gpa, pa, retired);
	else
		ok = guest_copy_to(b->virtio.vm, gpa, (char *)pa_to_ptr(pa) + in_block, n);
	share_put_base_block(block, node);	/* mapped or copied: no longer pinned */
	return ok;
}

/*
 * Moves the bytes of the in-flight read or write between the disk and the
 * guest's buffers, block by block through the bounce page: each 4 KiB
 * disk block is read (or read, modified and written) whole. Goes on from
 * where an earlier exit stopped. Returns false if the budget ran out
 * first (the request stays in flight), true when the request is done,
 * with its virtio status in *status.
 */
static bool do_io(struct vblk *b, struct budget *budget, struct retired_pages *retired,
		  uint8_t *status)
{
	struct vblk_inflight *f = &b->inflight;
	const struct blk_request *r = &f->req;
	struct vdisk *d = &b->disk;
	bool write = r->type == VIRTIO_BLK_T_OUT;
	uint64_t bounce = ptr_to_pa(d->bounce), unused;

	*status = VIRTIO_BLK_S_OK;
	while (f->seg < r->nsegs) {
		if (!budget->blocks)
			return false;
		budget->blocks--;
		if (retired_full(retired)) {
			virtio_mmio_fence(&b->virtio, retired);
			if (virtio_mmio_was_reset(&b->virtio, 0))
				return true;	/* reset meanwhile: nothing left to do */
		}
		uint64_t block = f->pos / VDISK_BLOCK, in_block = f->pos % VDISK_BLOCK;
		uint64_t n = VDISK_BLOCK - in_block;
		if (n > r->seg[f->seg].len - f->seg_off)
			n = r->seg[f->seg].len - f->seg_off;
		bool whole = in_block == 0 && n == VDISK_BLOCK;
		uint64_t gpa = r->seg[f->seg].gpa + f->seg_off, slot;
		bool page = whole && (gpa & ~PAGE_MASK) == 0, ok;
		struct vm *vm = b->virtio.vm;
		if (write && page && guest_memory_swapped_slot(vm, gpa, &slot)) {
			/* No double paging: the page the guest writes out is in
			 * the pager's swap; it goes from the slot to the delta,
			 * never back into guest RAM (docs/overcommit.md). */
			ok = swap_read(&swap_space, slot, bounce);
			guest_memory_swapped_done(vm, gpa, slot);
			ok = ok && vdisk_write_block(d, block, bounce);
			d->write_bytes += n;
			vm->double_paging_avoided++;
			goto next;
		}
		if (write && guest_memory_is_swapped(vm, gpa))
			vm->double_paging_reads++;	/* part of a page: read back */
		/* Overwritten whole: a swapped copy is stale, dropped unread
		 * (counted). Before the read, which may still fail: the page is
		 * then zeroes, not its old bytes - which the guest may not rely
		 * on, since it gave the buffer to the device to write and an
		 * IOERR reports 1 byte written (virtio 1.2 2.7.8.2: no
		 * assumption about device-writable data past the used length),
		 * as a real disk's partial DMA leaves its buffer. */
		if (!write && page)
			guest_memory_drop_swapped(vm, gpa);
		if (!write && share_enabled() && !overlay_lookup(&d->overlay, block, &unused)) {
			ok = read_shared(b, block, in_block, gpa, n, retired);
			d->read_bytes += n;
		} else if ((!write || !whole) && !vdisk_read_block(d, block, bounce)) {
			ok = false;
		} else if (write) {
			ok = guest_copy_from(b->virtio.vm, d->bounce + in_block, gpa, n) &&
			     vdisk_write_block(d, block, bounce);
			d->write_bytes += n;
		} else {
			ok = guest_copy_to(b->virtio.vm, gpa, d->bounce + in_block, n);
			d->read_bytes += n;
		}
	next:
		if (!ok) {
			*status = VIRTIO_BLK_S_IOERR;
			return true;
		}
		f->pos += n;
		f->seg_off += (uint32_t)n;
		if (f->seg_off == r->seg[f->seg].len) {
			f->seg++;
			f->seg_off = 0;
		}
	}
	return true;
}

/* Serves the in-flight request as far as the budget goes; true when it
 * is done, with its status. */
static bool execute(struct vblk *b, struct budget *budget, struct retired_pages *retired,
		    uint8_t *status)
{
	const struct blk_request *r = &b->inflight.req;
	char id[VIRTIO_BLK_ID_BYTES + 1];

	if (b->inflight.parse_status >= 0) {
		*status = (uint8_t)b->inflight.parse_status;	/* answered unread */
		return true;
	}
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		return do_io(b, budget, retired, status);
	case VIRTIO_BLK_T_FLUSH: {
		int done = vdisk_flush_some(&b->disk, &budget->blocks);
		if (!done)
			return false;	/* more map blocks in the next exit */
		*status = done > 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
		return true;
	}
	case VIRTIO_BLK_T_GET_ID:
		memset(id, 0, sizeof(id));
		format(id, sizeof(id), "discv-%s", b->virtio.vm->name);
		*status = guest_copy_to(b->virtio.vm, r->seg[0].gpa, id,
					r->seg[0].len < VIRTIO_BLK_ID_BYTES ? r->seg[0].len
									    : VIRTIO_BLK_ID_BYTES)
				  ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
		return true;
	default:
		*status = VIRTIO_BLK_S_UNSUPP;
		return true;
	}
}

/* The request could not be parsed or its chain broke the protocol:
 * the device needs a reset (2.1.2), and the request is dropped. */
static void needs_reset(struct vblk *b, const char *why)
{
	virtio_mmio_needs_reset(&b->virtio, why);
	b->inflight.active = false;
}

/*
 * Takes the next available request into b->inflight. Returns 1 if there
 * is one (a request that can only be answered with IOERR or UNSUPP
 * included), 0 if the queue is empty, -1 if the driver broke the protocol
 * (the device then needs a reset).
 */
static int start_next(struct vblk *b, const struct guest_mem_ops *mem)
{
	struct virtq_chain chain;
	int got = virtq_pop(&b->virtio.queue[0].vq, mem, &chain);

	if (got < 0) {
		needs_reset(b, virtq_error_name(got));
		return -1;
	}
	if (got == 0)
		return 0;
	struct vblk_inflight *f = &b->inflight;
	f->head = chain.head;
	f->seg = 0;
	f->seg_off = 0;
	switch (blk_request_parse(&chain, mem, vdisk_capacity_bytes(&b->disk) / 512, &f->req)) {
	case BLK_REQ_OK: f->parse_status = -1; break;
	case BLK_REQ_IOERR: f->parse_status = VIRTIO_BLK_S_IOERR; break;
	case BLK_REQ_UNSUPP: f->parse_status = VIRTIO_BLK_S_UNSUPP; break;
	default:
		needs_reset(b, "malformed request (no header or status byte)");
		return -1;
	}
	f->pos = f->req.sector * 512;
	f->active = true;
	return 1;
}

/*
 * The request queue's serve (struct virtio_device_ops): requests until
 * the queue is empty or the budget is spent, then their completions
 * together (virtio_mmio_complete: fence, used ring, fence, interrupt).
 * True if work is left.
 */
static bool serve_requests(struct virtio_device *d, unsigned q)
{
	struct vblk *b = vblk_of(d);
	const struct guest_mem_ops mem = virtio_guest_memory(d->vm);
	struct budget budget = { BUDGET_BLOCKS, BUDGET_REQUESTS };
	struct retired_pages retired;
	struct virtio_used done[BUDGET_REQUESTS];
	unsigned n = 0;
	bool more = false;

	retired_init(&retired);
	while (d->queue[q].vq.ready && virtio_mmio_usable(d)) {
		uint8_t status;
		if (n == BUDGET_REQUESTS || !budget.blocks) {
			more = true;
			break;
		}
		if (!b->inflight.active && start_next(b, &mem) <= 0)
			break;
		if (!execute(b, &budget, &retired, &status)) {
			more = true;	/* the request goes on in the next serve */
			break;
		}
		if (virtio_mmio_was_reset(d, q))
			break;
		struct blk_request *r = &b->inflight.req;
		b->inflight.active = false;
		b->requests++;
		blk_request_write_status(r, &mem, status);
		done[n].head = b->inflight.head;
		done[n].len = blk_request_written_len(r, status);
		n++;
	}
	return virtio_mmio_complete(d, q, done, n, &retired) && more;
}

static uint32_t config_read(struct virtio_device *d, uint64_t off, unsigned width)
{
	struct blk_config c = {
		.capacity = vdisk_capacity_bytes(&vblk_of(d)->disk) / 512,
		.seg_max = SEG_MAX,
		.blk_size = VDISK_BLOCK,
	};
	uint32_t v = 0;

	if (off + width <= sizeof(c))
		memcpy(&v, (const char *)&c + off, width);
	return v;
}

/* The device's own reset (the transport's is the core's): a request
 * being served is dropped; its server sees the reset and stops. */
static void reset(struct virtio_device *d)
{
	vblk_of(d)->inflight.active = false;
}

static const struct virtio_device_ops vblk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.features = DEVICE_FEATURES,
	.nqueues = 1,			/* 5.2.2: requestq */
	.queue_num_max = 256,		/* plenty: Linux keeps 64-entry chains */
	.config_read = config_read,
	.config_write = NULL,		/* read-only for virtio-blk */
	.queue_serve = serve_requests,
	.reset = reset,
};

bool vblk_init(struct vblk *b, struct vm *vm, uint64_t base, const struct irq_line *irq,
	       uint8_t *map, const char **why)
{
	uint64_t bounce = host_page_alloc(vm->host, vm->home_node, PAGE_HYPERVISOR,
					  (uint16_t)vm->id, 0);

	memset(b, 0, sizeof(*b));
	if (!bounce) {
		*why = "no memory for the disk's buffer";
		return false;
	}
	if (!vdisk_open(&b->disk, vm->id, map, pa_to_ptr(bounce), why))
		return false;
	if (!virtio_mmio_init(&b->virtio, vm, base, irq, &vblk_ops)) {
		*why = "no room for its registers";
		return false;
	}
	return true;
}

void vblk_reset(struct vblk *b)
{
	virtio_mmio_reset(&b->virtio);
}

void vblk_counters(const void *dev, struct counters *c)
{
	const struct vblk *b = dev;

	counters_u64(c, "disk_read_bytes", b->disk.read_bytes);
	counters_u64(c, "disk_host_read_bytes", b->disk.host_read_bytes);
	counters_u64(c, "disk_write_bytes", b->disk.write_bytes);
	counters_u64(c, "disk_budget_yields", b->virtio.budget_yields);
}
