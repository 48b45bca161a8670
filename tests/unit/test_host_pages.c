/*
 * hyp/host_pages.c: page owner records and the per-NUMA-node allocator,
 * over a malloc'd, page-aligned buffer standing in for host RAM (its
 * address is its physical address).
 *
 * The standard layout (80 frames):
 *   pages  0..31  node 0 RAM; 0..2 reserved (a range rounded outward)
 *   pages 32..39  a hole (never declared RAM)
 *   pages 40..79  node 1 RAM; 50 reserved
 * so node 0 has 29 free pages, node 1 39.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "mem/host_pages.h"
#include "host_ram.h"
#include "share/share_table.h"
#include "unit.h"

#define NFRAMES 80
#define P(n) ((uint64_t)(n) * PAGE_SIZE)

struct layout {
	unsigned char *mem;
	uint64_t base;
	struct host_page table[NFRAMES];
	struct host_memory hm;
};

static struct layout *layout_new(void)
{
	struct layout *l = calloc(1, sizeof(*l));

	if (!l)
		abort();
	l->mem = aligned_alloc(PAGE_SIZE, NFRAMES * PAGE_SIZE);
	if (!l->mem)
		abort();
	memset(l->mem, 0xa5, NFRAMES * PAGE_SIZE);
	l->base = ptr_to_pa(l->mem);
	host_pages_init(&l->hm, l->table, l->base, NFRAMES);
	host_pages_add_ram(&l->hm, l->base, l->base + P(32), 0);
	/* Rounded inward: starts at page 40; ends past the table: clamped. */
	host_pages_add_ram(&l->hm, l->base + P(39) + 1, l->base + P(90) + 0x123, 1);
	/* Rounded outward: pages 0, 1 and 2. */
	host_pages_reserve(&l->hm, l->base + 0x10, l->base + P(2) + 1);
	host_pages_reserve(&l->hm, l->base + P(50) + 8, l->base + P(50) + 9);
	host_pages_reserve(&l->hm, l->base + P(33), l->base + P(35));	/* in the hole */
	host_pages_finish(&l->hm);
	return l;
}

static void layout_delete(struct layout *l)
{
	free(l->mem);
	free(l);
}

static uint64_t used_total(const struct host_memory *hm)
{
	uint64_t n = 0;

	for (unsigned o = 0; o < PAGE_ORIGIN_COUNT; o++)
		n += hm->used_by_origin[o];
	return n;
}

static void test_table_bytes(void)
{
	CHECK_EQ(sizeof(struct host_page), 16);
	CHECK_EQ(host_pages_table_bytes(1UL << 20), 256 * sizeof(struct host_page));
	CHECK_EQ(host_pages_table_bytes(2UL << 30), (2UL << 30) / PAGE_SIZE * 16);
	CHECK_EQ(host_pages_table_bytes(PAGE_SIZE - 1), 0);
}

static void test_init_all_reserved(void)
{
	struct host_page table[4];
	struct host_memory hm;

	memset(table, 0x77, sizeof(table));
	host_pages_init(&hm, table, 0x80000123, 4);
	CHECK_EQ(hm.base, 0x80000000);	/* page-aligned */
	CHECK_EQ(hm.nframes, 4);
	CHECK_EQ(hm.nnodes, 0);
	for (unsigned i = 0; i < 4; i++) {
		CHECK_EQ(table[i].origin, PAGE_RESERVED);
		CHECK_EQ(table[i].node, HOST_PAGE_NO_NODE);
		CHECK_EQ(table[i].vm, HOST_PAGE_NO_VM);
		CHECK_EQ(table[i].mappings, 0);
	}
	for (unsigned n = 0; n < MAX_MEM_NODES; n++)
		CHECK_EQ(hm.node[n].free_head, FRAME_NONE);
	CHECK_EQ(host_pages_free_count(&hm), 0);
	CHECK_EQ(host_pages_ram_count(&hm), 0);
	/* Nothing to allocate yet. */
	CHECK_EQ(host_page_alloc(&hm, 0, PAGE_HYPERVISOR, HOST_PAGE_NO_VM, 0), 0);
	host_pages_finish(&hm);
	CHECK_EQ(host_page_alloc(&hm, 0, PAGE_HYPERVISOR, HOST_PAGE_NO_VM, 0), 0);
	/* A node number beyond MAX_MEM_NODES is ignored. */
	host_pages_add_ram(&hm, 0x80000000, 0x80004000, MAX_MEM_NODES);
	CHECK_EQ(hm.nnodes, 0);
	CHECK_EQ(table[0].origin, PAGE_RESERVED);
}

static void test_layout(void)
{
	struct layout *l = layout_new();
	struct host_memory *hm = &l->hm;

	CHECK_EQ(hm->nnodes, 2);
	CHECK_EQ(hm->node[0].total_pages, 32);
	CHECK_EQ(hm->node[1].total_pages, 40);
	CHECK_EQ(hm->node[0].free_pages, 29);
	CHECK_EQ(hm->node[1].free_pages, 39);
	CHECK_EQ(host_pages_ram_count(hm), 72);
	CHECK_EQ(host_pages_free_count(hm), 68);
	CHECK_EQ(used_total(hm), 0);
	for (unsigned i = 0; i < NFRAMES; i++) {
		struct host_page *p = host_page_of(hm, l->base + P(i));
		bool hole = i >= 32 && i < 40;
		bool reserved = i <= 2 || i == 50 || hole;
		CHECK(p == &l->table[i]);
		CHECK_EQ(p->origin, reserved ? PAGE_RESERVED : PAGE_FREE);
		CHECK_EQ(p->node, hole ? HOST_PAGE_NO_NODE : i < 32 ? 0 : 1);
		CHECK_EQ(p->mappings, 0);
	}
	/* host_page_of: any byte of a page, and outside the table. */
	CHECK(host_page_of(hm, l->base + P(5) + 0xfff) == &l->table[5]);
	CHECK(host_page_of(hm, l->base + P(NFRAMES) - 1) == &l->table[NFRAMES - 1]);
	CHECK(host_page_of(hm, l->base + P(NFRAMES)) == NULL);
	CHECK(host_page_of(hm, l->base - 1) == NULL);
	CHECK(host_page_of(hm, 0) == NULL);
	CHECK(host_page_of(hm, UINT64_MAX) == NULL);
	layout_delete(l);
}

