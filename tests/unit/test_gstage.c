/*
 * hyp/g-stage/gstage.c: Sv39x4 G-stage page tables. Table pages come from
 * a counting allocator (each a 4 KiB aligned, zeroed malloc), so the tests
 * see leaks, double frees and frees of pages never handed out. Leaf hpas
 * are never dereferenced, so they are arbitrary page-aligned numbers.
 */
#include <stdlib.h>
#include <string.h>
#include "g-stage/gstage.h"
#include "mem/host_pages.h"
#include "unit.h"

#define MAX_TABLES 4096
#define LEAF_BITS (PTE_V | PTE_U | PTE_A | PTE_D)
#define TOP_PAGE 0x1fffffff000UL	/* (1 << 41) - 4096: the last page of Sv39x4 */

/* ---- the table-page allocator double ---------------------------------- */

struct pool {
	void *page[MAX_TABLES];		/* every page handed out, in order */
	bool live[MAX_TABLES];
	unsigned allocs;		/* pages handed out */
	unsigned frees;
	unsigned bad_frees;		/* double frees, unknown pages */
	long budget;			/* allocations still allowed; -1: no limit */
	unsigned failed;		/* allocations refused */
};

static uint64_t pool_alloc(void *ctx)
{
	struct pool *p = ctx;

	if (p->budget == 0 || p->allocs == MAX_TABLES) {
		p->failed++;
		return 0;
	}
	if (p->budget > 0)
		p->budget--;
	void *page = aligned_alloc(PAGE_SIZE, PAGE_SIZE);
	if (!page)
		abort();
	memset(page, 0, PAGE_SIZE);
	p->page[p->allocs] = page;
	p->live[p->allocs] = true;
	p->allocs++;
	return ptr_to_pa(page);
}

static void pool_free(void *ctx, uint64_t pa)
{
	struct pool *p = ctx;

	for (unsigned i = 0; i < p->allocs; i++) {
		if (ptr_to_pa(p->page[i]) == pa && p->live[i]) {
			p->live[i] = false;
			p->frees++;
			/* Keep the memory (not free()) so a stale pointer into a
			 * freed table stays detectable by value, not by crash. */
			memset(p->page[i], 0x5a, PAGE_SIZE);
			return;
		}
	}
	p->bad_frees++;
}

static unsigned pool_live(const struct pool *p)
{
	return p->allocs - p->frees;
}

/* A table under test: root, allocator and gstage together. */
struct table {
	struct pool pool;
	uint64_t *root;
	struct gstage gs;
	/* The fake remote fence: counts calls; `during_fence` runs inside
	 * it, as another hart's step while this hart waits for the fence. */
	unsigned fences;
	void (*during_fence)(struct table *t);
};

static void fake_remote_fence(void *ctx)
{
	struct table *t = ctx;

	t->fences++;
	if (t->during_fence) {
		void (*step)(struct table *) = t->during_fence;
		t->during_fence = NULL;	/* once */
		step(t);
	}
}

static struct table *table_new(uint16_t vmid)
{
	struct table *t = calloc(1, sizeof(*t));

	if (!t)
		abort();
	t->pool.budget = -1;
	t->root = aligned_alloc(16384, GSTAGE_ROOT_BYTES);
	if (!t->root)
		abort();
	memset(t->root, 0, GSTAGE_ROOT_BYTES);
	gstage_init(&t->gs, t->root, vmid, pool_alloc, pool_free, fake_remote_fence, t);
	return t;
}

static void table_delete(struct table *t)
{
	for (unsigned i = 0; i < t->pool.allocs; i++)
		free(t->pool.page[i]);
	free(t->root);
	free(t);
}

static bool root_empty(const struct table *t)
{
	for (unsigned i = 0; i < GSTAGE_ROOT_ENTRIES; i++)
		if (t->root[i])
			return false;
	return true;
}

/* The number of non-zero entries of table[0..n) other than table[except]. */
static unsigned others_set(const uint64_t *table, unsigned n, unsigned except)
{
	unsigned set = 0;

	for (unsigned i = 0; i < n; i++)
		if (i != except && table[i])
			set++;
	return set;
}

static uint64_t *pte_next(uint64_t pte)
{
	return pa_to_ptr((pte >> PTE_PPN_SHIFT) << PAGE_SHIFT);
}

/* The leaf PTE of gpa, read by hand (not through gstage.c), or NULL. */
static uint64_t *leaf_slot(const struct table *t, uint64_t gpa)
{
	uint64_t pte = t->root[(gpa >> 30) & 2047];

	if (!(pte & PTE_V))
		return NULL;
	pte = pte_next(pte)[(gpa >> 21) & 511];
	if (!(pte & PTE_V))
		return NULL;
	return &pte_next(pte)[(gpa >> 12) & 511];
}

/* ---- tests -------------------------------------------------------------- */

static void test_init_empty(void)
{
	struct table *t = table_new(7);
	uint64_t hpa = 123;
	unsigned perms = 456;

	CHECK(t->gs.root == t->root);
	CHECK_EQ(t->gs.vmid, 7);
	CHECK_EQ(t->gs.table_pages, 0);
	CHECK_EQ(t->gs.leaves, 0);
	CHECK(!gstage_lookup(&t->gs, 0x80000000, &hpa, &perms));
	CHECK_EQ(hpa, 123);	/* untouched when not mapped */
	CHECK_EQ(perms, 456);
	CHECK(!gstage_lookup(&t->gs, 0, NULL, NULL));
	CHECK(!gstage_unmap(&t->gs, 0x80000000, NULL));
	CHECK(!gstage_protect(&t->gs, 0x80000000, GSTAGE_RX));
	CHECK_EQ(t->pool.allocs, 0);	/* lookups never allocate */
	table_delete(t);
}

