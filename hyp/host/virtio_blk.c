#include <libfdt.h>
#include <string.h>
#include "host/console.h"
#include "host/hart.h"
#include "host/irq.h"
#include "host/virtio_blk.h"
#include "arch/riscv_defs.h"
#include "lib/format.h"

/* virtio-mmio registers (virtio 1.2, 4.2.2) */
#define VIRTIO_MMIO_MAGIC 0x000
#define VIRTIO_MMIO_VERSION 0x004
#define VIRTIO_MMIO_DEVICE_ID 0x008
#define VIRTIO_MMIO_DEVICE_FEATURES 0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES 0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL 0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX 0x034
#define VIRTIO_MMIO_QUEUE_NUM 0x038
#define VIRTIO_MMIO_QUEUE_READY 0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS 0x060
#define VIRTIO_MMIO_INTERRUPT_ACK 0x064
#define VIRTIO_MMIO_STATUS 0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW 0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW 0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW 0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VIRTIO_MMIO_CONFIG 0x100

#define VIRTIO_MAGIC 0x74726976		/* "virt" */
#define VIRTIO_ID_BLOCK 2

/* Device status bits (virtio 1.2, 2.1) */
#define STATUS_ACKNOWLEDGE 1
#define STATUS_DRIVER 2
#define STATUS_DRIVER_OK 4
#define STATUS_FEATURES_OK 8

#define VIRTIO_F_VERSION_1 32
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_FLUSH 9

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2

#define QUEUE_SIZE 8
#define POLL_TICKS 200		/* 20 us at QEMU virt's 10 MHz */
#define IRQ_WAIT_TICKS 10000	/* 1 ms: a backstop, the interrupt comes first */

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

/* One page holds the whole split ring of QUEUE_SIZE entries plus the
 * request header and status byte (virtio 1.2, 2.7: alignments 16/2/4). */
struct ring_page {
	struct vring_desc desc[QUEUE_SIZE];			/* 16-aligned */
	struct { uint16_t flags, idx, ring[QUEUE_SIZE]; } avail;	/* 2-aligned */
	struct { uint16_t flags, idx; struct { uint32_t id, len; } ring[QUEUE_SIZE]; } used;	/* 4-aligned */
	struct { uint32_t type, reserved; uint64_t sector; } header;
	volatile uint8_t status;
	char id[HOST_BLK_SERIAL_MAX];
};
_Static_assert(sizeof(struct ring_page) <= PAGE_SIZE, "ring fits a page");

/* A ticket lock: harts get the disk in the order they asked for it. */
struct ticket_lock {
	unsigned next, serving;
};

struct host_blk {
	volatile uint8_t *regs;
	char serial[HOST_BLK_SERIAL_MAX + 1];
	uint64_t capacity;	/* bytes */
	bool read_only, has_flush;
	struct ring_page *ring;
	uint16_t avail_idx, used_seen;
	struct ticket_lock lock;
	char name[40];		/* "host disk 'serial'": log lines */
	uint64_t bytes_read;
	/* Its interrupt (host device tree): source `irq_source` of the
	 * interrupt controller whose phandle is `irq_parent`. */
	uint32_t irq_source, irq_parent;
	int irq;		/* its host/irq.h registration, or -1 */
	int waiter;		/* harts[] index waiting for a completion, -1 */
};

static struct host_blk disks[HOST_BLK_MAX];
static unsigned ndisks;
/* The rings live in the hypervisor's image: the disks are probed before
 * the page allocator exists (the base disk's size decides what it must
 * set aside). */
static struct ring_page rings[HOST_BLK_MAX] __attribute__((aligned(PAGE_SIZE)));

static uint32_t reg_read(struct host_blk *d, unsigned off)
{
	return *(volatile uint32_t *)(d->regs + off);
}

static void reg_write(struct host_blk *d, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(d->regs + off) = v;
}

static void ticket_lock(struct ticket_lock *l)
{
	unsigned me = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);

	/* The holder waits for the device: waiting harts sleep too (see
	 * hart_pause), or they take the host CPUs QEMU needs to finish it. */
	while (__atomic_load_n(&l->serving, __ATOMIC_ACQUIRE) != me)
		hart_pause(POLL_TICKS);
}

static void ticket_unlock(struct ticket_lock *l)
{
	__atomic_store_n(&l->serving, l->serving + 1, __ATOMIC_RELEASE);
}

/*
 * Submits a request of up to one data buffer and waits for it. Caller
 * holds the disk's lock. The chain is header (device reads), data (device
 * reads for OUT, writes for IN), status (device writes) (virtio 1.2, 5.2.6).
 */
