/*
 * The device side of a virtio split virtqueue (virtio 1.2 section 2.7),
 * for devices the hypervisor emulates over guest memory.
 *
 * The driver is the guest and is not trusted: every rule of 2.7 that a
 * driver can break is checked, and a broken one is an error code, never a
 * crash nor an access outside guest RAM. Guest memory is reached only
 * through struct guest_mem_ops, so this file knows nothing of struct vm
 * and is unit-tested and fuzzed natively.
 *
 * Layout in guest memory (all little-endian, 2.7; its sizes add 2 bytes to
 * each ring for the EVENT_IDX trailers, unused here):
 *
 *   descriptor table  16 * size     align 16  { le64 addr; le32 len; le16 flags; le16 next; }
 *   available ring    4 + 2 * size  align 2   { le16 flags; le16 idx; le16 ring[size]; }
 *   used ring         4 + 8 * size  align 4   { le16 flags; le16 idx; { le32 id; le32 len; } ring[size]; }
 *
 * Features: the device offers neither VIRTIO_F_INDIRECT_DESC (an indirect
 * descriptor is an error) nor VIRTIO_F_EVENT_IDX (the trailing used_event
 * and avail_event words are never touched). The device never writes
 * used->flags: it stays the 0 the driver initialised it to (2.7.10.1), so
 * the driver always notifies. In the other direction avail->flags
 * VIRTQ_AVAIL_F_NO_INTERRUPT is honoured (virtq_needs_notify()), which
 * 2.7.7.2 recommends (SHOULD NOT notify) but does not require.
 *
 * Errors: virtq_pop() and virtq_push() change the queue only when they
 * succeed, so popping again meets the same bad entry. A negative result
 * means the driver broke the protocol: the device model should stop using
 * the queue, set DEVICE_NEEDS_RESET in the device status and send a
 * configuration change notification (2.1.2) until the driver resets the
 * device. The bad chain is never given back in the used ring.
 *
 * Concurrency: the driver runs on other harts while the device works, so
 * the ring indices are read and written with the barriers of 2.7.13; the
 * caller serialises pops and pushes of one queue (a lock per queue).
 */
#ifndef DISCV_VIRTQ_H
#define DISCV_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "arch/virtio_defs.h"

/*
 * Guest memory for the device: the hypervisor's ops wrap guest_copy_from()
 * and guest_copy_to(). Each returns false, having copied nothing, if
 * [gpa, gpa + len) is not all guest RAM (or wraps around 2^64).
 *
 * The ring indices avail->idx and used->idx are shared with a driver that
 * runs concurrently, so a 2-byte access at a 2-aligned gpa MUST be a single
 * 16-bit load or store (never a byte loop, which could show the driver a
 * torn used->idx such as 0x0000 between 0x00ff and 0x0100). The virtqueue
 * code reads and writes these indices only as such 2-byte accesses.
 */
struct guest_mem_ops {
	void *ctx;
	bool (*read)(void *ctx, uint64_t gpa, void *dst, size_t len);
	bool (*write)(void *ctx, uint64_t gpa, const void *src, size_t len);
};

/*
 * The memory barrier between guest-visible accesses: at least fence rw,rw
 * on RISC-V (GCC 12 emits fence iorw,iorw for a sequentially consistent
 * fence). A build may define its own before including this header.
 */
#ifndef VIRTQ_BARRIER
#define VIRTQ_BARRIER() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif

#define VIRTQ_MAX_SIZE 1024	/* the largest QueueNum discv accepts (each device offers its own QueueNumMax) */
#define VIRTQ_MAX_CHAIN 64	/* the most descriptors discv accepts in a chain */


#define VIRTQ_DESC_BYTES 16
#define VIRTQ_DESC_ALIGN 16
#define VIRTQ_AVAIL_ALIGN 2
#define VIRTQ_USED_ALIGN 4

/* Bytes of each ring part for a queue of `size` entries (2.7), without
 * the EVENT_IDX trailers. */
#define VIRTQ_DESC_TABLE_BYTES(size) (16ULL * (size))
#define VIRTQ_AVAIL_BYTES(size) (4ULL + 2ULL * (size))
#define VIRTQ_USED_BYTES(size) (4ULL + 8ULL * (size))

struct virtq {
	uint16_t size;		/* QueueNum: a power of 2, 1..VIRTQ_MAX_SIZE */
	bool ready;		/* QueueReady, set once the setup validated */
	uint64_t desc_gpa;	/* descriptor table (QueueDesc) */
	uint64_t avail_gpa;	/* available ring (QueueDriver) */
	uint64_t used_gpa;	/* used ring (QueueDevice) */
	uint16_t last_avail_idx;	/* the next avail->ring slot to pop, free-running */
	uint16_t used_idx;	/* the device's used->idx, free-running */
};

struct virtq_buf {
	uint64_t gpa;
	uint32_t len;		/* > 0 */
	bool device_writable;
};

/* One popped descriptor chain: its device-readable buffers come first,
 * then its device-writable ones (checked by virtq_pop). */
