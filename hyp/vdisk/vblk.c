#include <string.h>
#include "console.h"
#include "guest_memory.h"
#include "lib/format.h"
#include "mmio.h"
#include "share/share.h"
#include "vdisk/blk_request.h"
#include "vdisk/vblk.h"
#include "vm.h"
#include "vplic_dev.h"

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
#define FREED_BATCH 32	/* replaced pages given back per G-stage fence */

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

static void reset(struct vblk *b)
{
	b->status = 0;
	b->driver_features = 0;
	b->device_features_sel = b->driver_features_sel = b->queue_sel = 0;
	b->interrupt_status = 0;
	memset(&b->vq, 0, sizeof(b->vq));
	vm_set_irq_line(b->vm, b->irq, false);
}

/*
 * Moves the bytes of one request between the disk and the guest's
 * buffers, block by block through the bounce page: each 4 KiB disk block
 * is read (or read, modified and written) whole. Returns a virtio status.
 */
/*
 * A read of a base-disk block (not in the guest's delta) with sharing on
 * (hyp/share/): a whole, page-aligned guest page gets the block's shared
 * host page mapped read-only, instead of a copy; anything less is copied
 * out of that page, which then serves as the block cache. A private page
 * the mapping replaced is queued in *freed (freed after the fence).
 */
static bool read_shared(struct vblk *b, uint64_t block, uint64_t in_block, uint64_t gpa,
			uint64_t n, uint64_t *freed, unsigned *nfreed)
{
	unsigned node = b->vm->home_node;
	uint64_t pa = share_base_block(&b->disk, block, node, (uint16_t)b->vm->id), old;
	bool ok;

	if (!pa)
		return false;
	if (in_block == 0 && n == VDISK_BLOCK && (gpa & ~PAGE_MASK) == 0) {
		ok = guest_memory_map_shared(b->vm, gpa, pa, &old);
		if (ok && old)
			freed[(*nfreed)++] = old;
	} else {
		ok = guest_copy_to(b->vm, gpa, (char *)pa_to_ptr(pa) + in_block, n);
	}
	share_put_base_block(block, node);	/* mapped or copied: no longer pinned */
	return ok;
}

/*
 * Gives back private pages that shared mappings replaced. The VM's other
 * vCPUs must first drop their translations, and they acknowledge only when
 * they get to run hypervisor code: so no lock may be held while waiting
 * (a vCPU spinning on the device's lock would never acknowledge). The
 * device lock is released around the wait; the popped request is this
 * hart's alone meanwhile.
 */
static void release_replaced(struct vblk *b, uint64_t *freed, unsigned *nfreed)
{
	if (!*nfreed)
		return;
	spin_unlock(&b->lock);
	vm_flush_gstage(b->vm);
	for (unsigned i = 0; i < *nfreed; i++)
		guest_memory_free_private(b->vm, freed[i]);
	spin_lock(&b->lock);
	*nfreed = 0;
}

static uint8_t do_io(struct vblk *b, const struct blk_request *r)
{
	struct vdisk *d = &b->disk;
	uint64_t pos = r->sector * 512;	/* disk byte offset */
	unsigned seg = 0, nfreed = 0;
	uint32_t seg_off = 0;
	bool write = r->type == VIRTIO_BLK_T_OUT;
	uint64_t bounce = ptr_to_pa(d->bounce), unused;
	uint64_t freed[FREED_BATCH];
	uint8_t status = VIRTIO_BLK_S_OK;

	while (seg < r->nsegs && status == VIRTIO_BLK_S_OK) {
		uint64_t block = pos / VDISK_BLOCK, in_block = pos % VDISK_BLOCK;
		uint64_t n = VDISK_BLOCK - in_block;
		if (n > r->seg[seg].len - seg_off)
			n = r->seg[seg].len - seg_off;
		bool whole = in_block == 0 && n == VDISK_BLOCK;
		uint64_t gpa = r->seg[seg].gpa + seg_off;
		if (nfreed == FREED_BATCH)
			release_replaced(b, freed, &nfreed);
		if (!write && share_enabled() && !overlay_lookup(&d->overlay, block, &unused)) {
			if (!read_shared(b, block, in_block, gpa, n, freed, &nfreed))
				status = VIRTIO_BLK_S_IOERR;
			d->read_bytes += n;
		} else if ((!write || !whole) && !vdisk_read_block(d, block, bounce)) {
			status = VIRTIO_BLK_S_IOERR;
		} else if (write) {
			if (!guest_copy_from(b->vm, d->bounce + in_block, gpa, n) ||
			    !vdisk_write_block(d, block, bounce))
				status = VIRTIO_BLK_S_IOERR;
			d->write_bytes += n;
		} else {
			if (!guest_copy_to(b->vm, gpa, d->bounce + in_block, n))
				status = VIRTIO_BLK_S_IOERR;
			d->read_bytes += n;
		}
		pos += n;
		seg_off += (uint32_t)n;
		if (seg_off == r->seg[seg].len) {
			seg++;
			seg_off = 0;
		}
	}
	release_replaced(b, freed, &nfreed);
	return status;
}

