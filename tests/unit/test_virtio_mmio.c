/*
 * hyp/virtio/virtio_mmio.c: the guest-facing virtio-mmio device core,
 * driven through its MMIO read and write functions as a guest driver
 * would, over a fake guest RAM, with a fake device of two queues.
 *
 * What the core must guarantee and the tests check: the registers of
 * virtio 1.2 4.2.2; feature negotiation (FEATURES_OK only for a subset with
 * VERSION_1); queue setup only while a queue is not ready, refused beyond
 * QueueNumMax; DEVICE_NEEDS_RESET with a configuration interrupt for a
 * broken setup; the completion order (fence, used ring, fence, interrupt:
 * the fakes record what the guest could see at each fence); a budget that
 * ends in mmio_retry; a notify that arrives while the queue is served is
 * served by the server, not lost; a reset in the window where the lock is
 * released drops the serve's completions.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "core/mmio.h"
#include "core/vm.h"
#include "virtio/guest_mem.h"
#include "virtio/virtio_mmio.h"

#define RAM_BASE 0x80000000ULL
#define RAM_SIZE (64ULL << 10)
#define QDESC(q) (RAM_BASE + 0x4000 * (q))
#define QAVAIL(q) (QDESC(q) + 0x1000)
#define QUSED(q) (QDESC(q) + 0x2000)
#define BUF_GPA (RAM_BASE + 0xc000)
#define DEV_BASE 0x10001000ULL


/* ---- fakes of what the core calls below it ---- */

static uint8_t *ram;
static struct vm the_vm;
static struct mmio_region region;
static unsigned regions, retries, logs;
static bool line_level;
static unsigned line_raises;

/* At each fence: the used->idx of queue 0 and the line's level, as the
 * guest could see them then; and a step of "another hart" to run in it. */
#define FENCES 16
static unsigned fences;
static uint16_t used_idx_at_fence[FENCES];
static bool line_at_fence[FENCES];
static void (*in_fence)(void);

static uint16_t get16(uint64_t gpa) { return virtq_le16(ram + (gpa - RAM_BASE)); }
static void put16(uint64_t gpa, uint16_t v) { virtq_put_le16(ram + (gpa - RAM_BASE), v); }

bool mmio_register(struct vm *vm, const struct mmio_region *r)
{
	(void)vm;
	region = *r;
	regions++;
	return true;
}

void mmio_retry(struct vcpu *v)
{
	(void)v;
	retries++;
}

/* The VM's next exit serves what a kick left (vm.c), faked: counted. */
static unsigned vm_kicks;
void vm_kick_devices(struct vm *vm)
{
	(void)vm;
	vm_kicks++;
}

void guest_memory_sync(struct vm *vm)
{
	(void)vm;
	if (fences < FENCES) {
		used_idx_at_fence[fences] = get16(QUSED(0) + 2);
		line_at_fence[fences] = line_level;
	}
	fences++;
	if (in_fence) {
		void (*step)(void) = in_fence;
		in_fence = NULL;
		step();
	}
}

/* A device lock taken on an exit (core/vcpu.c): single-threaded here. */
void spin_lock_acking(struct spinlock *l)
{
	spin_lock(l);
}

void guest_memory_free_retired(struct vm *vm, struct retired_pages *r)
{
	(void)vm;
	r->count = 0;
}

void log_info(const char *fmt, ...)
{
	(void)fmt;
	logs++;
}

static bool in_ram(uint64_t gpa, size_t len)
{
	return gpa >= RAM_BASE && gpa - RAM_BASE <= RAM_SIZE && len <= RAM_SIZE - (gpa - RAM_BASE);
}

static bool ram_read(void *ctx, uint64_t gpa, void *dst, size_t len)
{
	(void)ctx;
	if (!in_ram(gpa, len))
		return false;
	memcpy(dst, ram + (gpa - RAM_BASE), len);
	return true;
}

static bool ram_write(void *ctx, uint64_t gpa, const void *src, size_t len)
{
	(void)ctx;
	if (!in_ram(gpa, len))
		return false;
	memcpy(ram + (gpa - RAM_BASE), src, len);
	return true;
}