static void test_map_pte_bits(void)
{
	struct table *t = table_new(1);
	const uint64_t gpa = 0x80000000, hpa = 0x123456789000;
	uint64_t got_hpa = 0;
	unsigned got_perms = 0;

	CHECK_EQ(gstage_map(&t->gs, gpa, hpa, GSTAGE_RWX), 0);
	CHECK_EQ(t->gs.table_pages, 2);
	CHECK_EQ(t->gs.leaves, 1);
	if (!CHECK_EQ(pool_live(&t->pool), 2))
		goto out;	/* the hand walk below needs both tables */

	/* Root entry GPA[40:30] = 2: non-leaf, V only, PPN of the first table. */
	CHECK_EQ(others_set(t->root, GSTAGE_ROOT_ENTRIES, 2), 0);
	CHECK_EQ(t->root[2] & 0x3ff, PTE_V);
	CHECK_EQ(t->root[2] >> 54, 0);	/* reserved bits */
	CHECK_EQ(t->root[2], (ptr_to_pa(t->pool.page[0]) >> 12) << 10 | PTE_V);
	/* Level 1, GPA[29:21] = 0: V only, the second table. */
	uint64_t *l1 = t->pool.page[0], *l0 = t->pool.page[1];
	CHECK_EQ(l1[0], (ptr_to_pa(l0) >> 12) << 10 | PTE_V);
	CHECK_EQ(others_set(l1, 512, 0), 0);
	/* Leaf, GPA[20:12] = 0: V|R|W|X|U|A|D = 0xdf and the PPN at bit 10. */
	CHECK_EQ(l0[0], (hpa >> 12) << 10 | 0xdf);
	CHECK_EQ(l0[0], (hpa >> 12) << 10 | LEAF_BITS | PTE_R | PTE_W | PTE_X);
	CHECK_EQ(l0[0] & PTE_G, 0);
	CHECK_EQ(others_set(l0, 512, 0), 0);

	CHECK(gstage_lookup(&t->gs, gpa, &got_hpa, &got_perms));
	CHECK_EQ(got_hpa, hpa);
	CHECK_EQ(got_perms, GSTAGE_RWX);
	/* An address inside the page finds the page. */
	got_hpa = 0;
	CHECK(gstage_lookup(&t->gs, gpa + 0xabc, &got_hpa, NULL));
	CHECK_EQ(got_hpa, hpa);
	CHECK(!gstage_lookup(&t->gs, gpa + PAGE_SIZE, NULL, NULL));
	CHECK(!gstage_lookup(&t->gs, gpa - PAGE_SIZE, NULL, NULL));

	/* Neighbours in the same tables reuse them; other perms' bits. */
	CHECK_EQ(gstage_map(&t->gs, gpa + PAGE_SIZE, 0x1000, GSTAGE_RX), 0);
	CHECK_EQ(gstage_map(&t->gs, gpa + 2 * PAGE_SIZE, 0x2000, GSTAGE_READ), 0);
	CHECK_EQ(gstage_map(&t->gs, gpa + 3 * PAGE_SIZE, 0x3000, GSTAGE_READ | GSTAGE_WRITE), 0);
	CHECK_EQ(gstage_map(&t->gs, gpa + 4 * PAGE_SIZE, 0x4000, GSTAGE_EXEC), 0);
	CHECK_EQ(t->gs.table_pages, 2);
	CHECK_EQ(t->gs.leaves, 5);
	CHECK_EQ(l0[1], 1UL << 10 | 0xdb);	/* V R - X U - A D */
	CHECK_EQ(l0[2], 2UL << 10 | 0xd3);	/* V R - - U - A D */
	CHECK_EQ(l0[3], 3UL << 10 | 0xd7);	/* V R W - U - A D */
	CHECK_EQ(l0[4], 4UL << 10 | 0xd9);	/* V - - X U - A D */
	CHECK(gstage_lookup(&t->gs, gpa + 4 * PAGE_SIZE, NULL, &got_perms));
	CHECK_EQ(got_perms, GSTAGE_EXEC);

	/* A high hpa: the PPN has 44 bits (PTE bits 53:10). */
	CHECK_EQ(gstage_map(&t->gs, gpa + 5 * PAGE_SIZE, 0xfffffffffff000, GSTAGE_RWX), 0);
	CHECK_EQ(l0[5], 0xfffffffffffUL << 10 | 0xdf);
	CHECK_EQ(l0[5] >> 54, 0);
	CHECK(gstage_lookup(&t->gs, gpa + 5 * PAGE_SIZE, &got_hpa, NULL));
	CHECK_EQ(got_hpa, 0xfffffffffff000);
out:
	table_delete(t);
}

static void test_index_bits(void)
{
	struct table *t = table_new(1);
	/* GPA[40:30] = 0x5a5, GPA[29:21] = 0x1a5, GPA[20:12] = 0x0f3 */
	const uint64_t gpa = (0x5a5UL << 30) | (0x1a5UL << 21) | (0x0f3UL << 12);
	uint64_t *slot;

	CHECK_EQ(gstage_map(&t->gs, gpa, 0x42000, GSTAGE_RWX), 0);
	if (!CHECK(t->root[0x5a5] & PTE_V) || !CHECK_EQ(t->pool.allocs, 2)) {
		table_delete(t);
		return;
	}
	CHECK_EQ(others_set(t->root, GSTAGE_ROOT_ENTRIES, 0x5a5), 0);
	CHECK(pte_next(t->root[0x5a5])[0x1a5] & PTE_V);
	slot = leaf_slot(t, gpa);
	CHECK(slot != NULL);
	CHECK(slot && slot == &((uint64_t *)t->pool.page[1])[0x0f3]);
	CHECK(slot && *slot == (0x42UL << 10 | 0xdf));
	table_delete(t);
}

