/*
 * hyp/placement.c: home nodes balanced by VM count (ties to the lowest
 * node), vCPUs on distinct least-loaded harts of the home node, spilling
 * to other nodes' harts before any two vCPUs of a VM share a hart; the
 * configurations the product runs (4 harts / 2 nodes, 8 harts / 4 nodes);
 * and a randomized check of every choice against the rules.
 */
#include <string.h>
#include "core/placement.h"
#include "unit.h"

#define MAXV 16

/* Node of each hart: harts split evenly, in order, over nnodes nodes. */
static void even_nodes(unsigned *hart_node, unsigned nharts, unsigned nnodes)
{
	for (unsigned h = 0; h < nharts; h++)
		hart_node[h] = h / (nharts / nnodes);
}

static void init_even(struct placement *p, unsigned nharts, unsigned nnodes)
{
	unsigned hart_node[PLACEMENT_MAX_HARTS];

	even_nodes(hart_node, nharts, nnodes);
	placement_init(p, nharts, hart_node, nnodes);
}

static unsigned load_sum(const struct placement *p)
{
	unsigned s = 0;

	for (unsigned h = 0; h < p->nharts; h++)
		s += p->hart_load[h];
	return s;
}

/* True if no two of the n harts are the same. */
static bool distinct(const unsigned *hart, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = i + 1; j < n; j++)
			if (hart[i] == hart[j])
				return false;
	return true;
}

static void test_init(void)
{
	struct placement p;
	unsigned nodes[PLACEMENT_MAX_HARTS] = { 0, 1, 2, 3, 0, 1, 2, 3 };

	memset(&p, 0x5a, sizeof(p));
	placement_init(&p, 8, nodes, 4);
	CHECK_EQ(p.nharts, 8);
	CHECK_EQ(p.nnodes, 4);
	for (unsigned h = 0; h < 8; h++) {
		CHECK_EQ(p.hart_node[h], nodes[h]);
		CHECK_EQ(p.hart_load[h], 0);
	}
	for (unsigned n = 0; n < PLACEMENT_MAX_NODES; n++)
		CHECK_EQ(p.node_vms[n], 0);

	/* Nodes out of range are clamped to node 0. */
	unsigned bad[4] = { 1, 5, 2, 0xffffffff };
	placement_init(&p, 4, bad, 2);
	CHECK_EQ(p.hart_node[0], 1);
	CHECK_EQ(p.hart_node[1], 0);
	CHECK_EQ(p.hart_node[2], 0);
	CHECK_EQ(p.hart_node[3], 0);

	/* nnodes 0 is one node: every hart on node 0, every VM homed there. */
	unsigned two[4] = { 0, 1, 1, 3 };
	unsigned hart[2];
	placement_init(&p, 4, two, 0);
	CHECK_EQ(p.nnodes, 1);
	for (unsigned h = 0; h < 4; h++)
		CHECK_EQ(p.hart_node[h], 0);
	for (unsigned i = 0; i < 6; i++) {
		CHECK_EQ(placement_place_vm(&p, 2, hart), 0);
		CHECK(hart[0] < 4 && hart[1] < 4 && hart[0] != hart[1]);
	}
	CHECK_EQ(p.node_vms[0], 6);
	for (unsigned h = 0; h < 4; h++)
		CHECK_EQ(p.hart_load[h], 3);
}

