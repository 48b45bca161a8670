#include <string.h>
#include "arch/csr.h"
#include "host/hart.h"
#include "lib/counters.h"
#include "mem/host_pages.h"
#include "share/share.h"
#include "share/share_table.h"
#include "host/virtio_blk.h"

#define KERNEL_MAX_PAGES 8192	/* a 32 MiB image */
#define BUSY_WAIT_TICKS 200	/* 20 us at 10 MHz: a disk read takes longer */
#define EVICT_BATCH 64		/* pages freed per eviction pass at most */
#define EVICT_SCAN_CHUNK 4096	/* entries looked at per hold of the table's lock */

static struct host_memory *host;
static bool enabled;
static struct share_table disk_table;
static struct share_table kernel_table;
static struct share_entry kernel_entries[MAX_MEM_NODES * KERNEL_MAX_PAGES];

uint64_t share_storage_bytes(uint64_t blocks, unsigned nnodes)
{
	return share_table_bytes(blocks, nnodes);
}

static uint64_t reclaim_cache(void *ctx, uint64_t want, uint16_t only_of);

void share_init(struct host_memory *hm, void *storage, uint64_t blocks, unsigned nnodes,
		bool on)
{
	host = hm;
	enabled = on;
	share_table_init(&disk_table, storage, storage ? blocks : 0, nnodes);
	share_table_init(&kernel_table, kernel_entries, KERNEL_MAX_PAGES, nnodes);
	/* The block cache gives pages back when an allocation would fail
	 * (the kernel image's pages are never evicted). */
	host_pages_set_reclaim(hm, reclaim_cache, NULL);
}

bool share_enabled(void)
{
	return enabled;
}

static uint64_t fill_waits;	/* lookups that waited for another hart's fill */

/*
 * Sleeps a little while another hart fills an entry (its disk read takes
 * a while). hart_pause does not sleep while an interrupt is pending, and
 * this slice's timer may already have fired during this exit: it is taken
 * here as host_interrupt() takes it (the slice ends after this exit), so
 * the wait is a WFI, not a spin that keeps a host CPU from QEMU's thread
 * that completes the filler's disk read.
 */
static void wait_for_fill(void)
{
	if (csr_read(CSR_SIP) & SIP_STIP) {
		hart_set_timer(UINT64_MAX);	/* clears sip.STIP */
		this_hart()->timer_fired = true;
	}
	hart_pause(BUSY_WAIT_TICKS);
}

/*
 * Looks up, or fills: from another node's copy if there is one (a
 * replica), else with fill(). No lock is held while the page is filled
 * (a disk read is long): the entry is FILLING meanwhile, and other harts
 * that want it sleep a little and look again (share_table.h). The page
 * returned is pinned; the caller unpins it when it has mapped or copied it.
 * The new page is charged to VM `charge` (the one whose read needed it).
 */
static uint64_t get_or_fill(struct share_table *t, uint64_t index, unsigned node,
			    enum page_origin origin, uint16_t charge,
			    bool (*fill)(void *arg, uint64_t index, uint64_t pa), void *arg)
{
	struct share_claim claim;
	enum share_lookup found;

	for (bool waited = false;; waited = true) {
		spin_lock(&t->lock);
		found = share_table_lookup(t, index, node, &claim);
		spin_unlock(&t->lock);
		if (found != SHARE_BUSY)
			break;
		if (!waited)
			__atomic_fetch_add(&fill_waits, 1, __ATOMIC_RELAXED);
		wait_for_fill();
	}
	if (found == SHARE_HIT)
		return claim.pa;
	if (found == SHARE_INVALID)
		return 0;
	/* SHARE_MUST_FILL: ours alone. The allocation may evict (the reclaim
	 * hook takes t->lock: we do not hold it). */
	uint64_t pa = host_page_alloc(host, node, origin, charge, index);
	if (pa && claim.source) {
		memcpy(pa_to_ptr(pa), pa_to_ptr(claim.source), PAGE_SIZE);
	} else if (pa && !fill(arg, index, pa)) {
		host_page_free(host, pa);
		pa = 0;
	}
	spin_lock(&t->lock);
	share_table_fill_done(t, &claim, pa);
	spin_unlock(&t->lock);
	return pa;
}

struct disk_fill {
	struct host_blk *base;
	uint64_t *read_bytes;
};

static bool fill_from_disk(void *arg, uint64_t block, uint64_t pa)
{
	struct disk_fill *f = arg;

	*f->read_bytes += PAGE_SIZE;
	return host_blk_read(f->base, block * PAGE_SIZE, pa, PAGE_SIZE);
}

uint64_t share_base_block(struct host_blk *base, uint64_t *read_bytes, uint64_t block,
			  unsigned node, uint16_t vm)
{
	struct disk_fill f = { base, read_bytes };

	return get_or_fill(&disk_table, block, node, PAGE_SHARED_DISK, vm, fill_from_disk, &f);
}

void share_put_base_block(uint64_t block, unsigned node)
{
	spin_lock(&disk_table.lock);
	share_table_unpin(&disk_table, block, node);
	spin_unlock(&disk_table.lock);
}

