/*
 * discv's driver for the host's disks: QEMU's virtio-blk devices (virtio
 * 1.2 section 5.2), on the host virtio-mmio driver core (host/virtio_mmio.h)
 * and the host interrupt dispatch (host/irq.h).
 *
 * Disks are found by probing every "virtio,mmio" node of the host device
 * tree and named by their serial number (the GET_ID request), not by the
 * slot QEMU happened to put them in: `-device virtio-blk-device,
 * serial=discv-base` is the shared base disk, serial=discv-delta the disk
 * holding every guest's private delta.
 *
 * Requests are synchronous: the caller's hart submits one request and
 * sleeps until the device completes it (woken by the disk's interrupt
 * when it is wired, else looking every 20 us). A ticket lock per
 * disk serves harts in arrival order, so no guest starves the others of
 * host IO. Buffers are host-physical addresses (QEMU's devices have no
 * IOMMU in front of them).
 */
#ifndef DISCV_HOST_BLK_H
#define DISCV_HOST_BLK_H

#include <stdbool.h>
#include <stdint.h>
#include "arch/virtio_defs.h"

#define HOST_BLK_SERIAL_MAX VIRTIO_BLK_ID_BYTES
#define HOST_BLK_MAX 8

struct host_blk;

/* Finds and initialises every virtio-blk device in the host device tree
 * and registers its interrupt (host/irq.h: wired afterwards by
 * host_irq_wire). Returns how many were found. */
unsigned host_blk_probe(const void *fdt);

/* Completions the disks signalled by interrupt so far (hvstat's
 * host_disk_interrupts). */
uint64_t host_blk_interrupts(void);

/* The disk with this serial, or NULL. */
struct host_blk *host_blk_find(const char *serial);

uint64_t host_blk_capacity_bytes(const struct host_blk *d);
bool host_blk_read_only(const struct host_blk *d);

/* Reads or writes len bytes (a multiple of 512) at byte offset `offset`
 * (a multiple of 512) from/to the physically contiguous host buffer at pa.
 * Returns true if the device reported success. */
bool host_blk_read(struct host_blk *d, uint64_t offset, uint64_t pa, uint32_t len);
bool host_blk_write(struct host_blk *d, uint64_t offset, uint64_t pa, uint32_t len);

/* Makes every completed write durable on the host (VIRTIO_BLK_T_FLUSH). */
bool host_blk_flush(struct host_blk *d);

/* Bytes read from this disk so far (hvstat). */
uint64_t host_blk_bytes_read(const struct host_blk *d);

#endif