static void test_top_of_space(void)
{
	struct table *t = table_new(1);
	const uint64_t top = TOP_PAGE;
	uint64_t hpa = 0;

	CHECK_EQ(gstage_map(&t->gs, top, 0x7000, GSTAGE_RWX), 0);
	/* Root entry 2047: the root really has 2048 entries. */
	if (!CHECK(t->root[2047] & PTE_V)) {
		table_delete(t);
		return;
	}
	CHECK_EQ(others_set(t->root, GSTAGE_ROOT_ENTRIES, 2047), 0);
	uint64_t *l1 = pte_next(t->root[2047]);
	CHECK_EQ(l1[511] & 0x3ff, PTE_V);
	uint64_t *l0 = l1[511] ? pte_next(l1[511]) : NULL;
	CHECK(l0 && l0[511] == (7UL << 10 | 0xdf));
	CHECK(gstage_lookup(&t->gs, top + 0xfff, &hpa, NULL));
	CHECK_EQ(hpa, 0x7000);

	/* Bit 39 and 40 are part of the index, not ignored. */
	CHECK(!gstage_lookup(&t->gs, top & ~(1UL << 40), NULL, NULL));
	CHECK(!gstage_lookup(&t->gs, top & ~(1UL << 39), NULL, NULL));
	CHECK_EQ(gstage_map(&t->gs, top & ~(1UL << 40), 0x8000, GSTAGE_RWX), 0);
	CHECK(t->root[1023] & PTE_V);
	CHECK(gstage_lookup(&t->gs, top & ~(1UL << 40), &hpa, NULL));
	CHECK_EQ(hpa, 0x8000);
	CHECK(gstage_lookup(&t->gs, top, &hpa, NULL));
	CHECK_EQ(hpa, 0x7000);
	table_delete(t);
}

static void test_rejects(void)
{
	struct table *t = table_new(1);
	const uint64_t gpa = 0x80000000;

	/* GPAs outside the 41-bit space. */
	CHECK_EQ(gstage_map(&t->gs, 1UL << 41, 0x1000, GSTAGE_RWX), -1);
	CHECK_EQ(gstage_map(&t->gs, TOP_PAGE + PAGE_SIZE, 0x1000, GSTAGE_RWX), -1);
	CHECK_EQ(gstage_map(&t->gs, 0x1ffffffff000, 0x1000, GSTAGE_RWX), -1);	/* 45 bits */
	CHECK_EQ(gstage_map(&t->gs, (1UL << 41) + gpa, 0x1000, GSTAGE_RWX), -1);
	CHECK_EQ(gstage_map(&t->gs, 1UL << 63, 0x1000, GSTAGE_RWX), -1);
	CHECK_EQ(gstage_map(&t->gs, UINT64_MAX & PAGE_MASK, 0x1000, GSTAGE_RWX), -1);
	CHECK(!gstage_lookup(&t->gs, 1UL << 41, NULL, NULL));
	CHECK(!gstage_unmap(&t->gs, 1UL << 41, NULL));
	CHECK(!gstage_protect(&t->gs, 1UL << 41, GSTAGE_RX));
	/* Misaligned gpa or hpa. */
	CHECK_EQ(gstage_map(&t->gs, gpa + 0x800, 0x1000, GSTAGE_RWX), -1);
	CHECK_EQ(gstage_map(&t->gs, gpa + 1, 0x1000, GSTAGE_RWX), -1);
	CHECK_EQ(gstage_map(&t->gs, gpa, 0x1008, GSTAGE_RWX), -1);
	/* Bad perms: none, W alone, W+X (W without R), non-permission bits. */
	CHECK_EQ(gstage_map(&t->gs, gpa, 0x1000, 0), -1);
	CHECK_EQ(gstage_map(&t->gs, gpa, 0x1000, GSTAGE_WRITE), -1);
	CHECK_EQ(gstage_map(&t->gs, gpa, 0x1000, GSTAGE_WRITE | GSTAGE_EXEC), -1);
	CHECK_EQ(gstage_map(&t->gs, gpa, 0x1000, GSTAGE_RWX | PTE_V), -1);
	CHECK_EQ(gstage_map(&t->gs, gpa, 0x1000, GSTAGE_RWX | PTE_U), -1);
	CHECK_EQ(gstage_map(&t->gs, gpa, 0x1000, GSTAGE_READ | PTE_G), -1);
	CHECK_EQ(gstage_map(&t->gs, gpa, 0x1000, GSTAGE_READ | PTE_D), -1);
	CHECK_EQ(gstage_map(&t->gs, gpa, 0x1000, 1U << 10), -1);
	/* Rejected before any table was allocated. */
	CHECK_EQ(t->pool.allocs, 0);
	CHECK_EQ(t->gs.table_pages, 0);
	CHECK_EQ(t->gs.leaves, 0);
	CHECK(root_empty(t));

	/* Double map: -3 and the first mapping stays. */
	uint64_t hpa = 0;
	unsigned perms = 0;
	CHECK_EQ(gstage_map(&t->gs, gpa, 0x1000, GSTAGE_RX), 0);
	CHECK_EQ(gstage_map(&t->gs, gpa, 0x2000, GSTAGE_RWX), -3);
	CHECK_EQ(gstage_map(&t->gs, gpa, 0x1000, GSTAGE_RX), -3);
	CHECK(gstage_lookup(&t->gs, gpa, &hpa, &perms));
	CHECK_EQ(hpa, 0x1000);
	CHECK_EQ(perms, GSTAGE_RX);
	CHECK_EQ(t->gs.leaves, 1);
	CHECK_EQ(t->gs.table_pages, 2);
	/* Unmap and protect refuse misaligned gpas too. */
	CHECK(!gstage_unmap(&t->gs, gpa + 8, NULL));
	CHECK(!gstage_protect(&t->gs, gpa + 8, GSTAGE_READ));
	CHECK(gstage_lookup(&t->gs, gpa, NULL, NULL));
	table_delete(t);
}

