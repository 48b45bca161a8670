/*
 * Content-based sharing's data (ESX, Waldspurger OSDI 2002, section 4;
 * Linux KSM): the 64-bit page hash, the tests that decide whether a
 * page may be merged at all, the table that finds a page's twin, and the
 * reverse map that says who maps a merged page.
 *
 * The table. One per NUMA node (a merged page is always local to its
 * mappers, as Disco's replicas are). It is a set-associative cache: the
 * hash picks a bucket of CONTENT_BUCKET_SLOTS entries, and an entry is
 *
 *   SHARED  a merged host page (origin PAGE_SHARED_CONTENT) holding data
 *           with this hash: the next page that matches maps it;
 *   HINT    a private guest page whose hash matched nothing when it was
 *           scanned. It is not write-protected (ESX's "hint"), so the
 *           guest may change it at any time: a later match must check the
 *           page again (its record, its mapping, its hash, its bytes)
 *           before anything is merged into it.
 *
 * A hash match is never enough: the merge compares the bytes (core's
 * guest_memory_merge). Hints are best effort: a full bucket gives its
 * oldest hint's slot to a new entry, and a stale hint is dropped when it
 * is found. SHARED entries are never overwritten: a bucket full of them
 * refuses the new one (counted).
 *
 * The reverse map. Every (VM, guest-physical page) that maps a merged
 * page is an entry on that page's list, so the page can be unmapped from
 * all its mappers (the pager, migration) and counted. Entries come from a
 * pool that grows a host page at a time (alloc_page).
 *
 * Pure code: unit-tested natively. The caller holds the content lock
 * (share/content_share.c) around every call that takes a table or pool.
 */
#ifndef DISCV_CONTENT_TABLE_H
#define DISCV_CONTENT_TABLE_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/page_hash.h"	/* candidates are found by their page_hash */

/* True if every byte of the page is zero. */
bool content_page_is_zero(const void *page);

/*
 * True if the page looks like a RISC-V page-table page (priv spec 4.4.1
 * and 4.5.1, Sv39/48/57 PTEs), which must never be merged: QEMU 7.2
 * writes the A and D bits of a guest's VS-stage PTE straight into host
 * RAM without asking the G-stage for write permission
 * (target/riscv/cpu_helper.c, get_physical_address), so a merged table
 * page would be written for every VM that maps it. Conservative: at
 * least one word is nonzero, and every nonzero word is a valid PTE -
 * V set, bits 60:54 (reserved) clear, and a page number below 2^29,
 * inside Sv39x4's 41-bit guest-physical space. Data that happens to look
 * so is only left unmerged.
 */
bool content_page_is_page_table(const void *page);

#define CONTENT_BUCKET_SLOTS 8

enum content_kind {
	CONTENT_EMPTY = 0,
	CONTENT_HINT,
	CONTENT_SHARED,
};

struct content_entry {
	uint64_t hash;
	uint64_t pa;		/* the host page: merged (SHARED) or a guest's (HINT) */
	uint32_t age;		/* insertion order: a full bucket replaces its oldest hint */
	uint8_t kind;		/* enum content_kind */
};

struct content_table {
	struct content_entry *entry;	/* nbuckets * CONTENT_BUCKET_SLOTS */
	uint64_t nbuckets;		/* a power of two */
	uint32_t clock;			/* the next `age` */
	uint64_t shared, hints;		/* entries of each kind */
	uint64_t hints_replaced;	/* hints dropped for newer entries (buckets full) */
	uint64_t full_refusals;		/* SHARED entries refused: a bucket full of them */
};

/* Bytes of storage for a table of at least `entries` entries. */
uint64_t content_table_bytes(uint64_t entries);

/* Starts an empty table over zeroed storage of content_table_bytes(entries). */
void content_table_init(struct content_table *t, struct content_entry *storage,
			uint64_t entries);

/*
 * What a page with `hash` matches: the first SHARED entry with it, else
 * the first HINT with it whose page is not `self` (the page being
 * scanned, whose own old hint is no match). NULL if none. The entry
 * stays valid until the next call that changes the table.
 */
struct content_entry *content_table_find(struct content_table *t, uint64_t hash, uint64_t self);

/* The entry of kind `kind` for page pa with hash `hash`, or NULL. */
struct content_entry *content_table_find_page(struct content_table *t, uint64_t hash,
					      uint64_t pa, enum content_kind kind);

/* Adds an entry (a page's old entry with the same pa is replaced, any
 * kind). False if the bucket is full of SHARED entries (counted). */
bool content_table_insert(struct content_table *t, uint64_t hash, uint64_t pa,
			  enum content_kind kind);

/* Removes an entry found by one of the finds. */
void content_table_remove(struct content_table *t, struct content_entry *e);

/* Removes every entry of page pa, whatever its hash (a page whose
 * contents changed under the table's feet). Returns how many. */
unsigned content_table_remove_page(struct content_table *t, uint64_t pa);

/* --- The reverse map -------------------------------------------------- */

#define RMAP_NONE 0
#define RMAP_PER_PAGE (4096 / sizeof(struct rmap_entry))
#define RMAP_MAX_CHUNKS 8192	/* 2 M entries, 32 MiB: enough for 256 full guests */

struct rmap_entry {
	uint64_t gpa;
	uint32_t next;		/* index of the next entry of the same page, RMAP_NONE */
	uint16_t vm;
	uint16_t unused;
};

typedef uint64_t (*rmap_alloc_fn)(void *ctx);	/* a zeroed host page, or 0 */

struct rmap_pool {
	struct rmap_entry *chunk[RMAP_MAX_CHUNKS];
	unsigned nchunks;
	uint32_t free_head;	/* RMAP_NONE when every entry of every chunk is used */
	uint64_t used;		/* entries in use (hvstat) */
	rmap_alloc_fn alloc_page;
	void *ctx;
};

/* An empty pool (zeroed storage) that grows through alloc_page. */
void rmap_init(struct rmap_pool *pool, rmap_alloc_fn alloc_page, void *ctx);

/* Puts (vm, gpa) at the front of the list that starts at *head. False if
 * no entry could be had (the pool cannot grow). */
bool rmap_add(struct rmap_pool *pool, uint32_t *head, uint16_t vm, uint64_t gpa);

/* Takes (vm, gpa) off the list at *head. False if it was not there. */
bool rmap_remove(struct rmap_pool *pool, uint32_t *head, uint16_t vm, uint64_t gpa);

/* True if (vm, gpa) is the first entry of the list at head. */
bool rmap_head_is(const struct rmap_pool *pool, uint32_t head, uint16_t vm, uint64_t gpa);

/* Mappers on the list at head. */
unsigned rmap_count(const struct rmap_pool *pool, uint32_t head);

/* Calls fn for each (vm, gpa) on the list at head, newest first. */
void rmap_for_each(const struct rmap_pool *pool, uint32_t head,
		   void (*fn)(void *arg, uint16_t vm, uint64_t gpa), void *arg);

#endif
