#include <string.h>
#include "core/mmio.h"
#include "core/vm.h"
#include "host/console.h"
#include "virtio/guest_mem.h"
#include "virtio/virtio_mmio.h"

#define VENDOR_ID 0x76637364	/* "dscv" */

static uint64_t offered_features(const struct virtio_device *d)
{
	return d->ops->features | VIRTIO_F_VERSION_1;
}

/* The selected queue, or NULL if QueueSel names none of the device's. */
static struct virtio_queue *selected(struct virtio_device *d)
{
	return d->queue_sel < d->ops->nqueues ? &d->queue[d->queue_sel] : NULL;
}

static void set_interrupt(struct virtio_device *d, uint32_t why)
{
	d->interrupt_status |= why;
	irq_line_set(&d->irq, true);
}

/*
 * The transport's reset (2.4, 4.2.3.1: a Status write of 0). The queues'
 * `serving` and `notify_pending` stay: a hart may be serving a queue in a
 * window where the lock is released, and it must stay the only one; it
 * sees `resets` move and drops its work.
 */
static void reset(struct virtio_device *d)
{
	d->status = 0;
	d->driver_features = 0;
	d->device_features_sel = d->driver_features_sel = d->queue_sel = 0;
	d->interrupt_status = 0;
	for (unsigned q = 0; q < VIRTIO_MMIO_MAX_QUEUES; q++)
		memset(&d->queue[q].vq, 0, sizeof(d->queue[q].vq));
	d->resets++;
	irq_line_set(&d->irq, false);
	if (d->ops->reset)
		d->ops->reset(d);
}

void virtio_mmio_needs_reset(struct virtio_device *d, const char *why)
{
	if (virtio_mmio_usable(d))
		log_info("%s: %s: %s: the device needs a reset", d->vm->name, d->ops->name, why);
	d->protocol_errors++;
	d->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	for (unsigned q = 0; q < d->ops->nqueues; q++)
		d->queue[q].vq.ready = false;
	set_interrupt(d, VIRTIO_INTERRUPT_CONFIG_CHANGE);
}

void virtio_mmio_config_changed(struct virtio_device *d)
{
	d->config_generation++;
	set_interrupt(d, VIRTIO_INTERRUPT_CONFIG_CHANGE);
}

void virtio_mmio_fence(struct virtio_device *d, struct retired_pages *retired)
{
	spin_unlock(&d->lock);
	guest_memory_sync(d->vm);
	guest_memory_free_retired(d->vm, retired);
	spin_lock_acking(&d->lock);
}

bool virtio_mmio_complete(struct virtio_device *d, unsigned q, const struct virtio_used *done,
			  unsigned n, struct retired_pages *retired)
{
	const struct guest_mem_ops mem = virtio_guest_memory(d->vm);
	struct virtq *vq = &d->queue[q].vq;

	/* 1. Their data is where the guest's translations say, on every hart. */
	virtio_mmio_fence(d, retired);
	if (virtio_mmio_was_reset(d, q) || !virtio_mmio_usable(d) || !vq->ready)
		return false;
	if (!n)
		return true;
	/* 2. The used ring. */
	for (unsigned i = 0; i < n; i++) {
		if (virtq_push(vq, &mem, done[i].head, done[i].len) < 0) {
			virtio_mmio_needs_reset(d, virtq_error_name(VIRTQ_E_USED_UNWRITABLE));
			return false;
		}
	}
	bool notify = virtq_needs_notify(vq, &mem);
	/* 3. The used ring's own page may just have been copied on write. */
	virtio_mmio_fence(d, retired);
	if (virtio_mmio_was_reset(d, q))
		return false;
	/* 4. The interrupt. */
	if (notify)
		set_interrupt(d, VIRTIO_INTERRUPT_USED_BUFFER);
	return true;
}

/* One serve of queue q, device lock held; true if work is left. */
static bool serve(struct virtio_device *d, unsigned q)
{
	struct virtio_queue *vq = &d->queue[q];
	bool more;

	if (!vq->vq.ready || !virtio_mmio_usable(d))
		return false;
	vq->serve_resets = d->resets;
	more = d->ops->queue_serve(d, q);
	if (virtio_mmio_was_reset(d, q))
		return false;	/* a reset dropped the rest */
	if (more)
		d->budget_yields++;
	return more;
}

/*
 * QueueNotify for queue q, called without the device lock. One hart at a
 * time serves a queue (`serving`); a notify that finds it busy leaves
 * `notify_pending` for the server, which looks at it again after it stops,
 * so no notification is lost and no hart waits for another's work
 * (docs/concurrency.md). If the budget ran out, the notifying vCPU
 * executes its store again (mmio_retry) and comes back for the rest.
 */