static void test_alloc_order_and_records(void)
{
	struct layout *l = layout_new();
	struct host_memory *hm = &l->hm;
	uint64_t pa;

	/* Lowest free address of the requested node first. */
	pa = host_page_alloc(hm, 0, PAGE_GUEST_PRIVATE, 7, 0x80001000);
	if (!CHECK_EQ(pa, l->base + P(3))) {
		layout_delete(l);
		return;
	}
	struct host_page *p = host_page_of(hm, pa);
	CHECK_EQ(p->origin, PAGE_GUEST_PRIVATE);
	CHECK_EQ(p->vm, 7);
	CHECK_EQ(p->gpa, 0x80001000);
	CHECK_EQ(p->mappings, 0);
	CHECK_EQ(p->node, 0);
	CHECK(all_zero(pa_to_ptr(pa), PAGE_SIZE));
	CHECK_EQ(hm->node[0].free_pages, 28);
	CHECK_EQ(hm->used_by_origin[PAGE_GUEST_PRIVATE], 1);

	CHECK_EQ(host_page_alloc(hm, 0, PAGE_HYPERVISOR, HOST_PAGE_NO_VM, 0), l->base + P(4));
	CHECK_EQ(host_page_alloc(hm, 1, PAGE_GSTAGE_TABLE, 2, 0), l->base + P(40));
	CHECK_EQ(host_page_alloc(hm, 1, PAGE_GSTAGE_TABLE, 2, 0), l->base + P(41));
	CHECK_EQ(host_page_of(hm, l->base + P(41))->node, 1);
	CHECK_EQ(host_page_of(hm, l->base + P(41))->vm, 2);
	CHECK_EQ(hm->used_by_origin[PAGE_HYPERVISOR], 1);
	CHECK_EQ(hm->used_by_origin[PAGE_GSTAGE_TABLE], 2);
	CHECK_EQ(hm->used_by_origin[PAGE_FREE], 0);
	CHECK_EQ(hm->used_by_origin[PAGE_RESERVED], 0);
	CHECK_EQ(host_pages_free_count(hm), 64);
	CHECK_EQ(host_pages_ram_count(hm), 72);	/* allocation changes no totals */

	/* Node 1 skips its reserved page 50. */
	static const unsigned next[] = { 42, 43, 44, 45, 46, 47, 48, 49, 51, 52 };
	for (unsigned i = 0; i < sizeof(next) / sizeof(next[0]); i++)
		CHECK_EQ(host_page_alloc(hm, 1, PAGE_HYPERVISOR, HOST_PAGE_NO_VM, 0),
			 l->base + P(next[i]));

	/* Invalid origins allocate nothing. */
	uint64_t before = host_pages_free_count(hm);
	CHECK_EQ(host_page_alloc(hm, 0, PAGE_FREE, 1, 0), 0);
	CHECK_EQ(host_page_alloc(hm, 0, PAGE_RESERVED, 1, 0), 0);
	CHECK_EQ(host_page_alloc(hm, 0, PAGE_ORIGIN_COUNT, 1, 0), 0);
	CHECK_EQ(host_page_alloc(hm, 0, (enum page_origin)200, 1, 0), 0);
	CHECK_EQ(host_pages_free_count(hm), before);
	layout_delete(l);
}

static void test_fallback_to_other_node(void)
{
	struct layout *l = layout_new();
	struct host_memory *hm = &l->hm;
	uint64_t pa;

	for (unsigned i = 3; i < 32; i++)
		CHECK_EQ(host_page_alloc(hm, 0, PAGE_HYPERVISOR, HOST_PAGE_NO_VM, 0), l->base + P(i));
	CHECK_EQ(hm->node[0].free_pages, 0);
	/* Node 0 is exhausted: its next page comes from node 1, lowest first. */
	pa = host_page_alloc(hm, 0, PAGE_GUEST_PRIVATE, 1, 0x1000);
	CHECK_EQ(pa, l->base + P(40));
	CHECK_EQ(host_page_of(hm, pa)->node, 1);
	CHECK_EQ(hm->node[1].free_pages, 38);
	/* Node 1 itself still gets node 1 pages. */
	CHECK_EQ(host_page_alloc(hm, 1, PAGE_HYPERVISOR, HOST_PAGE_NO_VM, 0), l->base + P(41));

	/* A page freed to node 0 is preferred over node 1 again. */
	CHECK(host_page_free(hm, l->base + P(17)));
	CHECK_EQ(hm->node[0].free_pages, 1);
	CHECK_EQ(host_page_alloc(hm, 0, PAGE_HYPERVISOR, HOST_PAGE_NO_VM, 0), l->base + P(17));
	/* A node-1 page freed after falling back goes back to node 1. */
	CHECK(host_page_free(hm, pa));
	CHECK_EQ(hm->node[1].free_pages, 38);
	CHECK_EQ(hm->node[0].free_pages, 0);

	/* A node number >= nnodes still reaches every node: here node 0 is
	 * empty and the page must come from node 1. */
	pa = host_page_alloc(hm, 3, PAGE_HYPERVISOR, HOST_PAGE_NO_VM, 0);
	if (CHECK(pa != 0))
		CHECK_EQ(host_page_of(hm, pa)->node, 1);
	pa = host_page_alloc(hm, 2, PAGE_HYPERVISOR, HOST_PAGE_NO_VM, 0);
	if (CHECK(pa != 0))
		CHECK_EQ(host_page_of(hm, pa)->node, 1);
	layout_delete(l);
}