static void test_alloc_failure(void)
{
	struct table *t = table_new(1);
	const uint64_t gpa = 0x80200000;

	/* No table page at all: -2, nothing changed. */
	t->pool.budget = 0;
	CHECK_EQ(gstage_map(&t->gs, gpa, 0x1000, GSTAGE_RWX), -2);
	CHECK_EQ(t->pool.failed, 1);
	CHECK_EQ(t->gs.table_pages, 0);
	CHECK_EQ(t->gs.leaves, 0);
	CHECK(root_empty(t));
	CHECK(!gstage_lookup(&t->gs, gpa, NULL, NULL));

	/* The level-1 table comes, the leaf table does not: -2, no leaf. */
	t->pool.budget = 1;
	CHECK_EQ(gstage_map(&t->gs, gpa, 0x1000, GSTAGE_RWX), -2);
	CHECK_EQ(t->pool.failed, 2);
	CHECK_EQ(t->gs.leaves, 0);
	CHECK_EQ(t->gs.table_pages, pool_live(&t->pool));	/* counted, not lost */
	CHECK(!gstage_lookup(&t->gs, gpa, NULL, NULL));
	CHECK(!gstage_unmap(&t->gs, gpa, NULL));
	unsigned stray = 0;	/* no leaf anywhere */
	for (unsigned i = 0; i < t->pool.allocs; i++)
		for (unsigned j = 0; j < 512; j++)
			if (((uint64_t *)t->pool.page[i])[j] & (PTE_R | PTE_W | PTE_X))
				stray++;
	CHECK_EQ(stray, 0);

	/* With memory again the same map works, and clear frees it all. */
	t->pool.budget = -1;
	CHECK_EQ(gstage_map(&t->gs, gpa, 0x1000, GSTAGE_RWX), 0);
	CHECK(gstage_lookup(&t->gs, gpa, NULL, NULL));
	CHECK_EQ(t->gs.table_pages, pool_live(&t->pool));
	gstage_clear(&t->gs);
	CHECK_EQ(pool_live(&t->pool), 0);
	CHECK_EQ(t->pool.bad_frees, 0);
	CHECK(root_empty(t));
	table_delete(t);
}

static void test_unmap(void)
{
	struct table *t = table_new(1);
	const uint64_t gpa = 0x80000000;
	uint64_t old = 0;

	CHECK_EQ(gstage_map(&t->gs, gpa, 0x5000, GSTAGE_RWX), 0);
	CHECK_EQ(gstage_map(&t->gs, gpa + PAGE_SIZE, 0x6000, GSTAGE_RWX), 0);
	CHECK(gstage_unmap(&t->gs, gpa, &old));
	CHECK_EQ(old, 0x5000);
	CHECK_EQ(t->gs.leaves, 1);
	CHECK(!gstage_lookup(&t->gs, gpa, NULL, NULL));
	CHECK(leaf_slot(t, gpa) && *leaf_slot(t, gpa) == 0);	/* cleared, not just !V */
	CHECK(gstage_lookup(&t->gs, gpa + PAGE_SIZE, &old, NULL));
	CHECK_EQ(old, 0x6000);
	old = 99;
	CHECK(!gstage_unmap(&t->gs, gpa, &old));	/* twice */
	CHECK_EQ(old, 99);
	CHECK(gstage_unmap(&t->gs, gpa + PAGE_SIZE, NULL));
	CHECK_EQ(t->gs.leaves, 0);
	/* Unmapping does not free tables (gstage_clear does). */
	CHECK_EQ(t->gs.table_pages, 2);
	CHECK_EQ(pool_live(&t->pool), 2);
	/* Where no table exists at all. */
	CHECK(!gstage_unmap(&t->gs, 0x1000, NULL));
	CHECK(!gstage_unmap(&t->gs, gpa + (1UL << 21), NULL));
	/* Remap after unmap. */
	CHECK_EQ(gstage_map(&t->gs, gpa, 0x9000, GSTAGE_RX), 0);
	CHECK(gstage_lookup(&t->gs, gpa, &old, NULL));
	CHECK_EQ(old, 0x9000);
	CHECK_EQ(t->pool.allocs, 2);
	gstage_clear(&t->gs);
	table_delete(t);
}