static void test_home_nodes_balanced(void)
{
	struct placement p;
	unsigned hart[MAXV];

	/* 2 nodes: 0, 1, 0, 1, ... */
	init_even(&p, 4, 2);
	for (unsigned i = 0; i < 10; i++)
		CHECK_EQ(placement_place_vm(&p, 1, hart), i % 2);
	CHECK_EQ(p.node_vms[0], 5);
	CHECK_EQ(p.node_vms[1], 5);

	/* 4 nodes: round robin. */
	init_even(&p, 8, 4);
	for (unsigned i = 0; i < 12; i++)
		CHECK_EQ(placement_place_vm(&p, 2, hart), i % 4);
	for (unsigned n = 0; n < 4; n++)
		CHECK_EQ(p.node_vms[n], 3);

	/* Balanced by VM count, not vCPU count: a big VM on node 0 does not
	 * keep the third VM off node 0 (tie 1:1, lowest node wins). */
	init_even(&p, 8, 2);
	CHECK_EQ(placement_place_vm(&p, 4, hart), 0);
	CHECK_EQ(placement_place_vm(&p, 1, hart), 1);
	CHECK_EQ(placement_place_vm(&p, 1, hart), 0);
	CHECK_EQ(placement_place_vm(&p, 1, hart), 1);

	/* A VM of 0 vCPUs still counts as homed. */
	init_even(&p, 4, 2);
	CHECK_EQ(placement_place_vm(&p, 0, hart), 0);
	CHECK_EQ(placement_place_vm(&p, 0, hart), 1);
	CHECK_EQ(load_sum(&p), 0);

	/* A node without harts still gets its VMs; their vCPUs go to the
	 * least-loaded harts elsewhere, one per hart. */
	unsigned nodes[4] = { 0, 0, 1, 1 };
	placement_init(&p, 4, nodes, 3);
	CHECK_EQ(placement_place_vm(&p, 1, hart), 0);
	CHECK_EQ(hart[0], 0);
	CHECK_EQ(placement_place_vm(&p, 1, hart), 1);
	CHECK_EQ(hart[0], 2);
	CHECK_EQ(placement_place_vm(&p, 3, hart), 2);
	CHECK_EQ(hart[0], 1);
	CHECK_EQ(hart[1], 3);
	CHECK_EQ(hart[2], 0);
	/* More vCPUs than harts, homed on the hartless node: all valid. */
	placement_init(&p, 4, nodes, 3);
	placement_place_vm(&p, 1, hart);
	placement_place_vm(&p, 1, hart);
	CHECK_EQ(placement_place_vm(&p, 6, hart), 2);
	for (unsigned i = 0; i < 6; i++)
		CHECK(hart[i] < 4);
	CHECK(distinct(hart, 4));
	CHECK_EQ(load_sum(&p), 8);
}

static void test_distinct_home_harts(void)
{
	struct placement p;
	unsigned hart[MAXV];

	/* 8 harts, 2 nodes of 4. */
	init_even(&p, 8, 2);
	CHECK_EQ(placement_place_vm(&p, 4, hart), 0);
	CHECK_EQ(hart[0], 0);
	CHECK_EQ(hart[1], 1);
	CHECK_EQ(hart[2], 2);
	CHECK_EQ(hart[3], 3);
	CHECK_EQ(placement_place_vm(&p, 3, hart), 1);
	CHECK_EQ(hart[0], 4);
	CHECK_EQ(hart[1], 5);
	CHECK_EQ(hart[2], 6);
	/* Node 0 again: all its harts load 1: in hart order. */
	CHECK_EQ(placement_place_vm(&p, 2, hart), 0);
	CHECK_EQ(hart[0], 0);
	CHECK_EQ(hart[1], 1);
	/* Node 1: hart 7 is empty, then the lowest of 4, 5, 6. */
	CHECK_EQ(placement_place_vm(&p, 2, hart), 1);
	CHECK_EQ(hart[0], 7);
	CHECK_EQ(hart[1], 4);
}

static void test_least_loaded(void)
{
	struct placement p;
	unsigned hart[MAXV];
	static const unsigned expect[8] = { 0, 2, 1, 3, 0, 2, 1, 3 };

	/* 8 VMs x 1 vCPU on 4 harts / 2 nodes: every hart gets 2. */
	init_even(&p, 4, 2);
	for (unsigned i = 0; i < 8; i++) {
		placement_place_vm(&p, 1, hart);
		CHECK_EQ(hart[0], expect[i]);
	}
	for (unsigned h = 0; h < 4; h++)
		CHECK_EQ(p.hart_load[h], 2);

	/* A loaded hart is avoided even if it has the lower index. */
	init_even(&p, 4, 2);
	p.hart_load[0] = 3;
	placement_place_vm(&p, 1, hart);
	CHECK_EQ(hart[0], 1);
	placement_place_vm(&p, 1, hart);
	CHECK_EQ(hart[0], 2);
	placement_place_vm(&p, 1, hart);
	CHECK_EQ(hart[0], 1);
	CHECK_EQ(p.hart_load[0], 3);
	CHECK_EQ(p.hart_load[1], 2);
}