static void test_exhaustion_and_zeroing(void)
{
	struct layout *l = layout_new();
	struct host_memory *hm = &l->hm;
	static uint64_t got[NFRAMES];
	unsigned n = 0;
	uint64_t pa;

	/* Scribble over all free pages: the free lists live in the records,
	 * so the allocator must not care. */
	memset(l->mem, 0xee, NFRAMES * PAGE_SIZE);
	while ((pa = host_page_alloc(hm, n % 2, PAGE_GUEST_PRIVATE, 1, P(n))) != 0) {
		CHECK(n < NFRAMES);
		if (n >= NFRAMES)
			break;
		CHECK_EQ(pa & (PAGE_SIZE - 1), 0);
		CHECK(pa >= l->base && pa < l->base + P(NFRAMES));
		CHECK(all_zero(pa_to_ptr(pa), PAGE_SIZE));
		for (unsigned i = 0; i < n; i++)
			if (got[i] == pa)
				CHECK(!"page handed out twice");
		unsigned frame = (unsigned)((pa - l->base) / PAGE_SIZE);
		CHECK(frame > 2 && frame != 50 && (frame < 32 || frame >= 40));
		memset(pa_to_ptr(pa), 0x5a, PAGE_SIZE);	/* dirty it */
		got[n++] = pa;
	}
	CHECK_EQ(n, 68);
	CHECK_EQ(host_pages_free_count(hm), 0);
	CHECK_EQ(hm->used_by_origin[PAGE_GUEST_PRIVATE], 68);
	CHECK_EQ(host_page_alloc(hm, 0, PAGE_HYPERVISOR, HOST_PAGE_NO_VM, 0), 0);
	CHECK_EQ(host_page_alloc(hm, 1, PAGE_HYPERVISOR, HOST_PAGE_NO_VM, 0), 0);
	CHECK_EQ(hm->used_by_origin[PAGE_HYPERVISOR], 0);

	/* Free everything (dirty), allocate everything again: all zero. */
	for (unsigned i = 0; i < n; i++)
		CHECK(host_page_free(hm, got[i]));
	CHECK_EQ(host_pages_free_count(hm), 68);
	CHECK_EQ(hm->node[0].free_pages, 29);
	CHECK_EQ(hm->node[1].free_pages, 39);
	CHECK_EQ(used_total(hm), 0);
	unsigned again = 0;
	while ((pa = host_page_alloc(hm, 1, PAGE_HYPERVISOR, HOST_PAGE_NO_VM, 0)) != 0) {
		CHECK(all_zero(pa_to_ptr(pa), PAGE_SIZE));
		if (++again > NFRAMES)
			break;
	}
	CHECK_EQ(again, 68);
	layout_delete(l);
}

static void test_freed_page_comes_back_zeroed(void)
{
	struct layout *l = layout_new();
	struct host_memory *hm = &l->hm;
	uint64_t pa = host_page_alloc(hm, 1, PAGE_GUEST_PRIVATE, 4, 0x2000);

	memset(pa_to_ptr(pa), 0xc3, PAGE_SIZE);
	CHECK(host_page_free(hm, pa));
	/* Allocate until that page comes back; it must be zero. */
	bool seen = false;
	for (unsigned i = 0; i < NFRAMES && !seen; i++) {
		uint64_t q = host_page_alloc(hm, 1, PAGE_GUEST_PRIVATE, 5, 0x3000);
		if (!q)
			break;
		if (q == pa) {
			seen = true;
			CHECK(all_zero(pa_to_ptr(q), PAGE_SIZE));
			CHECK_EQ(host_page_of(hm, q)->vm, 5);
			CHECK_EQ(host_page_of(hm, q)->gpa, 0x3000);
		}
	}
	CHECK(seen);
	layout_delete(l);
}

static void test_free_rejects(void)
{
	struct layout *l = layout_new();
	struct host_memory *hm = &l->hm;
	uint64_t pa = host_page_alloc(hm, 0, PAGE_GUEST_PRIVATE, 9, 0x80000000);
	struct host_page *p = host_page_of(hm, pa);

	if (!CHECK(p != NULL)) {
		layout_delete(l);
		return;
	}
	struct host_page saved_table[NFRAMES];
	struct mem_node saved_node[MAX_MEM_NODES];
	uint64_t saved_used[PAGE_ORIGIN_COUNT];

#define SAVE() do { \
		memcpy(saved_table, l->table, sizeof(saved_table)); \
		memcpy(saved_node, hm->node, sizeof(saved_node)); \
		memcpy(saved_used, hm->used_by_origin, sizeof(saved_used)); \
	} while (0)
