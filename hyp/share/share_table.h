/*
 * The share table: which host page holds each block of the base disk, per
 * NUMA node (Disco's replication: one copy per node that uses a block, so
 * a shared page is always local to the VMs that map it).
 *
 * A page in the table has origin PAGE_SHARED_DISK; its owner record counts
 * the G-stage mappings of it in all VMs. Pages stay in the table when no
 * VM maps them any more: the table is also the hypervisor's cache of base
 * blocks, so N guests reading the same files cost one guest's host reads.
 *
 * Pure code: unit-tested natively. The caller holds the table's lock.
 */
#ifndef DISCV_SHARE_TABLE_H
#define DISCV_SHARE_TABLE_H

#include <stdint.h>
#include "spinlock.h"

struct share_table {
	struct spinlock lock;
	uint32_t *frame;	/* [node * blocks + block]: host page number, 0 = none */
	uint64_t blocks;
	unsigned nnodes;
	/* counters (hvstat) */
	uint64_t hits;		/* lookups answered without reading the disk */
	uint64_t replicas;	/* copies made for a second (third...) node */
};

/* Bytes of storage for blocks x nnodes entries. */
uint64_t share_table_bytes(uint64_t blocks, unsigned nnodes);

/* Starts an empty table over zeroed storage. */
void share_table_init(struct share_table *t, uint32_t *storage, uint64_t blocks,
		      unsigned nnodes);

/* The host page holding `block` on `node`, or 0. */
uint64_t share_table_get(const struct share_table *t, uint64_t block, unsigned node);

/* Any node's copy of `block` (to replicate from), or 0. */
uint64_t share_table_any(const struct share_table *t, uint64_t block);

/* Records pa as node's copy of block. */
void share_table_set(struct share_table *t, uint64_t block, unsigned node, uint64_t pa);

#endif
