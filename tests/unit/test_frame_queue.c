/*
 * hyp/vnet/frame_queue.c: a bounded FIFO of frames in caller memory. Each
 * frame is filled with a pattern derived from its sequence number, so a
 * frame read back shows both its content and its place in the order.
 * The queue's memory sits between two guard areas that must stay intact.
 */
#include <stdlib.h>
#include <string.h>
#include "unit.h"
#include "vnet/frame_queue.h"

#define GUARD 64
#define GUARD_BYTE 0xee

static uint8_t *memory;
static size_t memory_bytes;

static void *queue_memory(unsigned nslots)
{
	free(memory);
	memory_bytes = frame_queue_bytes(nslots);
	memory = malloc(memory_bytes + 2 * GUARD);
	if (!memory)
		abort();
	memset(memory, GUARD_BYTE, memory_bytes + 2 * GUARD);
	return memory + GUARD;
}

static bool guards_intact(void)
{
	for (size_t i = 0; i < GUARD; i++)
		if (memory[i] != GUARD_BYTE || memory[GUARD + memory_bytes + i] != GUARD_BYTE)
			return false;
	return true;
}

/* Frame number seq: len bytes of a pattern of seq. */
static void make_frame(uint8_t *buf, uint32_t seq, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seq * 31 + i * 7 + (i >> 8));
}

static bool frame_is(const uint8_t *p, uint32_t seq, size_t len)
{
	uint8_t want[FRAME_QUEUE_SLOT_BYTES];

	make_frame(want, seq, len);
	return memcmp(p, want, len) == 0;
}

static void test_bytes(void)
{
	CHECK_EQ(frame_queue_bytes(0), 0);
	CHECK_EQ(frame_queue_bytes(1), 1536 + 2);
	CHECK_EQ(frame_queue_bytes(256), 256 * 1538);
	CHECK_EQ(FRAME_QUEUE_SLOT_BYTES, 1536);
	CHECK(FRAME_QUEUE_SLOT_BYTES >= 1518);	/* a tagged 1500-byte frame */
}

static void test_empty_and_full(void)
{
	struct frame_queue q;
	uint8_t buf[100];
	size_t len = 12345;

	frame_queue_init(&q, queue_memory(3), 3);
	CHECK(frame_queue_empty(&q));
	CHECK(!frame_queue_full(&q));
	CHECK(frame_queue_peek(&q, &len) == NULL);
	CHECK_EQ(len, 12345);			/* untouched */
	frame_queue_pop(&q);			/* popping nothing: still empty */
	CHECK(frame_queue_empty(&q));
	for (uint32_t i = 0; i < 3; i++) {
		make_frame(buf, i, sizeof(buf));
		CHECK(frame_queue_push(&q, buf, sizeof(buf)));
		CHECK(!frame_queue_empty(&q));
	}
	CHECK(frame_queue_full(&q));
	make_frame(buf, 99, sizeof(buf));
	CHECK(!frame_queue_push(&q, buf, sizeof(buf)));	/* full: refused */
	CHECK(frame_queue_reserve(&q, 10) == NULL);
	frame_queue_commit(&q);				/* no reservation: nothing */
	CHECK_EQ(q.count, 3);
	/* The refused frame did not overwrite the oldest. */
	CHECK(frame_is(frame_queue_peek(&q, &len), 0, sizeof(buf)));
	frame_queue_pop(&q);
	CHECK(!frame_queue_full(&q));
	CHECK(frame_queue_push(&q, buf, sizeof(buf)));
	CHECK(frame_queue_full(&q));
	CHECK(guards_intact());

	/* No slots: always full, always empty. */
	frame_queue_init(&q, queue_memory(0), 0);
	CHECK(frame_queue_full(&q));
	CHECK(frame_queue_empty(&q));
	CHECK(!frame_queue_push(&q, buf, 1));
	CHECK(frame_queue_reserve(&q, 1) == NULL);
	CHECK(frame_queue_peek(&q, &len) == NULL);
	frame_queue_pop(&q);
	CHECK(guards_intact());
}

static void test_fifo_order_and_lengths(void)
{
	struct frame_queue q;
	uint8_t buf[FRAME_QUEUE_SLOT_BYTES];
	static const size_t lengths[] = { 60, 0, 1514, 14, FRAME_QUEUE_SLOT_BYTES, 1, 1518, 64 };
	const unsigned n = sizeof(lengths) / sizeof(lengths[0]);
	const uint8_t *p;
	size_t len;

	frame_queue_init(&q, queue_memory(n), n);
	for (unsigned i = 0; i < n; i++) {
		make_frame(buf, i, lengths[i]);
		CHECK(frame_queue_push(&q, buf, lengths[i]));
	}
	CHECK(frame_queue_full(&q));
	memset(buf, 0, sizeof(buf));	/* the queue holds its own copies */
	for (unsigned i = 0; i < n; i++) {
		p = frame_queue_peek(&q, &len);
		CHECK(p != NULL);
		CHECK_EQ(len, lengths[i]);
		if (p)
			CHECK(frame_is(p, i, len));
		CHECK(frame_queue_peek(&q, &len) == p);		/* peek does not pop */
		frame_queue_pop(&q);
	}
	CHECK(frame_queue_empty(&q));
	CHECK(guards_intact());
}

