/*
 * "Host RAM" for the tests that need a working page allocator: a
 * page-aligned malloc'd buffer whose address serves as its physical
 * address (host_pages.h: physical addresses are used as pointers), split
 * evenly into `nodes` NUMA nodes, nothing reserved.
 */
#ifndef DISCV_UNIT_HOST_RAM_H
#define DISCV_UNIT_HOST_RAM_H

#include <stdlib.h>
#include <string.h>
#include "mem/host_pages.h"

struct test_ram {
	void *mem;
	uint64_t pages;
	struct host_page *table;
	struct host_memory hm;
};

__attribute__((unused)) static void test_ram_init(struct test_ram *r, uint64_t pages,
						  unsigned nodes)
{
	uint64_t base, per_node = pages / nodes;

	r->pages = pages;
	r->mem = aligned_alloc(PAGE_SIZE, pages * PAGE_SIZE);
	r->table = calloc(pages, sizeof(*r->table));
	if (!r->mem || !r->table)
		abort();
	memset(r->mem, 0xa5, pages * PAGE_SIZE);	/* stale data: allocs must zero it */
	base = ptr_to_pa(r->mem);
	host_pages_init(&r->hm, r->table, base, pages);
	for (unsigned n = 0; n < nodes; n++) {
		uint64_t end = n + 1 == nodes ? pages : (n + 1) * per_node;
		host_pages_add_ram(&r->hm, base + n * per_node * PAGE_SIZE,
				   base + end * PAGE_SIZE, n);
	}
	host_pages_finish(&r->hm);
}

__attribute__((unused)) static void test_ram_destroy(struct test_ram *r)
{
	free(r->mem);
	free(r->table);
	memset(r, 0, sizeof(*r));
}

/* True if [p, p + n) is all zero. */
__attribute__((unused)) static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

#endif