#define UNCHANGED() do { \
		CHECK_MEM(l->table, saved_table, sizeof(saved_table)); \
		CHECK_MEM(hm->node, saved_node, sizeof(saved_node)); \
		CHECK_MEM(hm->used_by_origin, saved_used, sizeof(saved_used)); \
	} while (0)
	SAVE();

	CHECK(!host_page_free(hm, l->base));			/* reserved */
	CHECK(!host_page_free(hm, l->base + P(50)));		/* reserved */
	CHECK(!host_page_free(hm, l->base + P(35)));		/* hole */
	CHECK(!host_page_free(hm, l->base + P(20)));		/* free */
	CHECK(!host_page_free(hm, pa + 8));			/* unaligned */
	CHECK(!host_page_free(hm, pa + PAGE_SIZE - 1));
	CHECK(!host_page_free(hm, l->base + P(NFRAMES)));	/* out of range */
	CHECK(!host_page_free(hm, l->base - PAGE_SIZE));
	CHECK(!host_page_free(hm, 0));
	UNCHANGED();
	p->mappings = 1;					/* still mapped */
	saved_table[p - l->table].mappings = 1;
	CHECK(!host_page_free(hm, pa));
	UNCHANGED();
	p->mappings = 0;

	CHECK(host_page_free(hm, pa));
	CHECK_EQ(p->origin, PAGE_FREE);
	CHECK_EQ(p->vm, HOST_PAGE_NO_VM);
	CHECK_EQ(hm->used_by_origin[PAGE_GUEST_PRIVATE], 0);
	CHECK_EQ(host_pages_free_count(hm), 68);
	SAVE();
	CHECK(!host_page_free(hm, pa));				/* double free */
	UNCHANGED();
#undef SAVE
#undef UNCHANGED
	layout_delete(l);
}

static void test_used_by_origin(void)
{
	struct layout *l = layout_new();
	struct host_memory *hm = &l->hm;
	uint64_t a[3], b[2], c;

	for (unsigned i = 0; i < 3; i++)
		a[i] = host_page_alloc(hm, 0, PAGE_GUEST_PRIVATE, 1, P(i));
	for (unsigned i = 0; i < 2; i++)
		b[i] = host_page_alloc(hm, 1, PAGE_GSTAGE_TABLE, 1, 0);
	c = host_page_alloc(hm, 0, PAGE_HYPERVISOR, HOST_PAGE_NO_VM, 0);
	CHECK_EQ(hm->used_by_origin[PAGE_GUEST_PRIVATE], 3);
	CHECK_EQ(hm->used_by_origin[PAGE_GSTAGE_TABLE], 2);
	CHECK_EQ(hm->used_by_origin[PAGE_HYPERVISOR], 1);
	CHECK_EQ(used_total(hm) + host_pages_free_count(hm), 68);
	CHECK(host_page_free(hm, a[1]));
	CHECK(host_page_free(hm, b[0]));
	CHECK_EQ(hm->used_by_origin[PAGE_GUEST_PRIVATE], 2);
	CHECK_EQ(hm->used_by_origin[PAGE_GSTAGE_TABLE], 1);
	CHECK_EQ(hm->used_by_origin[PAGE_HYPERVISOR], 1);
	CHECK(host_page_free(hm, a[0]));
	CHECK(host_page_free(hm, a[2]));
	CHECK(host_page_free(hm, b[1]));
	CHECK(host_page_free(hm, c));
	CHECK_EQ(used_total(hm), 0);
	CHECK_EQ(host_pages_free_count(hm), 68);
	layout_delete(l);
}

static void test_single_page_ram_and_bounds(void)
{
	/* A table wider than its RAM; RAM declared with unaligned ends. */
	struct test_ram r;
	struct host_page table[16];
	struct host_memory hm;
	uint64_t base;

	test_ram_init(&r, 16, 1);	/* only for its buffer */
	base = ptr_to_pa(r.mem);
	host_pages_init(&hm, table, base, 16);
	/* [base + 0x10, base + 8 pages - 1) rounds inward to pages 1..6. */
	host_pages_add_ram(&hm, base + 0x10, base + P(8) - 1, 0);
	/* A range smaller than a page, inside one page: nothing. */
	host_pages_add_ram(&hm, base + P(10) + 1, base + P(11) - 1, 0);
	/* A range entirely below the table: nothing. */
	host_pages_add_ram(&hm, base - P(4), base, 0);
	host_pages_finish(&hm);
	CHECK_EQ(host_pages_ram_count(&hm), 6);
	CHECK_EQ(host_pages_free_count(&hm), 6);
	CHECK_EQ(table[0].origin, PAGE_RESERVED);
	CHECK_EQ(table[7].origin, PAGE_RESERVED);
	CHECK_EQ(table[10].origin, PAGE_RESERVED);
	for (unsigned i = 1; i <= 6; i++) {
		CHECK_EQ(host_page_alloc(&hm, 0, PAGE_HYPERVISOR, HOST_PAGE_NO_VM, 0),
			 base + P(i));
	}
	CHECK_EQ(host_page_alloc(&hm, 0, PAGE_HYPERVISOR, HOST_PAGE_NO_VM, 0), 0);
	test_ram_destroy(&r);

	/* test_ram_init itself: two nodes, all free. */
	test_ram_init(&r, 10, 2);
	CHECK_EQ(host_pages_ram_count(&r.hm), 10);
	CHECK_EQ(r.hm.node[0].free_pages, 5);
	CHECK_EQ(r.hm.node[1].free_pages, 5);
	test_ram_destroy(&r);
}

/*
 * Four nodes of different sizes, declared out of address order:
 *   frames  0..6   node 2 (7 pages; frame 3 reserved)
 *   frames  7..8   node 3 (2 pages)
 *   frames  9..13  node 0 (5 pages)
 *   frames 14..16  node 1 (3 pages)
 * A node's allocations take its own pages, lowest first, until they run
 * out, then the next nodes in numbering order, wrapping.
 */
