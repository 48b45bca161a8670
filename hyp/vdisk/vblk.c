#include <string.h>
#include "host/console.h"
#include "core/guest_memory.h"
#include "lib/format.h"
#include "core/mmio.h"
#include "share/share.h"
#include "vdisk/blk_request.h"
#include "vdisk/vblk.h"
#include "core/vm.h"
#include "lib/counters.h"

/* virtio-mmio registers (virtio 1.2, 4.2.2) */
enum {
	REG_MAGIC = 0x000, REG_VERSION = 0x004, REG_DEVICE_ID = 0x008, REG_VENDOR_ID = 0x00c,
	REG_DEVICE_FEATURES = 0x010, REG_DEVICE_FEATURES_SEL = 0x014,
	REG_DRIVER_FEATURES = 0x020, REG_DRIVER_FEATURES_SEL = 0x024,
	REG_QUEUE_SEL = 0x030, REG_QUEUE_NUM_MAX = 0x034, REG_QUEUE_NUM = 0x038,
	REG_QUEUE_READY = 0x044, REG_QUEUE_NOTIFY = 0x050,
	REG_INTERRUPT_STATUS = 0x060, REG_INTERRUPT_ACK = 0x064, REG_STATUS = 0x070,
	REG_QUEUE_DESC_LOW = 0x080, REG_QUEUE_DESC_HIGH = 0x084,
	REG_QUEUE_DRIVER_LOW = 0x090, REG_QUEUE_DRIVER_HIGH = 0x094,
	REG_QUEUE_DEVICE_LOW = 0x0a0, REG_QUEUE_DEVICE_HIGH = 0x0a4,
	REG_CONFIG_GENERATION = 0x0fc, REG_CONFIG = 0x100,
};

#define STATUS_FEATURES_OK 8
#define STATUS_DEVICE_NEEDS_RESET 64
#define INTERRUPT_USED_BUFFER 1
#define INTERRUPT_CONFIG_CHANGE 2

#define F_SEG_MAX (1ULL << 2)
#define F_BLK_SIZE (1ULL << 6)
#define F_FLUSH (1ULL << 9)
#define F_VERSION_1 (1ULL << 32)
/* No indirect descriptors, no event index: virtq.h says why. */
#define DEVICE_FEATURES (F_VERSION_1 | F_SEG_MAX | F_BLK_SIZE | F_FLUSH)

#define SEG_MAX (VIRTQ_MAX_CHAIN - 2)	/* + header + status */

/* virtio-blk configuration space (5.2.4), the fields discv fills. */
struct blk_config {
	uint64_t capacity;	/* 512-byte sectors */
	uint32_t size_max;
	uint32_t seg_max;
	uint32_t geometry;
	uint32_t blk_size;
} __attribute__((packed));

/* Guest memory for the virtqueue code: naturally aligned 2-, 4- and 8-byte
 * accesses are single loads and stores (the ring indices must not tear,
 * virtq.h); everything else is a checked copy. */
static bool mem_access(struct vm *vm, uint64_t gpa, void *buf, size_t len, bool write)
{
	uint64_t hpa;

	if ((len == 2 || len == 4 || len == 8) && gpa % len == 0) {
		/* A write must not land in a shared page: copy it first. */
		if (!guest_memory_contains(vm, gpa, len) ||
		    (write ? guest_memory_touch_writable(vm, gpa, &hpa)
			   : guest_memory_touch(vm, gpa, &hpa)) != TOUCH_OK)
			return false;
		/* The guest side is aligned; the caller's buffer may not be:
		 * move through a local (memcpy) on that side. */
		void *p = (char *)pa_to_ptr(hpa) + (gpa & ~PAGE_MASK);
		uint16_t v16;
		uint32_t v32;
		uint64_t v64;
		if (len == 2 && write) {
			memcpy(&v16, buf, 2);
			__atomic_store_n((uint16_t *)p, v16, __ATOMIC_RELAXED);
		} else if (len == 2) {
			v16 = __atomic_load_n((uint16_t *)p, __ATOMIC_RELAXED);
			memcpy(buf, &v16, 2);
		} else if (len == 4 && write) {
			memcpy(&v32, buf, 4);
			__atomic_store_n((uint32_t *)p, v32, __ATOMIC_RELAXED);
		} else if (len == 4) {
			v32 = __atomic_load_n((uint32_t *)p, __ATOMIC_RELAXED);
			memcpy(buf, &v32, 4);
		} else if (write) {
			memcpy(&v64, buf, 8);
			__atomic_store_n((uint64_t *)p, v64, __ATOMIC_RELAXED);
		} else {
			v64 = __atomic_load_n((uint64_t *)p, __ATOMIC_RELAXED);
			memcpy(buf, &v64, 8);
		}
		return true;
	}
	return write ? guest_copy_to(vm, gpa, buf, len) : guest_copy_from(vm, buf, gpa, len);
}

