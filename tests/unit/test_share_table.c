/*
 * hyp/share/share_table.c: which host page holds each base-disk block on
 * each NUMA node (one replica per node), the fill protocol (fill outside
 * the lock, others wait), the pin that keeps a page handed out from being
 * evicted before it is mapped, and eviction under memory pressure.
 *
 * Pages here are fake addresses; `mappings` is modelled by an array the
 * eviction callback reads, as share.c reads the owner records. Two
 * "harts" A and B are two sequences of calls, interleaved by hand: each
 * call stands for one critical section under the table's lock.
 */
#include <stdint.h>
#include <stdlib.h>
#include "arch/riscv_defs.h"
#include "share/share_table.h"
#include "unit.h"

#define BLOCKS 1000
#define NODES 3

static struct share_entry storage[BLOCKS * NODES];	/* zeroed, as share_table_init wants */

/* Fake host pages: page k is at PA(k); mapped[k] plays its `mappings`. */
#define NPAGES 4096
#define PA(k) (0x80000000ULL + ((uint64_t)(k) << PAGE_SHIFT))
static unsigned mapped[NPAGES];

static bool fake_unmapped(void *ctx, uint64_t pa)
{
	(void)ctx;
	return mapped[(pa - PA(0)) >> PAGE_SHIFT] == 0;
}

static void fresh(struct share_table *t)
{
	memset(storage, 0, sizeof(storage));
	memset(mapped, 0, sizeof(mapped));
	share_table_init(t, storage, BLOCKS, NODES);
}

/* Fills block on node with page pa, the way share.c does; unpinned after. */
static void fill(struct share_table *t, uint64_t block, unsigned node, uint64_t pa)
{
	struct share_claim c;

	CHECK_EQ(share_table_lookup(t, block, node, &c), SHARE_MUST_FILL);
	share_table_fill_done(t, &c, pa);
	share_table_unpin(t, block, node);
}

/* Evicts everything evictable (two passes: second chances). */
static unsigned evict_all(struct share_table *t, uint64_t *out, unsigned max)
{
	return share_table_evict(t, fake_unmapped, NULL, out, max, 2 * BLOCKS * NODES);
}

static void test_empty(void)
{
	struct share_table t;
	uint64_t out[4];

	fresh(&t);
	for (unsigned n = 0; n < NODES; n++)
		for (uint64_t b = 0; b < BLOCKS; b += 37)
			CHECK_EQ(share_table_get(&t, b, n), 0);
	CHECK_EQ(evict_all(&t, out, 4), 0);
	CHECK_EQ(share_table_bytes(BLOCKS, NODES), sizeof(storage));
	CHECK_EQ(sizeof(struct share_entry), 8);
}

static void test_fill_then_hit_per_node(void)
{
	struct share_table t;
	struct share_claim c;

	fresh(&t);
	fill(&t, 7, 1, PA(1));
	CHECK_EQ(share_table_get(&t, 7, 1), PA(1));
	CHECK_EQ(share_table_get(&t, 7, 0), 0);	/* another node: no replica yet */
	CHECK_EQ(share_table_get(&t, 8, 1), 0);	/* another block */
	CHECK_EQ(share_table_lookup(&t, 7, 1, &c), SHARE_HIT);
	CHECK_EQ(c.pa, PA(1));
	CHECK_EQ(t.hits, 1);
	share_table_unpin(&t, 7, 1);
	/* the last block of the last node: no overlap with anything else */
	fill(&t, BLOCKS - 1, NODES - 1, PA(2));
	CHECK_EQ(share_table_get(&t, BLOCKS - 1, NODES - 1), PA(2));
	CHECK_EQ(share_table_get(&t, 0, NODES - 1), 0);
	/* addresses up to 2^44 round-trip through the 32-bit page number */
	fill(&t, 3, 2, 0xfffffff000ULL);
	CHECK_EQ(share_table_get(&t, 3, 2), 0xfffffff000ULL);
	/* and beyond 2^44 (the unit tests' RAM is malloc'd up there) */
	fill(&t, 4, 2, 0x7f9196a45000ULL);
	CHECK_EQ(share_table_get(&t, 4, 2), 0x7f9196a45000ULL);
}

static void test_out_of_range(void)
{
	struct share_table t;
	struct share_claim c;

	fresh(&t);
	CHECK_EQ(share_table_lookup(&t, BLOCKS, 0, &c), SHARE_INVALID);
	CHECK_EQ(share_table_lookup(&t, 0, NODES, &c), SHARE_INVALID);
	share_table_unpin(&t, BLOCKS, 0);	/* ignored */
	CHECK_EQ(share_table_get(&t, BLOCKS, 0), 0);
	/* a table without storage (no base disk) answers nothing */
	share_table_init(&t, NULL, 0, NODES);
	CHECK_EQ(share_table_lookup(&t, 0, 0, &c), SHARE_INVALID);
	CHECK_EQ(share_table_get(&t, 0, 0), 0);
	CHECK_EQ(share_table_evict(&t, fake_unmapped, NULL, &c.pa, 1, 10), 0);
}

