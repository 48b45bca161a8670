#include <string.h>
#include "host_pages.h"
#include "share/share.h"
#include "share/share_table.h"
#include "vdisk/host_blk.h"
#include "vdisk/vdisk.h"

#define KERNEL_MAX_PAGES 8192	/* a 32 MiB image */

static struct host_memory *host;
static bool enabled;
static struct share_table disk_table;
static struct share_table kernel_table;
static uint32_t kernel_frames[MAX_MEM_NODES * KERNEL_MAX_PAGES];

uint64_t share_storage_bytes(uint64_t blocks, unsigned nnodes)
{
	return share_table_bytes(blocks, nnodes);
}

void share_init(struct host_memory *hm, uint32_t *storage, uint64_t blocks, unsigned nnodes,
		bool on)
{
	host = hm;
	enabled = on;
	share_table_init(&disk_table, storage, storage ? blocks : 0, nnodes);
	share_table_init(&kernel_table, kernel_frames, KERNEL_MAX_PAGES, nnodes);
}

bool share_enabled(void)
{
	return enabled;
}

/* Looks up, or fills: from another node's copy if there is one (a
 * replica), else with fill(). The table's lock is held throughout, so two
 * harts never fill the same entry twice. */
static uint64_t get_or_fill(struct share_table *t, uint64_t index, unsigned node,
			    enum page_origin origin,
			    bool (*fill)(void *arg, uint64_t index, uint64_t pa), void *arg)
{
	uint64_t pa;

	spin_lock(&t->lock);
	pa = share_table_get(t, index, node);
	if (pa) {
		t->hits++;
		spin_unlock(&t->lock);
		return pa;
	}
	pa = host_page_alloc(host, node, origin, HOST_PAGE_NO_VM, index);
	if (pa) {
		uint64_t other = share_table_any(t, index);
		if (other) {
			memcpy(pa_to_ptr(pa), pa_to_ptr(other), PAGE_SIZE);
			t->replicas++;
		} else if (!fill(arg, index, pa)) {
			host_page_free(host, pa);
			pa = 0;
		}
		if (pa)
			share_table_set(t, index, node, pa);
	}
	spin_unlock(&t->lock);
	return pa;
}

static bool fill_from_disk(void *arg, uint64_t block, uint64_t pa)
{
	struct vdisk *d = arg;

	d->host_read_bytes += PAGE_SIZE;
	return host_blk_read(d->base, block * PAGE_SIZE, pa, PAGE_SIZE);
}

uint64_t share_base_block(struct vdisk *d, uint64_t block, unsigned node)
{
	return get_or_fill(&disk_table, block, node, PAGE_SHARED_DISK, fill_from_disk, d);
}

struct image {
	uint64_t pa, bytes;
};

static bool fill_from_image(void *arg, uint64_t index, uint64_t pa)
{
	const struct image *img = arg;
	uint64_t off = index * PAGE_SIZE;
	uint64_t n = img->bytes - off < PAGE_SIZE ? img->bytes - off : PAGE_SIZE;

	memcpy(pa_to_ptr(pa), pa_to_ptr(img->pa + off), n);	/* the rest stays zero */
	return true;
}

uint64_t share_kernel_page(uint64_t index, unsigned node, uint64_t image_pa,
			   uint64_t image_bytes)
{
	struct image img = { image_pa, image_bytes };

	if (index >= KERNEL_MAX_PAGES || index * PAGE_SIZE >= image_bytes)
		return 0;
	return get_or_fill(&kernel_table, index, node, PAGE_SHARED_KERNEL, fill_from_image, &img);
}

void share_stats(struct share_stats *s)
{
	memset(s, 0, sizeof(*s));
	for (uint64_t i = 0; host && i < host->nframes; i++) {
		const struct host_page *p = &host->frames[i];
		if ((p->origin != PAGE_SHARED_DISK && p->origin != PAGE_SHARED_KERNEL) ||
		    !p->mappings)
			continue;
		s->host_pages_shared++;
		if (p->origin == PAGE_SHARED_DISK) {
			s->host_pages_shared_disk++;
			s->pages_saved_disk += p->mappings - 1;
		} else {
			s->pages_saved_kernel += p->mappings - 1;
		}
	}
	s->pages_replicated = disk_table.replicas + kernel_table.replicas;
	s->block_cache_hits = disk_table.hits;
}