static void test_oversize_refused(void)
{
	struct frame_queue q;
	static uint8_t big[FRAME_QUEUE_SLOT_BYTES + 2];
	size_t len;

	frame_queue_init(&q, queue_memory(2), 2);
	make_frame(big, 7, sizeof(big));
	CHECK(!frame_queue_push(&q, big, FRAME_QUEUE_SLOT_BYTES + 1));
	CHECK(frame_queue_reserve(&q, FRAME_QUEUE_SLOT_BYTES + 1) == NULL);
	CHECK(frame_queue_reserve(&q, (size_t)1 << 40) == NULL);
	CHECK(frame_queue_reserve(&q, 65536 + 60) == NULL);	/* not 60 in 16 bits */
	frame_queue_commit(&q);		/* the refused reservation is not one */
	CHECK(frame_queue_empty(&q));
	CHECK(frame_queue_push(&q, big, FRAME_QUEUE_SLOT_BYTES));
	CHECK(frame_is(frame_queue_peek(&q, &len), 7, FRAME_QUEUE_SLOT_BYTES));
	CHECK_EQ(len, FRAME_QUEUE_SLOT_BYTES);
	CHECK(guards_intact());
}

static void test_reserve_commit(void)
{
	struct frame_queue q;
	uint8_t *slot, *again, buf[100];
	size_t len;

	frame_queue_init(&q, queue_memory(2), 2);
	slot = frame_queue_reserve(&q, 100);
	CHECK(slot != NULL);
	CHECK(frame_queue_empty(&q));			/* not queued before the commit */
	CHECK(frame_queue_peek(&q, &len) == NULL);
	make_frame(slot, 1, 100);
	frame_queue_commit(&q);
	CHECK_EQ(q.count, 1);
	frame_queue_commit(&q);				/* a second commit: nothing */
	CHECK_EQ(q.count, 1);
	CHECK(frame_is(frame_queue_peek(&q, &len), 1, 100));
	CHECK_EQ(len, 100);

	/* Abandoned (the copy failed): the next reserve gets the same slot. */
	slot = frame_queue_reserve(&q, 200);
	make_frame(slot, 2, 200);
	again = frame_queue_reserve(&q, 300);
	CHECK(again == slot);
	CHECK(again != frame_queue_peek(&q, &len));	/* not the queued frame's slot */
	make_frame(again, 3, 300);
	frame_queue_commit(&q);
	CHECK(frame_queue_full(&q));
	/* A pop between reserve and commit moves only the head. */
	frame_queue_pop(&q);
	slot = frame_queue_reserve(&q, 40);
	CHECK(slot != NULL);
	frame_queue_pop(&q);
	make_frame(slot, 4, 40);
	frame_queue_commit(&q);
	CHECK(frame_is(frame_queue_peek(&q, &len), 4, 40));
	CHECK_EQ(len, 40);
	CHECK_EQ(q.count, 1);
	/* The same, emptying the queue: the reservation stays where the next
	 * frame goes, after the popped one (3 slots: not slot 0 by chance). */
	frame_queue_init(&q, queue_memory(3), 3);
	make_frame(buf, 5, 50);
	CHECK(frame_queue_push(&q, buf, 50));
	slot = frame_queue_reserve(&q, 70);
	CHECK(slot != NULL);
	frame_queue_pop(&q);
	CHECK(frame_queue_empty(&q));
	make_frame(slot, 6, 70);
	frame_queue_commit(&q);
	CHECK(frame_is(frame_queue_peek(&q, &len), 6, 70));
	CHECK_EQ(len, 70);
	/* A refused reserve cancels the one before it. */
	slot = frame_queue_reserve(&q, 10);
	CHECK(frame_queue_reserve(&q, FRAME_QUEUE_SLOT_BYTES + 1) == NULL);
	frame_queue_commit(&q);
	CHECK_EQ(q.count, 1);
	CHECK(guards_intact());
}

static void test_wrap_around(void)
{
	struct frame_queue q;
	uint8_t buf[FRAME_QUEUE_SLOT_BYTES];
	uint32_t pushed = 0, popped = 0;
	uint64_t seed = unit_seed();
	unsigned bad = 0;
	static size_t sent_len[5000];	/* by sequence number */
	size_t len;

	/* 5 slots, 5000 operations: the ring wraps about a thousand times, at
	 * every fill level; a model (sequence numbers) says what must come out. */
	frame_queue_init(&q, queue_memory(5), 5);
	for (unsigned op = 0; op < 5000; op++) {
		uint64_t r = unit_rand(&seed);
		size_t flen = (size_t)(r >> 8) % (FRAME_QUEUE_SLOT_BYTES + 1);

		if (r % 3 != 0) {
			bool fits = pushed - popped < 5;

			make_frame(buf, pushed, flen);
			if (r & 4) {
				if (frame_queue_push(&q, buf, flen) != fits)
					bad++;
			} else {
				uint8_t *slot = frame_queue_reserve(&q, flen);

				if ((slot != NULL) != fits)
					bad++;
				if (slot) {
					memcpy(slot, buf, flen);
					frame_queue_commit(&q);
				}
			}
			if (fits)
				sent_len[pushed++] = flen;
		} else {
			const uint8_t *p = frame_queue_peek(&q, &len);

			if ((p != NULL) != (pushed != popped))
				bad++;
			if (p) {
				if (len != sent_len[popped] || !frame_is(p, popped, len))
					bad++;
				frame_queue_pop(&q);
				popped++;
			}
		}
		if (frame_queue_full(&q) != (pushed - popped == 5) ||
		    frame_queue_empty(&q) != (pushed == popped) || q.count != pushed - popped)
			bad++;
	}
	CHECK_EQ(bad, 0);
	CHECK(pushed > 1000);
	CHECK(guards_intact());
}

int main(void)
{
	RUN(test_bytes);
	RUN(test_empty_and_full);
	RUN(test_fifo_order_and_lengths);
	RUN(test_oversize_refused);
	RUN(test_reserve_commit);
	RUN(test_wrap_around);
	free(memory);
	return unit_report("test_frame_queue");
}