/*
 * Two harts want the same block. A finds it empty and fills it with no
 * lock held (a disk read); meanwhile B is told to wait, every time it
 * looks, and never gets a page; a third lookup of another block is not
 * held up. Once A publishes, B gets A's page: one fill, never two, and no
 * half-filled page handed out.
 */
static void test_fill_outside_lock_two_harts(void)
{
	struct share_table t;
	struct share_claim a, b, other;
	unsigned fills = 0;

	fresh(&t);
	CHECK_EQ(share_table_lookup(&t, 42, 0, &a), SHARE_MUST_FILL);	/* A: "I fill" */
	CHECK_EQ(a.source, 0);	/* no replica anywhere: from the disk */
	fills++;
	/* ... A unlocks and reads the disk; B looks, again and again */
	for (int i = 0; i < 5; i++) {
		CHECK_EQ(share_table_lookup(&t, 42, 0, &b), SHARE_BUSY);
		CHECK_EQ(b.pa, 0);
	}
	CHECK_EQ(t.busy_waits, 5);
	CHECK_EQ(share_table_get(&t, 42, 0), 0);	/* not visible half-filled */
	/* another block is served meanwhile (the old lock was held here) */
	CHECK_EQ(share_table_lookup(&t, 43, 0, &other), SHARE_MUST_FILL);
	share_table_fill_done(&t, &other, PA(9));
	share_table_unpin(&t, 43, 0);
	/* A publishes its page, pinned once for A */
	share_table_fill_done(&t, &a, PA(5));
	CHECK_EQ(share_table_lookup(&t, 42, 0, &b), SHARE_HIT);	/* B: the same page */
	CHECK_EQ(b.pa, PA(5));
	CHECK_EQ(fills, 1);
	CHECK_EQ(storage[42].pins, 2);	/* A's and B's */
	share_table_unpin(&t, 42, 0);
	share_table_unpin(&t, 42, 0);
	CHECK_EQ(storage[42].pins, 0);
	share_table_unpin(&t, 42, 0);	/* one too many: stays 0 */
	CHECK_EQ(storage[42].pins, 0);
	/* a second fill_done for the same claim changes nothing */
	share_table_fill_done(&t, &a, PA(6));
	CHECK_EQ(share_table_get(&t, 42, 0), PA(5));
}

/* A fill that fails (no memory, disk error) leaves the entry empty: the
 * waiter then becomes the filler, it does not wait for ever. */
static void test_failed_fill_lets_the_next_try(void)
{
	struct share_table t;
	struct share_claim a, b;

	fresh(&t);
	CHECK_EQ(share_table_lookup(&t, 5, 0, &a), SHARE_MUST_FILL);
	CHECK_EQ(share_table_lookup(&t, 5, 0, &b), SHARE_BUSY);
	share_table_fill_done(&t, &a, 0);
	CHECK_EQ(share_table_get(&t, 5, 0), 0);
	CHECK_EQ(share_table_lookup(&t, 5, 0, &b), SHARE_MUST_FILL);
	share_table_fill_done(&t, &b, PA(3));
	CHECK_EQ(share_table_get(&t, 5, 0), PA(3));
}

/* A second node's copy is made from the first's, which stays pinned while
 * it is copied (outside the lock): eviction cannot take it meanwhile. */
static void test_replica_source_pinned(void)
{
	struct share_table t;
	struct share_claim c;
	uint64_t out[4];

	fresh(&t);
	fill(&t, 7, 0, PA(1));
	CHECK_EQ(share_table_lookup(&t, 7, 2, &c), SHARE_MUST_FILL);
	CHECK_EQ(c.source, PA(1));
	CHECK_EQ(c.source_node, 0);
	/* other hart: memory pressure while node 2's copy is being made */
	CHECK_EQ(evict_all(&t, out, 4), 0);
	CHECK_EQ(share_table_get(&t, 7, 0), PA(1));
	share_table_fill_done(&t, &c, PA(2));
	CHECK_EQ(t.replicas, 1);
	CHECK_EQ(storage[7].pins, 0);	/* the source: unpinned */
	share_table_unpin(&t, 7, 2);
	/* both unmapped, unpinned: both go (node 0's first, clock order) */
	CHECK_EQ(evict_all(&t, out, 4), 2);
	CHECK_EQ(out[0], PA(1));
	CHECK_EQ(out[1], PA(2));
	CHECK_EQ(share_table_get(&t, 7, 0), 0);
	CHECK_EQ(share_table_get(&t, 7, 2), 0);
}

