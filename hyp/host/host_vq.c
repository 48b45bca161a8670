/*
 * The driver side of a split virtqueue in one page: free descriptors,
 * adding and publishing chains, taking used entries.
 */
#include <string.h>
#include "host/host_vq.h"

/* A full barrier: at least fence rw,rw on RISC-V (GCC emits fence
 * iorw,iorw, which also orders the memory accesses before the MMIO store
 * that notifies the device). */
#define HOST_VQ_BARRIER() __atomic_thread_fence(__ATOMIC_SEQ_CST)

_Static_assert(HOST_VQ_BYTES(HOST_VQ_MAX_SIZE) <= PAGE_SIZE, "the largest queue fits a page");

bool host_vq_init(struct host_vq *q, void *memory, uint16_t size)
{
	uint8_t *page = memory;

	if (size == 0 || size > HOST_VQ_MAX_SIZE || (size & (size - 1)) ||
	    ptr_to_pa(memory) % 16)
		return false;
	memset(page, 0, HOST_VQ_BYTES(size));
	memset(q, 0, sizeof(*q));
	q->size = size;
	q->desc = (struct host_vq_desc *)page;
	q->avail = (struct host_vq_avail *)(page + HOST_VQ_AVAIL_OFFSET(size));
	q->used = (struct host_vq_used *)(page + HOST_VQ_USED_OFFSET(size));
	/* The free list runs through the next fields: 0, 1, ..., size - 1. */
	for (uint16_t i = 0; i + 1 < size; i++)
		q->desc[i].next = (uint16_t)(i + 1);
	q->free_head = 0;
	q->nfree = size;
	return true;
}

/*
 * The chain is the first n entries of the free list, whose next fields
 * already link them in order: only the flags mark where it ends. The
 * free list goes on at the last one's next.
 */
int host_vq_add(struct host_vq *q, const struct host_vq_buf *bufs, unsigned n)
{
	uint16_t head = q->free_head, i = head;

	if (n == 0 || n > q->nfree)
		return -1;
	for (unsigned k = 0; k < n; k++) {
		struct host_vq_desc *d = &q->desc[i];
		d->addr = bufs[k].pa;
		d->len = bufs[k].len;
		d->flags = (uint16_t)((bufs[k].device_writes ? VIRTQ_DESC_F_WRITE : 0) |
				      (k + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
		if (k + 1 < n)
			i = d->next;
	}
	q->free_head = q->desc[i].next;
	q->nfree = (uint16_t)(q->nfree - n);
	q->chain_len[head] = (uint16_t)n;
	q->avail->ring[q->avail_idx & (q->size - 1)] = head;
	q->avail_idx++;
	return head;
}

void host_vq_publish(struct host_vq *q)
{
	/* The descriptors and ring entries before the index the device
	 * reads them by (2.7.13.3), and the index before the notify that
	 * follows (2.7.13.4). */
	HOST_VQ_BARRIER();
	__atomic_store_n(&q->avail->idx, q->avail_idx, __ATOMIC_RELEASE);
	HOST_VQ_BARRIER();
}

/* Puts a taken chain back at the front of the free list. */
static void free_chain(struct host_vq *q, uint16_t head)
{
	uint16_t tail = head;

	for (unsigned k = 1; k < q->chain_len[head]; k++)
		tail = q->desc[tail].next;
	q->desc[tail].next = q->free_head;
	q->free_head = head;
	q->nfree = (uint16_t)(q->nfree + q->chain_len[head]);
	q->chain_len[head] = 0;
}

bool host_vq_take_used(struct host_vq *q, uint16_t *head, uint32_t *written)
{
	/* Both indices run free and wrap at 2^16: an entry is new while the
	 * device's index differs from the count taken (2.7.8). */
	while (__atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE) != q->used_seen) {
		HOST_VQ_BARRIER();	/* the index before the entry it covers (2.7.14) */
		struct host_vq_used_elem e = q->used->ring[q->used_seen & (q->size - 1)];
		q->used_seen++;
		if (e.id >= q->size || !q->chain_len[e.id]) {
			q->bad_used++;	/* a device bug: nothing of ours to free */
			continue;
		}
		free_chain(q, (uint16_t)e.id);
		*head = (uint16_t)e.id;
		*written = e.len;
		return true;
	}
	return false;
}