#define NUMA_FRAMES 17

static const unsigned numa_node_of[NUMA_FRAMES] = {
	2, 2, 2, 2, 2, 2, 2, 3, 3, 0, 0, 0, 0, 0, 1, 1, 1
};

static void numa_layout(struct test_ram *r, struct host_page *table, struct host_memory *hm)
{
	uint64_t base;

	test_ram_init(r, NUMA_FRAMES, 1);	/* only for its buffer */
	base = ptr_to_pa(r->mem);
	host_pages_init(hm, table, base, NUMA_FRAMES);
	host_pages_add_ram(hm, base + P(14), base + P(17), 1);
	host_pages_add_ram(hm, base + P(9), base + P(14), 0);
	host_pages_add_ram(hm, base + P(7), base + P(9), 3);
	host_pages_add_ram(hm, base, base + P(7), 2);
	host_pages_reserve(hm, base + P(3), base + P(4));
	host_pages_finish(hm);
}

/* Allocates from `node` until the machine is empty; returns how many
 * pages and checks each against the frames expected in order. */
static unsigned alloc_all_from(struct host_memory *hm, uint64_t base, unsigned node,
			       const unsigned *want, unsigned nwant, uint64_t *got)
{
	unsigned n = 0;
	uint64_t pa;

	while ((pa = host_page_alloc(hm, node, PAGE_GUEST_PRIVATE, 1, P(n))) != 0) {
		if (!CHECK(n < nwant))
			break;
		unsigned frame = (unsigned)((pa - base) / PAGE_SIZE);
		CHECK_EQ(frame, want[n]);
		CHECK_EQ(host_page_of(hm, pa)->node, numa_node_of[frame]);
		/* Its node's free count: the pages of that node still to come. */
		uint64_t left = 0;
		for (unsigned k = n + 1; k < nwant; k++)
			left += numa_node_of[want[k]] == numa_node_of[frame];
		CHECK_EQ(hm->node[numa_node_of[frame]].free_pages, left);
		got[n++] = pa;
	}
	return n;
}

static void test_numa_four_nodes(void)
{
	struct test_ram r;
	struct host_page table[NUMA_FRAMES];
	struct host_memory hm;
	uint64_t got[NUMA_FRAMES], base;

	numa_layout(&r, table, &hm);
	base = ptr_to_pa(r.mem);
	CHECK_EQ(hm.nnodes, 4);
	static const uint64_t total[4] = { 5, 3, 7, 2 }, free0[4] = { 5, 3, 6, 2 };
	for (unsigned n = 0; n < 4; n++) {
		CHECK_EQ(hm.node[n].total_pages, total[n]);
		CHECK_EQ(hm.node[n].free_pages, free0[n]);
	}
	CHECK_EQ(host_pages_ram_count(&hm), 17);
	CHECK_EQ(host_pages_free_count(&hm), 16);
	for (unsigned i = 0; i < NUMA_FRAMES; i++)
		CHECK_EQ(table[i].node, numa_node_of[i]);

	/* Node 1: its 3 pages, then node 2, node 3, node 0. */
	static const unsigned from1[] = { 14, 15, 16, 0, 1, 2, 4, 5, 6, 7, 8,
					  9, 10, 11, 12, 13 };
	unsigned n = alloc_all_from(&hm, base, 1, from1, 16, got);
	CHECK_EQ(n, 16);
	for (unsigned k = 0; k < 4; k++)
		CHECK_EQ(hm.node[k].free_pages, 0);
	for (unsigned i = 0; i < n; i++) {
		unsigned frame = (unsigned)((got[i] - base) / PAGE_SIZE);
		unsigned node = numa_node_of[frame];
		uint64_t before = hm.node[node].free_pages;
		CHECK(host_page_free(&hm, got[i]));
		/* Back to its own node's list, not the node it was asked for. */
		CHECK_EQ(hm.node[node].free_pages, before + 1);
		CHECK_EQ(table[frame].node, node);
	}
	for (unsigned k = 0; k < 4; k++) {
		CHECK_EQ(hm.node[k].free_pages, free0[k]);
		CHECK_EQ(hm.node[k].total_pages, total[k]);
	}

	/* Node 3 (the last): its 2 pages, then wraps to node 0, 1, 2. The
	 * lists were refilled in a different order, so only the nodes are
	 * fixed here; the frames within a node can come in any order. */
	unsigned seq_nodes[16], i = 0;
	uint64_t pa;
	while (i < 16 && (pa = host_page_alloc(&hm, 3, PAGE_HYPERVISOR, HOST_PAGE_NO_VM, 0))) {
		struct host_page *p = host_page_of(&hm, pa);
		seq_nodes[i] = p->node;
		CHECK_EQ(p->node, numa_node_of[(pa - base) / PAGE_SIZE]);
		got[i++] = pa;
	}
	CHECK_EQ(i, 16);
	CHECK_EQ(host_page_alloc(&hm, 3, PAGE_HYPERVISOR, HOST_PAGE_NO_VM, 0), 0);
	static const unsigned want3[16] = { 3, 3, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 2 };
	CHECK_MEM(seq_nodes, want3, sizeof(want3));

	/* Free one page of node 0 and one of node 2: each goes back to its
	 * own list, and is what its node's next allocation gets. */
	CHECK(host_page_free(&hm, base + P(11)));
	CHECK(host_page_free(&hm, base + P(5)));
	CHECK_EQ(hm.node[0].free_pages, 1);
	CHECK_EQ(hm.node[2].free_pages, 1);
	CHECK_EQ(hm.node[1].free_pages, 0);
	CHECK_EQ(hm.node[3].free_pages, 0);
	/* Node 1 is empty: the next node with a page is node 2. */
	CHECK_EQ(host_page_alloc(&hm, 1, PAGE_HYPERVISOR, HOST_PAGE_NO_VM, 0), base + P(5));
	CHECK_EQ(host_page_of(&hm, base + P(5))->node, 2);
	CHECK_EQ(hm.node[2].free_pages, 0);
	/* Node 3 is empty: wraps to node 0. */
	CHECK_EQ(host_page_alloc(&hm, 3, PAGE_HYPERVISOR, HOST_PAGE_NO_VM, 0), base + P(11));
	CHECK_EQ(hm.node[0].free_pages, 0);
	CHECK_EQ(host_page_alloc(&hm, 0, PAGE_HYPERVISOR, HOST_PAGE_NO_VM, 0), 0);
	test_ram_destroy(&r);

	/* A fresh layout: each node first serves itself, lowest frame first. */
	numa_layout(&r, table, &hm);
	base = ptr_to_pa(r.mem);
	static const unsigned first[4] = { 9, 14, 0, 7 };
	for (unsigned k = 0; k < 4; k++) {
		pa = host_page_alloc(&hm, k, PAGE_GSTAGE_TABLE, 3, 0);
		CHECK_EQ(pa, base + P(first[k]));
		CHECK_EQ(host_page_of(&hm, pa)->node, k);
		CHECK_EQ(hm.node[k].free_pages, free0[k] - 1);
	}
	/* Node 2 skips its reserved frame 3. */
	CHECK_EQ(host_page_alloc(&hm, 2, PAGE_HYPERVISOR, HOST_PAGE_NO_VM, 0), base + P(1));
	CHECK_EQ(host_page_alloc(&hm, 2, PAGE_HYPERVISOR, HOST_PAGE_NO_VM, 0), base + P(2));
	CHECK_EQ(host_page_alloc(&hm, 2, PAGE_HYPERVISOR, HOST_PAGE_NO_VM, 0), base + P(4));
	test_ram_destroy(&r);
}