/*
 * The race of the vblk read path, replayed step by step. Hart A:
 * share_base_block() returns the block's page (mappings still 0), then,
 * later, guest_memory_map_shared() counts the mapping. Hart B, between
 * the two halves, is short of memory and evicts. Without the pin B would
 * free the page A is about to map (a guest would then map a page that the
 * allocator hands to someone else). With it B must leave it alone; once A
 * has mapped it and unpinned, it is not evictable while mapped, and only
 * when the guest drops it does it become evictable (after a second
 * chance, since it was used).
 */
static void test_pin_race_lookup_then_map(void)
{
	struct share_table t;
	struct share_claim a;
	uint64_t out[8];

	fresh(&t);
	fill(&t, 100, 0, PA(10));	/* cached earlier, unmapped: evictable */
	/* A, first half: the lookup (a hit on the cached page) */
	CHECK_EQ(share_table_lookup(&t, 100, 0, &a), SHARE_HIT);
	CHECK_EQ(mapped[10], 0);
	/* B: pressure, two full clock passes */
	CHECK_EQ(evict_all(&t, out, 8), 0);
	CHECK_EQ(share_table_get(&t, 100, 0), PA(10));
	/* A, second half: maps it, then unpins */
	mapped[10]++;
	share_table_unpin(&t, 100, 0);
	/* B: mapped pages are never evicted */
	CHECK_EQ(evict_all(&t, out, 8), 0);
	/* the guest drops it (its page cache turned over) */
	mapped[10]--;
	CHECK_EQ(evict_all(&t, out, 8), 1);
	CHECK_EQ(out[0], PA(10));
	CHECK_EQ(t.evictions, 1);
	/* and the next read fills again rather than using a freed page */
	CHECK_EQ(share_table_lookup(&t, 100, 0, &a), SHARE_MUST_FILL);
	share_table_fill_done(&t, &a, 0);
}

/* The same race when A filled the page itself: fill_done hands it out
 * pinned, so the window between the fill and the mapping is covered too. */
static void test_pin_race_fill_then_map(void)
{
	struct share_table t;
	struct share_claim a;
	uint64_t out[8];

	fresh(&t);
	CHECK_EQ(share_table_lookup(&t, 200, 1, &a), SHARE_MUST_FILL);
	share_table_fill_done(&t, &a, PA(20));
	CHECK_EQ(evict_all(&t, out, 8), 0);	/* B, between the halves */
	mapped[20]++;
	share_table_unpin(&t, 200, 1);
	mapped[20]--;
	CHECK_EQ(evict_all(&t, out, 8), 1);
}

/*
 * Eviction under pressure is a clock with second chances: entries used
 * since the hand last passed are spared once; at most `max` are taken per
 * call, the hand resumes where it stopped, and `scan` bounds the work.
 */
static void test_evict_clock(void)
{
	struct share_table t;
	struct share_claim c;
	uint64_t out[16];

	fresh(&t);
	for (unsigned b = 0; b < 10; b++)
		fill(&t, b, 0, PA(b + 1));
	mapped[3] = 1;			/* block 2 is mapped by some VM */
	/* first pass: every entry was just used: all get their second chance */
	CHECK_EQ(share_table_evict(&t, fake_unmapped, NULL, out, 16, BLOCKS * NODES), 0);
	/* block 5 is used again (a partial read copies out of it) */
	CHECK_EQ(share_table_lookup(&t, 5, 0, &c), SHARE_HIT);
	share_table_unpin(&t, 5, 0);
	/* at most 3 this time, from the hand onwards (the hand wrapped to 0) */
	CHECK_EQ(share_table_evict(&t, fake_unmapped, NULL, out, 3, BLOCKS * NODES), 3);
	CHECK_EQ(out[0], PA(1));
	CHECK_EQ(out[1], PA(2));
	CHECK_EQ(out[2], PA(4));	/* block 2 (PA(3)) is mapped: skipped */
	/* a scan of 2 entries looks at blocks 4 and 5: 4 goes, 5 was used */
	CHECK_EQ(share_table_evict(&t, fake_unmapped, NULL, out, 16, 2), 1);
	CHECK_EQ(out[0], PA(5));
	CHECK_EQ(evict_all(&t, out, 16), 5);	/* 5 (second pass), 6..9 */
	CHECK_EQ(share_table_get(&t, 2, 0), PA(3));	/* only the mapped one stays */
	CHECK_EQ(t.evictions, 9);
}

/*
 * Many harts, random interleavings of whole critical sections, against a
 * model: a pinned or mapped page is never evicted, an entry is never
 * filled by two at once, every hit returns the page its fill published,
 * and every page the table gave out or evicted is accounted for.
 */
