/*
 * The host disk driver: what is block-specific on top of the virtio-mmio
 * driver core. Requests (header, data, status), the serial, the capacity,
 * the features read-only and flush, the ticket lock, and waiting for a
 * completion.
 */
#include <string.h>
#include "arch/riscv_defs.h"
#include "host/console.h"
#include "host/hart.h"
#include "host/host_vq.h"
#include "host/irq.h"
#include "host/virtio_blk.h"
#include "host/virtio_mmio.h"
#include "lib/format.h"

/* Feature bits (virtio 1.2, 5.2.3) */

/* Request types (5.2.6) */

#define CONFIG_CAPACITY 0	/* le64, in 512-byte sectors (5.2.4) */

#define QUEUE_SIZE 8		/* one request of 3 descriptors at a time */
#define POLL_TICKS 200		/* 20 us at QEMU virt's 10 MHz */
#define IRQ_WAIT_TICKS 10000	/* 1 ms: a backstop, the interrupt comes first */

/* A ticket lock: harts get the disk in the order they asked for it. */
struct ticket_lock {
	unsigned next, serving;
};

struct host_blk {
	struct host_virtio dev;
	char serial[HOST_BLK_SERIAL_MAX + 1];
	char name[40];		/* "host disk 'serial'": log lines */
	uint64_t capacity;	/* bytes */
	bool read_only, has_flush;
	struct host_vq vq;
	struct ticket_lock lock;
	uint64_t bytes_read;
	int irq;		/* its host/irq.h registration, or -1 */
	int waiter;		/* harts[] index waiting for a completion, -1 */
	/* The request's own buffers (5.2.6): the device reads the header
	 * and writes the status byte and, for GET_ID, the serial. */
	struct { uint32_t type, reserved; uint64_t sector; } header;
	volatile uint8_t status;
	char id[HOST_BLK_SERIAL_MAX];
};

static struct host_blk disks[HOST_BLK_MAX];
static unsigned ndisks;
/* The rings live in the hypervisor's image: the disks are probed before
 * the page allocator exists (the base disk's size decides what it must
 * set aside). */
static uint8_t rings[HOST_BLK_MAX][HOST_VQ_BYTES(QUEUE_SIZE)] __attribute__((aligned(16)));

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
	struct host_vq_buf chain[3];
	unsigned n = 0;
	uint16_t head;
	uint32_t written;

	d->header.type = type;
	d->header.reserved = 0;
	d->header.sector = sector;
	d->status = 0xff;
	chain[n++] = (struct host_vq_buf){ ptr_to_pa(&d->header), sizeof(d->header), false };
	if (len)
		chain[n++] = (struct host_vq_buf){ pa, len, device_writes };
	chain[n++] = (struct host_vq_buf){ ptr_to_pa((const void *)&d->status), 1, true };
	if (host_vq_add(&d->vq, chain, n) < 0)
		return false;	/* cannot happen: one request at a time */
	host_vq_publish(&d->vq);
	host_virtio_notify(&d->dev, 0);
	/* QEMU completes the request on its own thread: sleep between looks
	 * so this emulated hart does not keep a host CPU from it. With the
	 * disk's interrupt wired, the completion wakes this hart (directly,
	 * or through a kick from the hart that takes the interrupt); the
	 * timeout only guards against a lost wake-up. */
	__atomic_store_n(&d->waiter, (int)this_hart()->index, __ATOMIC_SEQ_CST);
	while (!host_vq_take_used(&d->vq, &head, &written))
		hart_pause(host_irq_wired(d->irq) ? IRQ_WAIT_TICKS : POLL_TICKS);
	__atomic_store_n(&d->waiter, -1, __ATOMIC_SEQ_CST);
	host_virtio_ack_interrupt(&d->dev);
	return d->status == 0;
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

	host_virtio_ack_interrupt(&d->dev);
	waiter = __atomic_load_n(&d->waiter, __ATOMIC_SEQ_CST);
	if (waiter >= 0 && waiter != (int)this_hart()->index)
		hart_kick((unsigned)waiter);
}

/* Device initialisation (virtio 1.2, 3.1.1), then its size and serial. */
static bool init_device(struct host_blk *d, void *ring)
{
	uint64_t features;

	host_virtio_begin_init(&d->dev);
	if (!host_virtio_negotiate(&d->dev, VIRTIO_BLK_F_RO | VIRTIO_BLK_F_FLUSH,
				   &features))
		return false;
	d->read_only = features & VIRTIO_BLK_F_RO;
	d->has_flush = features & VIRTIO_BLK_F_FLUSH;
	if (!host_vq_init(&d->vq, ring, QUEUE_SIZE) ||
	    !host_virtio_setup_queue(&d->dev, 0, &d->vq))
		return false;
	host_virtio_driver_ok(&d->dev);

	d->capacity = host_virtio_config64(&d->dev, CONFIG_CAPACITY) * 512;

	/* The serial (GET_ID, 5.2.6): 20 bytes, NUL-padded if shorter. Its
	 * interrupt is not wired yet: this request is polled. */
	memset(d->id, 0, HOST_BLK_SERIAL_MAX);
	if (!submit(d, VIRTIO_BLK_T_GET_ID, 0, ptr_to_pa(d->id), HOST_BLK_SERIAL_MAX, true))
		d->id[0] = '\0';
	memcpy(d->serial, d->id, HOST_BLK_SERIAL_MAX);
	d->serial[HOST_BLK_SERIAL_MAX] = '\0';
	return true;
}

unsigned host_blk_probe(const void *fdt)
{
	struct host_virtio dev;
	int node = -1;

	while (ndisks < HOST_BLK_MAX &&
	       (node = host_virtio_probe_next(fdt, node, VIRTIO_ID_BLOCK, &dev)) >= 0) {
		struct host_blk *d = &disks[ndisks];
		*d = (struct host_blk){ .dev = dev, .irq = -1, .waiter = -1 };
		if (!init_device(d, rings[ndisks])) {
			log_info("host disk at %lx: initialisation failed", d->dev.base);
			continue;
		}
		format(d->name, sizeof(d->name), "host disk '%s'", d->serial);
		log_info("%s at %lx: %lu MiB%s", d->name, d->dev.base, d->capacity >> 20,
			 d->read_only ? ", read-only" : "");
		d->irq = host_irq_register(d->dev.irq_parent, d->dev.irq_source, disk_interrupt,
					   d, d->name);
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