/* Nodes 0, 1 and 3 have RAM, node 2 none: nnodes is 4 and the fallback
 * from node 1 goes past the empty node 2 to node 3. */
static void test_numa_empty_node(void)
{
	struct test_ram r;
	struct host_page table[8];
	struct host_memory hm;
	uint64_t base;

	test_ram_init(&r, 8, 1);
	base = ptr_to_pa(r.mem);
	host_pages_init(&hm, table, base, 8);
	host_pages_add_ram(&hm, base, base + P(2), 0);
	host_pages_add_ram(&hm, base + P(2), base + P(4), 1);
	host_pages_add_ram(&hm, base + P(6), base + P(8), 3);
	host_pages_finish(&hm);
	CHECK_EQ(hm.nnodes, 4);
	CHECK_EQ(hm.node[2].total_pages, 0);
	CHECK_EQ(hm.node[2].free_pages, 0);
	CHECK_EQ(hm.node[3].total_pages, 2);
	static const unsigned want[] = { 2, 3, 6, 7, 0, 1 };
	for (unsigned i = 0; i < 6; i++)
		CHECK_EQ(host_page_alloc(&hm, 1, PAGE_HYPERVISOR, HOST_PAGE_NO_VM, 0),
			 base + P(want[i]));
	CHECK_EQ(host_page_alloc(&hm, 2, PAGE_HYPERVISOR, HOST_PAGE_NO_VM, 0), 0);
	CHECK(host_page_free(&hm, base + P(7)));
	/* Asked for the empty node 2: the next node with a page. */
	CHECK_EQ(host_page_alloc(&hm, 2, PAGE_HYPERVISOR, HOST_PAGE_NO_VM, 0), base + P(7));
	test_ram_destroy(&r);
}

/*
 * Shares (host_pages.h): the free pages less a margin, split evenly, at
 * most `cap` each; the unused shares are the reserve.
 */
static void test_shares_split_and_cap(void)
{
	struct layout *l = layout_new();	/* 68 free pages */

	host_pages_set_shares(&l->hm, 2, 1000, 8);
	CHECK_EQ(l->hm.owner[0].share, 30);
	CHECK_EQ(l->hm.owner[1].share, 30);
	CHECK_EQ(l->hm.owner[2].share, 0);
	CHECK_EQ(l->hm.reserved, 60);
	host_pages_set_shares(&l->hm, 2, 10, 8);	/* capped: RAM + tables */
	CHECK_EQ(l->hm.owner[0].share, 10);
	CHECK_EQ(l->hm.reserved, 20);
	host_pages_set_shares(&l->hm, 3, 1000, 100);	/* margin beyond what is free */
	CHECK_EQ(l->hm.owner[0].share, 0);
	CHECK_EQ(l->hm.reserved, 0);
	layout_delete(l);
}

/* Allocates private pages for owner vm until refused; returns how many. */
static unsigned take_all(struct host_memory *hm, uint16_t vm, uint64_t *pages, unsigned max)
{
	unsigned n = 0;

	while (n < max) {
		uint64_t pa = host_page_alloc(hm, 0, PAGE_GUEST_PRIVATE, vm, n * PAGE_SIZE);
		if (!pa)
			break;
		if (pages)
			pages[n] = pa;
		n++;
	}
	return n;
}

/*
 * Defect 7: a guest that touches memory without end must not take the
 * pages a bystander is entitled to. Before, the hog took every page and
 * the bystander, touching its first page after that, was the one killed.
 * Now the hog gets its share and the unreserved rest, then is refused
 * (and counted); the bystander still gets its whole share.
 */
