#include <string.h>
#include "host_pages.h"

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

uint64_t host_page_alloc(struct host_memory *hm, unsigned node,
			 enum page_origin origin, uint16_t vm, uint64_t gpa)
{
	uint64_t frame = FRAME_NONE;

	if (origin == PAGE_FREE || origin == PAGE_RESERVED || origin >= PAGE_ORIGIN_COUNT)
		return 0;
	spin_lock(&hm->lock);
	if (node < hm->nnodes)
		frame = pop_free(hm, node);
	/* Home node exhausted: try the next nodes in numbering order
	 * (up to d == nnodes, so a node >= nnodes still reaches every node). */
	for (unsigned d = 1; frame == FRAME_NONE && d <= hm->nnodes; d++)
		frame = pop_free(hm, (node + d) % hm->nnodes);
	if (frame == FRAME_NONE) {
		spin_unlock(&hm->lock);
		return 0;
	}
	struct host_page *p = &hm->frames[frame];
	p->origin = (uint8_t)origin;
	p->vm = vm;
	p->mappings = 0;
	p->gpa = gpa;
	hm->used_by_origin[origin]++;
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
