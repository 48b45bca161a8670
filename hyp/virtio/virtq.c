#include <string.h>
#include "virtio/virtq.h"

#define AVAIL_IDX_OFF 2		/* avail->idx */
#define AVAIL_RING_OFF 4	/* avail->ring[0] */
#define USED_IDX_OFF 2		/* used->idx */
#define USED_RING_OFF 4		/* used->ring[0] */
#define USED_ELEM_BYTES 8

static const char *const error_names[] = {
	[-VIRTQ_OK] = "VIRTQ_OK",
	[-VIRTQ_E_NOT_READY] = "VIRTQ_E_NOT_READY",
	[-VIRTQ_E_SIZE] = "VIRTQ_E_SIZE",
	[-VIRTQ_E_ALIGN] = "VIRTQ_E_ALIGN",
	[-VIRTQ_E_RING_WRAPS] = "VIRTQ_E_RING_WRAPS",
	[-VIRTQ_E_AVAIL_UNREADABLE] = "VIRTQ_E_AVAIL_UNREADABLE",
	[-VIRTQ_E_AVAIL_IDX] = "VIRTQ_E_AVAIL_IDX",
	[-VIRTQ_E_HEAD_INDEX] = "VIRTQ_E_HEAD_INDEX",
	[-VIRTQ_E_DESC_UNREADABLE] = "VIRTQ_E_DESC_UNREADABLE",
	[-VIRTQ_E_NEXT_INDEX] = "VIRTQ_E_NEXT_INDEX",
	[-VIRTQ_E_LOOP] = "VIRTQ_E_LOOP",
	[-VIRTQ_E_CHAIN_TOO_LONG] = "VIRTQ_E_CHAIN_TOO_LONG",
	[-VIRTQ_E_INDIRECT] = "VIRTQ_E_INDIRECT",
	[-VIRTQ_E_READABLE_AFTER_WRITABLE] = "VIRTQ_E_READABLE_AFTER_WRITABLE",
	[-VIRTQ_E_ZERO_LENGTH] = "VIRTQ_E_ZERO_LENGTH",
	[-VIRTQ_E_BUF_WRAPS] = "VIRTQ_E_BUF_WRAPS",
	[-VIRTQ_E_CHAIN_BYTES] = "VIRTQ_E_CHAIN_BYTES",
	[-VIRTQ_E_USED_UNWRITABLE] = "VIRTQ_E_USED_UNWRITABLE",
	[-VIRTQ_E_BAD_ID] = "VIRTQ_E_BAD_ID",
};

const char *virtq_error_name(int err)
{
	if (err > 0 || -(long)err >= (long)(sizeof(error_names) / sizeof(error_names[0])) ||
	    !error_names[-err])
		return "?";
	return error_names[-err];
}

/* True if [gpa, gpa + bytes) does not run past 2^64 (bytes > 0). */
static bool fits(uint64_t gpa, uint64_t bytes)
{
	return gpa <= UINT64_MAX - (bytes - 1);
}

int virtq_validate_setup(const struct virtq *q)
{
	if (q->size == 0 || q->size > VIRTQ_MAX_SIZE || (q->size & (q->size - 1)))
		return VIRTQ_E_SIZE;
	if ((q->desc_gpa % VIRTQ_DESC_ALIGN) || (q->avail_gpa % VIRTQ_AVAIL_ALIGN) ||
	    (q->used_gpa % VIRTQ_USED_ALIGN))
		return VIRTQ_E_ALIGN;
	if (!fits(q->desc_gpa, VIRTQ_DESC_TABLE_BYTES(q->size)) ||
	    !fits(q->avail_gpa, VIRTQ_AVAIL_BYTES(q->size)) ||
	    !fits(q->used_gpa, VIRTQ_USED_BYTES(q->size)))
		return VIRTQ_E_RING_WRAPS;
	return VIRTQ_OK;
}

/* The queue must be ready and (still) valid before any ring access: a
 * bad size would make the slot arithmetic below meaningless. */
static int check_usable(const struct virtq *q)
{
	if (!q->ready)
		return VIRTQ_E_NOT_READY;
	return virtq_validate_setup(q);
}

/* One 2-byte guest field, read as a single access (see guest_mem_ops).
 * The local buffers handed to the accessor are aligned like the guest
 * fields, so an accessor may move them with one load or store. */
static bool read_le16(const struct guest_mem_ops *mem, uint64_t gpa, uint16_t *v)
{
	_Alignas(8) uint8_t b[2];

	if (!mem->read(mem->ctx, gpa, b, sizeof(b)))
		return false;
	*v = virtq_le16(b);
	return true;
}

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

static bool read_desc(const struct virtq *q, const struct guest_mem_ops *mem, uint16_t i,
		      struct desc *d)
{
	_Alignas(16) uint8_t b[VIRTQ_DESC_BYTES];

	if (!mem->read(mem->ctx, q->desc_gpa + (uint64_t)i * VIRTQ_DESC_BYTES, b, sizeof(b)))
		return false;
	d->addr = virtq_le64(b);
	d->len = virtq_le32(b + 8);
	d->flags = virtq_le16(b + 12);
	d->next = virtq_le16(b + 14);
	return true;
}

/*
 * Checks one descriptor of a chain and appends it as a buffer. Flag bits
 * other than NEXT, WRITE and INDIRECT have no meaning for a split ring and
 * are ignored. The device-readable-first order is 2.7.4.2; the 2^32 bound
 * on the chain's bytes is 2.7.5.2 (kept to UINT32_MAX, so that the used
 * length can always say "all of it").
 */