static void serve_notified(struct virtio_device *d, struct vcpu *v, unsigned q)
{
	struct virtio_queue *vq = &d->queue[q];

	__atomic_store_n(&vq->notify_pending, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		bool more = false;
		if (__atomic_exchange_n(&vq->serving, 1, __ATOMIC_SEQ_CST))
			return;	/* the server will see notify_pending */
		spin_lock_acking(&d->lock);
		while (!more && __atomic_exchange_n(&vq->notify_pending, 0, __ATOMIC_SEQ_CST))
			more = serve(d, q);
		if (more)
			__atomic_store_n(&vq->notify_pending, 1, __ATOMIC_SEQ_CST);
		spin_unlock(&d->lock);
		__atomic_store_n(&vq->serving, 0, __ATOMIC_SEQ_CST);
		if (more) {
			if (v) {
				mmio_retry(v);
			} else {
				/* A kick (no vCPU waits in this exit): the VM's
				 * next exit comes back for the rest. */
				__atomic_fetch_or(&d->kicked_queues, 1u << q, __ATOMIC_SEQ_CST);
				vm_kick_devices(d->vm);
			}
			return;
		}
		/* A notify that came while we finished found us serving. */
		if (!__atomic_load_n(&vq->notify_pending, __ATOMIC_SEQ_CST))
			return;
	}
}

static void queue_notify(struct virtio_device *d, struct vcpu *v, unsigned q)
{
	serve_notified(d, v, q);
	if (d->ops->after_notify)
		d->ops->after_notify(d, q);
}

static bool overlaps_page(uint64_t start, uint64_t bytes, uint64_t page)
{
	return start < page + PAGE_SIZE && page < start + bytes;
}

bool virtio_mmio_uses_page(const struct virtio_device *d, uint64_t gpa)
{
	uint64_t page = gpa & PAGE_MASK;

	for (unsigned q = 0; q < d->ops->nqueues; q++) {
		const struct virtq *vq = &d->queue[q].vq;
		if (vq->ready && (overlaps_page(vq->desc_gpa, VIRTQ_DESC_TABLE_BYTES(vq->size), page) ||
				  overlaps_page(vq->avail_gpa, VIRTQ_AVAIL_BYTES(vq->size) + 2, page) ||
				  overlaps_page(vq->used_gpa, VIRTQ_USED_BYTES(vq->size) + 2, page)))
			return true;
	}
	return false;
}

void virtio_mmio_kick(struct virtio_device *d, unsigned q)
{
	if (q < d->ops->nqueues)
		serve_notified(d, NULL, q);
}

void virtio_mmio_serve_kicked(void *dev)
{
	struct virtio_device *d = dev;
	unsigned queues = __atomic_exchange_n(&d->kicked_queues, 0, __ATOMIC_SEQ_CST);

	for (unsigned q = 0; q < d->ops->nqueues; q++)
		if (queues & (1u << q))
			serve_notified(d, NULL, q);
}

enum virtio_serve virtio_mmio_try_begin_serve(struct virtio_device *d, unsigned q)
{
	struct virtio_queue *vq = &d->queue[q];

	if (__atomic_exchange_n(&vq->serving, 1, __ATOMIC_SEQ_CST))
		return VIRTIO_SERVE_BUSY;
	if (!spin_trylock(&d->lock)) {
		__atomic_store_n(&vq->serving, 0, __ATOMIC_SEQ_CST);
		return VIRTIO_SERVE_BUSY;
	}
	if (!vq->vq.ready || !virtio_mmio_usable(d)) {
		virtio_mmio_end_serve(d, q);
		return VIRTIO_SERVE_STOPPED;
	}
	vq->serve_resets = d->resets;
	return VIRTIO_SERVE_TAKEN;
}

/* A notify of the queue that came meanwhile stays pending for the
 * queue's next notify (a queue served from outside, as a receive queue
 * is, has nothing to do on a notify of its own). */
void virtio_mmio_end_serve(struct virtio_device *d, unsigned q)
{
	spin_unlock(&d->lock);
	__atomic_store_n(&d->queue[q].serving, 0, __ATOMIC_SEQ_CST);
}

static uint32_t register_read(struct virtio_device *d, uint64_t off)
{
	struct virtio_queue *q = selected(d);
	uint64_t features = offered_features(d);

	switch (off) {
	case VIRTIO_MMIO_MAGIC: return VIRTIO_MAGIC;
	case VIRTIO_MMIO_VERSION: return 2;
	case VIRTIO_MMIO_DEVICE_ID: return d->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID: return VENDOR_ID;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return d->device_features_sel == 0 ? (uint32_t)features :
		       d->device_features_sel == 1 ? (uint32_t)(features >> 32) : 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX: return q ? d->ops->queue_num_max : 0;
	case VIRTIO_MMIO_QUEUE_READY: return q && q->vq.ready;
	case VIRTIO_MMIO_INTERRUPT_STATUS: return d->interrupt_status;
	case VIRTIO_MMIO_STATUS: return d->status;
	case VIRTIO_MMIO_CONFIG_GENERATION: return d->config_generation;
	default: return 0;	/* write-only or reserved */
	}
}

static uint64_t device_read(void *dev, struct vcpu *v, uint64_t off, unsigned width)
{
	struct virtio_device *d = dev;
	uint64_t value = 0;

	(void)v;
	spin_lock_acking(&d->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		/* 4.2.2: the configuration space takes the widths of its
		 * fields; 64-bit fields are read as two 32-bit halves. */
		if (width <= 4 && d->ops->config_read)
			value = d->ops->config_read(d, off - VIRTIO_MMIO_CONFIG, width);
	} else if (width == 4) {
		value = register_read(d, off);
	}
	spin_unlock(&d->lock);
	return value;
}