struct guest_mem_ops virtio_guest_memory(struct vm *vm)
{
	return (struct guest_mem_ops){ vm, ram_read, ram_write };
}

static void set_line(void *controller, unsigned source, bool level)
{
	(void)controller;
	(void)source;
	if (level && !line_level)
		line_raises++;
	line_level = level;
}

/* ---- the fake device: two queues, a budget of BUDGET chains a serve ---- */

#define BUDGET 3
#define FAKE_FEATURES ((1ULL << 3) | (1ULL << 40))

static struct virtio_device dev;
static unsigned serves[2], resets_seen;
static uint32_t config_reg[4];
static void (*in_serve)(void);

static uint32_t fake_config_read(struct virtio_device *d, uint64_t off, unsigned width)
{
	uint32_t v = 0;

	(void)d;
	if (off + width <= sizeof(config_reg))
		memcpy(&v, (char *)config_reg + off, width);
	return v;
}

static void fake_config_write(struct virtio_device *d, uint64_t off, unsigned width, uint32_t v)
{
	(void)d;
	if (off + width <= sizeof(config_reg))
		memcpy((char *)config_reg + off, &v, width);
}

/* Pops up to BUDGET chains and completes each with len = its head + 100. */
static bool fake_serve(struct virtio_device *d, unsigned q)
{
	const struct guest_mem_ops mem = virtio_guest_memory(d->vm);
	struct virtio_used done[BUDGET];
	struct retired_pages retired;
	struct virtq_chain chain;
	unsigned n = 0;

	serves[q]++;
	if (in_serve) {
		void (*step)(void) = in_serve;
		in_serve = NULL;
		step();
	}
	retired_init(&retired);
	while (n < BUDGET) {
		int got = virtq_pop(&d->queue[q].vq, &mem, &chain);
		if (got < 0) {
			virtio_mmio_needs_reset(d, virtq_error_name(got));
			return false;
		}
		if (!got)
			break;
		done[n].head = chain.head;
		done[n].len = chain.head + 100u;
		n++;
	}
	return virtio_mmio_complete(d, q, done, n, &retired) && n == BUDGET;
}

static void fake_reset(struct virtio_device *d)
{
	(void)d;
	resets_seen++;
}

static unsigned after_notifies[2];
static unsigned serves_at_after_notify;
static void fake_after_notify(struct virtio_device *d, unsigned q)
{
	(void)d;
	after_notifies[q]++;
	serves_at_after_notify = serves[q];
}

static const struct virtio_device_ops fake_ops = {
	.name = "virtio-fake",
	.device_id = 42,
	.features = FAKE_FEATURES,
	.nqueues = 2,
	.queue_num_max = 16,
	.config_read = fake_config_read,
	.config_write = fake_config_write,
	.queue_serve = fake_serve,
	.reset = fake_reset,
	.after_notify = fake_after_notify,
};

/* ---- the driver's side ---- */

static uint32_t rd(uint64_t off)
{
	return (uint32_t)region.read(region.dev, NULL, off, 4);
}

/* The vCPU whose store it is (only its address matters: mmio_retry). */
static struct vcpu a_vcpu;
static struct vcpu *the_vcpu = &a_vcpu;

static void wr(uint64_t off, uint32_t v)
{
	region.write(region.dev, the_vcpu, off, 4, v);
}

static void setup(void)
{
	static const struct irq_line line = { set_line, NULL, 7 };

	free(ram);
	ram = calloc(1, RAM_SIZE);
	if (!ram)
		abort();
	memset(&the_vm, 0, sizeof(the_vm));
	strcpy(the_vm.name, "guest0");
	regions = retries = logs = fences = line_raises = resets_seen = 0;
	serves[0] = serves[1] = 0;
	line_level = false;
	in_fence = in_serve = NULL;
	memset(config_reg, 0, sizeof(config_reg));
	CHECK(virtio_mmio_init(&dev, &the_vm, DEV_BASE, &line, &fake_ops));
}