#define HARTS 6
#define RBLOCKS 8
static void test_random_interleavings(void)
{
	struct share_table t;
	struct {
		int phase;		/* 0 idle, 1 filling, 2 holding (pinned) */
		uint64_t block;
		unsigned node;
		struct share_claim claim;
		uint64_t pa;
		bool maps;		/* maps it (whole page) rather than copies */
	} h[HARTS] = { 0 };
	unsigned filling[RBLOCKS][NODES] = { { 0 } }, fills = 0;
	static bool in_table[NPAGES], freed[NPAGES];
	unsigned next_page = 1, held_maps[NPAGES] = { 0 };
	uint64_t seed = unit_seed(), out[8];

	fresh(&t);
	share_table_init(&t, storage, RBLOCKS, NODES);	/* a small disk: the clock comes round */
	memset(in_table, 0, sizeof(in_table));
	memset(freed, 0, sizeof(freed));
	for (int step = 0; step < 200000 && next_page < NPAGES; step++) {
		unsigned i = (unsigned)(unit_rand(&seed) % (HARTS + 1));
		if (i == HARTS) {	/* a hart short of memory */
			unsigned n = share_table_evict(&t, fake_unmapped, NULL, out, 8,
						       unit_rand(&seed) % 64);
			for (unsigned k = 0; k < n; k++) {
				unsigned pg = (unsigned)((out[k] - PA(0)) >> PAGE_SHIFT);
				if (!CHECK(in_table[pg] && !mapped[pg]))
					return;
				for (unsigned j = 0; j < HARTS; j++)
					if (!CHECK(!(h[j].phase == 2 && h[j].pa == out[k])))
						return;	/* evicted under a holder */
				in_table[pg] = false;
				freed[pg] = true;
			}
			/* guests drop their mappings (page caches turn over) */
			unsigned pg = (unsigned)(unit_rand(&seed) % next_page);
			mapped[pg] -= held_maps[pg];
			held_maps[pg] = 0;
			continue;
		}
		switch (h[i].phase) {
		case 0: {
			h[i].block = unit_rand(&seed) % RBLOCKS;
			h[i].node = (unsigned)(unit_rand(&seed) % NODES);
			h[i].maps = unit_rand(&seed) % 4 == 0;
			enum share_lookup r = share_table_lookup(&t, h[i].block, h[i].node,
								 &h[i].claim);
			if (r == SHARE_HIT) {
				unsigned pg = (unsigned)((h[i].claim.pa - PA(0)) >> PAGE_SHIFT);
				if (!CHECK(in_table[pg] && !freed[pg]))
					return;
				h[i].pa = h[i].claim.pa;
				h[i].phase = 2;
			} else if (r == SHARE_MUST_FILL) {
				if (!CHECK_EQ(filling[h[i].block][h[i].node]++, 0))
					return;	/* two fillers at once */
				h[i].phase = 1;
			} else if (!CHECK_EQ(r, SHARE_BUSY)) {
				return;
			} else if (!CHECK_EQ(filling[h[i].block][h[i].node], 1)) {
				return;	/* busy, but nobody fills */
			}
			break;
		}
		case 1:	/* the fill ends: usually a page, sometimes a failure */
			filling[h[i].block][h[i].node]--;
			if (unit_rand(&seed) % 8 == 0) {
				share_table_fill_done(&t, &h[i].claim, 0);
				h[i].phase = 0;
			} else {
				fills++;
				h[i].pa = PA(next_page);
				in_table[next_page++] = true;
				share_table_fill_done(&t, &h[i].claim, h[i].pa);
				h[i].phase = 2;
			}
			break;
		case 2: {	/* mapped (or copied), then unpinned */
			unsigned pg = (unsigned)((h[i].pa - PA(0)) >> PAGE_SHIFT);
			if (!CHECK(in_table[pg] && !freed[pg]))
				return;
			if (h[i].maps) {
				mapped[pg]++;
				held_maps[pg]++;
			}
			share_table_unpin(&t, h[i].block, h[i].node);
			h[i].phase = 0;
			break;
		}
		}
	}
	printf("random: %lu evictions, %u fills, %lu hits, %lu busy\n", t.evictions, fills,
	       t.hits, t.busy_waits);
	CHECK(t.evictions > 100);
	CHECK(fills > 100);
	CHECK(t.hits > 0);
	CHECK(t.busy_waits > 0);
	CHECK(t.replicas > 0);
}

int main(void)
{
	RUN(test_empty);
	RUN(test_fill_then_hit_per_node);
	RUN(test_out_of_range);
	RUN(test_fill_outside_lock_two_harts);
	RUN(test_failed_fill_lets_the_next_try);
	RUN(test_replica_source_pinned);
	RUN(test_pin_race_lookup_then_map);
	RUN(test_pin_race_fill_then_map);
	RUN(test_evict_clock);
	RUN(test_random_interleavings);
	return unit_report("test_share_table");
}
