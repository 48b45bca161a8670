#include <stdbool.h>
#include <stddef.h>
#include "core/placement.h"

void placement_init(struct placement *p, unsigned nharts, const unsigned *hart_node,
		    unsigned nnodes)
{
	if (nharts > PLACEMENT_MAX_HARTS)
		nharts = PLACEMENT_MAX_HARTS;
	if (nnodes > PLACEMENT_MAX_NODES)
		nnodes = PLACEMENT_MAX_NODES;
	*p = (struct placement){ .nharts = nharts, .nnodes = nnodes ? nnodes : 1 };
	for (unsigned h = 0; h < nharts; h++)
		p->hart_node[h] = hart_node[h] < p->nnodes ? hart_node[h] : 0;
}

/* The least-loaded hart passing the filter; -1 if none. Ties go to the
 * lowest index, so placement is deterministic. */
static int least_loaded(const struct placement *p, int node, const bool *used)
{
	int best = -1;

	for (unsigned h = 0; h < p->nharts; h++) {
		if ((node >= 0 && p->hart_node[h] != (unsigned)node) || (used && used[h]))
			continue;
		if (best < 0 || p->hart_load[h] < p->hart_load[best])
			best = (int)h;
	}
	return best;
}

unsigned placement_place_vm(struct placement *p, unsigned nvcpus, unsigned *hart_of_vcpu)
{
	bool used[PLACEMENT_MAX_HARTS] = { false };
	unsigned home = 0;

	for (unsigned n = 1; n < p->nnodes; n++)
		if (p->node_vms[n] < p->node_vms[home])
			home = n;
	p->node_vms[home]++;

	for (unsigned i = 0; i < nvcpus; i++) {
		int h = least_loaded(p, (int)home, used);	/* home, not yet used */
		if (h < 0)
			h = least_loaded(p, -1, used);		/* any node, not yet used */
		if (h < 0)
			h = least_loaded(p, (int)home, NULL);	/* share a home hart */
		if (h < 0)
			h = least_loaded(p, -1, NULL);		/* a node without harts */
		if (h < 0)
			h = 0;
		used[h] = true;
		p->hart_load[h]++;
		hart_of_vcpu[i] = (unsigned)h;
	}
	return home;
}