static void test_bystander_keeps_its_share(void)
{
	struct layout *l = layout_new();	/* 68 free pages */
	struct host_owner_report r;
	uint64_t pages[80];

	host_pages_set_shares(&l->hm, 2, 1000, 8);	/* 30 each, 8 unreserved */
	CHECK_EQ(take_all(&l->hm, 1, pages, 80), 38);	/* the hog */
	CHECK_EQ(l->hm.owner[1].pages, 38);
	CHECK_EQ(l->hm.owner[1].refusals, 1);
	CHECK_EQ(host_pages_free_count(&l->hm), 30);
	host_pages_owner_report(&l->hm, 1, &r);
	CHECK_EQ(r.pages, 38);
	CHECK_EQ(r.share, 30);
	CHECK_EQ(r.refusals, 1);
	CHECK_EQ(r.free, 30);
	CHECK_EQ(r.reserved_for_others, 30);	/* the bystander's whole share */
	/* the bystander touches its memory later: all of its share is there */
	CHECK_EQ(take_all(&l->hm, 0, NULL, 30), 30);
	CHECK_EQ(l->hm.owner[0].refusals, 0);
	/* beyond it, it is over its share too, and the host is empty */
	CHECK(!host_page_alloc(&l->hm, 0, PAGE_GUEST_PRIVATE, 0, 0));
	CHECK_EQ(l->hm.owner[0].refusals, 1);
	/* freeing uncharges: the hog gives 5 back, they are not reserved
	 * (both are over their share now), so either may take them */
	for (unsigned i = 0; i < 5; i++)
		CHECK(host_page_free(&l->hm, pages[i]));
	CHECK_EQ(l->hm.owner[1].pages, 33);
	CHECK_EQ(l->hm.reserved, 0);
	CHECK(host_page_alloc(&l->hm, 0, PAGE_GUEST_PRIVATE, 0, 0));
	/* a stopped VM's share can be dropped: its reserve goes with it */
	host_pages_drop_share(&l->hm, 1);
	CHECK_EQ(l->hm.owner[1].share, 0);
	layout_delete(l);
}

/* The reserve also holds against a hog that is under its share when the
 * bystander has used part of its own: it is the unused part that is kept. */
static void test_reserve_is_the_unused_part(void)
{
	struct layout *l = layout_new();

	host_pages_set_shares(&l->hm, 2, 1000, 8);
	CHECK_EQ(take_all(&l->hm, 0, NULL, 10), 10);	/* bystander: 20 of its share left */
	CHECK_EQ(l->hm.reserved, 50);
	CHECK_EQ(take_all(&l->hm, 1, NULL, 80), 38);	/* 68 - 10 - 20 reserved */
	CHECK_EQ(take_all(&l->hm, 0, NULL, 80), 20);
	CHECK_EQ(host_pages_free_count(&l->hm), 0);
	/* without shares (as before): first come, first served */
	struct layout *m = layout_new();
	CHECK_EQ(take_all(&m->hm, 1, NULL, 80), 68);
	CHECK_EQ(take_all(&m->hm, 0, NULL, 80), 0);
	CHECK_EQ(m->hm.owner[1].refusals, 0);	/* no share: never "refused" */
	layout_delete(m);
	layout_delete(l);
}

/* The reclaim hook of these tests: a share table of cached blocks whose
 * unmapped pages it evicts and frees, as hyp/share/share.c does. */
struct cache {
	struct host_memory *hm;
	struct share_table t;
	struct share_entry entries[64];
	unsigned calls;
	uint16_t only_of;		/* the last call's */
};

static bool cache_unmapped(void *ctx, uint64_t pa)
{
	struct cache *c = ctx;
	const struct host_page *p = host_page_of(c->hm, pa);

	return p->mappings == 0 && (c->only_of == HOST_PAGE_NO_VM || p->vm == c->only_of);
}

static uint64_t cache_reclaim(void *ctx, uint64_t want, uint16_t only_of)
{
	struct cache *c = ctx;
	uint64_t out[64], freed = 0;
	unsigned n;

	c->calls++;
	c->only_of = only_of;
	n = share_table_evict(&c->t, cache_unmapped, c, out, want > 64 ? 64 : (unsigned)want,
			      2 * 64);
	for (unsigned i = 0; i < n; i++)
		freed += host_page_free(c->hm, out[i]);
	return freed;
}

/* Reads block b into the cache for owner vm: a fill, unpinned after. */
static uint64_t cache_fill(struct cache *c, uint64_t b, uint16_t vm)
{
	struct share_claim claim;

	if (share_table_lookup(&c->t, b, 0, &claim) != SHARE_MUST_FILL)
		return 0;
	uint64_t pa = host_page_alloc(c->hm, 0, PAGE_SHARED_DISK, vm, b);
	share_table_fill_done(&c->t, &claim, pa);
	if (pa)
		share_table_unpin(&c->t, b, 0);
	return pa;
}

/*
 * Defect 7, the block cache: a guest reads the whole disk, and blocks
 * nobody maps any more fill the host. Before, they stayed cached for
 * ever and the next guest to need a page was killed. Now an allocation
 * that would fail asks the reclaim hook first: the cache gives back
 * unmapped, unpinned blocks, and the bystander's page is served. Mapped
 * blocks are never given back.
 */