static uint8_t execute(struct vblk *b, const struct blk_request *r)
{
	char id[VIRTIO_BLK_ID_BYTES + 1];

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		return do_io(b, r);
	case VIRTIO_BLK_T_FLUSH:
		return vdisk_flush(&b->disk) ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
	case VIRTIO_BLK_T_GET_ID:
		memset(id, 0, sizeof(id));
		format(id, sizeof(id), "discv-%s", b->vm->name);
		return guest_copy_to(b->vm, r->seg[0].gpa, id,
				     r->seg[0].len < VIRTIO_BLK_ID_BYTES ? r->seg[0].len
									 : VIRTIO_BLK_ID_BYTES)
			       ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
	default:
		return VIRTIO_BLK_S_UNSUPP;
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
	b->interrupt_status |= INTERRUPT_CONFIG_CHANGE;
	vm_set_irq_line(b->vm, b->irq, true);
}

/* QueueNotify: serve every available request, on the notifying hart. */
static void process_queue(struct vblk *b)
{
	const struct guest_mem_ops mem = { b->vm, mem_read, mem_write };
	struct virtq_chain chain;
	struct blk_request req;
	bool pushed = false;
	int got;

	while (b->vq.ready && (got = virtq_pop(&b->vq, &mem, &chain)) != 0) {
		if (got < 0) {
			needs_reset(b, virtq_error_name(got));
			return;
		}
		uint8_t status;
		switch (blk_request_parse(&chain, &mem, vdisk_capacity_bytes(&b->disk) / 512, &req)) {
		case BLK_REQ_OK: status = execute(b, &req); break;
		case BLK_REQ_IOERR: status = VIRTIO_BLK_S_IOERR; break;
		case BLK_REQ_UNSUPP: status = VIRTIO_BLK_S_UNSUPP; break;
		default:
			needs_reset(b, "malformed request (no header or status byte)");
			return;
		}
		b->requests++;
		blk_request_write_status(&req, &mem, status);
		if (virtq_push(&b->vq, &mem, chain.head, blk_request_written_len(&req, status)) < 0) {
			needs_reset(b, virtq_error_name(VIRTQ_E_USED_UNWRITABLE));
			return;
		}
		pushed = true;
	}
	if (pushed && virtq_needs_notify(&b->vq, &mem)) {
		b->interrupt_status |= INTERRUPT_USED_BUFFER;
		vm_set_irq_line(b->vm, b->irq, true);
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
	/* The queue's setup registers only while it is not ready (4.2.2). */
	bool setup = b->queue_sel == 0 && !b->vq.ready;

	(void)vcpu;
	if (width != 4 || off >= REG_CONFIG)
		return;	/* the configuration space is read-only for virtio-blk */
	spin_lock(&b->lock);
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
	case REG_QUEUE_NOTIFY:
		if (v == 0 && !(b->status & STATUS_DEVICE_NEEDS_RESET))
			process_queue(b);
		break;
	case REG_INTERRUPT_ACK:
		b->interrupt_status &= ~v;
		if (!b->interrupt_status)
			vm_set_irq_line(b->vm, b->irq, false);
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

bool vblk_init(struct vblk *b, struct vm *vm, uint8_t *map, const char **why)
{
	struct mmio_region r = {
		.base = GUEST_VIRTIO_BASE,
		.size = 0x1000,
		.dev = b,
		.read = vblk_read,
		.write = vblk_write,
	};
	uint64_t bounce = host_page_alloc(vm->host, vm->home_node, PAGE_HYPERVISOR,
					  (uint16_t)vm->id, 0);

	memset(b, 0, sizeof(*b));
	b->vm = vm;
	b->irq = 1;
	if (!bounce) {
		*why = "no memory for the disk's buffer";
		return false;
	}
	if (!vdisk_open(&b->disk, vm->id, map, pa_to_ptr(bounce), why))
		return false;
	return mmio_register(vm, &r);
}