static void test_protect(void)
{
	struct table *t = table_new(1);
	const uint64_t gpa = 0x80003000, hpa = 0xabcd000;
	unsigned perms = 0;
	uint64_t *slot;

	CHECK_EQ(gstage_map(&t->gs, gpa, hpa, GSTAGE_RWX), 0);
	slot = leaf_slot(t, gpa);
	if (!CHECK(slot != NULL)) {
		table_delete(t);
		return;
	}
	CHECK(gstage_protect(&t->gs, gpa, GSTAGE_RX));
	CHECK_EQ(*slot, (hpa >> 12) << 10 | 0xdb);	/* W gone, the rest the same */
	CHECK(gstage_lookup(&t->gs, gpa, NULL, &perms));
	CHECK_EQ(perms, GSTAGE_RX);
	CHECK(gstage_protect(&t->gs, gpa, GSTAGE_READ));
	CHECK_EQ(*slot, (hpa >> 12) << 10 | 0xd3);
	CHECK(gstage_protect(&t->gs, gpa, GSTAGE_RWX));
	CHECK_EQ(*slot, (hpa >> 12) << 10 | 0xdf);
	/* Invalid perms change nothing. */
	CHECK(!gstage_protect(&t->gs, gpa, 0));
	CHECK(!gstage_protect(&t->gs, gpa, GSTAGE_WRITE));
	CHECK(!gstage_protect(&t->gs, gpa, GSTAGE_WRITE | GSTAGE_EXEC));
	CHECK(!gstage_protect(&t->gs, gpa, GSTAGE_READ | PTE_V));
	CHECK(!gstage_protect(&t->gs, gpa, GSTAGE_READ | PTE_A));
	CHECK_EQ(*slot, (hpa >> 12) << 10 | 0xdf);
	/* Not mapped: false, nothing created. */
	CHECK(!gstage_protect(&t->gs, gpa + PAGE_SIZE, GSTAGE_RX));
	CHECK(!gstage_lookup(&t->gs, gpa + PAGE_SIZE, NULL, NULL));
	CHECK(!gstage_protect(&t->gs, 0x40000000, GSTAGE_RX));
	CHECK_EQ(t->pool.allocs, 2);
	CHECK_EQ(t->gs.leaves, 1);
	table_delete(t);
}

/* The walker of another hart: the guest used the page, QEMU sets A. */
static void walker_sets_accessed(uint64_t *slot)
{
	__atomic_fetch_or(slot, PTE_A, __ATOMIC_RELAXED);
}

/*
 * The pager's clock cleared a leaf's A bit; the guest uses the page again
 * on another hart, whose walker sets A just after gstage_protect (the
 * content scanner's, under vm->lock) read the leaf and before it stored
 * the narrower one. A plain store of the value read would put A back to
 * clear: the page would look unused to the clock and be swapped out
 * while in use.
 */
static void test_protect_keeps_walker_accessed(void)
{
	struct table *t = table_new(1);
	const uint64_t gpa = 0x80003000, hpa = 0xabcd000;
	uint64_t *slot;

	CHECK_EQ(gstage_map(&t->gs, gpa, hpa, GSTAGE_RWX), 0);
	slot = leaf_slot(t, gpa);
	if (!CHECK(slot != NULL)) {
		table_delete(t);
		return;
	}
	CHECK(gstage_test_clear_accessed(&t->gs, gpa));
	unit_leaf_store_hook = walker_sets_accessed;
	CHECK(gstage_protect(&t->gs, gpa, GSTAGE_RX));
	CHECK(unit_leaf_store_hook == NULL);	/* the walker ran in the window */
	CHECK_EQ(*slot, (hpa >> 12) << 10 | 0xdb);	/* W gone, the walker's A kept */
	CHECK(gstage_test_clear_accessed(&t->gs, gpa));
	/* Without a walker, protect leaves A as it found it: clear. */
	CHECK(gstage_protect(&t->gs, gpa, GSTAGE_RWX));
	CHECK_EQ(*slot, (hpa >> 12) << 10 | 0x9f);
	CHECK(!gstage_test_clear_accessed(&t->gs, gpa));
	/* Another page in the slot is a new leaf: created accessed, as
	 * gstage_map does, whatever the old one said. */
	struct gstage_old old;
	CHECK_EQ(gstage_remap(&t->gs, gpa, hpa + PAGE_SIZE, GSTAGE_RWX, &old), 0);
	CHECK(old.fence_gen != 0);
	CHECK_EQ(*slot, ((hpa + PAGE_SIZE) >> 12) << 10 | 0xdf);
	table_delete(t);
}

struct walk_log {
	unsigned n;
	uint64_t gpa[64], hpa[64];
	unsigned perms[64];
};

static void log_page(void *arg, uint64_t gpa, uint64_t hpa, unsigned perms)
{
	struct walk_log *log = arg;

	if (log->n < 64) {
		log->gpa[log->n] = gpa;
		log->hpa[log->n] = hpa;
		log->perms[log->n] = perms;
	}
	log->n++;
}