static bool mem_read(void *ctx, uint64_t gpa, void *dst, size_t len)
{
	return mem_access(ctx, gpa, dst, len, false);
}

static bool mem_write(void *ctx, uint64_t gpa, const void *src, size_t len)
{
	return mem_access(ctx, gpa, (void *)src, len, true);
}

/* The device's reset (virtio 1.2, 4.2.3.1: a status write of 0). Work
 * being served is dropped: the server sees `resets` move and stops. */
static void reset(struct vblk *b)
{
	b->status = 0;
	b->driver_features = 0;
	b->device_features_sel = b->driver_features_sel = b->queue_sel = 0;
	b->interrupt_status = 0;
	memset(&b->vq, 0, sizeof(b->vq));
	b->inflight.active = false;
	b->resets++;
	irq_line_set(&b->irq, false);
}

/*
 * How much one exit may serve. A guest can queue 256 requests of a
 * megabyte or more each; served in one exit, that is seconds with the
 * device lock held and the hart taken from every other guest. At the
 * budget the notifying vCPU goes back to its guest, which executes its
 * QueueNotify store again (mmio.c, vcpu->mmio_retry) and so comes back for
 * the rest, taking its interrupts and its turn on the hart in between.
 */
#define BUDGET_BLOCKS 256	/* 4 KiB disk blocks moved per exit (1 MiB) */
#define BUDGET_REQUESTS 32	/* requests completed per exit: one fence for all */

struct budget {
	unsigned blocks, requests;
};

/* Finished requests waiting to go into the used ring together. */
struct completions {
	unsigned count;
	struct { uint16_t head; uint32_t len; } done[BUDGET_REQUESTS];
};

/*
 * Pays the VM's G-stage fence debt and frees the pages retired so far.
 * The VM's other vCPUs acknowledge a fence only when they run hypervisor
 * code: one spinning on this device's lock never would, so the lock is
 * released around the wait (docs/concurrency.md: no waiting for another
 * hart with a lock held). The caller owns the queue meanwhile (`serving`),
 * so nobody else serves it; a driver reset in the window shows in
 * b->resets.
 */
static void fence_unlocked(struct vblk *b, struct retired_pages *retired)
{
	spin_unlock(&b->lock);
	guest_memory_sync(b->vm);
	guest_memory_free_retired(b->vm, retired);
	spin_lock(&b->lock);
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
	unsigned node = b->vm->home_node;
	uint64_t pa = share_base_block(b->disk.base, &b->disk.host_read_bytes, block, node,
				       (uint16_t)b->vm->id);
	bool ok;

	if (!pa)
		return false;
	if (in_block == 0 && n == VDISK_BLOCK && (gpa & ~PAGE_MASK) == 0)
		ok = guest_memory_map_shared(b->vm, gpa, pa, retired);
	else
		ok = guest_copy_to(b->vm, gpa, (char *)pa_to_ptr(pa) + in_block, n);
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
	unsigned resets = b->resets;

	*status = VIRTIO_BLK_S_OK;
	while (f->seg < r->nsegs) {
		if (!budget->blocks)
			return false;
		budget->blocks--;
		if (retired_full(retired)) {
			fence_unlocked(b, retired);
			if (b->resets != resets)
				return true;	/* reset meanwhile: nothing left to do */
		}
		uint64_t block = f->pos / VDISK_BLOCK, in_block = f->pos % VDISK_BLOCK;
		uint64_t n = VDISK_BLOCK - in_block;
		if (n > r->seg[f->seg].len - f->seg_off)
			n = r->seg[f->seg].len - f->seg_off;
		bool whole = in_block == 0 && n == VDISK_BLOCK;
		uint64_t gpa = r->seg[f->seg].gpa + f->seg_off;
		bool ok;
		if (!write && share_enabled() && !overlay_lookup(&d->overlay, block, &unused)) {
			ok = read_shared(b, block, in_block, gpa, n, retired);
			d->read_bytes += n;
		} else if ((!write || !whole) && !vdisk_read_block(d, block, bounce)) {
			ok = false;
		} else if (write) {
			ok = guest_copy_from(b->vm, d->bounce + in_block, gpa, n) &&
			     vdisk_write_block(d, block, bounce);
			d->write_bytes += n;
		} else {
			ok = guest_copy_to(b->vm, gpa, d->bounce + in_block, n);
			d->read_bytes += n;
		}
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
		format(id, sizeof(id), "discv-%s", b->vm->name);
		*status = guest_copy_to(b->vm, r->seg[0].gpa, id,
					r->seg[0].len < VIRTIO_BLK_ID_BYTES ? r->seg[0].len
									    : VIRTIO_BLK_ID_BYTES)
				  ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
		return true;
	default:
		*status = VIRTIO_BLK_S_UNSUPP;
		return true;
	}
}

