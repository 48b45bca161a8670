#include <string.h>
#include "arch/riscv_defs.h"
#include "lib/page_hash.h"
#include "share/content_table.h"

#define PAGE_WORDS (PAGE_SIZE / sizeof(uint64_t))

_Static_assert(PAGE_SIZE == PAGE_HASH_BYTES, "page_hash hashes one guest page");

bool content_page_is_zero(const void *page)
{
	const uint64_t *w = page;
	uint64_t any = 0;

	/* Or eight words at a time, stopping at the first nonzero group:
	 * most nonzero pages fail in the first few words. */
	for (unsigned i = 0; i < PAGE_WORDS; i += 8) {
		any = w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] |
		      w[i + 7];
		if (any)
			return false;
	}
	return true;
}

#define PTE_VALID 1ULL
#define PTE_RESERVED_BITS (((1ULL << 7) - 1) << 54)	/* bits 60:54 */
#define PTE_PPN(w) (((w) >> 10) & ((1ULL << 44) - 1))
#define GPA_PAGE_LIMIT (1ULL << (41 - 12))	/* Sv39x4: 41-bit guest-physical */

bool content_page_is_page_table(const void *page)
{
	const uint64_t *w = page;
	bool any = false;

	for (unsigned i = 0; i < PAGE_WORDS; i++) {
		if (!w[i])
			continue;
		if (!(w[i] & PTE_VALID) || (w[i] & PTE_RESERVED_BITS) ||
		    PTE_PPN(w[i]) >= GPA_PAGE_LIMIT)
			return false;
		any = true;
	}
	return any;
}

/* --- The table -------------------------------------------------------- */

static uint64_t buckets_for(uint64_t entries)
{
	uint64_t n = 1;

	while (n * CONTENT_BUCKET_SLOTS < entries)
		n <<= 1;
	return n;
}

uint64_t content_table_bytes(uint64_t entries)
{
	return buckets_for(entries) * CONTENT_BUCKET_SLOTS * sizeof(struct content_entry);
}

void content_table_init(struct content_table *t, struct content_entry *storage,
			uint64_t entries)
{
	memset(t, 0, sizeof(*t));
	t->entry = storage;
	t->nbuckets = buckets_for(entries);
}

static struct content_entry *bucket(const struct content_table *t, uint64_t hash)
{
	/* The high bits pick the bucket: the low ones are as good, but a
	 * multiply-based hash mixes its high bits best. */
	return &t->entry[((hash >> 32) & (t->nbuckets - 1)) * CONTENT_BUCKET_SLOTS];
}

struct content_entry *content_table_find(struct content_table *t, uint64_t hash, uint64_t self)
{
	struct content_entry *b = bucket(t, hash), *hint = NULL;

	for (unsigned i = 0; i < CONTENT_BUCKET_SLOTS; i++) {
		if (b[i].kind == CONTENT_EMPTY || b[i].hash != hash)
			continue;
		if (b[i].kind == CONTENT_SHARED)
			return &b[i];
		if (!hint && b[i].pa != self)
			hint = &b[i];
	}
	return hint;
}

struct content_entry *content_table_find_page(struct content_table *t, uint64_t hash,
					      uint64_t pa, enum content_kind kind)
{
	struct content_entry *b = bucket(t, hash);

	for (unsigned i = 0; i < CONTENT_BUCKET_SLOTS; i++)
		if (b[i].kind == kind && b[i].hash == hash && b[i].pa == pa)
			return &b[i];
	return NULL;
}

void content_table_remove(struct content_table *t, struct content_entry *e)
{
	if (e->kind == CONTENT_SHARED)
		t->shared--;
	else if (e->kind == CONTENT_HINT)
		t->hints--;
	memset(e, 0, sizeof(*e));
}

bool content_table_insert(struct content_table *t, uint64_t hash, uint64_t pa,
			  enum content_kind kind)
{
	struct content_entry *b = bucket(t, hash), *slot = NULL, *oldest_hint = NULL;

