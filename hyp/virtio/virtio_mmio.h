/*
 * The guest-facing virtio-mmio transport, version 2 (virtio 1.2 section
 * 4.2): the one device core under every virtio device discv emulates
 * (the disk today; the network and the balloon plug in the same way).
 *
 * The core owns everything the transport defines, so a device never
 * sees a register: magic, version and IDs; feature negotiation (2.2,
 * 3.1.1); queue selection and setup (4.2.3.2); status, reset (2.4) and
 * DEVICE_NEEDS_RESET (2.1.2); the configuration generation (2.5.1) and
 * the interrupt status (4.2.2); and who serves a queue when. A device
 * gives a table of operations (struct virtio_device_ops): its ID and
 * features, its queues, its configuration space, what to do with a
 * queue's available buffers, and its own reset.
 *
 * Serving, for each queue on its own (docs/concurrency.md): a QueueNotify
 * sets the queue's `notify_pending`; the first hart to take the queue's
 * `serving` flag serves it, with the device lock held, until no notify is
 * pending; a notify that finds the queue served leaves its flag for the
 * server, so none is lost and no hart waits for another's work. A device
 * serves a bounded budget per call: when it reports work left, the
 * notifying vCPU executes its QueueNotify store again (mmio_retry) and so
 * comes back for the rest, taking its interrupts and its turn on the hart
 * in between.
 *
 * Completions follow one protocol, virtio_mmio_complete(): every G-stage
 * change the device made for them is fenced on every hart before any goes
 * into the used ring, and the used ring before the interrupt, so a vCPU
 * that sees a completion never reads the data through a stale translation.
 */
#ifndef DISCV_VIRTIO_MMIO_H
#define DISCV_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>
#include "core/guest_memory.h"
#include "arch/virtio_defs.h"
#include "core/irq_line.h"
#include "lib/spinlock.h"
#include "virtio/virtq.h"

struct vm;

#define VIRTIO_MMIO_SIZE 0x1000		/* one slot of registers */
#define VIRTIO_MMIO_MAX_QUEUES 8


struct virtio_device;

struct virtio_device_ops {
	const char *name;		/* "virtio-blk", for log lines */
	uint32_t device_id;		/* 5: 2 block, 1 network, 5 balloon */
	uint64_t features;		/* offered; VIRTIO_F_VERSION_1 is added */
	unsigned nqueues;		/* 1..VIRTIO_MMIO_MAX_QUEUES */
	uint16_t queue_num_max;		/* QueueNumMax of each: 1..VIRTQ_MAX_SIZE */
	/*
	 * A driver read of the configuration space (4.2.2, offset from
	 * 0x100, width 1, 2 or 4; off + width inside the register slot). May
	 * be NULL: the space reads as zero. Device lock held.
	 */
	uint32_t (*config_read)(struct virtio_device *d, uint64_t off, unsigned width);
	/* A driver write there; NULL: the space is read-only (writes are
	 * ignored). Device lock held. */
	void (*config_write)(struct virtio_device *d, uint64_t off, unsigned width, uint32_t v);
	/*
	 * Serves queue q's available buffers, at most a budget's worth;
	 * returns true if work is left for another call. Device lock held
	 * (virtio_mmio_complete and virtio_mmio_fence release it around
	 * fences). Called only while q is ready and the device usable.
	 */
	bool (*queue_serve)(struct virtio_device *d, unsigned q);
	/* The device's own state back to its reset values (the transport's
	 * state is the core's). Device lock held; may be NULL. */
	void (*reset)(struct virtio_device *d);
	/*
	 * After every QueueNotify of queue q, once it is served (or left to
	 * the hart serving it), with no lock held; may be NULL. A device whose
	 * queues unblock another device's work hands it on here: the network
	 * device's new receive buffers wake the senders that wait for them.
	 * It must not lead back into a notify (nothing recurses).
	 */
	void (*after_notify)(struct virtio_device *d, unsigned q);
};

struct virtio_queue {
	struct virtq vq;
	int serving;			/* a hart serves this queue (atomic) */
	int notify_pending;		/* a QueueNotify not yet served (atomic) */
	unsigned serve_resets;		/* d->resets when the current serve began */
};

struct virtio_device {
	struct spinlock lock;
	struct vm *vm;
	const struct virtio_device_ops *ops;
	struct irq_line irq;
	/* transport state (4.2.2) */
	uint32_t status;
	uint32_t device_features_sel, driver_features_sel;
	uint64_t driver_features;	/* what the driver took (valid after FEATURES_OK) */
	uint32_t queue_sel;
	uint32_t interrupt_status;
	uint32_t config_generation;
	struct virtio_queue queue[VIRTIO_MMIO_MAX_QUEUES];
	/* Resets so far. A device serving a queue samples it and stops
	 * when it moves (a reset in a window where the lock was released). */
	unsigned resets;
	unsigned kicked_queues;		/* queues a kick left work in (atomic bits) */
	uint64_t protocol_errors;	/* times the driver broke the protocol */
	uint64_t budget_yields;		/* serves that stopped at their budget, work left */
};

/*
 * Sets up d for vm with ops, registers it at guest-physical base (one
 * VIRTIO_MMIO_SIZE slot) and wires its interrupt to irq. False if the MMIO
 * region cannot be registered. The device's own state is the caller's.
 */
