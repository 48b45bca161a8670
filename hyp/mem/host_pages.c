#include <string.h>
#include "lib/counters.h"
#include "lib/format.h"
#include "mem/host_pages.h"

uint64_t host_pages_table_bytes(uint64_t bytes)
{
	return (bytes >> PAGE_SHIFT) * sizeof(struct host_page);
}

void host_pages_init(struct host_memory *hm, struct host_page *table,
		     uint64_t base, uint64_t nframes)
{
	memset(hm, 0, sizeof(*hm));
	hm->frames = table;
	hm->base = base & PAGE_MASK;
	hm->nframes = nframes;
	for (uint64_t i = 0; i < nframes; i++) {
		table[i] = (struct host_page){
			.origin = PAGE_RESERVED,
			.node = HOST_PAGE_NO_NODE,
			.vm = HOST_PAGE_NO_VM,
		};
	}
	for (unsigned n = 0; n < MAX_MEM_NODES; n++)
		hm->node[n].free_head = FRAME_NONE;
}

/* Clamps [start, end) to the table; returns false if nothing is left. */
static bool frame_range(const struct host_memory *hm, uint64_t start, uint64_t end,
			uint64_t *first, uint64_t *last)
{
	uint64_t table_end = hm->base + (hm->nframes << PAGE_SHIFT);

	if (start < hm->base)
		start = hm->base;
	if (end > table_end)
		end = table_end;
	if (start >= end)
		return false;
	*first = (start - hm->base) >> PAGE_SHIFT;
	*last = (end - hm->base) >> PAGE_SHIFT;	/* exclusive */
	return *first < *last;
}

void host_pages_add_ram(struct host_memory *hm, uint64_t start, uint64_t end, unsigned node)
{
	uint64_t first, last;

	if (node >= MAX_MEM_NODES)
		return;
	start = (start + PAGE_SIZE - 1) & PAGE_MASK;
	end &= PAGE_MASK;
	if (!frame_range(hm, start, end, &first, &last))
		return;
	for (uint64_t i = first; i < last; i++) {
		if (hm->frames[i].node == HOST_PAGE_NO_NODE)
			hm->node[node].total_pages++;
		hm->frames[i].node = (uint8_t)node;
		hm->frames[i].origin = PAGE_FREE;
	}
	if (node + 1 > hm->nnodes)
		hm->nnodes = node + 1;
}

void host_pages_reserve(struct host_memory *hm, uint64_t start, uint64_t end)
{
	uint64_t first, last;

	start &= PAGE_MASK;
	end = (end + PAGE_SIZE - 1) & PAGE_MASK;
	if (!frame_range(hm, start, end, &first, &last))
		return;
	for (uint64_t i = first; i < last; i++)
		hm->frames[i].origin = PAGE_RESERVED;
}

void host_pages_finish(struct host_memory *hm)
{
	/* Walk downwards and push, so each list ends up in ascending order. */
	for (uint64_t i = hm->nframes; i-- > 0;) {
		struct host_page *p = &hm->frames[i];
		if (p->origin != PAGE_FREE)
			continue;
		struct mem_node *n = &hm->node[p->node];
		p->next_free = n->free_head;
		n->free_head = i;
		n->free_pages++;
	}
}

static uint64_t frame_pa(const struct host_memory *hm, uint64_t frame)
{
	return hm->base + (frame << PAGE_SHIFT);
}

/* Takes the first page off node n's free list; FRAME_NONE if empty. */
static uint64_t pop_free(struct host_memory *hm, unsigned n)
{
	struct mem_node *node = &hm->node[n];
	uint64_t frame = node->free_head;

	if (frame == FRAME_NONE)
		return FRAME_NONE;
	node->free_head = hm->frames[frame].next_free;
	node->free_pages--;
	return frame;
}

/* The unused part of owner o's share. */
static uint64_t unused_share(const struct host_owner *o)
{
	return o->pages < o->share ? o->share - o->pages : 0;
}

static struct host_owner *owner_of(struct host_memory *hm, uint16_t vm)
{
	return vm < HOST_PAGES_MAX_OWNERS ? &hm->owner[vm] : NULL;
}

/* Charges (+1) or uncharges (-1) a page to its owner, keeping
 * hm->reserved equal to the sum of the unused shares. Lock held. */
static void charge(struct host_memory *hm, uint16_t vm, int delta)
{
	struct host_owner *o = owner_of(hm, vm);

	if (!o || (delta < 0 && !o->pages))
		return;
	hm->reserved -= unused_share(o);
	o->pages += (uint64_t)(int64_t)delta;
	hm->reserved += unused_share(o);
}

