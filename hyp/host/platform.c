#include <libfdt.h>
#include <string.h>
#include "host/platform.h"

/* Reads a #address-cells/#size-cells encoded number. */
static uint64_t read_cells(const fdt32_t *cells, int count)
{
	uint64_t v = 0;

	for (int i = 0; i < count; i++)
		v = (v << 32) | fdt32_to_cpu(cells[i]);
	return v;
}

static unsigned node_id(const void *fdt, int node)
{
	const fdt32_t *id = fdt_getprop(fdt, node, "numa-node-id", NULL);

	return id ? fdt32_to_cpu(*id) : 0;
}

/* Appends every (base, size) pair of a node's "reg" to ranges. */
static void read_reg(const void *fdt, int node, int parent, struct mem_range *ranges,
		     unsigned *n, unsigned max, unsigned numa)
{
	int ac = fdt_address_cells(fdt, parent), sc = fdt_size_cells(fdt, parent);
	int len;
	const fdt32_t *reg = fdt_getprop(fdt, node, "reg", &len);

	if (!reg || ac < 1 || ac > 2 || sc < 0 || sc > 2)
		return;
	for (int i = 0; (i + ac + sc) * 4 <= len && *n < max; i += ac + sc) {
		ranges[*n].base = read_cells(reg + i, ac);
		ranges[*n].size = read_cells(reg + i + ac, sc);
		ranges[*n].node = numa;
		(*n)++;
	}
}

static bool read_cpus(struct platform *p, const void *fdt, const char **why)
{
	int cpus = fdt_path_offset(fdt, "/cpus");
	int node;

	if (cpus < 0) {
		*why = "no /cpus node";
		return false;
	}
	const fdt32_t *tb = fdt_getprop(fdt, cpus, "timebase-frequency", NULL);
	p->timebase_hz = tb ? fdt32_to_cpu(*tb) : 10000000;
	fdt_for_each_subnode(node, fdt, cpus) {
		const char *type = fdt_getprop(fdt, node, "device_type", NULL);
		const char *status = fdt_getprop(fdt, node, "status", NULL);
		const fdt32_t *reg = fdt_getprop(fdt, node, "reg", NULL);
		if (!type || strcmp(type, "cpu") || !reg || (status && strcmp(status, "okay")))
			continue;
		if (p->nharts == MAX_HARTS)
			break;
		p->hartid[p->nharts] = fdt32_to_cpu(*reg);
		p->hart_node[p->nharts] = node_id(fdt, node);
		int intc = fdt_subnode_offset(fdt, node, "interrupt-controller");
		p->hart_intc_phandle[p->nharts] = intc >= 0 ? fdt_get_phandle(fdt, intc) : 0;
		p->nharts++;
	}
	if (!p->nharts) {
		*why = "no usable cpu in /cpus";
		return false;
	}
	return true;
}

/* Platform hart index of the hart whose cpu-intc has this phandle, or -1. */
static int hart_of_intc(const struct platform *p, uint32_t phandle)
{
	for (unsigned i = 0; i < p->nharts; i++)
		if (p->hart_intc_phandle[i] == phandle)
			return (int)i;
	return -1;
}

/*
 * Reads every controller compatible with `compat`: its registers, node,
 * and from interrupts-extended (pairs of <cpu-intc phandle, irq>, one pair
 * per context, priv spec irq numbers: 9 = S external, 11 = M external)
 * which harts it serves and which context is each hart's S-mode one.
 */
static unsigned read_controllers(struct platform *p, const void *fdt, const char *compat,
				 struct irq_controller *out, unsigned max)
{
	unsigned n = 0;
	int node = -1;

	while ((node = fdt_node_offset_by_compatible(fdt, node, compat)) >= 0 && n < max) {
		struct irq_controller *c = &out[n];
		struct mem_range r[1];
		unsigned nr = 0;
		int len;
		const fdt32_t *ext = fdt_getprop(fdt, node, "interrupts-extended", &len);

		memset(c, 0, sizeof(*c));
		for (unsigned h = 0; h < MAX_HARTS; h++)
			c->s_context[h] = -1;
		read_reg(fdt, node, fdt_parent_offset(fdt, node), r, &nr, 1, 0);
		c->base = nr ? r[0].base : 0;
		c->size = nr ? r[0].size : 0;
		c->phandle = fdt_get_phandle(fdt, node);
		c->node = node_id(fdt, node);
		for (int i = 0; ext && (i + 2) * 4 <= len; i += 2) {
			int hart = hart_of_intc(p, fdt32_to_cpu(ext[i]));
			if (hart < 0)
				continue;
			c->harts |= 1U << hart;
			if (fdt32_to_cpu(ext[i + 1]) == 9)
				c->s_context[hart] = i / 2;
		}
		n++;
	}
	return n;
}

const struct irq_controller *platform_plic_by_phandle(const struct platform *p,
							uint32_t phandle)
{
	for (unsigned i = 0; i < p->nplic; i++)
		if (p->plic[i].phandle == phandle)
			return &p->plic[i];
	return NULL;
}

bool platform_from_fdt(struct platform *p, const void *fdt, const char **why)
{
	int node;

	memset(p, 0, sizeof(*p));
	if (fdt_check_header(fdt)) {
		*why = "bad device tree header";
		return false;
	}
	if (!read_cpus(p, fdt, why))
		return false;

	/* RAM: every node with device_type = "memory". */
	fdt_for_each_subnode(node, fdt, 0) {
		const char *type = fdt_getprop(fdt, node, "device_type", NULL);
		if (type && !strcmp(type, "memory"))
			read_reg(fdt, node, 0, p->mem, &p->nmem, MAX_MEM_RANGES,
				 node_id(fdt, node));
	}
	if (!p->nmem) {
		*why = "no memory node";
		return false;
	}

	/* Firmware-reserved RAM (OpenSBI's own, PMP-protected) and the
	 * memory reservation block. */
	int rsv = fdt_path_offset(fdt, "/reserved-memory");
	if (rsv >= 0)
		fdt_for_each_subnode(node, fdt, rsv)
			read_reg(fdt, node, rsv, p->reserved, &p->nreserved, MAX_RESERVED, 0);
	for (int i = 0; i < fdt_num_mem_rsv(fdt) && p->nreserved < MAX_RESERVED; i++) {
		uint64_t addr, size;
		if (fdt_get_mem_rsv(fdt, i, &addr, &size) == 0) {
			p->reserved[p->nreserved].base = addr;
			p->reserved[p->nreserved].size = size;
			p->nreserved++;
		}
	}

	p->nplic = read_controllers(p, fdt, "riscv,plic0", p->plic, MAX_SOCKETS);
	p->nclint = read_controllers(p, fdt, "riscv,clint0", p->clint, MAX_SOCKETS);
	p->naplic = read_controllers(p, fdt, "riscv,aplic", p->aplic, 2 * MAX_SOCKETS);

	/* QEMU's test device ends the emulation with an exit status. */
	node = fdt_node_offset_by_compatible(fdt, -1, "sifive,test0");
	if (node >= 0) {
		struct mem_range r[1];
		unsigned n = 0;
		read_reg(fdt, node, fdt_parent_offset(fdt, node), r, &n, 1, 0);
		if (n)
			p->finisher_pa = r[0].base;
	}

	int chosen = fdt_path_offset(fdt, "/chosen");
	p->bootargs = chosen >= 0 ? fdt_getprop(fdt, chosen, "bootargs", NULL) : NULL;
	if (!p->bootargs)
		p->bootargs = "";
	return true;
}
