/*
 * Content-based sharing's host side: the zero page of each node, the
 * tables of merged pages and hints (content_table.h), and the life of a
 * merged page (PAGE_SHARED_CONTENT) - published, pinned, mapped by many
 * VMs with every mapper on its reverse map, taken back by a last mapper
 * that writes, freed with its last mapping.
 *
 * The merging itself, which needs the VMs' G-stage tables, is core's
 * (guest_memory_merge and content_scan.c); this layer keeps what is no
 * VM's. One lock, the content lock, guards the tables, every merged
 * page's reverse map and mapping count changes that can free it. Lock
 * order: a VM's lock, then the content lock, then the page allocator's.
 */
#ifndef DISCV_CONTENT_SHARE_H
#define DISCV_CONTENT_SHARE_H

#include <stdbool.h>
#include <stdint.h>

struct host_memory;
struct counters;

/* Bytes of table storage for a host of ram_pages pages in nnodes nodes. */
uint64_t content_storage_bytes(uint64_t ram_pages, unsigned nnodes);

/* Sets content sharing up over zeroed storage of content_storage_bytes
 * (NULL and enabled = false: CONTENT_SHARE=0, nothing is merged), and
 * takes one zero page per node. False if a zero page could not be had. */
bool content_init(struct host_memory *hm, void *storage, uint64_t ram_pages, bool enabled);
bool content_enabled(void);

/* The zero page of `node` (0 if sharing is off). */
uint64_t content_zero_page(unsigned node);

/* What a scanned page's hash matched (content_find). */
enum content_match {
	MATCH_NONE,	/* nothing: the page is now a hint */
	MATCH_SHARED,	/* *pa is a merged page with that hash, pinned */
	MATCH_HINT,	/* *pa is another guest page that had that hash when it was
			 * scanned (the hint is consumed): check it again */
};

/* Looks hash up in `node`'s table for page `self`, as above. */
enum content_match content_find(unsigned node, uint64_t hash, uint64_t self, uint64_t *pa);

/*
 * Makes private page pa - read-only in its VM `vm` at `gpa`, fenced, and
 * found by the caller (under that VM's lock) to hash to `hash` - a
 * merged page: origin PAGE_SHARED_CONTENT, (vm, gpa) its first mapper,
 * its SHARED entry in `node`'s table. It comes back pinned for the merge
 * that follows (content_put). False if the table or the reverse map has
 * no room: nothing changed.
 */
bool content_promote(unsigned node, uint64_t hash, uint64_t pa, uint16_t vm, uint64_t gpa);

/* Reverse map of merged page pa: (vm, gpa) starts or stops mapping it. */
bool content_rmap_add(uint64_t pa, uint16_t vm, uint64_t gpa);
void content_rmap_remove(uint64_t pa, uint16_t vm, uint64_t gpa);

/* True if (vm, gpa) is the newest mapper on pa's reverse map (the one
 * the scanner audits the page from, once per pass). */
bool content_rmap_first(uint64_t pa, uint16_t vm, uint64_t gpa);

/* Drops one mapping or pin of merged page pa; the last frees the page
 * and its table entry. */
void content_put(uint64_t pa);

/*
 * A store by (vm, gpa) to merged page pa, which it maps: if that mapping
 * is the page's only one (no other mapper, no pin), the page leaves the
 * table and becomes vm's private page at gpa again, in place, and this
 * returns true; else false (the caller copies).
 */
bool content_take_back(uint64_t pa, uint16_t vm, uint64_t gpa);

/*
 * The scanner's audit: merged page pa, hashed again, must still be
 * found under its hash. A miss means its bytes changed while it was
 * read-only in every VM - what QEMU's A/D writes would do to a merged
 * page-table page: counted (content_pages_changed, which must stay 0). A
 * merged page that looks like a page table is counted too
 * (page_tables_merged, which must stay 0: it should never have been
 * merged).
 */
void content_audit(uint64_t pa);

/* Counted by the scanner: pages not merged because they look like page
 * tables, and hash matches whose bytes differed. */
void content_count_page_table(void);
void content_count_false_match(void);
void content_count_scan_ticks(uint64_t ticks);

/* The totals, as hvstat fields. */
void content_counters(struct counters *c);

#endif