bool virtio_mmio_init(struct virtio_device *d, struct vm *vm, uint64_t base,
		      const struct irq_line *irq, const struct virtio_device_ops *ops);

/*
 * Resets the device as a driver's write of 0 to Status does (2.4, 4.2.3.1):
 * status, features, queues and interrupt status cleared, its interrupt
 * line lowered, then ops->reset. For the VM's reboot, so that the new
 * guest meets a device in its reset state whatever the old one left.
 * Takes the lock, so it waits for another VM's hart that is serving a
 * queue from outside (virtio_mmio_try_begin_serve); afterwards the queues
 * are stopped and that hart writes nothing more. No vCPU of the VM itself
 * may be in the device (a reboot: none is).
 */
void virtio_mmio_reset(struct virtio_device *d);

/* Whether the driver accepted feature bit f (1ULL << n). */
static inline bool virtio_mmio_has_feature(const struct virtio_device *d, uint64_t f)
{
	return (d->driver_features & f) != 0;
}

/*
 * The driver broke the protocol (a bad chain, a malformed request): the
 * device stops using its queues until the driver resets it, sets
 * DEVICE_NEEDS_RESET and notifies a configuration change (2.1.2). Logs
 * why once per reset. Device lock held.
 */
void virtio_mmio_needs_reset(struct virtio_device *d, const char *why);

/* Whether the device may use its queues (no DEVICE_NEEDS_RESET). */
static inline bool virtio_mmio_usable(const struct virtio_device *d)
{
	return !(d->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

/* Whether the driver reset the device since the current serve of queue q
 * began (in a window where the lock was released): then the serve's work
 * is dropped. Device lock held. */
static inline bool virtio_mmio_was_reset(const struct virtio_device *d, unsigned q)
{
	return d->resets != d->queue[q].serve_resets;
}

/*
 * Pays the VM's G-stage fence debt and frees the pages retired so far.
 * The VM's other vCPUs acknowledge a fence only when they run hypervisor
 * code, and one spinning on this device's lock never would: the lock is
 * released around the wait (docs/concurrency.md: no waiting for another
 * hart with a lock held). The caller's queue stays its own (`serving`);
 * a driver reset in the window shows in d->resets. Device lock held.
 */
void virtio_mmio_fence(struct virtio_device *d, struct retired_pages *retired);

/* One finished chain: its head and the bytes the device wrote into it. */
struct virtio_used {
	uint16_t head;
	uint32_t len;
};

/*
 * Gives n finished chains of queue q back to the driver (n may be 0: then
 * only the fence): 1. fence (their data is where the guest's translations
 * say, on every hart); 2. the used ring; 3. fence again (the used ring's
 * own page may just have been copied on write); 4. the interrupt, unless
 * the driver asked for none (2.7.10). Nothing is published if the device
 * was reset meanwhile. Returns false if it was reset or broken (the
 * caller stops serving). Device lock held, released around the fences.
 */
bool virtio_mmio_complete(struct virtio_device *d, unsigned q, const struct virtio_used *done,
			  unsigned n, struct retired_pages *retired);

/*
 * Serving a queue from outside its own notify: another device (the
 * network switch delivering a frame into a receiver's queue) becomes the
 * queue's server for a moment. Takes the queue's `serving` flag and the
 * device lock without waiting (a caller holds a lock of its own device,
 * and two devices delivering to each other must not wait for each other:
 * docs/concurrency.md). BUSY if either is taken, STOPPED if the queue is not ready
 * or the device not usable: then nothing is held. On VIRTIO_SERVE_TAKEN
 * the caller serves (virtio_mmio_complete included) and ends with
 * virtio_mmio_end_serve.
 */
enum virtio_serve {
	VIRTIO_SERVE_TAKEN,	/* the caller serves the queue now */
	VIRTIO_SERVE_BUSY,	/* someone else does: try again soon */
	VIRTIO_SERVE_STOPPED,	/* the queue is not ready or the device needs a reset */
};
enum virtio_serve virtio_mmio_try_begin_serve(struct virtio_device *d, unsigned q);
void virtio_mmio_end_serve(struct virtio_device *d, unsigned q);

/*
 * Serves queue q as a QueueNotify would, on behalf of someone else (the
 * network: a receiver that posted buffers kicks the senders waiting for
 * them). No lock may be held. If another hart serves q, that hart sees
 * the kick; if a budget's worth is not enough, the rest waits for the
 * VM's next exit (vm_kick_devices), which calls virtio_mmio_serve_kicked
 * - the `kicked` function of the device's struct vm_device.
 */
void virtio_mmio_kick(struct virtio_device *d, unsigned q);

/* True if one of the device's ready queues has a ring part in the guest
 * page holding gpa. Reads the queue setup without the lock: a queue set
 * up meanwhile is the guest's race with itself. */
bool virtio_mmio_uses_page(const struct virtio_device *d, uint64_t gpa);
void virtio_mmio_serve_kicked(void *dev);

/*
 * The device changed its configuration space: the generation moves (2.5.1)
 * and the driver gets a configuration change interrupt. Device lock held.
 */
void virtio_mmio_config_changed(struct virtio_device *d);

#endif
