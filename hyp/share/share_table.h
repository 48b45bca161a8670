/*
 * The share table: which host page holds each block of the base disk (or
 * page of the kernel image), per NUMA node (Disco's replication: one copy
 * per node that uses a block, so a shared page is always local to the VMs
 * that map it).
 *
 * A page in the table has origin PAGE_SHARED_DISK (or _KERNEL); its owner
 * record counts the G-stage mappings of it in all VMs. Pages stay in the
 * table when no VM maps them any more: the table is also the hypervisor's
 * cache of base blocks, so N guests reading the same files cost one
 * guest's host reads. Under memory pressure, cached pages that nobody maps
 * or holds are evicted (share_table_evict), oldest use first (a clock).
 *
 * Each entry is in one of three states:
 *
 *   EMPTY --lookup--> FILLING --fill_done(pa)--> READY --evict--> EMPTY
 *                        |                         ^ |
 *                        +--fill_done(0)--> EMPTY  | +-- lookup: a hit, pinned
 *
 * The fill protocol (no lock is held while a page is filled). The caller
 * that finds an entry EMPTY gets SHARE_MUST_FILL: the entry is FILLING and
 * the caller alone fills it (from a replica, pinned for it, or from the
 * disk), then publishes it with share_table_fill_done. Anyone else who
 * looks meanwhile gets SHARE_BUSY and must drop the lock, wait (sleep) and
 * look again: nobody ever sees a half-filled page, and no entry is filled
 * twice.
 *
 * The pin. A page handed out (SHARE_HIT, or a fill done) is pinned: it
 * cannot be evicted until share_table_unpin. The caller maps it into a VM
 * (guest_memory_map_shared counts the mapping) or copies out of it, and
 * only then unpins: between the lookup and the mapping, `mappings` is
 * still 0, and without the pin an eviction on another hart would free a
 * page about to be mapped.
 *
 * Pure code: unit-tested natively. The caller holds the table's lock
 * around every call.
 */
#ifndef DISCV_SHARE_TABLE_H
#define DISCV_SHARE_TABLE_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/spinlock.h"

enum share_state {
	SHARE_EMPTY = 0,	/* no page (zeroed storage starts here) */
	SHARE_FILLING,		/* one caller is filling a page, others wait */
	SHARE_READY,		/* frame holds the block's contents */
};

struct share_entry {
	uint32_t frame;		/* host page number (low 32 bits), when READY */
	uint16_t pins;		/* holders not done with the page (lookups, fill sources) */
	uint8_t frame_hi;	/* ... its bits 32-39: host addresses up to 2^52 */
	uint8_t state : 2;	/* enum share_state */
	uint8_t referenced : 1;	/* used since the clock hand last passed (second chance) */
};

struct share_table {
	struct spinlock lock;
	struct share_entry *entry;	/* [node * blocks + block] */
	uint64_t blocks;
	unsigned nnodes;
	uint64_t hand;		/* the clock: next entry eviction looks at */
	/* counters (hvstat) */
	uint64_t hits;		/* lookups answered without reading the disk */
	uint64_t replicas;	/* copies made for a second (third...) node */
	uint64_t evictions;	/* cached pages given back under memory pressure */
	uint64_t busy_waits;	/* lookups that found the entry being filled */
};

/* What a lookup found; for SHARE_MUST_FILL, what the caller must fill. */
enum share_lookup {
	SHARE_HIT,		/* claim->pa is the page, pinned */
	SHARE_BUSY,		/* another caller is filling it: unlock, wait, retry */
	SHARE_MUST_FILL,	/* the caller fills it, then share_table_fill_done */
	SHARE_INVALID,		/* no such block or node */
};

struct share_claim {
	uint64_t block;
	unsigned node;
	uint64_t pa;		/* SHARE_HIT: the page */
	uint64_t source;	/* SHARE_MUST_FILL: a replica to copy (pinned), or 0: the disk */
	unsigned source_node;
};

/* Bytes of storage for blocks x nnodes entries. */
uint64_t share_table_bytes(uint64_t blocks, unsigned nnodes);

/* Starts an empty table over zeroed storage (share_table_bytes of it). */
void share_table_init(struct share_table *t, struct share_entry *storage, uint64_t blocks,
		      unsigned nnodes);

/* Looks up block on node, as described above. */
enum share_lookup share_table_lookup(struct share_table *t, uint64_t block, unsigned node,
				     struct share_claim *claim);

/* Ends a SHARE_MUST_FILL: pa != 0 is the filled page (READY, pinned once
 * for the filler), pa == 0 a failed fill (EMPTY again, so a later lookup
 * tries again). Unpins the claim's source. */
void share_table_fill_done(struct share_table *t, const struct share_claim *claim, uint64_t pa);

/* Drops one pin of block on node (taken by a hit or a fill). */
void share_table_unpin(struct share_table *t, uint64_t block, unsigned node);

/* The host page holding `block` on `node` if READY, or 0. Not pinned: for
 * inspection (tests, statistics) only. */
uint64_t share_table_get(const struct share_table *t, uint64_t block, unsigned node);

/*
 * Evicts up to `max` READY, unpinned pages for which unmapped(ctx, pa)
 * says no VM maps them, writing their addresses to out[] (the caller frees
 * them, after unlocking if it likes: they are no longer in the table, so
 * nobody can get them). Walks the clock from the hand, at most `scan`
 * entries: an entry used since the last pass gets a second chance.
 * Returns how many were evicted.
 */
unsigned share_table_evict(struct share_table *t, bool (*unmapped)(void *ctx, uint64_t pa),
			   void *ctx, uint64_t *out, unsigned max, uint64_t scan);

#endif