/* May owner vm have one more page? Unowned allocations (the hypervisor,
 * the kernel image) and owners within their share may take any free page;
 * an owner at or over its share only one beyond the others' reserve. */
static bool admitted(const struct host_memory *hm, uint16_t vm)
{
	const struct host_owner *o = vm < HOST_PAGES_MAX_OWNERS ? &hm->owner[vm] : NULL;
	uint64_t free = host_pages_free_count(hm);

	if (!o || !o->share || o->pages < o->share)
		return free > 0;
	return free > hm->reserved - unused_share(o);	/* its own unused share is 0 */
}

/* Takes a page for vm from node, or the next nodes; FRAME_NONE if none
 * or if vm is not admitted. Lock held. */
static uint64_t take_page(struct host_memory *hm, unsigned node, uint16_t vm)
{
	uint64_t frame = FRAME_NONE;

	if (!admitted(hm, vm))
		return FRAME_NONE;
	if (node < hm->nnodes)
		frame = pop_free(hm, node);
	/* Home node exhausted: try the next nodes in numbering order
	 * (up to d == nnodes, so a node >= nnodes still reaches every node). */
	for (unsigned d = 1; frame == FRAME_NONE && d <= hm->nnodes; d++)
		frame = pop_free(hm, (node + d) % hm->nnodes);
	return frame;
}

/* How many pages to ask the reclaim hook for at once: one eviction pass
 * serves many allocations. */
#define RECLAIM_BATCH 64

uint64_t host_page_alloc(struct host_memory *hm, unsigned node,
			 enum page_origin origin, uint16_t vm, uint64_t gpa)
{
	uint64_t frame;

	if (origin == PAGE_FREE || origin == PAGE_RESERVED || origin >= PAGE_ORIGIN_COUNT)
		return 0;
	spin_lock(&hm->lock);
	frame = take_page(hm, node, vm);
	if (frame == FRAME_NONE && hm->reclaim) {
		/* Out of pages (or over its share): the cache gives some back,
		 * without our lock (it frees them through host_page_free). */
		host_reclaim_fn reclaim = hm->reclaim;
		void *ctx = hm->reclaim_ctx;
		struct host_owner *o = owner_of(hm, vm);
		/* A VM over its share gains nothing from pages charged to
		 * others (each one evicted frees a page and adds one to their
		 * reserve): only its own cached pages are worth taking. */
		uint16_t only_of = o && o->share && o->pages >= o->share ? vm : HOST_PAGE_NO_VM;
		hm->reclaim_calls++;
		spin_unlock(&hm->lock);
		uint64_t got = reclaim(ctx, RECLAIM_BATCH, only_of);
		spin_lock(&hm->lock);
		hm->reclaimed += got;
		frame = take_page(hm, node, vm);
	}
	if (frame == FRAME_NONE) {
		struct host_owner *o = owner_of(hm, vm);
		if (o && o->share && o->pages >= o->share)
			o->refusals++;
		spin_unlock(&hm->lock);
		return 0;
	}
	struct host_page *p = &hm->frames[frame];
	p->origin = (uint8_t)origin;
	p->vm = vm;
	p->mappings = 0;
	p->gpa = gpa;
	hm->used_by_origin[origin]++;
	charge(hm, vm, +1);
	spin_unlock(&hm->lock);

	/* No data crosses between guests: zero before anyone sees the page. */
	memset(pa_to_ptr(frame_pa(hm, frame)), 0, PAGE_SIZE);
	return frame_pa(hm, frame);
}

bool host_page_free(struct host_memory *hm, uint64_t pa)
{
	struct host_page *p = host_page_of(hm, pa);

	if (!p || (pa & ~PAGE_MASK))
		return false;
	spin_lock(&hm->lock);
	/* Checked under the lock: two harts freeing one page must not both win. */
	if (p->origin == PAGE_FREE || p->origin == PAGE_RESERVED || p->mappings != 0) {
		spin_unlock(&hm->lock);
		return false;
	}
	hm->used_by_origin[p->origin]--;
	charge(hm, p->vm, -1);
	p->origin = PAGE_FREE;
	p->vm = HOST_PAGE_NO_VM;
	struct mem_node *n = &hm->node[p->node];
	p->next_free = n->free_head;
	n->free_head = (uint64_t)(p - hm->frames);
	n->free_pages++;
	spin_unlock(&hm->lock);
	return true;
}