static int add_buf(struct virtq_chain *c, const struct desc *d)
{
	bool writable = d->flags & VIRTQ_DESC_F_WRITE;

	if (d->flags & VIRTQ_DESC_F_INDIRECT)
		return VIRTQ_E_INDIRECT;
	if (d->len == 0)
		return VIRTQ_E_ZERO_LENGTH;
	if (!fits(d->addr, d->len))
		return VIRTQ_E_BUF_WRAPS;
	if (!writable && c->writable_bytes)
		return VIRTQ_E_READABLE_AFTER_WRITABLE;
	if (c->readable_bytes + c->writable_bytes + d->len > UINT32_MAX)
		return VIRTQ_E_CHAIN_BYTES;
	if (c->nbufs == VIRTQ_MAX_CHAIN)
		return VIRTQ_E_CHAIN_TOO_LONG;
	c->buf[c->nbufs++] = (struct virtq_buf){
		.gpa = d->addr, .len = d->len, .device_writable = writable,
	};
	if (writable)
		c->writable_bytes += d->len;
	else
		c->readable_bytes += d->len;
	return VIRTQ_OK;
}

/*
 * Walks the chain starting at descriptor `head` into c. A chain without a
 * loop has at most size descriptors (2.7.5.3.1), so a descriptor seen
 * twice is exactly the loop that 2.7.5.2 forbids; the visited bitmap
 * finds it before VIRTQ_MAX_CHAIN does.
 */
static int walk_chain(const struct virtq *q, const struct guest_mem_ops *mem, uint16_t head,
		      struct virtq_chain *c)
{
	uint64_t visited[VIRTQ_MAX_SIZE / 64] = { 0 };
	uint16_t i = head;
	struct desc d;
	int err;

	*c = (struct virtq_chain){ .head = head };
	for (;;) {
		if (visited[i / 64] & (1ULL << (i % 64)))
			return VIRTQ_E_LOOP;
		visited[i / 64] |= 1ULL << (i % 64);
		if (!read_desc(q, mem, i, &d))
			return VIRTQ_E_DESC_UNREADABLE;
		err = add_buf(c, &d);
		if (err)
			return err;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return VIRTQ_OK;
		if (d.next >= q->size)
			return VIRTQ_E_NEXT_INDEX;
		i = d.next;
	}
}

int virtq_pop(struct virtq *q, const struct guest_mem_ops *mem, struct virtq_chain *chain)
{
	uint16_t avail_idx, head;
	int err = check_usable(q);

	if (err)
		return err;
	if (!read_le16(mem, q->avail_gpa + AVAIL_IDX_OFF, &avail_idx))
		return VIRTQ_E_AVAIL_UNREADABLE;
	if (avail_idx == q->last_avail_idx)
		return 0;
	/* The driver never has more than size chains outstanding, and never
	 * decrements idx (2.7.6.1): a jump beyond size is garbage. */
	if ((uint16_t)(avail_idx - q->last_avail_idx) > q->size)
		return VIRTQ_E_AVAIL_IDX;
	/* The driver wrote the ring entry and the descriptors before its
	 * barrier and idx update (2.7.13.3.1): read them only after idx. */
	VIRTQ_BARRIER();
	uint16_t slot = q->last_avail_idx & (q->size - 1);
	if (!read_le16(mem, q->avail_gpa + AVAIL_RING_OFF + 2ULL * slot, &head))
		return VIRTQ_E_AVAIL_UNREADABLE;
	if (head >= q->size)
		return VIRTQ_E_HEAD_INDEX;
	err = walk_chain(q, mem, head, chain);
	if (err)
		return err;
	q->last_avail_idx++;
	return 1;
}

int virtq_push(struct virtq *q, const struct guest_mem_ops *mem, uint16_t id,
	       uint32_t written_len)
{
	_Alignas(8) uint8_t elem[USED_ELEM_BYTES];
	_Alignas(8) uint8_t idx[2];
	int err = check_usable(q);

	if (err)
		return err;
	if (id >= q->size)
		return VIRTQ_E_BAD_ID;
	uint16_t slot = q->used_idx & (q->size - 1);
	virtq_put_le32(elem, id);
	virtq_put_le32(elem + 4, written_len);
	if (!mem->write(mem->ctx, q->used_gpa + USED_RING_OFF + (uint64_t)slot * USED_ELEM_BYTES,
			elem, sizeof(elem)))
		return VIRTQ_E_USED_UNWRITABLE;
	/* The buffer data and the used element must be visible to the driver
	 * before the idx that publishes them (2.7.8.2): fence rw,rw. */
	VIRTQ_BARRIER();
	virtq_put_le16(idx, (uint16_t)(q->used_idx + 1));
	if (!mem->write(mem->ctx, q->used_gpa + USED_IDX_OFF, idx, sizeof(idx)))
		return VIRTQ_E_USED_UNWRITABLE;
	q->used_idx++;
	return VIRTQ_OK;
}

bool virtq_needs_notify(const struct virtq *q, const struct guest_mem_ops *mem)
{
	uint16_t flags;

	/* Order our used->idx store before the load of avail->flags; the
	 * driver orders its flags store before its used->idx re-check. */
	VIRTQ_BARRIER();
	if (check_usable(q) || !read_le16(mem, q->avail_gpa, &flags))
		return true;
	return !(flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
}