/* The driver broke the virtqueue protocol: the device stops using the
 * queue until it is reset, and says so (virtio 1.2, 2.1.2). */
static void needs_reset(struct vblk *b, const char *why)
{
	log_info("%s: virtio-blk: %s: the device needs a reset", b->vm->name, why);
	b->errors++;
	b->status |= STATUS_DEVICE_NEEDS_RESET;
	b->vq.ready = false;
	b->inflight.active = false;
	b->interrupt_status |= INTERRUPT_CONFIG_CHANGE;
	irq_line_set(&b->irq, true);
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
	int got = virtq_pop(&b->vq, mem, &chain);

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
 * Serves requests until the queue is empty or the budget is spent; true
 * if work is left. The completion protocol (docs/concurrency.md): every
 * G-stage change the requests made (shared pages mapped in, pages copied
 * on write) is fenced on every hart before any of them goes into the used
 * ring, and the used ring before the interrupt: a vCPU that sees the
 * completion never reads the data through a stale translation.
 */
static bool serve_queue(struct vblk *b)
{
	const struct guest_mem_ops mem = { b->vm, mem_read, mem_write };
	struct budget budget = { BUDGET_BLOCKS, BUDGET_REQUESTS };
	struct retired_pages retired;
	struct completions c = { 0 };
	unsigned resets = b->resets;
	bool more = false;

	retired_init(&retired);
	while (b->vq.ready && !(b->status & STATUS_DEVICE_NEEDS_RESET)) {
		uint8_t status;
		if (c.count == BUDGET_REQUESTS || !budget.blocks) {
			more = true;
			break;
		}
		if (!b->inflight.active && start_next(b, &mem) <= 0)
			break;
		if (!execute(b, &budget, &retired, &status)) {
			more = true;	/* the request goes on in the next exit */
			break;
		}
		if (b->resets != resets)
			break;
		struct blk_request *r = &b->inflight.req;
		b->inflight.active = false;
		b->requests++;
		blk_request_write_status(r, &mem, status);
		c.done[c.count].head = b->inflight.head;
		c.done[c.count].len = blk_request_written_len(r, status);
		c.count++;
	}
	/* 1. Fence: the data of every finished request is where the guest's
	 *    translations say, on every hart. */
	fence_unlocked(b, &retired);
	if (b->resets != resets || (b->status & STATUS_DEVICE_NEEDS_RESET) || !c.count)
		return more && b->resets == resets;
	/* 2. The used ring. */
	for (unsigned i = 0; i < c.count; i++) {
		if (virtq_push(&b->vq, &mem, c.done[i].head, c.done[i].len) < 0) {
			needs_reset(b, virtq_error_name(VIRTQ_E_USED_UNWRITABLE));
			return false;
		}
	}
	bool notify = virtq_needs_notify(&b->vq, &mem);
	/* 3. The used ring's own page may just have been copied on write. */
	fence_unlocked(b, &retired);
	/* 4. The interrupt. */
	if (notify && b->resets == resets) {
		b->interrupt_status |= INTERRUPT_USED_BUFFER;
		irq_line_set(&b->irq, true);
	}
	if (more)
		b->budget_yields++;
	return more;
}

/*
 * QueueNotify. One hart at a time serves the queue (`serving`); a notify
 * that finds it busy leaves `notify_pending` for the server, which looks
 * at it again after it stops, so no notification is lost and no hart
 * waits for another's work. If the budget ran out, the notifying vCPU
 * executes its store again (v->mmio_retry) and so comes back for the rest.
 * Called without the device lock.
 */
static void queue_notify(struct vblk *b, struct vcpu *v)
{
	__atomic_store_n(&b->notify_pending, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		bool more = false;
		if (__atomic_exchange_n(&b->serving, 1, __ATOMIC_SEQ_CST))
			return;	/* the server will see notify_pending */
		spin_lock(&b->lock);
		while (!more && __atomic_exchange_n(&b->notify_pending, 0, __ATOMIC_SEQ_CST))
			more = serve_queue(b);
		if (more)
			__atomic_store_n(&b->notify_pending, 1, __ATOMIC_SEQ_CST);
		spin_unlock(&b->lock);
		__atomic_store_n(&b->serving, 0, __ATOMIC_SEQ_CST);
		if (more) {
			v->mmio_retry = true;
			return;
		}
		/* A notify that came while we finished found us serving. */
		if (!__atomic_load_n(&b->notify_pending, __ATOMIC_SEQ_CST))
			return;
	}
}

static uint32_t config_read(struct vblk *b, uint64_t off, unsigned width)
{
	struct blk_config c = {
		.capacity = vdisk_capacity_bytes(&b->disk) / 512,
		.seg_max = SEG_MAX,
		.blk_size = VDISK_BLOCK,
	};
	uint32_t v = 0;

	if (off + width <= sizeof(c))
		memcpy(&v, (const char *)&c + off, width);
	return v;
}

static uint64_t vblk_read(void *dev, struct vcpu *vcpu, uint64_t off, unsigned width)
{
	struct vblk *b = dev;
	uint64_t v = 0;

	(void)vcpu;
	spin_lock(&b->lock);
	if (off >= REG_CONFIG) {
		v = width <= 4 ? config_read(b, off - REG_CONFIG, width) : 0;
	} else if (width == 4) {
		switch (off) {
		case REG_MAGIC: v = 0x74726976; break;		/* "virt" */
		case REG_VERSION: v = 2; break;
		case REG_DEVICE_ID: v = 2; break;		/* block device */
		case REG_VENDOR_ID: v = 0x76637364; break;	/* "dscv" */
		case REG_DEVICE_FEATURES:
			v = b->device_features_sel == 0 ? (uint32_t)DEVICE_FEATURES :
			    b->device_features_sel == 1 ? (uint32_t)(DEVICE_FEATURES >> 32) : 0;
			break;
		case REG_QUEUE_NUM_MAX: v = b->queue_sel == 0 ? VIRTQ_MAX_SIZE : 0; break;
		case REG_QUEUE_READY: v = b->queue_sel == 0 && b->vq.ready; break;
		case REG_INTERRUPT_STATUS: v = b->interrupt_status; break;
		case REG_STATUS: v = b->status; break;
		case REG_CONFIG_GENERATION: v = 0; break;
		default: break;
		}
	}
	spin_unlock(&b->lock);
	return v;
}

static void set_low(uint64_t *field, uint32_t v) { *field = (*field & ~0xffffffffULL) | v; }
static void set_high(uint64_t *field, uint32_t v) { *field = (*field & 0xffffffffULL) | (uint64_t)v << 32; }

static void vblk_write(void *dev, struct vcpu *vcpu, uint64_t off, unsigned width, uint64_t value)
{
	struct vblk *b = dev;
	uint32_t v = (uint32_t)value;
	bool setup;

	if (width != 4 || off >= REG_CONFIG)
		return;	/* the configuration space is read-only for virtio-blk */
	if (off == REG_QUEUE_NOTIFY) {
		if (v == 0)
			queue_notify(b, vcpu);
		return;
	}
	spin_lock(&b->lock);
	/* The queue's setup registers only while it is not ready (4.2.2). */
	setup = b->queue_sel == 0 && !b->vq.ready;
	switch (off) {
	case REG_DEVICE_FEATURES_SEL: b->device_features_sel = v; break;
	case REG_DRIVER_FEATURES_SEL: b->driver_features_sel = v; break;
	case REG_DRIVER_FEATURES:
		if (b->driver_features_sel < 2 && !(b->status & STATUS_FEATURES_OK)) {
			if (b->driver_features_sel == 0)
				set_low(&b->driver_features, v);
			else
				set_high(&b->driver_features, v);
		}
		break;
	case REG_QUEUE_SEL: b->queue_sel = v; break;
	case REG_QUEUE_NUM: if (setup) b->vq.size = (uint16_t)(v > 0xffff ? 0 : v); break;
	case REG_QUEUE_DESC_LOW: if (setup) set_low(&b->vq.desc_gpa, v); break;
	case REG_QUEUE_DESC_HIGH: if (setup) set_high(&b->vq.desc_gpa, v); break;
	case REG_QUEUE_DRIVER_LOW: if (setup) set_low(&b->vq.avail_gpa, v); break;
	case REG_QUEUE_DRIVER_HIGH: if (setup) set_high(&b->vq.avail_gpa, v); break;
	case REG_QUEUE_DEVICE_LOW: if (setup) set_low(&b->vq.used_gpa, v); break;
	case REG_QUEUE_DEVICE_HIGH: if (setup) set_high(&b->vq.used_gpa, v); break;
	case REG_QUEUE_READY:
		if (b->queue_sel != 0)
			break;
		if (v && virtq_validate_setup(&b->vq) == VIRTQ_OK) {
			b->vq.ready = true;
			b->vq.last_avail_idx = b->vq.used_idx = 0;
		} else if (v) {
			needs_reset(b, virtq_error_name(virtq_validate_setup(&b->vq)));
		} else {
			b->vq.ready = false;
		}
		break;
	case REG_INTERRUPT_ACK:
		b->interrupt_status &= ~v;
		if (!b->interrupt_status)
			irq_line_set(&b->irq, false);
		break;
	case REG_STATUS:
		if (v == 0) {
			reset(b);
		} else {
			/* FEATURES_OK only for a subset of ours with VERSION_1 (3.1.1). */
			if ((v & STATUS_FEATURES_OK) && !(b->status & STATUS_FEATURES_OK) &&
			    ((b->driver_features & ~DEVICE_FEATURES) ||
			     !(b->driver_features & F_VERSION_1)))
				v &= ~STATUS_FEATURES_OK;
			b->status = v | (b->status & STATUS_DEVICE_NEEDS_RESET);
		}
		break;
	default:
		break;
	}
	spin_unlock(&b->lock);
}

void vblk_reset(struct vblk *b)
{
	spin_lock(&b->lock);
	reset(b);
	spin_unlock(&b->lock);
}

bool vblk_init(struct vblk *b, struct vm *vm, uint64_t base, const struct irq_line *irq,
	       uint8_t *map, const char **why)
{
	struct mmio_region r = {
		.base = base,
		.size = 0x1000,
		.dev = b,
		.read = vblk_read,
		.write = vblk_write,
	};
	uint64_t bounce = host_page_alloc(vm->host, vm->home_node, PAGE_HYPERVISOR,
					  (uint16_t)vm->id, 0);

	memset(b, 0, sizeof(*b));
	b->vm = vm;
	b->irq = *irq;
	if (!bounce) {
		*why = "no memory for the disk's buffer";
		return false;
	}
	if (!vdisk_open(&b->disk, vm->id, map, pa_to_ptr(bounce), why))
		return false;
	return mmio_register(vm, &r);
}

void vblk_counters(const void *dev, struct counters *c)
{
	const struct vblk *b = dev;

	counters_u64(c, "disk_read_bytes", b->disk.read_bytes);
	counters_u64(c, "disk_host_read_bytes", b->disk.host_read_bytes);
	counters_u64(c, "disk_write_bytes", b->disk.write_bytes);
	counters_u64(c, "disk_budget_yields", b->budget_yields);
}