static void test_reclaim_evicts_unmapped_cache(void)
{
	struct layout *l = layout_new();	/* 68 free pages */
	struct cache *c = calloc(1, sizeof(*c));

	c->hm = &l->hm;
	share_table_init(&c->t, c->entries, 64, 1);
	host_pages_set_reclaim(&l->hm, cache_reclaim, c);
	/* guest 1 reads 60 blocks; it maps the first 4 (its page cache) */
	for (uint64_t b = 0; b < 60; b++)
		CHECK(cache_fill(c, b, 1));
	for (uint64_t b = 0; b < 4; b++)
		host_page_of(&l->hm, share_table_get(&c->t, b, 0))->mappings = 1;
	CHECK_EQ(l->hm.owner[1].pages, 60);	/* first reader pays */
	/* the bystander touches 8 pages: still free, no reclaim */
	CHECK_EQ(take_all(&l->hm, 0, NULL, 8), 8);
	CHECK_EQ(c->calls, 0);
	CHECK_EQ(host_pages_free_count(&l->hm), 0);
	/* and 20 more: the cache gives back what nobody maps */
	CHECK_EQ(take_all(&l->hm, 0, NULL, 20), 20);
	CHECK(c->calls > 0);
	CHECK_EQ(c->t.evictions, l->hm.reclaimed);
	CHECK(l->hm.reclaimed >= 20);
	CHECK_EQ(l->hm.owner[1].pages, 60 - l->hm.reclaimed);	/* evicted: uncharged */
	for (uint64_t b = 0; b < 4; b++)
		CHECK(share_table_get(&c->t, b, 0));	/* mapped: kept */
	/* everything unmapped is gone after enough pressure, then it fails */
	CHECK_EQ(take_all(&l->hm, 0, NULL, 80), 60 - 4 - 20);
	CHECK_EQ(c->t.evictions, 56);
	CHECK_EQ(l->hm.owner[1].pages, 4);	/* what it still maps */
	CHECK(!host_page_alloc(&l->hm, 0, PAGE_GUEST_PRIVATE, 0, 0));
	host_pages_set_reclaim(&l->hm, NULL, NULL);
	free(c);
	layout_delete(l);
}

/*
 * A VM over its share gains nothing from evicting pages charged to
 * others (each frees a page but adds one to their reserve), so the hook
 * is asked for its own cached pages only: a guest at its share cannot
 * empty everyone's block cache by reading (review finding 3).
 */
static void test_reclaim_over_share_takes_its_own(void)
{
	struct layout *l = layout_new();	/* 68 free pages */
	struct cache *c = calloc(1, sizeof(*c));

	host_pages_set_shares(&l->hm, 2, 1000, 8);	/* 30 pages each */
	c->hm = &l->hm;
	share_table_init(&c->t, c->entries, 64, 1);
	host_pages_set_reclaim(&l->hm, cache_reclaim, c);
	for (uint64_t b = 0; b < 10; b++)
		CHECK(cache_fill(c, b, 0));		/* VM 0's cache, unmapped */
	for (uint64_t b = 10; b < 15; b++)
		CHECK(cache_fill(c, b, 1));		/* VM 1's */
	/* VM 1 takes its share and more until it is refused */
	take_all(&l->hm, 1, NULL, 80);
	CHECK(c->calls > 0);
	CHECK_EQ(c->only_of, 1);			/* asked for its own only */
	for (uint64_t b = 0; b < 10; b++)
		CHECK(share_table_get(&c->t, b, 0));	/* VM 0's cache is still there */
	for (uint64_t b = 10; b < 15; b++)
		CHECK(!share_table_get(&c->t, b, 0));	/* its own went first */
	host_pages_set_reclaim(&l->hm, NULL, NULL);
	free(c);
	layout_delete(l);
}

/* Two VMs on two harts map and unmap the same shared page at once (each
 * under its own VM lock): no count is lost, so the block cache never sees
 * 0 on a page still mapped. Real threads stand for the harts. */
#define MAP_ROUNDS 1000000
/* One call per mapping, as guest_memory.c makes them (not merged into one
 * add by the compiler). */
__attribute__((noinline)) static void map_one(struct host_page *p)
{
	host_page_map_get(p);
}

__attribute__((noinline)) static void unmap_one(struct host_page *p)
{
	host_page_map_put(p);
}

static void *map_many(void *arg)
{
	struct host_page *p = arg;

	for (int i = 0; i < MAP_ROUNDS; i++) {
		map_one(p);
		map_one(p);
		unmap_one(p);
	}
	return NULL;
}

static void test_mapping_count_is_atomic(void)
{
	struct host_page p = { .origin = PAGE_SHARED_DISK };
	pthread_t a, b;

	pthread_create(&a, NULL, map_many, &p);
	pthread_create(&b, NULL, map_many, &p);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	CHECK_EQ(p.mappings, 2 * MAP_ROUNDS);
	p.mappings = 0;
	host_page_map_put(&p);	/* never below 0 */
	CHECK_EQ(p.mappings, 0);
}

int main(void)
{
	RUN(test_table_bytes);
	RUN(test_init_all_reserved);
	RUN(test_layout);
	RUN(test_alloc_order_and_records);
	RUN(test_fallback_to_other_node);
	RUN(test_exhaustion_and_zeroing);
	RUN(test_freed_page_comes_back_zeroed);
	RUN(test_free_rejects);
	RUN(test_used_by_origin);
	RUN(test_single_page_ram_and_bounds);
	RUN(test_numa_four_nodes);
	RUN(test_numa_empty_node);
	RUN(test_shares_split_and_cap);
	RUN(test_bystander_keeps_its_share);
	RUN(test_reserve_is_the_unused_part);
	RUN(test_reclaim_evicts_unmapped_cache);
	RUN(test_reclaim_over_share_takes_its_own);
	RUN(test_mapping_count_is_atomic);
	return unit_report("test_host_pages");
}