	/* A page has at most one entry in the bucket its hash picks. (An
	 * entry under an older hash sits elsewhere; it is found stale and
	 * dropped when next met, or replaced.) */
	for (unsigned i = 0; i < CONTENT_BUCKET_SLOTS; i++) {
		if (b[i].kind != CONTENT_EMPTY && b[i].pa == pa) {
			content_table_remove(t, &b[i]);
			slot = &b[i];
		}
	}
	for (unsigned i = 0; i < CONTENT_BUCKET_SLOTS && !slot; i++)
		if (b[i].kind == CONTENT_EMPTY)
			slot = &b[i];
	if (!slot) {
		for (unsigned i = 0; i < CONTENT_BUCKET_SLOTS; i++)
			if (b[i].kind == CONTENT_HINT &&
			    (!oldest_hint || (int32_t)(b[i].age - oldest_hint->age) < 0))
				oldest_hint = &b[i];
		if (!oldest_hint) {
			t->full_refusals++;
			return false;
		}
		/* A hint is a guess; the newer entry is worth more. */
		content_table_remove(t, oldest_hint);
		t->hints_replaced++;
		slot = oldest_hint;
	}
	slot->hash = hash;
	slot->pa = pa;
	slot->age = t->clock++;
	slot->kind = (uint8_t)kind;
	if (kind == CONTENT_SHARED)
		t->shared++;
	else
		t->hints++;
	return true;
}

unsigned content_table_remove_page(struct content_table *t, uint64_t pa)
{
	unsigned removed = 0;

	for (uint64_t i = 0; i < t->nbuckets * CONTENT_BUCKET_SLOTS; i++)
		if (t->entry[i].kind != CONTENT_EMPTY && t->entry[i].pa == pa) {
			content_table_remove(t, &t->entry[i]);
			removed++;
		}
	return removed;
}

/* --- The reverse map -------------------------------------------------- */

void rmap_init(struct rmap_pool *pool, rmap_alloc_fn alloc_page, void *ctx)
{
	memset(pool, 0, sizeof(*pool));
	pool->alloc_page = alloc_page;
	pool->ctx = ctx;
}

static struct rmap_entry *rmap_at(const struct rmap_pool *pool, uint32_t index)
{
	return &pool->chunk[index / RMAP_PER_PAGE][index % RMAP_PER_PAGE];
}

/* Adds a page of entries to the free list. Index 0 of chunk 0 is never
 * handed out: it is RMAP_NONE. */
static bool rmap_grow(struct rmap_pool *pool)
{
	uint64_t page;

	if (pool->nchunks == RMAP_MAX_CHUNKS || !(page = pool->alloc_page(pool->ctx)))
		return false;
	unsigned c = pool->nchunks++;
	pool->chunk[c] = (struct rmap_entry *)(uintptr_t)page;
	for (unsigned i = RMAP_PER_PAGE; i-- > (c == 0 ? 1u : 0u);) {
		uint32_t index = (uint32_t)(c * RMAP_PER_PAGE + i);
		rmap_at(pool, index)->next = pool->free_head;
		pool->free_head = index;
	}
	return true;
}

bool rmap_add(struct rmap_pool *pool, uint32_t *head, uint16_t vm, uint64_t gpa)
{
	if (pool->free_head == RMAP_NONE && !rmap_grow(pool))
		return false;
	uint32_t index = pool->free_head;
	struct rmap_entry *e = rmap_at(pool, index);

	pool->free_head = e->next;
	e->vm = vm;
	e->gpa = gpa;
	e->next = *head;
	*head = index;
	pool->used++;
	return true;
}

bool rmap_remove(struct rmap_pool *pool, uint32_t *head, uint16_t vm, uint64_t gpa)
{
	for (uint32_t *link = head; *link != RMAP_NONE; link = &rmap_at(pool, *link)->next) {
		struct rmap_entry *e = rmap_at(pool, *link);
		if (e->vm != vm || e->gpa != gpa)
			continue;
		uint32_t index = *link;
		*link = e->next;
		e->next = pool->free_head;
		pool->free_head = index;
		pool->used--;
		return true;
	}
	return false;
}

bool rmap_head_is(const struct rmap_pool *pool, uint32_t head, uint16_t vm, uint64_t gpa)
{
	return head != RMAP_NONE && rmap_at(pool, head)->vm == vm && rmap_at(pool, head)->gpa == gpa;
}

unsigned rmap_count(const struct rmap_pool *pool, uint32_t head)
{
	unsigned n = 0;

	for (uint32_t i = head; i != RMAP_NONE; i = rmap_at(pool, i)->next)
		n++;
	return n;
}

void rmap_for_each(const struct rmap_pool *pool, uint32_t head,
		   void (*fn)(void *arg, uint16_t vm, uint64_t gpa), void *arg)
{
	for (uint32_t i = head; i != RMAP_NONE; i = rmap_at(pool, i)->next) {
		const struct rmap_entry *e = rmap_at(pool, i);
		fn(arg, e->vm, e->gpa);
	}
}