static void test_spill(void)
{
	struct placement p;
	unsigned hart[MAXV];

	/* 4 harts / 2 nodes: a 4-vCPU VM takes its node's 2 harts, then the
	 * other node's 2, one vCPU per hart. */
	init_even(&p, 4, 2);
	CHECK_EQ(placement_place_vm(&p, 4, hart), 0);
	CHECK_EQ(hart[0], 0);
	CHECK_EQ(hart[1], 1);
	CHECK_EQ(hart[2], 2);
	CHECK_EQ(hart[3], 3);
	for (unsigned h = 0; h < 4; h++)
		CHECK_EQ(p.hart_load[h], 1);

	/* 3 vCPUs: home harts 0, 1, then hart 2; the next VM (node 1) takes
	 * empty hart 3, then 2, then spills to the lowest least-loaded hart
	 * of node 0. */
	init_even(&p, 4, 2);
	CHECK_EQ(placement_place_vm(&p, 3, hart), 0);
	CHECK_EQ(hart[0], 0);
	CHECK_EQ(hart[1], 1);
	CHECK_EQ(hart[2], 2);
	CHECK_EQ(placement_place_vm(&p, 3, hart), 1);
	CHECK_EQ(hart[0], 3);
	CHECK_EQ(hart[1], 2);
	CHECK_EQ(hart[2], 0);

	/* The spilled vCPU goes to the least-loaded foreign hart, not the
	 * lowest-numbered one. */
	init_even(&p, 8, 4);		/* 2 harts per node */
	p.hart_load[2] = 5;
	p.hart_load[3] = 1;
	p.hart_load[4] = 2;
	p.hart_load[5] = 0;
	p.hart_load[6] = 0;
	p.hart_load[7] = 1;
	CHECK_EQ(placement_place_vm(&p, 5, hart), 0);
	CHECK_EQ(hart[0], 0);
	CHECK_EQ(hart[1], 1);
	CHECK_EQ(hart[2], 5);
	CHECK_EQ(hart[3], 6);
	CHECK_EQ(hart[4], 3);

	/* More vCPUs than harts: one per hart first, then they share, and
	 * every index is valid. */
	init_even(&p, 4, 2);
	CHECK_EQ(placement_place_vm(&p, 8, hart), 0);
	CHECK(distinct(hart, 4));
	for (unsigned i = 0; i < 8; i++)
		CHECK(hart[i] < 4);
	for (unsigned h = 0; h < 4; h++)
		CHECK(p.hart_load[h] >= 1);
	CHECK_EQ(load_sum(&p), 8);
	for (unsigned i = 4; i < 8; i++)
		CHECK_EQ(p.hart_node[hart[i]], 0);	/* shared harts: the home node's */
	/* The next VM (node 1) shares too, still valid and one per hart first. */
	CHECK_EQ(placement_place_vm(&p, 5, hart), 1);
	CHECK(distinct(hart, 4));
	for (unsigned i = 0; i < 5; i++)
		CHECK(hart[i] < 4);
	CHECK_EQ(load_sum(&p), 13);

	/* One hart: everything on it. */
	unsigned zero = 0;
	placement_init(&p, 1, &zero, 1);
	CHECK_EQ(placement_place_vm(&p, 3, hart), 0);
	CHECK_EQ(hart[0], 0);
	CHECK_EQ(hart[1], 0);
	CHECK_EQ(hart[2], 0);
	CHECK_EQ(p.hart_load[0], 3);
}

/* Places vms VMs of nvcpus vCPUs; home[] and hart[][] get the results. */
static void place_all(struct placement *p, unsigned vms, unsigned nvcpus, unsigned *home,
		      unsigned hart[][MAXV])
{
	for (unsigned i = 0; i < vms; i++)
		home[i] = placement_place_vm(p, nvcpus, hart[i]);
}

static void test_product_configs(void)
{
	struct placement p;
	unsigned home[16], hart[16][MAXV];
	unsigned nodes4[4] = { 0, 0, 1, 1 };
	unsigned nodes8[8] = { 0, 0, 1, 1, 2, 2, 3, 3 };

	/* HARTS=4 NODES=2, 8 VMs x 2 vCPUs: each VM on both harts of its
	 * home node; each hart holds 4. */
	placement_init(&p, 4, nodes4, 2);
	place_all(&p, 8, 2, home, hart);
	for (unsigned i = 0; i < 8; i++) {
		CHECK_EQ(home[i], i % 2);
		CHECK_EQ(hart[i][0], 2 * home[i]);
		CHECK_EQ(hart[i][1], 2 * home[i] + 1);
	}
	for (unsigned h = 0; h < 4; h++)
		CHECK_EQ(p.hart_load[h], 4);
	CHECK_EQ(p.node_vms[0], 4);
	CHECK_EQ(p.node_vms[1], 4);

	/* HARTS=8 NODES=4, 8 VMs x 1 vCPU: 2 VMs per node, 1 per hart, each
	 * on a hart of its home node. */
	placement_init(&p, 8, nodes8, 4);
	place_all(&p, 8, 1, home, hart);
	for (unsigned i = 0; i < 8; i++) {
		CHECK_EQ(home[i], i % 4);
		CHECK_EQ(nodes8[hart[i][0]], home[i]);
	}
	for (unsigned n = 0; n < 4; n++)
		CHECK_EQ(p.node_vms[n], 2);
	for (unsigned h = 0; h < 8; h++)
		CHECK_EQ(p.hart_load[h], 1);

	/* 16 VMs x 1 vCPU on 4 harts / 2 nodes: 4 per hart, 8 VMs per node. */
	placement_init(&p, 4, nodes4, 2);
	place_all(&p, 16, 1, home, hart);
	for (unsigned i = 0; i < 16; i++) {
		CHECK_EQ(home[i], i % 2);
		CHECK_EQ(nodes4[hart[i][0]], home[i]);
	}
	for (unsigned h = 0; h < 4; h++)
		CHECK_EQ(p.hart_load[h], 4);

	/* 16 VMs x 1 vCPU on 4 harts / 1 node. */
	unsigned one[4] = { 0, 0, 0, 0 };
	placement_init(&p, 4, one, 1);
	place_all(&p, 16, 1, home, hart);
	for (unsigned i = 0; i < 16; i++) {
		CHECK_EQ(home[i], 0);
		CHECK_EQ(hart[i][0], i % 4);
	}
	for (unsigned h = 0; h < 4; h++)
		CHECK_EQ(p.hart_load[h], 4);
}