static void test_for_each(void)
{
	struct table *t = table_new(1);
	/* Spread over root entries, level-1 entries and leaf slots, and at
	 * both ends of the space; mapped out of order. */
	static const uint64_t gpas[] = {
		TOP_PAGE, 0x80000000, 0x0, 0x7ffff000, 0x80001000, 0x801ff000,
		0x80200000, 0x40000000, 0x1000, (1UL << 41) - (1UL << 21), 0x3fe00000, 0xc0000000,
	};
	static const unsigned perm_set[] = { GSTAGE_RWX, GSTAGE_RX, GSTAGE_READ,
					     GSTAGE_READ | GSTAGE_WRITE, GSTAGE_EXEC };
	const unsigned n = sizeof(gpas) / sizeof(gpas[0]);
	struct walk_log log = { 0 };

	gstage_for_each(&t->gs, log_page, &log);
	CHECK_EQ(log.n, 0);
	for (unsigned i = 0; i < n; i++)
		CHECK_EQ(gstage_map(&t->gs, gpas[i], (i + 1) * 0x10000UL, perm_set[i % 5]), 0);
	CHECK_EQ(t->gs.leaves, n);
	gstage_for_each(&t->gs, log_page, &log);
	CHECK_EQ(log.n, n);
	for (unsigned k = 0; k < log.n && k < 64; k++) {
		if (k)
			CHECK(log.gpa[k] > log.gpa[k - 1]);	/* GPA order */
		unsigned i = 0;
		while (i < n && gpas[i] != log.gpa[k])
			i++;
		CHECK(i < n);
		if (i < n) {
			CHECK_EQ(log.hpa[k], (i + 1) * 0x10000UL);
			CHECK_EQ(log.perms[k], perm_set[i % 5]);
		}
	}
	CHECK_EQ(log.gpa[0], 0);
	CHECK_EQ(log.gpa[n - 1], TOP_PAGE);
	/* Unmapped pages disappear from the walk. */
	CHECK(gstage_unmap(&t->gs, 0x80001000, NULL));
	log.n = 0;
	gstage_for_each(&t->gs, log_page, &log);
	CHECK_EQ(log.n, n - 1);
	for (unsigned k = 0; k < log.n; k++)
		CHECK(log.gpa[k] != 0x80001000);
	gstage_clear(&t->gs);
	table_delete(t);
}

static void test_clear(void)
{
	struct table *t = table_new(1);
	unsigned mapped = 0;

	/* 3 root entries x 3 level-1 entries x 4 pages, plus the top page. */
	for (uint64_t g = 0; g < 3; g++)
		for (uint64_t m = 0; m < 3; m++)
			for (uint64_t p = 0; p < 4; p++) {
				uint64_t gpa = (g << 30) * 5 + (m << 21) * 7 + (p << 12) * 100;
				CHECK_EQ(gstage_map(&t->gs, gpa, gpa + 0x100000000, GSTAGE_RWX), 0);
				mapped++;
			}
	CHECK_EQ(gstage_map(&t->gs, TOP_PAGE, 0x1000, GSTAGE_RWX), 0);
	mapped++;
	CHECK_EQ(t->gs.leaves, mapped);
	CHECK_EQ(t->gs.table_pages, 3 + 3 * 3 + 2);
	CHECK_EQ(pool_live(&t->pool), t->gs.table_pages);

	gstage_clear(&t->gs);
	CHECK_EQ(pool_live(&t->pool), 0);	/* every table page came back */
	CHECK_EQ(t->pool.frees, t->pool.allocs);
	CHECK_EQ(t->pool.bad_frees, 0);
	CHECK_EQ(t->gs.table_pages, 0);
	CHECK_EQ(t->gs.leaves, 0);
	CHECK(root_empty(t));
	CHECK(!gstage_lookup(&t->gs, 0, NULL, NULL));
	CHECK(!gstage_lookup(&t->gs, TOP_PAGE, NULL, NULL));
	struct walk_log log = { 0 };
	gstage_for_each(&t->gs, log_page, &log);
	CHECK_EQ(log.n, 0);

	/* Clearing an empty table is harmless; the table is usable again. */
	gstage_clear(&t->gs);
	CHECK_EQ(t->pool.bad_frees, 0);
	CHECK_EQ(gstage_map(&t->gs, 0x80000000, 0x1000, GSTAGE_RWX), 0);
	CHECK_EQ(t->gs.table_pages, 2);
	gstage_clear(&t->gs);
	CHECK_EQ(pool_live(&t->pool), 0);
	CHECK_EQ(t->pool.bad_frees, 0);
	table_delete(t);
}

static void test_hgatp(void)
{
	struct table *t = table_new(5);
	uint64_t h = gstage_hgatp(&t->gs);

	CHECK_EQ(h, (8ULL << 60) | (5ULL << 44) | (ptr_to_pa(t->root) >> 12));
	CHECK_EQ(h >> 60, 8);				/* Sv39x4 */
	CHECK_EQ((h >> 58) & 3, 0);
	CHECK_EQ((h >> 44) & 0x3fff, 5);		/* VMID */
	CHECK_EQ(h & ((1ULL << 44) - 1), ptr_to_pa(t->root) >> 12);	/* PPN */
	CHECK_EQ(ptr_to_pa(t->root) & 0x3fff, 0);	/* 16 KiB aligned root */
	table_delete(t);

	t = table_new(0x3fff);	/* the widest VMID (14 bits) */
	h = gstage_hgatp(&t->gs);
	CHECK_EQ(h >> 60, 8);
	CHECK_EQ((h >> 58) & 3, 0);
	CHECK_EQ((h >> 44) & 0x3fff, 0x3fff);
	CHECK_EQ(h & ((1ULL << 44) - 1), ptr_to_pa(t->root) >> 12);
	table_delete(t);

	t = table_new(0);
	CHECK_EQ(gstage_hgatp(&t->gs), (8ULL << 60) | (ptr_to_pa(t->root) >> 12));
	table_delete(t);
}

/*
 * Random map/unmap/protect/lookup against an array model, over two
 * windows that cross a level-0 table boundary, a root entry boundary
 * (0x80000000) and the top of the space.
 */
#define SLOTS 1024
static uint64_t slot_gpa(unsigned i)
{
	return i < SLOTS / 2 ? 0x7ff00000UL + (uint64_t)i * PAGE_SIZE
			     : (1UL << 41) - (SLOTS / 2) * PAGE_SIZE +
				       (uint64_t)(i - SLOTS / 2) * PAGE_SIZE;
}

struct model_walk {
	const uint64_t *hpa;
	const unsigned *perms;
	unsigned next;		/* next slot expected */
	unsigned bad;
};

