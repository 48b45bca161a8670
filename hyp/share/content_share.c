#include <string.h>
#include "lib/counters.h"
#include "lib/spinlock.h"
#include "mem/host_pages.h"
#include "share/content_share.h"
#include "share/content_table.h"

/* A merged page takes no more mappers than this (Linux KSM's
 * max_page_sharing is 256): its reverse map is a list, walked when a
 * mapper leaves. A page with this many mappers is left alone; its twins
 * stay private. 256 guests in two nodes are 128 per node. */
#define CONTENT_MAX_SHARING 512

/* Table entries per node, per page of that node's RAM share: one in 8
 * (an idle 128 MiB guest keeps ~2,000 pages private to scan). */
#define ENTRIES_PER_RAM_PAGE_DIV 8
#define MIN_ENTRIES_PER_NODE 1024

static struct {
	struct spinlock lock;		/* the content lock */
	struct host_memory *host;
	bool enabled;
	unsigned nnodes;
	struct content_table table[MAX_MEM_NODES];
	uint64_t zero_page[MAX_MEM_NODES];
	struct rmap_pool rmap;
	/* counters (hvstat) */
	uint64_t promotions;		/* guest pages made merged pages */
	uint64_t pages_changed;		/* merged pages whose bytes changed: must stay 0 */
	uint64_t take_backs;		/* merged pages a sole mapper took back, no copy */
	uint64_t sharing_cap;		/* matches skipped: the page had CONTENT_MAX_SHARING mappers */
	uint64_t rmap_missing;		/* unmaps of a mapper not on the list: must stay 0 */
	uint64_t page_tables_skipped;	/* pages that looked like page tables */
	uint64_t page_tables_merged;	/* merged pages that look like page tables: must stay 0 */
	uint64_t false_matches;		/* hash matches whose bytes differed */
	uint64_t scan_ticks;		/* time the scanner spent (its CPU share) */
} content;

static uint64_t entries_per_node(uint64_t ram_pages, unsigned nnodes)
{
	uint64_t n = ram_pages / nnodes / ENTRIES_PER_RAM_PAGE_DIV;

	return n < MIN_ENTRIES_PER_NODE ? MIN_ENTRIES_PER_NODE : n;
}

uint64_t content_storage_bytes(uint64_t ram_pages, unsigned nnodes)
{
	return nnodes * content_table_bytes(entries_per_node(ram_pages, nnodes));
}

/* Reverse-map entries come a host page at a time, never given back. */
static uint64_t rmap_page(void *ctx)
{
	(void)ctx;
	return host_page_alloc(content.host, 0, PAGE_HYPERVISOR, HOST_PAGE_NO_VM, 0);
}

bool content_init(struct host_memory *hm, void *storage, uint64_t ram_pages, bool enabled)
{
	char *at = storage;

	content.host = hm;
	content.enabled = enabled && storage;
	content.nnodes = hm->nnodes;
	rmap_init(&content.rmap, rmap_page, NULL);
	if (!content.enabled)
		return true;
	uint64_t entries = entries_per_node(ram_pages, hm->nnodes);
	for (unsigned n = 0; n < hm->nnodes; n++) {
		content_table_init(&content.table[n], (struct content_entry *)at, entries);
		at += content_table_bytes(entries);
		content.zero_page[n] = host_page_alloc(hm, n, PAGE_SHARED_ZERO, HOST_PAGE_NO_VM, 0);
		if (!content.zero_page[n])
			return false;
	}
	return true;
}

bool content_enabled(void)
{
	return content.enabled;
}

uint64_t content_zero_page(unsigned node)
{
	return content.enabled && node < content.nnodes ? content.zero_page[node] : 0;
}

enum content_match content_find(unsigned node, uint64_t hash, uint64_t self, uint64_t *pa)
{
	struct content_table *t = &content.table[node];
	struct content_entry *e;
	enum content_match m = MATCH_NONE;