static void test_deterministic(void)
{
	struct placement a, b;
	unsigned nodes[8] = { 0, 1, 1, 2, 0, 3, 2, 1 };
	unsigned ha[MAXV], hb[MAXV];
	bool same = true;

	placement_init(&a, 8, nodes, 4);
	placement_init(&b, 8, nodes, 4);
	for (unsigned i = 0; i < 40; i++) {
		unsigned n = 1 + (i * 7) % 11;
		memset(ha, 0, sizeof(ha));
		memset(hb, 0xff, sizeof(hb));
		same = placement_place_vm(&a, n, ha) == placement_place_vm(&b, n, hb) && same;
		same = memcmp(ha, hb, n * sizeof(ha[0])) == 0 && same;
	}
	CHECK(same);
	CHECK_MEM(&a, &b, sizeof(a));
}

/*
 * Random machines and VMs; each choice is checked against the rules with
 * the loads as they were just before it: the home node is a least-VM
 * node (lowest on ties); each vCPU goes to the first tier with a
 * candidate (home harts not yet used by the VM; any such hart; any home
 * hart; any hart), to a least-loaded candidate of that tier, the lowest
 * on ties.
 */
static void test_random_rules(void)
{
	uint64_t seed = unit_seed(), rng = seed;
	unsigned bad = 0;

	for (unsigned round = 0; round < 300 && !bad; round++) {
		struct placement p;
		unsigned nharts = 1 + unit_rand(&rng) % PLACEMENT_MAX_HARTS;
		unsigned nnodes = 1 + unit_rand(&rng) % PLACEMENT_MAX_NODES;
		unsigned nodes[PLACEMENT_MAX_HARTS];

		for (unsigned h = 0; h < nharts; h++)
			nodes[h] = unit_rand(&rng) % nnodes;
		placement_init(&p, nharts, nodes, nnodes);
		for (unsigned vm = 0; vm < 12 && !bad; vm++) {
			unsigned nv = unit_rand(&rng) % (MAXV + 1), hart[MAXV];
			struct placement before = p;
			unsigned home = placement_place_vm(&p, nv, hart);
			unsigned want_home = 0;

			for (unsigned n = 1; n < nnodes; n++)
				if (before.node_vms[n] < before.node_vms[want_home])
					want_home = n;
			if (home != want_home)
				bad++;
			bool used[PLACEMENT_MAX_HARTS] = { false };
			for (unsigned i = 0; i < nv && !bad; i++) {
				unsigned h = hart[i], tier, best = ~0u;
				if (h >= nharts) {
					bad++;
					break;
				}
				for (tier = 0; tier < 4; tier++) {
					for (unsigned c = 0; c < nharts; c++) {
						bool home_only = tier == 0 || tier == 2;
						bool fresh_only = tier < 2;
						if ((home_only && nodes[c] != home) ||
						    (fresh_only && used[c]))
							continue;
						if (best == ~0u || before.hart_load[c] <
								   before.hart_load[best])
							best = c;
					}
					if (best != ~0u)
						break;
				}
				if (h != best)
					bad++;
				used[h] = true;
				before.hart_load[h]++;
			}
			if (memcmp(before.hart_load, p.hart_load, sizeof(p.hart_load)))
				bad++;
			if (bad)
				printf("    round %u vm %u: %u vCPUs, %u harts, %u nodes\n",
				       round, vm, nv, nharts, nnodes);
		}
	}
	if (!CHECK_EQ(bad, 0))
		printf("    seed 0x%llx (UNIT_SEED)\n", (unsigned long long)seed);
}

int main(void)
{
	RUN(test_init);
	RUN(test_home_nodes_balanced);
	RUN(test_distinct_home_harts);
	RUN(test_least_loaded);
	RUN(test_spill);
	RUN(test_product_configs);
	RUN(test_deterministic);
	RUN(test_random_rules);
	return unit_report("test_placement");
}
