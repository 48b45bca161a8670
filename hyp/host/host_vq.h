/*
 * The driver side of a virtio split virtqueue (virtio 1.2 section 2.7),
 * for discv's own drivers of the host's devices (host/virtio_blk.c and
 * host/virtio_net.c). The guest-facing device side is
 * hyp/virtio/virtq.c; this is its mirror image, much smaller because the
 * device at the other end is the machine's (QEMU), not a guest.
 *
 * The whole queue lives in one block of memory, HOST_VQ_BYTES(size) bytes
 * (a page at most): descriptor table, available ring and used ring back
 * to back, each at its alignment (2.7: 16, 2 and 4). The
 * rings are little-endian (2.7), as both RISC-V and the host that runs the
 * unit tests are, so they are plain C structs. Buffers are named by host
 * physical address.
 *
 * Pure logic over memory, unit-tested natively (tests/unit/test_host_vq.c).
 * One caller at a time per queue: the driver serialises its requests.
 */
#ifndef DISCV_HOST_VQ_H
#define DISCV_HOST_VQ_H

#include <stdbool.h>
#include <stdint.h>
#include "arch/virtio_defs.h"
#include "arch/riscv_defs.h"

/* Where each part starts, for a queue of n entries, and the bytes it
 * takes (a multiple of 16, so such blocks can sit in an array). The
 * rings' sizes count their trailing event words (2.7.6, 2.7.8), which stay
 * unused: discv's drivers do not negotiate VIRTIO_F_EVENT_IDX. */
#define HOST_VQ_AVAIL_OFFSET(n) (16 * (n))
#define HOST_VQ_USED_OFFSET(n) ((HOST_VQ_AVAIL_OFFSET(n) + 6 + 2 * (n) + 3) / 4 * 4)
#define HOST_VQ_BYTES(n) ((HOST_VQ_USED_OFFSET(n) + 6 + 8 * (n) + 15) / 16 * 16)

#define HOST_VQ_MAX_SIZE 128	/* the largest power of 2 whose rings fit a page */


/* The three parts of a split virtqueue (2.7.5, 2.7.6, 2.7.8). */
struct host_vq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct host_vq_avail {
	uint16_t flags, idx;
	uint16_t ring[];
};

struct host_vq_used_elem {
	uint32_t id, len;
};

struct host_vq_used {
	uint16_t flags, idx;
	struct host_vq_used_elem ring[];
};

/* One buffer of a chain: the device reads it, or writes it. */
struct host_vq_buf {
	uint64_t pa;
	uint32_t len;
	bool device_writes;
};

struct host_vq {
	uint16_t size;			/* entries: a power of 2 */
	struct host_vq_desc *desc;
	struct host_vq_avail *avail;
	struct host_vq_used *used;
	uint16_t free_head;		/* the free descriptors, linked by next */
	uint16_t nfree;
	uint16_t avail_idx;		/* avail->idx once published (free-running) */
	uint16_t used_seen;		/* used entries taken so far (free-running) */
	uint16_t chain_len[HOST_VQ_MAX_SIZE];	/* per head in flight; 0: none */
	uint64_t bad_used;		/* used entries naming no chain in flight */
};

/* Lays out a queue of `size` entries in the HOST_VQ_BYTES(size) bytes at
 * `memory` (16-aligned), all zero, every descriptor free. Returns false if size is
 * not a power of 2 in 1..HOST_VQ_MAX_SIZE or memory is misaligned. */
bool host_vq_init(struct host_vq *q, void *memory, uint16_t size);

/* Writes a chain of n buffers (in order: what the device reads before
 * what it writes, 2.7.4) into free descriptors and puts its head in the
 * next slot of the available ring, not yet visible to the device. Returns
 * the head's descriptor index, or -1 if n is 0 or fewer than n
 * descriptors are free (the ring is full). */
int host_vq_add(struct host_vq *q, const struct host_vq_buf *bufs, unsigned n);

/* Makes every chain added so far visible to the device (2.7.13.3); the
 * driver notifies the device after this. */
void host_vq_publish(struct host_vq *q);

/* Takes the next entry of the used ring, if the device wrote one: the
 * chain's head and the bytes the device wrote into it (2.7.8). Its
 * descriptors are free again. Returns false if there is none. */
bool host_vq_take_used(struct host_vq *q, uint16_t *head, uint32_t *written);

#endif
