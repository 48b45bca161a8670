/*
 * The host machine as its device tree describes it: harts, RAM and its
 * NUMA nodes, reserved regions, the timebase, the QEMU finisher and the
 * hypervisor's own command line. Read once at boot with libfdt.
 */
#ifndef DISCV_PLATFORM_H
#define DISCV_PLATFORM_H

#include <stdbool.h>
#include <stdint.h>
#include "host/hart.h"

#define MAX_MEM_RANGES 8
#define MAX_RESERVED 16
#define MAX_SOCKETS 4

struct mem_range {
	uint64_t base, size;
	unsigned node;
};

/*
 * An interrupt controller of one socket: QEMU virt with NODES >= 2 has one
 * CLINT and one PLIC per socket (NUMA node), each wired to that socket's
 * harts only. A device's interrupts go to the PLIC its `interrupt-parent`
 * names (the UART to node 0's, the virtio-mmio slots to the last node's),
 * so only that socket's harts can take them.
 */
struct irq_controller {
	uint64_t base, size;
	uint32_t phandle;
	unsigned node;
	uint32_t harts;			/* bit i: platform hart index i is wired */
	int s_context[MAX_HARTS];	/* PLIC: each hart's S-mode context, or -1 */
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
	uint32_t hart_intc_phandle[MAX_HARTS];	/* each hart's riscv,cpu-intc */
	unsigned nplic, nclint, naplic;
	struct irq_controller plic[MAX_SOCKETS];
	struct irq_controller aplic[2 * MAX_SOCKETS];	/* NODES > 2: M and S domains */
	struct irq_controller clint[MAX_SOCKETS];
	uint64_t finisher_pa;		/* sifive,test0; 0 if absent */
	const char *bootargs;		/* "" if absent */
};

/* The PLIC whose phandle is `phandle`, or NULL. */
const struct irq_controller *platform_plic_by_phandle(const struct platform *p,
							uint32_t phandle);

/* Fills p from the flattened device tree at fdt. Returns false with a
 * reason in *why if the tree is unusable. */
bool platform_from_fdt(struct platform *p, const void *fdt, const char **why);

#endif