struct virtq_chain {
	uint16_t head;		/* the id to give back to virtq_push */
	unsigned nbufs;		/* 1..VIRTQ_MAX_CHAIN */
	struct virtq_buf buf[VIRTQ_MAX_CHAIN];
	uint64_t readable_bytes;
	uint64_t writable_bytes;	/* readable + writable <= UINT32_MAX */
};

enum virtq_error {
	VIRTQ_OK = 0,
	VIRTQ_E_NOT_READY = -1,		/* the queue is not ready */
	VIRTQ_E_SIZE = -2,		/* size 0, not a power of 2, or > VIRTQ_MAX_SIZE */
	VIRTQ_E_ALIGN = -3,		/* a ring part misaligned (2.7.1) */
	VIRTQ_E_RING_WRAPS = -4,	/* a ring part runs past 2^64 */
	VIRTQ_E_AVAIL_UNREADABLE = -5,	/* avail->idx or avail->ring[] not in RAM */
	VIRTQ_E_AVAIL_IDX = -6,		/* avail->idx more than size ahead (2.7.6.1) */
	VIRTQ_E_HEAD_INDEX = -7,	/* avail->ring[] names a descriptor >= size */
	VIRTQ_E_DESC_UNREADABLE = -8,	/* a descriptor not in RAM */
	VIRTQ_E_NEXT_INDEX = -9,	/* desc.next >= size */
	VIRTQ_E_LOOP = -10,		/* the chain visits a descriptor twice (2.7.5.2) */
	VIRTQ_E_CHAIN_TOO_LONG = -11,	/* more than VIRTQ_MAX_CHAIN descriptors (2.7.4.1) */
	VIRTQ_E_INDIRECT = -12,		/* VIRTQ_DESC_F_INDIRECT: not negotiated (2.7.5.3.1) */
	VIRTQ_E_READABLE_AFTER_WRITABLE = -13,	/* 2.7.4.2 */
	VIRTQ_E_ZERO_LENGTH = -14,	/* a descriptor with len 0 */
	VIRTQ_E_BUF_WRAPS = -15,	/* addr + len runs past 2^64 */
	VIRTQ_E_CHAIN_BYTES = -16,	/* the chain's lengths sum past UINT32_MAX (2.7.5.2) */
	VIRTQ_E_USED_UNWRITABLE = -17,	/* used->ring[] or used->idx not in RAM */
	VIRTQ_E_BAD_ID = -18,		/* virtq_push of an id >= size (a device bug) */
};

/* The name of an enum virtq_error ("VIRTQ_E_LOOP"), "?" if unknown. */
const char *virtq_error_name(int err);

/*
 * Checks the driver's setup of q before it becomes ready: size a power of
 * 2 in 1..VIRTQ_MAX_SIZE, each part aligned (2.7.1) and not running past
 * 2^64. Whether the parts lie in RAM is checked at each access.
 * Returns VIRTQ_OK or a negative enum virtq_error.
 */
int virtq_validate_setup(const struct virtq *q);

/*
 * Takes the next available descriptor chain, if any (2.7.13, device side):
 * reads avail->idx; if it differs from last_avail_idx, reads the head from
 * avail->ring[last_avail_idx % size] and walks its descriptors into
 * *chain. Each descriptor is read once into a local copy, so a driver
 * rewriting it meanwhile cannot make a check and a use disagree.
 *
 * Returns 1 (a chain; last_avail_idx advanced), 0 (the queue is empty) or
 * a negative enum virtq_error (q unchanged; *chain is meaningful only
 * after 1). Zero-length descriptors are
 * refused, as QEMU refuses them: no driver needs one, and every buffer the
 * device model sees then holds at least one byte.
 */
int virtq_pop(struct virtq *q, const struct guest_mem_ops *mem, struct virtq_chain *chain);

/*
 * Returns a finished chain to the driver (2.7.8): writes {id, len} into
 * used->ring[used_idx % size], then (after a barrier) used->idx + 1.
 * written_len is the bytes the device wrote into the chain's writable
 * buffers, from the first (2.7.8.2). The device's data writes into the
 * buffers must precede this call. Returns VIRTQ_OK or a negative error.
 */
int virtq_push(struct virtq *q, const struct guest_mem_ops *mem, uint16_t id,
	       uint32_t written_len);

/*
 * After one or more pushes: whether to send the used buffer notification
 * (2.7.7.2 without EVENT_IDX): false only if avail->flags has
 * VIRTQ_AVAIL_F_NO_INTERRUPT. Full barrier first, so the driver's
 * re-enable + re-check of used->idx cannot miss the push. An unreadable
 * avail->flags reads as "notify".
 */
bool virtq_needs_notify(const struct virtq *q, const struct guest_mem_ops *mem);

/* Little-endian fields of guest structures (virtio 1.x is little-endian
 * whatever the host). */
static inline uint16_t virtq_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t virtq_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t virtq_le64(const uint8_t *p)
{
	return (uint64_t)virtq_le32(p) | (uint64_t)virtq_le32(p + 4) << 32;
}

static inline void virtq_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void virtq_put_le32(uint8_t *p, uint32_t v)
{
	virtq_put_le16(p, (uint16_t)v);
	virtq_put_le16(p + 2, (uint16_t)(v >> 16));
}

#endif