	spin_lock(&content.lock);
	e = content_table_find(t, hash, self);
	if (!e) {
		content_table_insert(t, hash, self, CONTENT_HINT);
	} else if (e->kind == CONTENT_SHARED) {
		struct host_page *p = host_page_of(content.host, e->pa);
		/* An entry exists while its page has a mapping or pin (the last
		 * content_put removes it under this lock): the page is alive. */
		if (__atomic_load_n(&p->mappings, __ATOMIC_RELAXED) >= CONTENT_MAX_SHARING) {
			content.sharing_cap++;
		} else {
			host_page_map_get(p);	/* the pin */
			*pa = e->pa;
			m = MATCH_SHARED;
		}
	} else {
		*pa = e->pa;
		content_table_remove(t, e);
		m = MATCH_HINT;
	}
	spin_unlock(&content.lock);
	return m;
}

bool content_promote(unsigned node, uint64_t hash, uint64_t pa, uint16_t vm, uint64_t gpa)
{
	struct content_table *t = &content.table[node];
	struct host_page *p = host_page_of(content.host, pa);
	uint32_t head = RMAP_NONE;
	bool ok = false;

	spin_lock(&content.lock);
	if (p && p->origin == PAGE_GUEST_PRIVATE && p->vm == vm && p->gpa == gpa &&
	    rmap_add(&content.rmap, &head, vm, gpa)) {
		if (content_table_insert(t, hash, pa, CONTENT_SHARED)) {
			/* The charge stays with the VM that filled it (as the block
			 * cache charges the first reader). */
			host_page_change_origin(content.host, pa, PAGE_SHARED_CONTENT, vm, 0);
			p->rmap = head;
			host_page_map_get(p);	/* the pin for the merge */
			content.promotions++;
			ok = true;
		} else {
			rmap_remove(&content.rmap, &head, vm, gpa);
		}
	}
	spin_unlock(&content.lock);
	return ok;
}

bool content_rmap_add(uint64_t pa, uint16_t vm, uint64_t gpa)
{
	struct host_page *p = host_page_of(content.host, pa);
	bool ok;

	spin_lock(&content.lock);
	ok = rmap_add(&content.rmap, &p->rmap, vm, gpa);
	spin_unlock(&content.lock);
	return ok;
}

void content_rmap_remove(uint64_t pa, uint16_t vm, uint64_t gpa)
{
	struct host_page *p = host_page_of(content.host, pa);

	spin_lock(&content.lock);
	if (!rmap_remove(&content.rmap, &p->rmap, vm, gpa))
		content.rmap_missing++;
	spin_unlock(&content.lock);
}

bool content_rmap_first(uint64_t pa, uint16_t vm, uint64_t gpa)
{
	struct host_page *p = host_page_of(content.host, pa);
	bool first;

	spin_lock(&content.lock);
	first = p->origin == PAGE_SHARED_CONTENT && rmap_head_is(&content.rmap, p->rmap, vm, gpa);
	spin_unlock(&content.lock);
	return first;
}

/* Takes merged page pa out of its node's table (under the content lock).
 * Its bytes are those it was published with, unless something wrote a
 * page that was read-only everywhere: then the hash finds nothing, which
 * is counted, and every entry of the page is removed the slow way. */
static void unpublish_locked(uint64_t pa, const struct host_page *p)
{
	struct content_table *t = &content.table[p->node];
	struct content_entry *e =
		content_table_find_page(t, page_hash(pa_to_ptr(pa)), pa, CONTENT_SHARED);

	if (e) {
		content_table_remove(t, e);
		return;
	}
	content.pages_changed++;
	content_table_remove_page(t, pa);
}

void content_put(uint64_t pa)
{
	struct host_page *p = host_page_of(content.host, pa);

	spin_lock(&content.lock);
	if (host_page_map_put(p) == 0) {
		unpublish_locked(pa, p);
		if (p->rmap != RMAP_NONE)
			content.rmap_missing++;	/* a mapper that never left: cannot be */
		host_page_free(content.host, pa);
	}
	spin_unlock(&content.lock);
}

