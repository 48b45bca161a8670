/*
 * hyp/share/share_table.c: which host page holds each base-disk block on
 * each NUMA node (one replica per node).
 */
#include <stdint.h>
#include <stdlib.h>
#include "share/share_table.h"
#include "unit.h"

#define BLOCKS 1000
#define NODES 3

static uint32_t storage[BLOCKS * NODES];	/* zeroed, as share_table_init wants */

static void test_empty(void)
{
	struct share_table t;

	share_table_init(&t, storage, BLOCKS, NODES);
	for (unsigned n = 0; n < NODES; n++)
		for (uint64_t b = 0; b < BLOCKS; b += 37)
			CHECK_EQ(share_table_get(&t, b, n), 0);
	CHECK_EQ(share_table_any(&t, 5), 0);
}

static void test_set_get_per_node(void)
{
	struct share_table t;

	share_table_init(&t, storage, BLOCKS, NODES);
	share_table_set(&t, 7, 1, 0x80123000ULL);
	CHECK_EQ(share_table_get(&t, 7, 1), 0x80123000ULL);
	CHECK_EQ(share_table_get(&t, 7, 0), 0);	/* another node: no replica yet */
	CHECK_EQ(share_table_get(&t, 7, 2), 0);
	CHECK_EQ(share_table_get(&t, 8, 1), 0);	/* another block */
	CHECK_EQ(share_table_any(&t, 7), 0x80123000ULL);
	share_table_set(&t, 7, 0, 0x90000000ULL);
	CHECK_EQ(share_table_any(&t, 7), 0x90000000ULL);	/* lowest node first */
	/* the last block of the last node: no overlap with anything else */
	share_table_set(&t, BLOCKS - 1, NODES - 1, 0xfff000ULL);
	CHECK_EQ(share_table_get(&t, BLOCKS - 1, NODES - 1), 0xfff000ULL);
	CHECK_EQ(share_table_get(&t, 0, NODES - 1), 0);
	/* addresses up to 2^44 round-trip through the 32-bit page number */
	share_table_set(&t, 3, 2, 0xfffffff000ULL);
	CHECK_EQ(share_table_get(&t, 3, 2), 0xfffffff000ULL);
}

static void test_out_of_range(void)
{
	struct share_table t;

	share_table_init(&t, storage, BLOCKS, NODES);
	share_table_set(&t, BLOCKS, 0, 0x1000);	/* ignored */
	share_table_set(&t, 0, NODES, 0x1000);	/* ignored */
	CHECK_EQ(share_table_get(&t, BLOCKS, 0), 0);
	CHECK_EQ(share_table_get(&t, 0, NODES), 0);
	CHECK_EQ(share_table_get(&t, 0, 0), 0);
	/* a table without storage (no base disk) answers nothing */
	share_table_init(&t, NULL, 0, NODES);
	share_table_set(&t, 0, 0, 0x1000);
	CHECK_EQ(share_table_get(&t, 0, 0), 0);
	CHECK_EQ(share_table_any(&t, 0), 0);
}

static void test_random_against_model(void)
{
	static uint64_t model[BLOCKS][NODES];
	struct share_table t;

	share_table_init(&t, storage, BLOCKS, NODES);
	for (unsigned b = 0; b < BLOCKS; b++)
		for (unsigned n = 0; n < NODES; n++)
			model[b][n] = 0;
	srand(1);
	for (int i = 0; i < 20000; i++) {
		unsigned b = (unsigned)rand() % BLOCKS, n = (unsigned)rand() % NODES;
		uint64_t pa = ((uint64_t)(rand() % 0xfffff) + 1) << 12;
		share_table_set(&t, b, n, pa);
		model[b][n] = pa;
	}
	for (unsigned b = 0; b < BLOCKS; b++)
		for (unsigned n = 0; n < NODES; n++)
			if (!CHECK_EQ(share_table_get(&t, b, n), model[b][n]))
				return;
}

int main(void)
{
	CHECK_EQ(share_table_bytes(BLOCKS, NODES), sizeof(storage));
	RUN(test_empty);
	RUN(test_set_get_per_node);
	RUN(test_out_of_range);
	RUN(test_random_against_model);
	return unit_report("test_share_table");
}