/* No VM maps the page. `mappings` is changed under each VM's own lock, so
 * it is read atomically; it can only grow again through a lookup, which
 * takes the table's lock that the caller holds. */
static bool page_unmapped(void *ctx, uint64_t pa)
{
	struct host_page *p = host_page_of(host, pa);
	const uint16_t *only_of = ctx;

	if (!p || (*only_of != HOST_PAGE_NO_VM && p->vm != *only_of))
		return false;	/* charged to another VM: not ours to take */
	return __atomic_load_n(&p->mappings, __ATOMIC_ACQUIRE) == 0;
}

/* The reclaim hook: evicts up to `want` cached base blocks that no VM
 * maps (only those charged to VM only_of, unless HOST_PAGE_NO_VM), looking at every entry at most twice (the second chance), a
 * chunk of entries per hold of the table's lock, so other harts' lookups
 * never wait long behind a scan. */
static uint64_t reclaim_cache(void *ctx, uint64_t want, uint16_t only_of)
{
	uint64_t out[EVICT_BATCH], freed = 0;
	uint64_t budget = 2 * disk_table.blocks * disk_table.nnodes;
	unsigned n = 0;

	(void)ctx;
	if (want > EVICT_BATCH)
		want = EVICT_BATCH;
	while (n < want && budget) {
		uint64_t chunk = budget < EVICT_SCAN_CHUNK ? budget : EVICT_SCAN_CHUNK;
		spin_lock(&disk_table.lock);
		n += share_table_evict(&disk_table, page_unmapped, &only_of, out + n,
				       (unsigned)want - n, chunk);
		spin_unlock(&disk_table.lock);
		budget -= chunk;
	}
	/* Out of the table: nobody can get them now, so free them unlocked. */
	for (unsigned i = 0; i < n; i++)
		freed += host_page_free(host, out[i]);
	return freed;
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
	uint64_t pa = get_or_fill(&kernel_table, index, node, PAGE_SHARED_KERNEL, HOST_PAGE_NO_VM,
				  fill_from_image, &img);

	if (pa) {	/* never evicted: no pin needed */
		spin_lock(&kernel_table.lock);
		share_table_unpin(&kernel_table, index, node);
		spin_unlock(&kernel_table.lock);
	}
	return pa;
}

/* Totals for hvstat. */
struct share_stats {
	uint64_t host_pages_shared;	/* shared pages mapped by at least one VM */
	uint64_t host_pages_shared_disk;	/* ... of them, base-disk blocks */
	uint64_t pages_saved_disk;	/* sum of (mappings - 1) over base-disk pages */
	uint64_t pages_saved_kernel;	/* likewise over kernel-image pages */
	uint64_t pages_saved_net;	/* likewise over pages the network shared */
	uint64_t pages_replicated;	/* copies made for another node */
	uint64_t block_cache_hits;	/* base reads served without the disk */
	uint64_t block_cache_pages;	/* cached base blocks that no VM maps */
	uint64_t block_cache_evictions;	/* ... given back under memory pressure */
	uint64_t block_cache_busy_waits;	/* lookups that waited for another hart's fill */
};

static void share_stats(struct share_stats *s)
{
	memset(s, 0, sizeof(*s));
	for (uint64_t i = 0; host && i < host->nframes; i++) {
		const struct host_page *p = &host->frames[i];
		if (p->origin != PAGE_SHARED_DISK && p->origin != PAGE_SHARED_KERNEL &&
		    p->origin != PAGE_SHARED_NET)
			continue;
		if (!p->mappings) {
			s->block_cache_pages += p->origin == PAGE_SHARED_DISK;
			continue;
		}
		s->host_pages_shared++;
		if (p->origin == PAGE_SHARED_DISK) {
			s->host_pages_shared_disk++;
			s->pages_saved_disk += p->mappings - 1;
		} else if (p->origin == PAGE_SHARED_KERNEL) {
			s->pages_saved_kernel += p->mappings - 1;
		} else {
			s->pages_saved_net += p->mappings - 1;
		}
	}
	s->pages_replicated = disk_table.replicas + kernel_table.replicas;
	s->block_cache_hits = disk_table.hits;
	s->block_cache_evictions = disk_table.evictions;
	s->block_cache_busy_waits = __atomic_load_n(&fill_waits, __ATOMIC_RELAXED);
}

void share_counters(struct counters *c)
{
	struct share_stats s;

	share_stats(&s);
	counters_u64(c, "host_pages_shared", s.host_pages_shared);
	counters_u64(c, "host_pages_shared_disk", s.host_pages_shared_disk);
	counters_u64(c, "pages_saved_disk", s.pages_saved_disk);
	counters_u64(c, "pages_saved_kernel", s.pages_saved_kernel);
	counters_u64(c, "pages_saved_net", s.pages_saved_net);
	counters_u64(c, "pages_replicated", s.pages_replicated);
	counters_u64(c, "block_cache_hits", s.block_cache_hits);
	counters_u64(c, "block_cache_pages", s.block_cache_pages);
	counters_u64(c, "block_cache_evictions", s.block_cache_evictions);
	counters_u64(c, "block_cache_busy_waits", s.block_cache_busy_waits);
}