struct host_page *host_page_of(struct host_memory *hm, uint64_t pa)
{
	if (pa < hm->base)
		return NULL;
	uint64_t frame = (pa - hm->base) >> PAGE_SHIFT;
	return frame < hm->nframes ? &hm->frames[frame] : NULL;
}

uint64_t host_pages_free_count(const struct host_memory *hm)
{
	uint64_t free = 0;

	for (unsigned n = 0; n < hm->nnodes; n++)
		free += hm->node[n].free_pages;
	return free;
}

uint64_t host_pages_ram_count(const struct host_memory *hm)
{
	uint64_t total = 0;

	for (unsigned n = 0; n < hm->nnodes; n++)
		total += hm->node[n].total_pages;
	return total;
}

void host_pages_set_shares(struct host_memory *hm, unsigned n, uint64_t cap, uint64_t margin)
{
	uint64_t free = host_pages_free_count(hm);
	uint64_t each = n && free > margin ? (free - margin) / n : 0;

	if (each > cap)
		each = cap;
	spin_lock(&hm->lock);
	for (unsigned i = 0; i < n && i < HOST_PAGES_MAX_OWNERS; i++) {
		struct host_owner *o = &hm->owner[i];
		hm->reserved -= unused_share(o);
		o->share = each;
		hm->reserved += unused_share(o);
	}
	spin_unlock(&hm->lock);
}

void host_pages_drop_share(struct host_memory *hm, uint16_t vm)
{
	struct host_owner *o = owner_of(hm, vm);

	if (!o)
		return;
	spin_lock(&hm->lock);
	hm->reserved -= unused_share(o);
	o->share = 0;
	spin_unlock(&hm->lock);
}

void host_pages_set_reclaim(struct host_memory *hm, host_reclaim_fn fn, void *ctx)
{
	spin_lock(&hm->lock);
	hm->reclaim = fn;
	hm->reclaim_ctx = ctx;
	spin_unlock(&hm->lock);
}

void host_pages_owner_report(struct host_memory *hm, uint16_t vm, struct host_owner_report *r)
{
	struct host_owner *o = owner_of(hm, vm);

	*r = (struct host_owner_report){ 0 };
	spin_lock(&hm->lock);
	r->free = host_pages_free_count(hm);
	r->reserved_for_others = hm->reserved;
	if (o) {
		r->pages = o->pages;
		r->share = o->share;
		r->refusals = o->refusals;
		r->reserved_for_others -= unused_share(o);
	}
	spin_unlock(&hm->lock);
}

bool host_page_change_origin(struct host_memory *hm, uint64_t pa, enum page_origin origin,
			     uint16_t vm, uint64_t gpa)
{
	struct host_page *p = host_page_of(hm, pa);

	if (!p || origin == PAGE_FREE || origin == PAGE_RESERVED || origin >= PAGE_ORIGIN_COUNT)
		return false;
	spin_lock(&hm->lock);
	if (p->origin == PAGE_FREE || p->origin == PAGE_RESERVED) {
		spin_unlock(&hm->lock);
		return false;
	}
	hm->used_by_origin[p->origin]--;
	charge(hm, p->vm, -1);
	p->origin = (uint8_t)origin;
	p->vm = vm;
	p->gpa = gpa;
	hm->used_by_origin[origin]++;
	charge(hm, vm, +1);
	spin_unlock(&hm->lock);
	return true;
}

void host_pages_counters(const struct host_memory *hm, struct counters *c)
{
	uint64_t total = host_pages_ram_count(hm), free = host_pages_free_count(hm);
	char nodes[16 * MAX_MEM_NODES + 3];
	size_t len = (size_t)format(nodes, sizeof(nodes), "[");

	counters_u64(c, "host_pages_total", total);
	counters_u64(c, "host_pages_used", total - free);
	counters_u64(c, "host_pages_free", free);
	counters_u64(c, "host_pages_shared_net", hm->used_by_origin[PAGE_SHARED_NET]);
	for (unsigned n = 0; n < hm->nnodes; n++)
		len += (size_t)format(nodes + len, sizeof(nodes) - len, "%s%lu", n ? "," : "",
				      hm->node[n].free_pages);
	format(nodes + len, sizeof(nodes) - len, "]");
	counters_raw(c, "node_free_pages", nodes);
	counters_u64(c, "host_memory_reclaims", hm->reclaim_calls);
	counters_u64(c, "host_pages_reclaimed", hm->reclaimed);
}