static bool submit(struct host_blk *d, uint32_t type, uint64_t sector, uint64_t pa,
		   uint32_t len, bool device_writes)
{
	struct ring_page *r = d->ring;
	unsigned n = 0;

	r->header.type = type;
	r->header.reserved = 0;
	r->header.sector = sector;
	r->status = 0xff;
	r->desc[n] = (struct vring_desc){ ptr_to_pa(&r->header), sizeof(r->header),
					  VIRTQ_DESC_F_NEXT, 1 };
	n++;
	if (len) {
		r->desc[n] = (struct vring_desc){ pa, len, VIRTQ_DESC_F_NEXT |
				(device_writes ? VIRTQ_DESC_F_WRITE : 0), 2 };
		n++;
	}
	r->desc[n] = (struct vring_desc){ ptr_to_pa((const void *)&r->status), 1,
					  VIRTQ_DESC_F_WRITE, 0 };
	r->desc[n - 1].next = (uint16_t)n;
	r->avail.ring[d->avail_idx % QUEUE_SIZE] = 0;
	/* The descriptors and the ring entry before the index (2.7.13). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&r->avail.idx, (uint16_t)(d->avail_idx + 1), __ATOMIC_RELEASE);
	d->avail_idx++;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	reg_write(d, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	/* QEMU completes the request on its own thread: sleep between looks
	 * so this emulated hart does not keep a host CPU from it. With the
	 * disk's interrupt wired, the completion wakes this hart (directly,
	 * or through a kick from the hart that takes the interrupt); the
	 * timeout only guards against a lost wake-up. */
	__atomic_store_n(&d->waiter, (int)this_hart()->index, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&r->used.idx, __ATOMIC_ACQUIRE) == d->used_seen)
		hart_pause(host_irq_wired(d->irq) ? IRQ_WAIT_TICKS : POLL_TICKS);
	__atomic_store_n(&d->waiter, -1, __ATOMIC_SEQ_CST);
	d->used_seen++;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	reg_write(d, VIRTIO_MMIO_INTERRUPT_ACK, reg_read(d, VIRTIO_MMIO_INTERRUPT_STATUS));
	return r->status == 0;
}

static bool locked_request(struct host_blk *d, uint32_t type, uint64_t offset, uint64_t pa,
			   uint32_t len, bool device_writes)
{
	bool ok;

	if ((offset | len) % 512 || offset > d->capacity || len > d->capacity - offset)
		return false;
	ticket_lock(&d->lock);
	ok = submit(d, type, offset / 512, pa, len, device_writes);
	if (ok && type == VIRTIO_BLK_T_IN)
		d->bytes_read += len;
	ticket_unlock(&d->lock);
	return ok;
}

bool host_blk_read(struct host_blk *d, uint64_t offset, uint64_t pa, uint32_t len)
{
	return locked_request(d, VIRTIO_BLK_T_IN, offset, pa, len, true);
}

bool host_blk_write(struct host_blk *d, uint64_t offset, uint64_t pa, uint32_t len)
{
	return !d->read_only && locked_request(d, VIRTIO_BLK_T_OUT, offset, pa, len, false);
}

bool host_blk_flush(struct host_blk *d)
{
	bool ok = true;

	if (!d->has_flush)
		return true;	/* no volatile cache to flush (5.2.3) */
	ticket_lock(&d->lock);
	ok = submit(d, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false);
	ticket_unlock(&d->lock);
	return ok;
}

/*
 * The disk's interrupt (host/irq.c calls it on the hart the source is
 * routed to): acknowledge the device, so its line drops before the PLIC
 * completion, and wake the hart that waits for the disk.
 */
static void disk_interrupt(void *ctx)
{
	struct host_blk *d = ctx;
	int waiter;

	reg_write(d, VIRTIO_MMIO_INTERRUPT_ACK, reg_read(d, VIRTIO_MMIO_INTERRUPT_STATUS));
	waiter = __atomic_load_n(&d->waiter, __ATOMIC_SEQ_CST);
	if (waiter >= 0 && waiter != (int)this_hart()->index)
		hart_kick((unsigned)waiter);
}

