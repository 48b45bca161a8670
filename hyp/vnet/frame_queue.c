#include <string.h>
#include "vnet/frame_queue.h"

size_t frame_queue_bytes(unsigned nslots)
{
	return (size_t)nslots * (FRAME_QUEUE_SLOT_BYTES + sizeof(uint16_t));
}

void frame_queue_init(struct frame_queue *q, void *memory, unsigned nslots)
{
	uint8_t *bytes = memory;

	q->slots = bytes;
	q->lengths = (uint16_t *)(void *)(bytes + (size_t)nslots * FRAME_QUEUE_SLOT_BYTES);
	q->nslots = nslots;
	q->head = 0;
	q->count = 0;
	q->reserved = false;
}

bool frame_queue_empty(const struct frame_queue *q)
{
	return q->count == 0;
}

bool frame_queue_full(const struct frame_queue *q)
{
	return q->count >= q->nslots;
}

static unsigned tail_slot(const struct frame_queue *q)
{
	return (q->head + q->count) % q->nslots;
}

static uint8_t *slot_bytes(const struct frame_queue *q, unsigned slot)
{
	return q->slots + (size_t)slot * FRAME_QUEUE_SLOT_BYTES;
}

uint8_t *frame_queue_reserve(struct frame_queue *q, size_t len)
{
	unsigned slot;

	q->reserved = false;
	if (frame_queue_full(q) || len > FRAME_QUEUE_SLOT_BYTES)
		return NULL;
	slot = tail_slot(q);
	q->lengths[slot] = (uint16_t)len;
	q->reserved = true;
	return slot_bytes(q, slot);
}

void frame_queue_commit(struct frame_queue *q)
{
	/* The reserved slot is still the tail: a pop moves only the head. */
	if (!q->reserved)
		return;
	q->reserved = false;
	q->count++;
}

bool frame_queue_push(struct frame_queue *q, const void *frame, size_t len)
{
	uint8_t *slot = frame_queue_reserve(q, len);

	if (!slot)
		return false;
	memcpy(slot, frame, len);
	frame_queue_commit(q);
	return true;
}

const uint8_t *frame_queue_peek(const struct frame_queue *q, size_t *len)
{
	if (frame_queue_empty(q))
		return NULL;
	*len = q->lengths[q->head];
	return slot_bytes(q, q->head);
}

void frame_queue_pop(struct frame_queue *q)
{
	if (frame_queue_empty(q))
		return;
	q->head = (q->head + 1) % q->nslots;
	q->count--;
}