static void set_low(uint64_t *field, uint32_t v) { *field = (*field & ~0xffffffffULL) | v; }
static void set_high(uint64_t *field, uint32_t v) { *field = (*field & 0xffffffffULL) | (uint64_t)v << 32; }

/* QueueReady written (4.2.3.2): a setup that breaks the virtqueue's rules
 * is the driver's error; one that keeps them starts the queue empty. */
static void queue_ready_write(struct virtio_device *d, struct virtio_queue *q, uint32_t v)
{
	int err;

	if (!v) {
		q->vq.ready = false;
		return;
	}
	err = q->vq.size > d->ops->queue_num_max ? VIRTQ_E_SIZE : virtq_validate_setup(&q->vq);
	if (err != VIRTQ_OK) {
		virtio_mmio_needs_reset(d, virtq_error_name(err));
		return;
	}
	q->vq.ready = true;
	q->vq.last_avail_idx = q->vq.used_idx = 0;
}

/* Status written (2.1, 3.1.1). FEATURES_OK sticks only for a subset of
 * the offered features that includes VERSION_1; the driver reads Status
 * back to learn whether it did. Bits other than by reset are not cleared. */
static void status_write(struct virtio_device *d, uint32_t v)
{
	uint64_t offered = offered_features(d);

	if (v == 0) {
		reset(d);
		return;
	}
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(d->status & VIRTIO_STATUS_FEATURES_OK) &&
	    ((d->driver_features & ~offered) || !(d->driver_features & VIRTIO_F_VERSION_1)))
		v &= ~VIRTIO_STATUS_FEATURES_OK;
	d->status = v | (d->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

static void register_write(struct virtio_device *d, uint64_t off, uint32_t v)
{
	struct virtio_queue *q = selected(d);
	/* The queue's setup registers only while it is not ready (4.2.2). */
	struct virtq *setup = q && !q->vq.ready ? &q->vq : NULL;

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: d->device_features_sel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: d->driver_features_sel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (d->driver_features_sel < 2 && !(d->status & VIRTIO_STATUS_FEATURES_OK)) {
			if (d->driver_features_sel == 0)
				set_low(&d->driver_features, v);
			else
				set_high(&d->driver_features, v);
		}
		break;
	case VIRTIO_MMIO_QUEUE_SEL: d->queue_sel = v; break;
	case VIRTIO_MMIO_QUEUE_NUM: if (setup) setup->size = (uint16_t)(v > 0xffff ? 0 : v); break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: if (setup) set_low(&setup->desc_gpa, v); break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH: if (setup) set_high(&setup->desc_gpa, v); break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW: if (setup) set_low(&setup->avail_gpa, v); break;
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH: if (setup) set_high(&setup->avail_gpa, v); break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW: if (setup) set_low(&setup->used_gpa, v); break;
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: if (setup) set_high(&setup->used_gpa, v); break;
	case VIRTIO_MMIO_QUEUE_READY: if (q) queue_ready_write(d, q, v); break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		d->interrupt_status &= ~v;
		if (!d->interrupt_status)
			irq_line_set(&d->irq, false);
		break;
	case VIRTIO_MMIO_STATUS: status_write(d, v); break;
	default: break;	/* read-only or reserved */
	}
}

static void device_write(void *dev, struct vcpu *v, uint64_t off, unsigned width, uint64_t value)
{
	struct virtio_device *d = dev;

	if (off == VIRTIO_MMIO_QUEUE_NOTIFY) {
		/* The value is the queue's index (no NOTIFICATION_DATA, 4.2.2). */
		if (width == 4 && value < d->ops->nqueues)
			queue_notify(d, v, (unsigned)value);
		return;
	}
	spin_lock_acking(&d->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		if (width <= 4 && d->ops->config_write)
			d->ops->config_write(d, off - VIRTIO_MMIO_CONFIG, width, (uint32_t)value);
	} else if (width == 4) {
		register_write(d, off, (uint32_t)value);
	}
	spin_unlock(&d->lock);
}

void virtio_mmio_reset(struct virtio_device *d)
{
	spin_lock_acking(&d->lock);
	reset(d);
	spin_unlock(&d->lock);
}

bool virtio_mmio_init(struct virtio_device *d, struct vm *vm, uint64_t base,
		      const struct irq_line *irq, const struct virtio_device_ops *ops)
{
	struct mmio_region r = {
		.base = base,
		.size = VIRTIO_MMIO_SIZE,
		.dev = d,
		.read = device_read,
		.write = device_write,
	};

	memset(d, 0, sizeof(*d));
	d->vm = vm;
	d->ops = ops;
	d->irq = *irq;
	return ops->nqueues >= 1 && ops->nqueues <= VIRTIO_MMIO_MAX_QUEUES &&
	       ops->queue_num_max >= 1 && ops->queue_num_max <= VIRTQ_MAX_SIZE &&
	       mmio_register(vm, &r);
}