/* Device initialisation (virtio 1.2, 3.1.1 and 4.2.3). */
static bool init_device(struct host_blk *d, struct ring_page *ring)
{
	uint64_t features;

	reg_write(d, VIRTIO_MMIO_STATUS, 0);	/* reset */
	reg_write(d, VIRTIO_MMIO_STATUS, STATUS_ACKNOWLEDGE);
	reg_write(d, VIRTIO_MMIO_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
	reg_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	features = (uint64_t)reg_read(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	reg_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	features |= reg_read(d, VIRTIO_MMIO_DEVICE_FEATURES);
	if (!(features & (1ULL << VIRTIO_F_VERSION_1)))
		return false;
	d->read_only = features & (1ULL << VIRTIO_BLK_F_RO);
	d->has_flush = features & (1ULL << VIRTIO_BLK_F_FLUSH);
	features &= (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_BLK_F_RO) |
		    (1ULL << VIRTIO_BLK_F_FLUSH);
	reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	reg_write(d, VIRTIO_MMIO_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
	if (!(reg_read(d, VIRTIO_MMIO_STATUS) & STATUS_FEATURES_OK))
		return false;

	reg_write(d, VIRTIO_MMIO_QUEUE_SEL, 0);
	if (reg_read(d, VIRTIO_MMIO_QUEUE_READY) || reg_read(d, VIRTIO_MMIO_QUEUE_NUM_MAX) < 3)
		return false;
	memset(ring, 0, sizeof(*ring));
	d->ring = ring;
	reg_write(d, VIRTIO_MMIO_QUEUE_NUM, QUEUE_SIZE);
	reg_write(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)ptr_to_pa(d->ring->desc));
	reg_write(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(ptr_to_pa(d->ring->desc) >> 32));
	reg_write(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)ptr_to_pa(&d->ring->avail));
	reg_write(d, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(ptr_to_pa(&d->ring->avail) >> 32));
	reg_write(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)ptr_to_pa(&d->ring->used));
	reg_write(d, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(ptr_to_pa(&d->ring->used) >> 32));
	reg_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
	reg_write(d, VIRTIO_MMIO_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK |
		  STATUS_DRIVER_OK);

	/* capacity: le64 in 512-byte sectors at config offset 0 (5.2.4) */
	d->capacity = ((uint64_t)reg_read(d, VIRTIO_MMIO_CONFIG + 4) << 32 |
		       reg_read(d, VIRTIO_MMIO_CONFIG)) * 512;

	/* The serial (GET_ID, 5.2.6): 20 bytes, NUL-padded if shorter. */
	char *id = d->ring->id;
	memset(id, 0, HOST_BLK_SERIAL_MAX);
	if (!submit(d, VIRTIO_BLK_T_GET_ID, 0, ptr_to_pa(id), HOST_BLK_SERIAL_MAX, true))
		id[0] = '\0';
	memcpy(d->serial, id, HOST_BLK_SERIAL_MAX);
	d->serial[HOST_BLK_SERIAL_MAX] = '\0';
	return true;
}

unsigned host_blk_probe(const void *fdt)
{
	int node = -1;

	while ((node = fdt_node_offset_by_compatible(fdt, node, "virtio,mmio")) >= 0 &&
	       ndisks < HOST_BLK_MAX) {
		/* QEMU virt's /soc has #address-cells = 2. */
		const fdt32_t *reg = fdt_getprop(fdt, node, "reg", NULL);
		if (!reg || fdt_address_cells(fdt, fdt_parent_offset(fdt, node)) != 2)
			continue;
		uint64_t base = (uint64_t)fdt32_to_cpu(reg[0]) << 32 | fdt32_to_cpu(reg[1]);
		const fdt32_t *irq = fdt_getprop(fdt, node, "interrupts", NULL);
		const fdt32_t *parent = fdt_getprop(fdt, node, "interrupt-parent", NULL);
		struct host_blk *d = &disks[ndisks];
		memset(d, 0, sizeof(*d));
		d->regs = pa_to_ptr(base);
		d->irq_source = irq ? fdt32_to_cpu(*irq) : 0;
		d->irq_parent = parent ? fdt32_to_cpu(*parent) : 0;
		d->irq = -1;
		d->waiter = -1;
		if (reg_read(d, VIRTIO_MMIO_MAGIC) != VIRTIO_MAGIC ||
		    reg_read(d, VIRTIO_MMIO_DEVICE_ID) != VIRTIO_ID_BLOCK)
			continue;	/* an empty slot, or another kind of device */
		if (reg_read(d, VIRTIO_MMIO_VERSION) != 2) {
			log_info("host disk at %lx is legacy virtio-mmio: run QEMU with "
				 "-global virtio-mmio.force-legacy=false", base);
			continue;
		}
		if (!init_device(d, &rings[ndisks])) {
			log_info("host disk at %lx: initialisation failed", base);
			continue;
		}
		format(d->name, sizeof(d->name), "host disk '%s'", d->serial);
		log_info("%s at %lx: %lu MiB%s", d->name, base, d->capacity >> 20,
			 d->read_only ? ", read-only" : "");
		d->irq = host_irq_register(d->irq_parent, d->irq_source, disk_interrupt, d,
					   d->name);
		ndisks++;
	}
	return ndisks;
}

uint64_t host_blk_interrupts(void)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < ndisks; i++)
		n += host_irq_count(disks[i].irq);
	return n;
}

struct host_blk *host_blk_find(const char *serial)
{
	for (unsigned i = 0; i < ndisks; i++)
		if (!strcmp(disks[i].serial, serial))
			return &disks[i];
	return NULL;
}

uint64_t host_blk_capacity_bytes(const struct host_blk *d)
{
	return d->capacity;
}

bool host_blk_read_only(const struct host_blk *d)
{
	return d->read_only;
}

uint64_t host_blk_bytes_read(const struct host_blk *d)
{
	return d->bytes_read;
}