bool content_take_back(uint64_t pa, uint16_t vm, uint64_t gpa)
{
	struct host_page *p = host_page_of(content.host, pa);
	bool taken = false;

	spin_lock(&content.lock);
	if (__atomic_load_n(&p->mappings, __ATOMIC_ACQUIRE) == 1) {
		/* Ours is the one mapping, and no pin: a new one is made only
		 * under this lock (content_find) or from a mapping of ours
		 * (the network's pin, under our VM's lock, which the caller
		 * holds). */
		unpublish_locked(pa, p);
		if (!rmap_remove(&content.rmap, &p->rmap, vm, gpa) || p->rmap != RMAP_NONE)
			content.rmap_missing++;
		host_page_change_origin(content.host, pa, PAGE_GUEST_PRIVATE, vm, gpa);
		content.take_backs++;
		taken = true;
	}
	spin_unlock(&content.lock);
	return taken;
}

void content_audit(uint64_t pa)
{
	struct host_page *p = host_page_of(content.host, pa);
	uint64_t hash = page_hash(pa_to_ptr(pa));

	spin_lock(&content.lock);
	if (!content_table_find_page(&content.table[p->node], hash, pa, CONTENT_SHARED))
		content.pages_changed++;
	/* The rule itself, checked on what was merged: no page table. */
	if (content_page_is_page_table(pa_to_ptr(pa)))
		content.page_tables_merged++;
	spin_unlock(&content.lock);
}

void content_count_page_table(void)
{
	__atomic_fetch_add(&content.page_tables_skipped, 1, __ATOMIC_RELAXED);
}

void content_count_false_match(void)
{
	__atomic_fetch_add(&content.false_matches, 1, __ATOMIC_RELAXED);
}

void content_count_scan_ticks(uint64_t ticks)
{
	__atomic_fetch_add(&content.scan_ticks, ticks, __ATOMIC_RELAXED);
}

void content_counters(struct counters *c)
{
	uint64_t zero_mappings = 0, merged = 0, merged_mappings = 0, zero_dirty = 0;
	uint64_t hints = 0, entries = 0, refusals = 0;

	if (!content.enabled) {
		counters_u64(c, "content_share", 0);
		return;
	}
	for (unsigned n = 0; n < content.nnodes; n++) {
		struct host_page *z = host_page_of(content.host, content.zero_page[n]);
		zero_mappings += z->mappings;
		zero_dirty += !content_page_is_zero(pa_to_ptr(content.zero_page[n]));
		hints += content.table[n].hints;
		entries += content.table[n].nbuckets * CONTENT_BUCKET_SLOTS;
		refusals += content.table[n].full_refusals;
	}
	for (uint64_t i = 0; i < content.host->nframes; i++) {
		const struct host_page *p = &content.host->frames[i];
		if (p->origin == PAGE_SHARED_CONTENT) {
			merged++;
			merged_mappings += p->mappings;
		}
	}
	counters_u64(c, "content_share", 1);
	counters_u64(c, "pages_saved_zero", zero_mappings);
	counters_u64(c, "pages_saved_content", merged_mappings - merged);
	counters_u64(c, "content_pages", merged);
	counters_u64(c, "content_hints", hints);
	counters_u64(c, "content_table_entries", entries);
	counters_u64(c, "content_table_refusals", refusals);
	counters_u64(c, "content_promotions", content.promotions);
	counters_u64(c, "content_take_backs", content.take_backs);
	counters_u64(c, "content_sharing_cap", content.sharing_cap);
	counters_u64(c, "hash_false_matches", content.false_matches);
	counters_u64(c, "page_tables_skipped", content.page_tables_skipped);
	counters_u64(c, "page_tables_merged", content.page_tables_merged);
	counters_u64(c, "content_pages_changed", content.pages_changed);
	counters_u64(c, "zero_pages_dirty", zero_dirty);
	counters_u64(c, "rmap_entries", content.rmap.used);
	counters_u64(c, "rmap_missing", content.rmap_missing);
	counters_u64(c, "scan_ticks", content.scan_ticks);
}
