/*
 * Where VMs and vCPUs live on a NUMA machine.
 *
 * Each VM gets a home node: the node with the fewest VMs so far (ties to
 * the lowest number), so VMs are balanced across nodes. Its first-touch
 * pages come from that node (guest_memory.c), and its vCPUs are placed on
 * that node's harts: each on the least-loaded hart that holds no other
 * vCPU of the same VM. Two vCPUs of one VM on one hart stall Linux 6.1's
 * ticket spinlocks for whole time slices, so if the home node has fewer
 * harts than the VM has vCPUs, the rest go to the least-loaded harts of
 * other nodes, and only if every hart already has one of the VM's vCPUs
 * do two share a hart. Pure code: unit-tested natively.
 */
#ifndef DISCV_PLACEMENT_H
#define DISCV_PLACEMENT_H

#define PLACEMENT_MAX_HARTS 8
#define PLACEMENT_MAX_NODES 4

struct placement {
	unsigned nharts;
	unsigned hart_node[PLACEMENT_MAX_HARTS];	/* node of each hart */
	unsigned nnodes;
	unsigned hart_load[PLACEMENT_MAX_HARTS];	/* vCPUs placed per hart */
	unsigned node_vms[PLACEMENT_MAX_NODES];		/* VMs homed per node */
};

/* Starts an empty placement over nharts harts with their nodes. */
void placement_init(struct placement *p, unsigned nharts, const unsigned *hart_node,
		    unsigned nnodes);

/* Places one VM of nvcpus vCPUs: returns its home node and writes the
 * hart index of each vCPU into hart_of_vcpu[0..nvcpus-1]. */
unsigned placement_place_vm(struct placement *p, unsigned nvcpus, unsigned *hart_of_vcpu);

#endif