static void model_check_page(void *arg, uint64_t gpa, uint64_t hpa, unsigned perms)
{
	struct model_walk *w = arg;

	while (w->next < SLOTS && !w->hpa[w->next])
		w->next++;
	if (w->next >= SLOTS || slot_gpa(w->next) != gpa || w->hpa[w->next] != hpa ||
	    w->perms[w->next] != perms)
		w->bad++;
	w->next++;
}

static void test_random_vs_model(void)
{
	static const unsigned valid[] = { GSTAGE_READ, GSTAGE_EXEC, GSTAGE_RX,
					  GSTAGE_READ | GSTAGE_WRITE, GSTAGE_RWX };
	static const unsigned invalid[] = { 0, GSTAGE_WRITE, GSTAGE_WRITE | GSTAGE_EXEC,
					    GSTAGE_RWX | PTE_U };
	static uint64_t m_hpa[SLOTS];	/* 0: unmapped */
	static unsigned m_perms[SLOTS];
	uint64_t seed = unit_seed(), rng = seed;
	struct table *t = table_new(3);
	static const char *const op_name[] = { "map", "map", "map", "map", "unmap", "unmap",
					       "unmap", "protect", "protect", "lookup" };
	unsigned m_leaves = 0, ops = 6000, mismatch_at = 0;
	uint64_t mismatch_gpa = 0;
	const char *mismatch_op = "";
	bool ok = true;

	memset(m_hpa, 0, sizeof(m_hpa));
	for (unsigned op = 1; op <= ops && ok; op++) {
		uint64_t r = unit_rand(&rng);
		unsigned i = (unsigned)(r % SLOTS), kind = (unsigned)((r >> 20) % 10);
		uint64_t gpa = slot_gpa(i), hpa = 0, want_hpa;
		unsigned perms = 0;

		if (kind < 4) {		/* map */
			want_hpa = ((r >> 32) % 0xfffff + 1) << PAGE_SHIFT;
			perms = (r >> 28) % 8 ? valid[(r >> 24) % 5] : invalid[(r >> 24) % 4];
			bool perms_ok = (r >> 28) % 8 != 0;
			int want = !perms_ok ? -1 : m_hpa[i] ? -3 : 0;
			int got = gstage_map(&t->gs, gpa, want_hpa, perms);
			ok = got == want;
			if (ok && want == 0) {
				m_hpa[i] = want_hpa;
				m_perms[i] = perms;
				m_leaves++;
			}
		} else if (kind < 7) {	/* unmap */
			bool got = gstage_unmap(&t->gs, gpa, &hpa);
			ok = got == (m_hpa[i] != 0) && (!got || hpa == m_hpa[i]);
			if (ok && got) {
				m_hpa[i] = 0;
				m_leaves--;
			}
		} else if (kind < 9) {	/* protect */
			bool perms_ok = (r >> 28) % 8 != 0;
			perms = perms_ok ? valid[(r >> 24) % 5] : invalid[(r >> 24) % 4];
			bool got = gstage_protect(&t->gs, gpa, perms);
			ok = got == (perms_ok && m_hpa[i] != 0);
			if (ok && got)
				m_perms[i] = perms;
		} else {		/* lookup, somewhere inside the page */
			bool got = gstage_lookup(&t->gs, gpa + (r >> 40) % PAGE_SIZE, &hpa, &perms);
			ok = got == (m_hpa[i] != 0) &&
			     (!got || (hpa == m_hpa[i] && perms == m_perms[i]));
		}
		ok = ok && t->gs.leaves == m_leaves &&
		     t->gs.table_pages == pool_live(&t->pool) && t->pool.bad_frees == 0;
		if (!ok) {
			mismatch_at = op;
			mismatch_op = op_name[kind];
			mismatch_gpa = gpa;
		}
	}
	if (!CHECK(ok))
		printf("    random test diverged from the model at op %u (%s of gpa 0x%llx; "
		       "leaves %llu, model %u; table pages %llu, allocated %u; bad frees %u); "
		       "rerun with UNIT_SEED=0x%llx\n", mismatch_at, mismatch_op,
		       (unsigned long long)mismatch_gpa, (unsigned long long)t->gs.leaves,
		       m_leaves, (unsigned long long)t->gs.table_pages, pool_live(&t->pool),
		       t->pool.bad_frees, (unsigned long long)seed);

	/* The whole table against the model, in GPA order. */
	struct model_walk w = { m_hpa, m_perms, 0, 0 };
	gstage_for_each(&t->gs, model_check_page, &w);
	CHECK_EQ(w.bad, 0);
	while (w.next < SLOTS && !m_hpa[w.next])
		w.next++;
	CHECK_EQ(w.next, SLOTS);	/* no mapped page missed */
	for (unsigned i = 0; i < SLOTS; i += 97) {
		uint64_t hpa = 0;
		CHECK_EQ(gstage_lookup(&t->gs, slot_gpa(i), &hpa, NULL), m_hpa[i] != 0);
		CHECK_EQ(hpa, m_hpa[i]);	/* untouched (0) when unmapped */
	}
	/* 2 windows: 2 root entries + 1, 3 level-1 entries + 1 */
	CHECK(t->gs.table_pages <= 7);
	gstage_clear(&t->gs);
	CHECK_EQ(pool_live(&t->pool), 0);
	CHECK_EQ(t->pool.bad_frees, 0);
	CHECK(root_empty(t));
	table_delete(t);
}

/*
 * Which leaf changes owe a remote fence (gstage.h): creating a leaf and
 * widening one in place do not; removing, narrowing and redirecting do,
 * each with its own generation, and shared->shared redirection too
 * (the defect where a page moved from one shared page to another was
 * never fenced).
 */
