/*
 * The host machine as its device tree describes it: harts, RAM and its
 * NUMA nodes, reserved regions, the timebase, the QEMU finisher and the
 * hypervisor's own command line. Read once at boot with libfdt.
 */
#ifndef DISCV_PLATFORM_H
#define DISCV_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>
#include "hart.h"

#define MAX_MEM_RANGES 8
#define MAX_RESERVED 16

struct mem_range {
	uint64_t base, size;
	unsigned node;
};

struct platform {
	unsigned nharts;
	unsigned long hartid[MAX_HARTS];
	unsigned hart_node[MAX_HARTS];
	uint64_t timebase_hz;
	unsigned nmem;
	struct mem_range mem[MAX_MEM_RANGES];
	unsigned nreserved;
	struct mem_range reserved[MAX_RESERVED];
	uint64_t finisher_pa;		/* sifive,test0; 0 if absent */
	const char *bootargs;		/* "" if absent */
};

/* Fills p from the flattened device tree at fdt. Returns false with a
 * reason in *why if the tree is unusable. */
bool platform_from_fdt(struct platform *p, const void *fdt, const char **why);

#endif