/* The driver's initialisation up to FEATURES_OK (3.1.1); returns Status. */
static uint32_t negotiate(uint64_t features)
{
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	return rd(VIRTIO_MMIO_STATUS);
}

static void queue_setup(unsigned q, uint32_t size)
{
	wr(VIRTIO_MMIO_QUEUE_SEL, q);
	wr(VIRTIO_MMIO_QUEUE_NUM, size);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)QDESC(q));
	wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(QDESC(q) >> 32));
	wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)QAVAIL(q));
	wr(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
	wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)QUSED(q));
	wr(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
}

static void driver_ok(void)
{
	CHECK(negotiate(VIRTIO_F_VERSION_1) & VIRTIO_STATUS_FEATURES_OK);
	queue_setup(0, 8);
	queue_setup(1, 8);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	   VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

/* Makes `count` one-descriptor chains available on queue q (heads from
 * the avail index on), as a driver does: descriptors, ring, then idx. */
static void offer(unsigned q, unsigned count)
{
	uint16_t idx = get16(QAVAIL(q) + 2);

	for (unsigned i = 0; i < count; i++, idx++) {
		unsigned head = idx % 8;
		uint8_t *d = ram + (QDESC(q) + 16 * head - RAM_BASE);
		uint64_t addr = BUF_GPA + 64 * head;
		memcpy(d, &addr, 8);
		uint32_t len = 64;
		memcpy(d + 8, &len, 4);
		put16(QDESC(q) + 16 * head + 12, VIRTQ_DESC_F_WRITE);
		put16(QDESC(q) + 16 * head + 14, 0);
		put16(QAVAIL(q) + 4 + 2 * (idx % 8), (uint16_t)head);
	}
	put16(QAVAIL(q) + 2, idx);
}

static uint16_t used_idx(unsigned q) { return get16(QUSED(q) + 2); }

/* ---- the tests ---- */

static void test_identity(void)
{
	setup();
	CHECK_EQ(regions, 1);
	CHECK_EQ(region.base, DEV_BASE);
	CHECK_EQ(region.size, VIRTIO_MMIO_SIZE);
	CHECK_EQ(rd(VIRTIO_MMIO_MAGIC), 0x74726976);
	CHECK_EQ(rd(VIRTIO_MMIO_VERSION), 2);
	CHECK_EQ(rd(VIRTIO_MMIO_DEVICE_ID), 42);
	CHECK_EQ(rd(VIRTIO_MMIO_VENDOR_ID), 0x76637364);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	CHECK_EQ(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 16);
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	CHECK_EQ(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 16);
	wr(VIRTIO_MMIO_QUEUE_SEL, 2);		/* no such queue */
	CHECK_EQ(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	CHECK_EQ(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	/* A register narrower than 4 bytes reads as zero. */
	CHECK_EQ(region.read(region.dev, NULL, VIRTIO_MMIO_MAGIC, 2), 0);
}

static void test_features(void)
{
	setup();
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	CHECK_EQ(rd(VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)FAKE_FEATURES);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	CHECK_EQ(rd(VIRTIO_MMIO_DEVICE_FEATURES), (uint32_t)((FAKE_FEATURES | VIRTIO_F_VERSION_1) >> 32));
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	CHECK_EQ(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
	/* Without VERSION_1 (a legacy driver): FEATURES_OK does not stick. */
	CHECK(!(negotiate(1ULL << 3) & VIRTIO_STATUS_FEATURES_OK));
	wr(VIRTIO_MMIO_STATUS, 0);
	/* A bit the device did not offer: refused. */
	CHECK(!(negotiate(VIRTIO_F_VERSION_1 | (1ULL << 4)) & VIRTIO_STATUS_FEATURES_OK));
	wr(VIRTIO_MMIO_STATUS, 0);
	/* A subset with VERSION_1: accepted and kept. */
	CHECK(negotiate(VIRTIO_F_VERSION_1 | (1ULL << 40)) & VIRTIO_STATUS_FEATURES_OK);
	CHECK(virtio_mmio_has_feature(&dev, 1ULL << 40));
	CHECK(!virtio_mmio_has_feature(&dev, 1ULL << 3));
	/* After FEATURES_OK the driver's features are fixed. */
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1u << 3);
	CHECK(!virtio_mmio_has_feature(&dev, 1ULL << 3));
	/* Reset clears them. */
	wr(VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(dev.driver_features, 0);
	CHECK_EQ(rd(VIRTIO_MMIO_STATUS), 0);
	CHECK_EQ(resets_seen, 3);
}

static void test_queue_setup(void)
{
	setup();
	driver_ok();
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	CHECK_EQ(rd(VIRTIO_MMIO_QUEUE_READY), 1);
	CHECK_EQ(dev.queue[0].vq.size, 8);
	CHECK_EQ(dev.queue[0].vq.desc_gpa, QDESC(0));
	CHECK_EQ(dev.queue[1].vq.used_gpa, QUSED(1));
	/* While ready, the setup registers are ignored (4.2.2). */
	wr(VIRTIO_MMIO_QUEUE_NUM, 4);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1234);
	CHECK_EQ(dev.queue[0].vq.size, 8);
	CHECK_EQ(dev.queue[0].vq.desc_gpa, QDESC(0));
	/* Not ready: they take again. */
	wr(VIRTIO_MMIO_QUEUE_READY, 0);
	CHECK_EQ(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	wr(VIRTIO_MMIO_QUEUE_NUM, 4);
	CHECK_EQ(dev.queue[0].vq.size, 4);
	CHECK(virtio_mmio_usable(&dev));
	CHECK(!line_level);
}

/* A broken setup: the device needs a reset and says so by interrupt. */
static void test_bad_setup(void)
{
	static const uint32_t bad_sizes[] = { 0, 3, 32 /* > QueueNumMax 16 */ };

	for (unsigned i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
		setup();
		CHECK(negotiate(VIRTIO_F_VERSION_1) & VIRTIO_STATUS_FEATURES_OK);
		queue_setup(1, bad_sizes[i]);
		CHECK_EQ(rd(VIRTIO_MMIO_QUEUE_READY), 0);
		CHECK(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
		CHECK(rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INTERRUPT_CONFIG_CHANGE);
		CHECK(line_level);
		CHECK_EQ(logs, 1);
		CHECK_EQ(dev.protocol_errors, 1);
		/* A second error logs no more. */
		queue_setup(1, 3);
		CHECK_EQ(logs, 1);
		/* Status writes keep NEEDS_RESET; only a reset clears it. */
		wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
		CHECK(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
		wr(VIRTIO_MMIO_STATUS, 0);
		CHECK_EQ(rd(VIRTIO_MMIO_STATUS), 0);
		CHECK(!line_level);
		CHECK(virtio_mmio_usable(&dev));
	}
	/* Misaligned descriptor table. */
	setup();
	CHECK(negotiate(VIRTIO_F_VERSION_1) & VIRTIO_STATUS_FEATURES_OK);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(VIRTIO_MMIO_QUEUE_NUM, 8);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)QDESC(0) + 8);
	wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)QAVAIL(0));
	wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)QUSED(0));
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK_EQ(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	CHECK(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

/* One notify, one chain: fence, used ring, fence, interrupt, in order. */
static void test_completion_order(void)
{
	setup();
	driver_ok();
	offer(0, 1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(serves[0], 1);
	CHECK_EQ(serves[1], 0);
	CHECK_EQ(used_idx(0), 1);
	CHECK_EQ(virtq_le32(ram + (QUSED(0) + 4 - RAM_BASE)), 0);		/* id: head 0 */
	CHECK_EQ(virtq_le32(ram + (QUSED(0) + 8 - RAM_BASE)), 100);		/* len */
	CHECK_EQ(fences, 2);
	/* At the first fence nothing was published; at the second the used
	 * ring was, the interrupt not yet. */
	CHECK_EQ(used_idx_at_fence[0], 0);
	CHECK(!line_at_fence[0]);
	CHECK_EQ(used_idx_at_fence[1], 1);
	CHECK(!line_at_fence[1]);
	CHECK(line_level);
	CHECK_EQ(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INTERRUPT_USED_BUFFER);
	CHECK_EQ(retries, 0);
	/* The ack lowers the line. */
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_INTERRUPT_USED_BUFFER);
	CHECK_EQ(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	CHECK(!line_level);
	/* The driver asked for no interrupts: the used ring, no interrupt. */
	put16(QAVAIL(0), VIRTQ_AVAIL_F_NO_INTERRUPT);
	offer(0, 1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(used_idx(0), 2);
	CHECK(!line_level);
	CHECK_EQ(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* A notify for a queue the device does not have is ignored. */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 5);
	CHECK_EQ(serves[0] + serves[1], 2);
	/* Queue 1 is served on its own. */
	put16(QAVAIL(0), 0);
	offer(1, 1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	CHECK_EQ(serves[1], 1);
	CHECK_EQ(used_idx(1), 1);
	CHECK_EQ(used_idx(0), 2);
}

/* More than a budget: the vCPU is sent back to store again (mmio_retry),
 * and each retry serves the next budget. */
static void test_budget_retry(void)
{
	setup();
	driver_ok();
	offer(0, 7);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(used_idx(0), 3);
	CHECK_EQ(retries, 1);
	CHECK_EQ(dev.budget_yields, 1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);		/* the guest's store, executed again */
	CHECK_EQ(used_idx(0), 6);
	CHECK_EQ(retries, 2);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(used_idx(0), 7);
	CHECK_EQ(retries, 2);		/* done: the store completes */
	CHECK_EQ(dev.budget_yields, 2);
	CHECK_EQ(dev.queue[0].serving, 0);
}

/*
 * A kick: the queue served on someone else's behalf (no vCPU to retry
 * the store): a budget's worth, then the rest is left for the VM's next
 * exit (vm_kick_devices), which serve_kicked finishes. The device's
 * after_notify hook runs after every notify, not after kicks.
 */
static void test_kick(void)
{
	setup();
	driver_ok();
	vm_kicks = 0;
	after_notifies[0] = 0;
	offer(0, 7);
	virtio_mmio_kick(&dev, 0);
	CHECK_EQ(used_idx(0), 3);
	CHECK_EQ(retries, 0);			/* no store to execute again */
	CHECK_EQ(vm_kicks, 1);
	CHECK_EQ(dev.kicked_queues, 1u);
	CHECK_EQ(dev.queue[0].serving, 0);
	virtio_mmio_serve_kicked(&dev);
	CHECK_EQ(used_idx(0), 6);
	CHECK_EQ(vm_kicks, 2);			/* still more: kicked again */
	virtio_mmio_serve_kicked(&dev);
	CHECK_EQ(used_idx(0), 7);
	CHECK_EQ(vm_kicks, 2);
	CHECK_EQ(dev.kicked_queues, 0u);
	virtio_mmio_serve_kicked(&dev);		/* nothing kicked: nothing served */
	CHECK_EQ(used_idx(0), 7);
	CHECK_EQ(after_notifies[0], 0);
	/* A kick out of range, or of a queue being served, serves nothing
	 * itself (the server sees notify_pending). */
	virtio_mmio_kick(&dev, 5);
	dev.queue[1].serving = 1;
	unsigned before = serves[1];
	virtio_mmio_kick(&dev, 1);
	CHECK_EQ(serves[1], before);
	CHECK_EQ(dev.queue[1].notify_pending, 1);
	dev.queue[1].serving = 0;
	/* A notify: after its serve, the hook. */
	offer(0, 1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(after_notifies[0], 1);
	CHECK_EQ(serves_at_after_notify, serves[0]);
}

/* "Another hart" notifies while this one serves: it must not serve too
 * (the queue has one server) and its notify must not be lost. */
static void notify_from_other_hart(void)
{
	offer(0, 1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	/* It returned at once: the queue was being served. */
	CHECK_EQ(serves[0], 1);
}

static void test_notify_while_serving(void)
{
	setup();
	driver_ok();
	offer(0, 1);
	in_serve = notify_from_other_hart;
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	/* The server saw the pending notify and served again. */
	CHECK_EQ(serves[0], 2);
	CHECK_EQ(used_idx(0), 2);
	CHECK_EQ(dev.queue[0].notify_pending, 0);
	CHECK_EQ(dev.queue[0].serving, 0);
	/* The same, with the other hart's notify at the moment the server
	 * released the lock in a fence (its completions not yet published). */
	in_fence = notify_from_other_hart;
	serves[0] = 0;
	offer(0, 1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(used_idx(0), 4);
	CHECK_EQ(serves[0], 2);
}

/* The driver resets the device while the server waits in a fence: the
 * serve's completion is dropped, nothing is published, no interrupt. */
static void reset_from_other_hart(void)
{
	wr(VIRTIO_MMIO_STATUS, 0);
}

/* Worse: reset and set up again, all in the window: the queue is ready
 * once more, but the serve belongs to the old setup and must publish
 * nothing into the new one. */
static void reset_and_setup_from_other_hart(void)
{
	wr(VIRTIO_MMIO_STATUS, 0);
	driver_ok();
}

static void test_reset_in_fence(void)
{
	setup();
	driver_ok();
	offer(0, 2);
	in_fence = reset_from_other_hart;
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(fences, 1);		/* stopped after the first fence */
	CHECK_EQ(used_idx(0), 0);
	CHECK(!line_level);
	CHECK_EQ(rd(VIRTIO_MMIO_STATUS), 0);
	CHECK_EQ(resets_seen, 1);
	CHECK_EQ(retries, 0);		/* though the budget was full: dropped */
	CHECK_EQ(dev.budget_yields, 0);
	CHECK_EQ(dev.queue[0].serving, 0);
	/* After the driver sets the device up again, the queue works. */
	memset(ram, 0, RAM_SIZE);
	driver_ok();
	offer(0, 1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(used_idx(0), 1);
	CHECK(line_level);
	/* Reset and set up again within the window. */
	setup();
	driver_ok();
	offer(0, 1);
	in_fence = reset_and_setup_from_other_hart;
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(used_idx(0), 0);
	CHECK_EQ(dev.queue[0].vq.used_idx, 0);
	CHECK(!line_level);
	CHECK_EQ(fences, 1);
}

/* A broken chain: NEEDS_RESET, nothing served until the driver resets. */
static void test_broken_chain(void)
{
	setup();
	driver_ok();
	offer(0, 1);
	put16(QAVAIL(0) + 4, 9);	/* head 9 >= size 8 */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK_EQ(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INTERRUPT_CONFIG_CHANGE);
	CHECK_EQ(used_idx(0), 0);
	CHECK(line_level);
	/* The queues stop: another notify serves nothing. */
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	CHECK_EQ(serves[1], 0);
	/* The used ring outside RAM: the push fails, the device needs a reset. */
	setup();
	driver_ok();
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(VIRTIO_MMIO_QUEUE_READY, 0);
	wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(RAM_BASE + RAM_SIZE));
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	offer(0, 1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK_EQ(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INTERRUPT_CONFIG_CHANGE);
}

static void test_config(void)
{
	setup();
	config_reg[0] = 0x11223344;
	config_reg[1] = 0x55667788;
	CHECK_EQ(region.read(region.dev, NULL, VIRTIO_MMIO_CONFIG, 4), 0x11223344);
	CHECK_EQ(region.read(region.dev, NULL, VIRTIO_MMIO_CONFIG + 4, 2), 0x7788);
	CHECK_EQ(region.read(region.dev, NULL, VIRTIO_MMIO_CONFIG + 7, 1), 0x55);
	CHECK_EQ(region.read(region.dev, NULL, VIRTIO_MMIO_CONFIG, 8), 0);	/* two halves, not one */
	region.write(region.dev, NULL, VIRTIO_MMIO_CONFIG + 8, 2, 0xbeef);
	CHECK_EQ(config_reg[2], 0xbeef);
	CHECK_EQ(rd(VIRTIO_MMIO_CONFIG_GENERATION), 0);
	spin_lock(&dev.lock);
	virtio_mmio_config_changed(&dev);
	spin_unlock(&dev.lock);
	CHECK_EQ(rd(VIRTIO_MMIO_CONFIG_GENERATION), 1);
	CHECK_EQ(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INTERRUPT_CONFIG_CHANGE);
	CHECK(line_level);
}

/* The VM's reboot: the device as a new guest must meet it. */
static void test_vm_reset(void)
{
	setup();
	driver_ok();
	offer(0, 1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK(line_level);
	virtio_mmio_reset(&dev);
	CHECK(!line_level);
	CHECK_EQ(rd(VIRTIO_MMIO_STATUS), 0);
	CHECK_EQ(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	CHECK_EQ(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	CHECK_EQ(dev.queue[0].vq.size, 0);
	CHECK_EQ(resets_seen, 1);
	CHECK_EQ(dev.resets, 1);
}

/* Another device serving a queue from outside (the network switch
 * delivering into a receive queue): never waits, says why not. */
static void test_try_begin_serve(void)
{
	setup();
	CHECK_EQ(virtio_mmio_try_begin_serve(&dev, 0), VIRTIO_SERVE_STOPPED);	/* not ready */
	CHECK_EQ(dev.queue[0].serving, 0);
	CHECK_EQ(dev.lock.locked, 0);
	driver_ok();
	spin_lock(&dev.lock);			/* someone holds the device */
	CHECK_EQ(virtio_mmio_try_begin_serve(&dev, 0), VIRTIO_SERVE_BUSY);
	CHECK_EQ(dev.queue[0].serving, 0);
	spin_unlock(&dev.lock);
	dev.queue[0].serving = 1;		/* someone serves the queue */
	CHECK_EQ(virtio_mmio_try_begin_serve(&dev, 0), VIRTIO_SERVE_BUSY);
	CHECK_EQ(dev.lock.locked, 0);
	dev.queue[0].serving = 0;
	CHECK_EQ(virtio_mmio_try_begin_serve(&dev, 0), VIRTIO_SERVE_TAKEN);
	CHECK_EQ(dev.queue[0].serving, 1);
	CHECK_EQ(dev.lock.locked, 1);
	/* Its own notify meanwhile does not serve (one server) and stays. */
	spin_unlock(&dev.lock);
	offer(0, 1);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(serves[0], 0);
	spin_lock(&dev.lock);
	struct virtio_used none[1];
	struct retired_pages retired;
	retired_init(&retired);
	CHECK(virtio_mmio_complete(&dev, 0, none, 0, &retired));
	virtio_mmio_end_serve(&dev, 0);
	CHECK_EQ(dev.queue[0].serving, 0);
	CHECK_EQ(dev.lock.locked, 0);
	CHECK_EQ(dev.queue[0].notify_pending, 1);
	/* A device that needs a reset is stopped. */
	spin_lock(&dev.lock);
	virtio_mmio_needs_reset(&dev, "test");
	spin_unlock(&dev.lock);
	CHECK_EQ(virtio_mmio_try_begin_serve(&dev, 1), VIRTIO_SERVE_STOPPED);
	CHECK_EQ(dev.queue[1].serving, 0);
}

int main(void)
{
	RUN(test_identity);
	RUN(test_features);
	RUN(test_queue_setup);
	RUN(test_bad_setup);
	RUN(test_completion_order);
	RUN(test_budget_retry);
	RUN(test_kick);
	RUN(test_notify_while_serving);
	RUN(test_reset_in_fence);
	RUN(test_broken_chain);
	RUN(test_config);
	RUN(test_vm_reset);
	RUN(test_try_begin_serve);
	free(ram);
	return unit_report("test_virtio_mmio");
}
