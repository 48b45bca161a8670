/*
 * A bounded FIFO of Ethernet frames, the frames waiting for one receiving
 * port, in memory the caller provides. Pure: no locks (the caller holds
 * the port's lock), no allocation.
 *
 * The memory (frame_queue_bytes(nslots) bytes, 2-byte aligned) holds
 * nslots slots of FRAME_QUEUE_SLOT_BYTES, then one 16-bit length per
 * slot. Slots are used in a ring: head is the oldest frame, the next free
 * slot is count slots after it.
 *
 * Two ways in:
 *   - frame_queue_push(q, frame, len): copies a frame that is already in
 *     a buffer;
 *   - p = frame_queue_reserve(q, len), copy len bytes to p (straight from
 *     the sending guest's memory), then frame_queue_commit(q). Until the
 *     commit the frame is not in the queue; a reservation never committed
 *     (the copy failed) is simply forgotten: the next reserve hands out
 *     the same slot. One reservation at a time (a push replaces it).
 * A full queue refuses a frame: the caller keeps it where it is (leaves
 * it in the sender's transmit queue), which is the backpressure.
 */
#ifndef DISCV_VNET_FRAME_QUEUE_H
#define DISCV_VNET_FRAME_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A slot holds the largest untagged frame without its FCS, 1514 bytes
 * (IEEE 802.3 clause 3.2: 6 + 6 + 2 header, 1500 data), with room for an
 * 802.1Q tag (1518) and more; 1536 = 3 * 512 keeps slots 512-aligned.
 */
#define FRAME_QUEUE_SLOT_BYTES 1536

struct frame_queue {
	uint8_t *slots;		/* nslots * FRAME_QUEUE_SLOT_BYTES */
	uint16_t *lengths;	/* nslots, each the length of its slot's frame */
	unsigned nslots;
	unsigned head;		/* slot of the oldest frame */
	unsigned count;		/* frames queued */
	bool reserved;		/* a reservation awaits its commit */
};

/* The memory a queue of nslots frames takes. */
size_t frame_queue_bytes(unsigned nslots);

/* An empty queue in memory (frame_queue_bytes(nslots) bytes, 2-aligned). */
void frame_queue_init(struct frame_queue *q, void *memory, unsigned nslots);

bool frame_queue_empty(const struct frame_queue *q);
bool frame_queue_full(const struct frame_queue *q);

/* The free slot, for a frame of len bytes; NULL if the queue is full or
 * len > FRAME_QUEUE_SLOT_BYTES. */
uint8_t *frame_queue_reserve(struct frame_queue *q, size_t len);

/* Queues the frame reserved last; does nothing if none is reserved. */
void frame_queue_commit(struct frame_queue *q);

/* Queues a copy of frame; false (nothing queued) if full or too long. */
bool frame_queue_push(struct frame_queue *q, const void *frame, size_t len);

/* The oldest frame and its length, or NULL if the queue is empty. */
const uint8_t *frame_queue_peek(const struct frame_queue *q, size_t *len);

/* Drops the oldest frame (nothing if empty). */
void frame_queue_pop(struct frame_queue *q);

#endif