static void test_fence_classes(void)
{
	struct table *t = table_new(1);
	uint64_t gpa = 0x80000000;
	struct gstage_old old;

	CHECK_EQ(gstage_changed(&t->gs), 0);
	CHECK_EQ(gstage_map(&t->gs, gpa, 0x1000, GSTAGE_RX), 0);
	CHECK_EQ(gstage_changed(&t->gs), 0);		/* create: nothing cached */
	CHECK(gstage_protect(&t->gs, gpa, GSTAGE_RWX));
	CHECK_EQ(gstage_changed(&t->gs), 0);		/* upgrade in place */
	CHECK(gstage_protect(&t->gs, gpa, GSTAGE_RX));
	CHECK_EQ(gstage_changed(&t->gs), 1);		/* write-protect */
	CHECK_EQ(gstage_remap(&t->gs, gpa, 0x2000, GSTAGE_RX, &old), 0);
	CHECK(old.valid);
	CHECK_EQ(old.hpa, 0x1000);
	CHECK_EQ(old.perms, GSTAGE_RX);
	CHECK_EQ(old.fence_gen, 2);			/* shared page X -> Y */
	CHECK_EQ(gstage_remap(&t->gs, gpa, 0x2000, GSTAGE_RX, &old), 0);
	CHECK_EQ(old.fence_gen, 0);			/* the same entry again */
	CHECK_EQ(gstage_remap(&t->gs, gpa, 0x3000, GSTAGE_RWX, &old), 0);
	CHECK_EQ(old.fence_gen, 3);			/* copy-on-write: another page */
	CHECK_EQ(gstage_remap(&t->gs, gpa + PAGE_SIZE, 0x4000, GSTAGE_RWX, &old), 0);
	CHECK(!old.valid);
	CHECK_EQ(old.fence_gen, 0);			/* remap of an empty slot: a create */
	CHECK(gstage_unmap(&t->gs, gpa, NULL));
	CHECK_EQ(gstage_changed(&t->gs), 4);		/* unmap */
	CHECK(!gstage_fenced(&t->gs, 1));
	CHECK(gstage_fenced(&t->gs, 0));
	CHECK_EQ(t->fences, 0);				/* nobody fenced yet */
	CHECK_EQ(t->gs.leaves, 1);
	table_delete(t);
}

/* gstage_sync fences once for everything owed, and not when nothing is. */
static void test_sync(void)
{
	struct table *t = table_new(1);
	uint64_t gpa = 0x80000000;

	CHECK(!gstage_sync(&t->gs));
	CHECK_EQ(t->fences, 0);
	CHECK_EQ(gstage_map(&t->gs, gpa, 0x1000, GSTAGE_RWX), 0);
	CHECK(!gstage_sync(&t->gs));			/* a create owes nothing */
	CHECK(gstage_protect(&t->gs, gpa, GSTAGE_RX));
	CHECK(gstage_unmap(&t->gs, gpa, NULL));
	CHECK(gstage_sync(&t->gs));
	CHECK_EQ(t->fences, 1);				/* one fence pays both */
	CHECK(gstage_fenced(&t->gs, 2));
	CHECK(!gstage_sync(&t->gs));
	CHECK_EQ(t->fences, 1);
	CHECK_EQ(t->gs.remote_fences, 1);
	table_delete(t);
}

/* Another hart changes a leaf while this hart's fence is in flight: the
 * fence covers only what was published before it started, so the later
 * change stays owed and the next sync fences again. */
static uint64_t late_gen;
static void change_during_fence(struct table *t)
{
	struct gstage_old old;

	gstage_remap(&t->gs, 0x80001000, 0x9000, GSTAGE_RX, &old);
	late_gen = old.fence_gen;
}

static void test_sync_concurrent_change(void)
{
	struct table *t = table_new(1);

	CHECK_EQ(gstage_map(&t->gs, 0x80000000, 0x1000, GSTAGE_RWX), 0);
	CHECK_EQ(gstage_map(&t->gs, 0x80001000, 0x2000, GSTAGE_RWX), 0);
	CHECK(gstage_unmap(&t->gs, 0x80000000, NULL));	/* generation 1 */
	t->during_fence = change_during_fence;		/* generation 2, mid-fence */
	CHECK(gstage_sync(&t->gs));
	CHECK_EQ(late_gen, 2);
	CHECK(gstage_fenced(&t->gs, 1));
	CHECK(!gstage_fenced(&t->gs, 2));		/* not covered by that fence */
	CHECK(gstage_sync(&t->gs));
	CHECK(gstage_fenced(&t->gs, 2));
	CHECK_EQ(t->fences, 2);
	/* A slower hart's sync never moves `fenced` back. */
	__atomic_store_n(&t->gs.fenced, 5, __ATOMIC_RELEASE);
	CHECK(!gstage_sync(&t->gs));
	CHECK_EQ(t->gs.fenced, 5);
	table_delete(t);
}

int main(void)
{
	RUN(test_init_empty);
	RUN(test_map_pte_bits);
	RUN(test_index_bits);
	RUN(test_top_of_space);
	RUN(test_rejects);
	RUN(test_alloc_failure);
	RUN(test_unmap);
	RUN(test_protect);
	RUN(test_protect_keeps_walker_accessed);
	RUN(test_for_each);
	RUN(test_clear);
	RUN(test_hgatp);
	RUN(test_random_vs_model);
	RUN(test_fence_classes);
	RUN(test_sync);
	RUN(test_sync_concurrent_change);
	return unit_report("test_gstage");
}
