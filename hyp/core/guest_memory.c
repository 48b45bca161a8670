#include <string.h>
#include "core/guest_memory.h"
#include "core/vm.h"
#include "mem/swap.h"
#include "share/content_share.h"
#include "share/content_table.h"

/*
 * Where an unmapped page went (guest_memory.h, "page states"): kept in
 * its G-stage leaf slot as a marker (gstage.h), kind in bits 7:1, value
 * (a swap slot, a base-disk block) from bit 8 up.
 */
enum away {
	AWAY_NONE = 0,
	AWAY_SWAPPED,	/* its contents are in swap slot `value` */
	AWAY_BUSY,	/* IO on slot `value` in flight: wait */
	AWAY_DISK,	/* equal to base-disk block `value`: map it again */
};

static uint64_t away_marker(enum away kind, uint64_t value)
{
	return value << 8 | (uint64_t)kind << 1;
}

static enum away away_kind(uint64_t marker)
{
	return (enum away)((marker >> 1) & 0x7f);
}

static uint64_t away_value(uint64_t marker)
{
	return marker >> 8;
}

static struct guest_memory_pager pager;

void guest_memory_set_pager(const struct guest_memory_pager *p)
{
	pager = *p;
}

/* G-stage table pages are host pages owned by the VM, origin GSTAGE_TABLE. */
static uint64_t alloc_table_page(void *ctx)
{
	struct vm *vm = ctx;

	return host_page_alloc(vm->host, vm->home_node, PAGE_GSTAGE_TABLE, (uint16_t)vm->id, 0);
}

static void free_table_page(void *ctx, uint64_t pa)
{
	struct vm *vm = ctx;

	host_page_free(vm->host, pa);
}

/* The G-stage's remote fence: every vCPU of the VM (vm.c), then every
 * hypervisor access to guest pages that another hart had open - a device
 * delivering into this VM from a hart that runs no vCPU of it is not
 * reached by the fence, and may hold an address of the page being taken
 * (vm.h, vm_access_begin). */
static void remote_fence(void *ctx)
{
	vm_flush_gstage(ctx);
	vm_wait_for_accesses();
}

void guest_memory_init(struct vm *vm)
{
	memset(vm->gstage_root, 0, sizeof(vm->gstage_root));
	/* VMID 0 is left unused, so a stale hgatp of 0 never matches a VM. */
	gstage_init(&vm->gstage, vm->gstage_root, (uint16_t)(vm->id + 1),
		    alloc_table_page, free_table_page, remote_fence, vm);
	vm->pages_mapped = 0;
	vm->pages_local = 0;
	vm->pages_remote = 0;
	vm->pages_shared = 0;
}

bool guest_memory_contains(const struct vm *vm, uint64_t gpa, uint64_t len)
{
	uint64_t end = vm->ram_base + vm->ram_size;

	return gpa >= vm->ram_base && gpa <= end && len <= end - gpa;
}

static bool is_shared(const struct host_page *p)
{
	return p && (p->origin == PAGE_SHARED_DISK || p->origin == PAGE_SHARED_KERNEL ||
		     p->origin == PAGE_SHARED_NET || p->origin == PAGE_SHARED_ZERO ||
		     p->origin == PAGE_SHARED_CONTENT);
}

/* Drops one mapping (or pin) of page pa. A network-shared page belongs to
 * no cache: whoever drops its last mapping frees it. A merged page's last
 * mapping also takes it out of the content table (content_put). */
static void put_mapping(struct host_memory *hm, uint64_t pa)
{
	struct host_page *p = host_page_of(hm, pa);
	/* Read before the put: once the count is 0 the record may be reused
	 * (a disk page evicted and allocated again). While we hold a
	 * mapping, the origin cannot change under us. */
	enum page_origin origin = p ? (enum page_origin)p->origin : PAGE_FREE;

	if (origin == PAGE_SHARED_CONTENT)
		content_put(pa);
	else if (p && host_page_map_put(p) == 0 && origin == PAGE_SHARED_NET)
		host_page_free(hm, pa);
}

/* (vm, gpa) stops mapping page p (at pa): a merged page's reverse map
 * forgets it now, under vm->lock, even if the mapping count drops only
 * after the fence (drop_mapping_locked). */
static void forget_mapper_locked(struct vm *vm, const struct host_page *p, uint64_t pa,
				 uint64_t gpa)
{
	if (p && p->origin == PAGE_SHARED_CONTENT)
		content_rmap_remove(pa, (uint16_t)vm->id, gpa);
}

/* Counts a new mapping of page p in the VM's counters. */
static void count_mapped(struct vm *vm, const struct host_page *p)
{
	vm->pages_mapped++;
	if (p && p->node == vm->home_node)
		vm->pages_local++;
	else
		vm->pages_remote++;	/* home node full, or another node's copy */
	if (is_shared(p))
		vm->pages_shared++;
	if (p && p->origin == PAGE_SHARED_ZERO)
		vm->pages_zero++;
	if (p && p->origin == PAGE_SHARED_CONTENT)
		vm->pages_content_shared++;
}

/* The reverse of count_mapped (the VM's counters only: the page's own
 * mapping count is the caller's, see drop_mapping_locked). */
static void count_unmapped(struct vm *vm, const struct host_page *p)
{
	vm->pages_mapped--;
	if (p && p->node == vm->home_node)
		vm->pages_local--;
	else
		vm->pages_remote--;
	if (is_shared(p))
		vm->pages_shared--;
	if (p && p->origin == PAGE_SHARED_ZERO)
		vm->pages_zero--;
	if (p && p->origin == PAGE_SHARED_CONTENT)
		vm->pages_content_shared--;
}

/* Drops the mappings of the deferred shared pages whose change is fenced
 * by now (each entry has its own generation: a drop added during a fence
 * does not hold back the ones before it); under vm->lock. */
static void drain_drops_locked(struct vm *vm)
{
	struct deferred_drops *d = &vm->shared_drops;
	unsigned kept = 0;

	for (unsigned i = 0; i < d->count; i++) {
		if (gstage_fenced(&vm->gstage, d->drop[i].fence_gen))
			put_mapping(vm->host, d->drop[i].pa);
		else
			d->drop[kept++] = d->drop[i];
	}
	__atomic_store_n(&d->count, kept, __ATOMIC_RELAXED);
}

/*
 * Whether a change that unmaps a shared page can be made now: its drop
 * needs a place on the list (after the fenced ones are drained). If not,
 * the change waits for the next fence (TOUCH_RETRY); it is never made
 * without its drop, which would leave the page counted for ever (and
 * never evictable). Under vm->lock.
 */
static bool drop_room_locked(struct vm *vm, uint64_t pa)
{
	const struct host_page *p = host_page_of(vm->host, pa);

	if (!is_shared(p))
		return true;
	if (vm->shared_drops.count == DEFERRED_DROPS_MAX)
		drain_drops_locked(vm);
	if (vm->shared_drops.count < DEFERRED_DROPS_MAX)
		return true;
	vm->shared_drops_full++;
	return false;
}

/*
 * The VM stopped mapping page pa at a change numbered fence_gen; under
 * vm->lock, after drop_room_locked said yes. A private page's count
 * drops now (the page itself is freed only after the fence:
 * retired_pages). A shared page's count is what the block cache trusts
 * when it evicts (0: nobody maps it), and until the fence another vCPU of
 * this VM may still read it through a stale translation: its count drops
 * only after that fence (guest_memory_sync).
 */
static void drop_mapping_locked(struct vm *vm, uint64_t pa, uint64_t fence_gen)
{
	struct deferred_drops *d = &vm->shared_drops;
	struct host_page *p = host_page_of(vm->host, pa);

	if (!p)
		return;
	if (!is_shared(p) || !fence_gen) {
		put_mapping(vm->host, pa);
		return;
	}
	d->drop[d->count].pa = pa;
	d->drop[d->count].fence_gen = fence_gen;
	__atomic_store_n(&d->count, d->count + 1, __ATOMIC_RELAXED);
}

/*
 * First touch, under vm->lock: a zeroed private page (host_page_alloc
 * zeroes it; gstage_map publishes the entry after the zeroes) mapped at
 * page_gpa, which must be unmapped.
 */
static enum touch_result map_private_locked(struct vm *vm, uint64_t page_gpa, uint64_t *hpa)
{
	uint64_t page = host_page_alloc(vm->host, vm->home_node, PAGE_GUEST_PRIVATE,
					(uint16_t)vm->id, page_gpa);
	struct host_page *rec;

	if (!page)
		return TOUCH_NO_MEMORY;
	if (gstage_map(&vm->gstage, page_gpa, page, GSTAGE_RWX) != 0) {
		host_page_free(vm->host, page);
		return TOUCH_NO_MEMORY;	/* no page for a table */
	}
	rec = host_page_of(vm->host, page);
	rec->mappings = 1;
	count_mapped(vm, rec);
	*hpa = page;
	return TOUCH_OK;
}

/*
 * Copy-on-write, under vm->lock: page_gpa is mapped read-only to `old`;
 * gives the VM a private copy, writable, in its place. The other vCPUs
 * may still hold the read-only translation: the remap owes a fence.
 */
static enum touch_result break_cow_locked(struct vm *vm, uint64_t page_gpa, uint64_t old,
					  uint64_t *hpa)
{
	struct host_page *shared = host_page_of(vm->host, old), *rec;
	struct gstage_old was;
	uint64_t copy;

	if (!is_shared(shared)) {
		/* A private page that was only write-protected: give the
		 * permission back in place (an upgrade, no fence owed). */
		gstage_protect(&vm->gstage, page_gpa, GSTAGE_RWX);
		*hpa = old;
		return TOUCH_OK;
	}
	if (shared->origin == PAGE_SHARED_NET &&
	    __atomic_load_n(&shared->mappings, __ATOMIC_ACQUIRE) == 1) {
		/* The network shared it, and every other mapping has gone
		 * since: only this one is left (a new one is only ever made
		 * from a mapping, through guest_memory_pin_shared under the
		 * mapper's lock, which is ours). Take it back as private:
		 * no copy, and an upgrade owes no fence. */
		host_page_change_origin(vm->host, old, PAGE_GUEST_PRIVATE, (uint16_t)vm->id,
					page_gpa);
		gstage_protect(&vm->gstage, page_gpa, GSTAGE_RWX);
		vm->pages_shared--;
		vm->cow_kept++;
		*hpa = old;
		return TOUCH_OK;
	}
	if (shared->origin == PAGE_SHARED_CONTENT &&
	    content_take_back(old, (uint16_t)vm->id, page_gpa)) {
		/* A merged page whose other mappers all left: the same, in
		 * place (its table entry and reverse map go with it). */
		gstage_protect(&vm->gstage, page_gpa, GSTAGE_RWX);
		vm->pages_shared--;
		vm->pages_content_shared--;
		vm->content_cow_breaks++;
		*hpa = old;
		return TOUCH_OK;
	}
	if (!drop_room_locked(vm, old))
		return TOUCH_RETRY;
	copy = host_page_alloc(vm->host, vm->home_node, PAGE_GUEST_PRIVATE, (uint16_t)vm->id,
			       page_gpa);
	if (!copy)
		return TOUCH_NO_MEMORY;
	if (shared->origin != PAGE_SHARED_ZERO)	/* a new page is zeroed already */
		memcpy(pa_to_ptr(copy), pa_to_ptr(old), PAGE_SIZE);
	if (shared->origin == PAGE_SHARED_ZERO || shared->origin == PAGE_SHARED_CONTENT)
		vm->content_cow_breaks++;
	gstage_remap(&vm->gstage, page_gpa, copy, GSTAGE_RWX, &was);	/* the table exists */
	count_unmapped(vm, shared);
	forget_mapper_locked(vm, shared, old, page_gpa);
	drop_mapping_locked(vm, old, was.fence_gen);
	rec = host_page_of(vm->host, copy);
	rec->mappings = 1;
	count_mapped(vm, rec);
	vm->cow_breaks++;
	*hpa = copy;
	return TOUCH_OK;
}

/* Looks page_gpa up, mapping a private page on first touch; under
 * vm->lock. TOUCH_AWAY (*marker set) if the page is swapped, busy or
 * left to the disk: page_in, without the lock. */
#define TOUCH_AWAY ((enum touch_result)-1)
static enum touch_result touch_locked(struct vm *vm, uint64_t page_gpa, uint64_t *hpa,
				      unsigned *perms, uint64_t *marker)
{
	if (gstage_lookup(&vm->gstage, page_gpa, hpa, perms))
		return TOUCH_OK;
	*marker = gstage_marker(&vm->gstage, page_gpa);
	if (*marker)
		return TOUCH_AWAY;
	*perms = GSTAGE_RWX;
	return map_private_locked(vm, page_gpa, hpa);
}

/*
 * Brings a page that went away back, with no lock held (the IO sleeps):
 *  - SWAPPED: marked BUSY (so that nobody else reads or frees the slot),
 *    a fresh page read from the slot, mapped (a create: no fence), the
 *    slot freed;
 *  - DISK: the base block's shared page mapped again, read-only (the
 *    block cache may have to read it);
 *  - BUSY: someone else's IO; wait a little (acknowledging this hart's
 *    fences, vm_wait_for_page) and look again.
 * TOUCH_OK means "look again": the caller retries its lookup.
 */
static enum touch_result page_in(struct vm *vm, uint64_t page_gpa, uint64_t marker)
{
	uint64_t value = away_value(marker), page, now;
	struct gstage_old old;
	struct host_page *rec;

	switch (away_kind(marker)) {
	case AWAY_SWAPPED:
		spin_lock(&vm->lock);
		now = gstage_marker(&vm->gstage, page_gpa);
		if (now == marker)
			gstage_set_marker(&vm->gstage, page_gpa, away_marker(AWAY_BUSY, value), &old);
		spin_unlock(&vm->lock);
		if (now != marker)
			return TOUCH_OK;	/* changed meanwhile: look again */
		page = host_page_alloc(vm->host, vm->home_node, PAGE_GUEST_PRIVATE,
				       (uint16_t)vm->id, page_gpa);
		bool read = page && swap_read(&swap_space, value, page);
		spin_lock(&vm->lock);
		now = gstage_marker(&vm->gstage, page_gpa);
		if (now != away_marker(AWAY_BUSY, value)) {
			/* Released meanwhile (a reboot): the slot and page are ours. */
			spin_unlock(&vm->lock);
			swap_free(&swap_space, value);
			if (page)
				host_page_free(vm->host, page);
			return TOUCH_OK;
		}
		if (!read) {
			gstage_set_marker(&vm->gstage, page_gpa, marker, &old);
			spin_unlock(&vm->lock);
			if (page)
				host_page_free(vm->host, page);
			return page ? TOUCH_SWAP_FAILED : TOUCH_NO_MEMORY;
		}
		gstage_remap(&vm->gstage, page_gpa, page, GSTAGE_RWX, &old);	/* a create */
		rec = host_page_of(vm->host, page);
		rec->mappings = 1;
		count_mapped(vm, rec);
		vm->pages_swapped--;
		vm->swap_ins++;
		spin_unlock(&vm->lock);
		swap_free(&swap_space, value);
		return TOUCH_OK;
	case AWAY_DISK: {
		if (!pager.disk_page)
			return TOUCH_NO_MEMORY;	/* cannot happen: no disk, no DISK marker */
		uint64_t pa = pager.disk_page(value, vm->home_node, (uint16_t)vm->id);
		if (!pa)
			return TOUCH_NO_MEMORY;
		spin_lock(&vm->lock);
		if (gstage_marker(&vm->gstage, page_gpa) == marker &&
		    gstage_remap(&vm->gstage, page_gpa, pa, GSTAGE_RX, &old) == 0) {
			rec = host_page_of(vm->host, pa);
			host_page_map_get(rec);
			count_mapped(vm, rec);
			vm->pages_disk--;
			vm->disk_refaults++;
		}
		spin_unlock(&vm->lock);
		pager.disk_page_put(value, vm->home_node);	/* mapped: no longer pinned */
		return TOUCH_OK;
	}
	default:	/* AWAY_BUSY */
		vm_wait_for_page();
		return TOUCH_OK;
	}
}

/* No page could be had: the pager is asked for some (with no lock held),
 * and the caller retries if it found any. */
static bool reclaim_for(struct vm *vm)
{
	return pager.reclaim && pager.reclaim(vm, SWAP_CLUSTER) > 0;
}

#define RECLAIM_TRIES 16
/* A change that found the VM's deferred drops full waits for a fence
 * (drop_room_locked). A vCPU's fault returns to the guest, whose exit
 * ends with that fence; a device's or the loader's touch has no exit to
 * wait for, and fences itself, this many times at most. */
#define DROP_ROOM_SYNCS 2

/* The two touches: look up (mapping on first touch) and, for a write,
 * break sharing, all under one hold of the VM's lock, so a vCPU that
 * breaks the same page's sharing meanwhile cannot leave *hpa pointing at
 * the shared page. The access is opened before the lock is taken (a
 * change made after the lookup then sees it open) and stays open on
 * TOUCH_OK; every wait, fence or page-in happens with it closed. */
static enum touch_result touch(struct vm *vm, uint64_t gpa, uint64_t *hpa, bool for_write)
{
	uint64_t page_gpa = gpa & PAGE_MASK;
	unsigned perms;
	enum touch_result result;

	uint64_t marker = 0;
	unsigned reclaims = 0, syncs = 0;

	if (!guest_memory_contains(vm, page_gpa, PAGE_SIZE))
		return TOUCH_NOT_RAM;
	for (;;) {
		vm_access_begin();
		spin_lock(&vm->lock);
		result = touch_locked(vm, page_gpa, hpa, &perms, &marker);
		if (for_write && result == TOUCH_OK && !(perms & GSTAGE_WRITE))
			result = break_cow_locked(vm, page_gpa, *hpa, hpa);
		spin_unlock(&vm->lock);
		if (result != TOUCH_OK)
			vm_access_end();
		if (result == TOUCH_AWAY)
			result = page_in(vm, page_gpa, marker);
		else if (result == TOUCH_OK)
			return result;
		if (result == TOUCH_RETRY && syncs++ < DROP_ROOM_SYNCS) {
			guest_memory_sync(vm);	/* empties the fenced drops */
			continue;
		}
		if (result == TOUCH_NO_MEMORY && reclaims++ < RECLAIM_TRIES && reclaim_for(vm))
			continue;
		if ((result == TOUCH_NO_MEMORY || result == TOUCH_SWAP_FAILED) && pager.out_of_memory)
			pager.out_of_memory(vm, result);	/* the VM stops */
		if (result != TOUCH_OK)
			return result;
	}
}

enum touch_result guest_memory_touch(struct vm *vm, uint64_t gpa, uint64_t *hpa)
{
	return touch(vm, gpa, hpa, false);
}

enum touch_result guest_memory_touch_writable(struct vm *vm, uint64_t gpa, uint64_t *hpa)
{
	return touch(vm, gpa, hpa, true);
}

void guest_memory_touch_end(void)
{
	vm_access_end();
}

/*
 * Fault-around, best effort: every neighbour in the block that was never
 * touched (unmapped, no marker) gets a zeroed page, while pages are free.
 * The guest did not ask for these: a neighbour that is swapped or left to
 * the disk stays so until the guest touches it, and when memory runs out
 * the rest stay unmapped - no reclaim, no swap-in, never a stopped VM.
 */
static void fault_around(struct vm *vm, uint64_t block, uint64_t skip)
{
	uint64_t hpa;

	spin_lock(&vm->lock);
	for (uint64_t g = block; g < block + FAULT_AROUND_BYTES; g += PAGE_SIZE) {
		if (g == skip || !guest_memory_contains(vm, g, PAGE_SIZE) ||
		    gstage_lookup(&vm->gstage, g, NULL, NULL) || gstage_marker(&vm->gstage, g))
			continue;
		if (map_private_locked(vm, g, &hpa) != TOUCH_OK)
			break;
	}
	spin_unlock(&vm->lock);
}

enum touch_result guest_memory_fault(struct vm *vm, uint64_t gpa, bool store, bool *spurious)
{
	uint64_t page_gpa = gpa & PAGE_MASK, hpa;
	uint64_t block = gpa & ~(FAULT_AROUND_BYTES - 1);
	unsigned perms;
	bool was_mapped;
	enum touch_result result;

	*spurious = false;
	if (!guest_memory_contains(vm, page_gpa, PAGE_SIZE))
		return TOUCH_NOT_RAM;
	spin_lock(&vm->lock);
	was_mapped = gstage_lookup(&vm->gstage, page_gpa, &hpa, &perms);
	uint64_t marker = was_mapped ? 0 : gstage_marker(&vm->gstage, page_gpa);
	if (marker) {
		/* Swapped, busy or left to the disk: brought back without the
		 * lock, and the guest retries the access (a store to a page
		 * mapped again read-only faults once more, and copies). */
		spin_unlock(&vm->lock);
		if (away_kind(marker) == AWAY_BUSY) {
			vm_wait_for_page();
			return TOUCH_RETRY;
		}
		result = page_in(vm, page_gpa, marker);
		if (result == TOUCH_NO_MEMORY && reclaim_for(vm))
			return TOUCH_RETRY;
		return result;
	}
	if (!was_mapped) {
		result = map_private_locked(vm, page_gpa, &hpa);
	} else if (store && !(perms & GSTAGE_WRITE)) {
		result = break_cow_locked(vm, page_gpa, hpa, &hpa);
	} else {
		/* Mapped as the access needs: another vCPU got here first, or
		 * this hart holds a stale entry. Either way, fence locally. */
		*spurious = true;
		vm->spurious_faults++;
		result = TOUCH_OK;
	}
	spin_unlock(&vm->lock);
	if (result == TOUCH_NO_MEMORY && reclaim_for(vm))
		return TOUCH_RETRY;	/* the guest faults again, and finds a page */
	if (result != TOUCH_OK || was_mapped)
		return result;
	fault_around(vm, block, page_gpa);
	return result;
}

/* Copies len bytes between hypervisor memory and guest RAM at gpa, page
 * by page; to_guest selects the direction. */
static bool guest_copy(struct vm *vm, uint64_t gpa, void *buf, size_t len, bool to_guest)
{
	unsigned char *p = buf;

	if (!guest_memory_contains(vm, gpa, len))
		return false;
	while (len) {
		uint64_t hpa;
		size_t offset = gpa & ~PAGE_MASK;
		size_t chunk = PAGE_SIZE - offset;
		if (chunk > len)
			chunk = len;
		if ((to_guest ? guest_memory_touch_writable(vm, gpa, &hpa)
			      : guest_memory_touch(vm, gpa, &hpa)) != TOUCH_OK)
			return false;
		if (to_guest)
			memcpy((char *)pa_to_ptr(hpa) + offset, p, chunk);
		else
			memcpy(p, (char *)pa_to_ptr(hpa) + offset, chunk);
		guest_memory_touch_end();
		p += chunk;
		gpa += chunk;
		len -= chunk;
	}
	return true;
}

bool guest_memory_is_mapped(struct vm *vm, uint64_t gpa)
{
	bool mapped;

	spin_lock(&vm->lock);
	mapped = gstage_lookup(&vm->gstage, gpa & PAGE_MASK, NULL, NULL);
	spin_unlock(&vm->lock);
	return mapped;
}

/*
 * The page whose slot held `marker` was given new contents whole (a DMA
 * read, a received page) or given back by the guest (the balloon): what
 * the marker kept is not wanted any more. A swap slot is freed unread -
 * reading it back only to overwrite or drop it is the stale read and the
 * false read of double paging (docs/overcommit.md). Under vm->lock.
 */
static void forget_away_locked(struct vm *vm, uint64_t marker, bool overwritten)
{
	switch (away_kind(marker)) {
	case AWAY_SWAPPED:
		swap_free(&swap_space, away_value(marker));
		vm->pages_swapped--;
		if (overwritten)
			vm->stale_reads_avoided++;
		else
			vm->swap_discards++;
		break;
	case AWAY_DISK:
		vm->pages_disk--;
		break;
	default:
		break;
	}
}

bool guest_memory_map_shared(struct vm *vm, uint64_t gpa, uint64_t shared_pa,
			     struct retired_pages *retired)
{
	struct host_page *s = host_page_of(vm->host, shared_pa), *p;
	struct gstage_old old;
	uint64_t hpa;
	unsigned syncs = 0;

	if ((gpa & ~PAGE_MASK) || !guest_memory_contains(vm, gpa, PAGE_SIZE) || !s ||
	    retired_full(retired))
		return false;
again:
	spin_lock(&vm->lock);
	uint64_t marker = gstage_marker(&vm->gstage, gpa);
	while (away_kind(marker) == AWAY_BUSY) {
		spin_unlock(&vm->lock);	/* IO on the page: wait for it */
		vm_wait_for_page();
		spin_lock(&vm->lock);
		marker = gstage_marker(&vm->gstage, gpa);
	}
	if (gstage_lookup(&vm->gstage, gpa, &hpa, NULL)) {
		if (hpa == shared_pa) {
			spin_unlock(&vm->lock);
			return true;	/* already this page */
		}
		if (!drop_room_locked(vm, hpa)) {
			spin_unlock(&vm->lock);
			if (syncs++ == DROP_ROOM_SYNCS)
				return false;
			guest_memory_sync(vm);	/* empties the fenced drops */
			goto again;		/* and looks again: the lock was dropped */
		}
	}
	if (s->origin == PAGE_SHARED_CONTENT && !content_rmap_add(shared_pa, (uint16_t)vm->id, gpa)) {
		spin_unlock(&vm->lock);
		return false;	/* no reverse-map entry; nothing changed */
	}
	if (gstage_remap(&vm->gstage, gpa, shared_pa, GSTAGE_RX, &old) != 0) {
		if (s->origin == PAGE_SHARED_CONTENT)
			content_rmap_remove(shared_pa, (uint16_t)vm->id, gpa);
		spin_unlock(&vm->lock);
		return false;	/* no page for a table; nothing changed */
	}
	if (old.valid) {
		p = host_page_of(vm->host, old.hpa);
		count_unmapped(vm, p);
		forget_mapper_locked(vm, p, old.hpa, gpa);
		drop_mapping_locked(vm, old.hpa, old.fence_gen);
		if (!is_shared(p))
			retired->pa[retired->count++] = old.hpa;	/* freed after the fence */
		if (old.fence_gen > retired->fence_gen)
			retired->fence_gen = old.fence_gen;
	}
	host_page_map_get(s);
	count_mapped(vm, s);
	forget_away_locked(vm, marker, true);
	spin_unlock(&vm->lock);
	return true;
}

uint64_t guest_memory_pin_shared(struct vm *vm, uint64_t gpa)
{
	uint64_t hpa = 0;
	unsigned perms;
	struct host_page *p;

	if ((gpa & ~PAGE_MASK) || !guest_memory_contains(vm, gpa, PAGE_SIZE))
		return 0;
	spin_lock(&vm->lock);
	if (!gstage_lookup(&vm->gstage, gpa, &hpa, &perms) || !(p = host_page_of(vm->host, hpa))) {
		spin_unlock(&vm->lock);
		return 0;
	}
	if (p->origin == PAGE_GUEST_PRIVATE) {
		/* Read-only from now on in this VM too; its next write copies
		 * (or takes the page back, if no one else maps it then). */
		host_page_change_origin(vm->host, hpa, PAGE_SHARED_NET, p->vm, 0);
		gstage_protect(&vm->gstage, gpa, perms & ~(unsigned)GSTAGE_WRITE);
		vm->pages_shared++;
	} else if (!is_shared(p)) {
		spin_unlock(&vm->lock);
		return 0;
	}
	host_page_map_get(p);	/* the pin */
	spin_unlock(&vm->lock);
	return hpa;
}

void guest_memory_unpin(struct vm *vm, uint64_t pa)
{
	put_mapping(vm->host, pa);
}

void guest_memory_sync(struct vm *vm)
{
	gstage_sync(&vm->gstage);
	if (__atomic_load_n(&vm->shared_drops.count, __ATOMIC_RELAXED)) {
		spin_lock(&vm->lock);
		drain_drops_locked(vm);
		spin_unlock(&vm->lock);
	}
}

void guest_memory_free_retired(struct vm *vm, struct retired_pages *r)
{
	if (!r->count)
		return;
	guest_memory_sync(vm);
	/* The rule, checked: a retired page goes back only after its fence. */
	if (!gstage_fenced(&vm->gstage, r->fence_gen))
		return;	/* cannot happen after a sync; leak rather than reuse */
	for (unsigned i = 0; i < r->count; i++)
		host_page_free(vm->host, r->pa[i]);
	retired_init(r);
}

bool guest_copy_to(struct vm *vm, uint64_t gpa, const void *src, size_t len)
{
	return guest_copy(vm, gpa, (void *)src, len, true);
}

bool guest_copy_from(struct vm *vm, void *dst, uint64_t gpa, size_t len)
{
	return guest_copy(vm, gpa, dst, len, false);
}

static void release_page(void *arg, uint64_t gpa, uint64_t hpa, unsigned perms)
{
	struct vm *vm = arg;
	struct host_page *p = host_page_of(vm->host, hpa);

	(void)perms;
	bool shared = is_shared(p);

	count_unmapped(vm, p);
	forget_mapper_locked(vm, p, hpa, gpa);
	/* The VM does not run: nothing to wait for. Shared pages stay (other
	 * VMs' or cached) unless this was a network-shared page's last mapping. */
	put_mapping(vm->host, hpa);
	if (!shared)
		host_page_free(vm->host, hpa);
}

/* A swapped page's slot is freed; a BUSY one is left to the hart whose
 * IO it is (it sees the marker gone and frees slot and page itself). */
static void release_marker(void *arg, uint64_t gpa, uint64_t marker)
{
	(void)arg;
	(void)gpa;
	if (away_kind(marker) == AWAY_SWAPPED)
		swap_free(&swap_space, away_value(marker));
}

void guest_memory_release(struct vm *vm)
{
	struct deferred_drops *d = &vm->shared_drops;

	spin_lock(&vm->lock);
	/* No vCPU runs, and each flushes the VMID before it runs again. */
	for (unsigned i = 0; i < d->count; i++)
		put_mapping(vm->host, d->drop[i].pa);
	d->count = 0;
	gstage_for_each(&vm->gstage, release_page, vm);
	gstage_for_each_marker(&vm->gstage, release_marker, vm);
	gstage_clear(&vm->gstage);
	vm->pages_swapped = 0;
	vm->pages_disk = 0;
	spin_unlock(&vm->lock);
}

/* --- Content-based sharing: the steps of a merge (content_scan.c) ----- */

/* True if gpa maps hpa, a private page of this VM (any permissions, in
 * *perms); under vm->lock. Anything else - unmapped, another page, a
 * page shared meanwhile - means the guest or a device changed it. */
static bool private_at_locked(struct vm *vm, uint64_t gpa, uint64_t hpa, unsigned *perms)
{
	uint64_t now;
	const struct host_page *p;

	return gstage_lookup(&vm->gstage, gpa, &now, perms) && now == hpa &&
	       (p = host_page_of(vm->host, hpa)) && p->origin == PAGE_GUEST_PRIVATE &&
	       p->vm == vm->id && p->gpa == gpa;
}

unsigned guest_memory_scan(struct vm *vm, uint64_t *cursor, struct scan_item *items,
			   unsigned max, unsigned lookups)
{
	unsigned n = 0;
	uint64_t end = vm->ram_base + vm->ram_size, gpa = *cursor;

	if (gpa < vm->ram_base || gpa >= end)
		gpa = vm->ram_base;
	spin_lock(&vm->lock);
	for (; lookups-- && n < max; gpa += PAGE_SIZE) {
		uint64_t hpa;
		unsigned perms;
		struct host_page *p;
		if (gpa >= end)
			gpa = vm->ram_base;
		if (!gstage_lookup(&vm->gstage, gpa, &hpa, &perms) || !(p = host_page_of(vm->host, hpa)))
			continue;
		if (p->origin == PAGE_GUEST_PRIVATE) {
			items[n++] = (struct scan_item){ .gpa = gpa, .hpa = hpa, .merged = false };
		} else if (p->origin == PAGE_SHARED_CONTENT &&
			   content_rmap_first(hpa, (uint16_t)vm->id, gpa)) {
			/* Audited from its newest mapper, once a pass; pinned so
			 * that it cannot go while the scanner reads it. */
			host_page_map_get(p);
			items[n++] = (struct scan_item){ .gpa = gpa, .hpa = hpa, .merged = true };
		}
	}
	spin_unlock(&vm->lock);
	*cursor = gpa;
	return n;
}

bool guest_memory_write_protect(struct vm *vm, uint64_t gpa, uint64_t hpa)
{
	unsigned perms;
	bool ok;

	spin_lock(&vm->lock);
	ok = private_at_locked(vm, gpa, hpa, &perms);
	if (ok && (perms & GSTAGE_WRITE))
		gstage_protect(&vm->gstage, gpa, perms & ~(unsigned)GSTAGE_WRITE);
	spin_unlock(&vm->lock);
	return ok;
}

void guest_memory_unprotect(struct vm *vm, uint64_t gpa, uint64_t hpa)
{
	unsigned perms;

	spin_lock(&vm->lock);
	/* An upgrade: owes no fence (the guest's next store may fault once,
	 * spuriously, on a stale read-only entry). */
	if (private_at_locked(vm, gpa, hpa, &perms) && !(perms & GSTAGE_WRITE))
		gstage_protect(&vm->gstage, gpa, perms | GSTAGE_WRITE);
	spin_unlock(&vm->lock);
}

bool guest_memory_promote(struct vm *vm, uint64_t gpa, uint64_t hpa, uint64_t hash)
{
	unsigned perms;
	bool ok = false;

	spin_lock(&vm->lock);
	/* Read-only and fenced: its bytes cannot change while we look. */
	if (private_at_locked(vm, gpa, hpa, &perms) && !(perms & GSTAGE_WRITE) &&
	    page_hash(pa_to_ptr(hpa)) == hash && !content_page_is_page_table(pa_to_ptr(hpa)) &&
	    content_promote(host_page_of(vm->host, hpa)->node, hash, hpa, (uint16_t)vm->id, gpa)) {
		vm->pages_shared++;
		vm->pages_content_shared++;
		ok = true;
	}
	spin_unlock(&vm->lock);
	return ok;
}

enum merge_result guest_memory_merge(struct vm *vm, uint64_t gpa, uint64_t hpa, uint64_t target,
				     struct retired_pages *retired)
{
	struct host_page *t = host_page_of(vm->host, target), *p = host_page_of(vm->host, hpa);
	bool content = t->origin == PAGE_SHARED_CONTENT;
	struct gstage_old old;
	unsigned perms;
	enum merge_result r = MERGE_DONE;

	spin_lock(&vm->lock);
	if (!private_at_locked(vm, gpa, hpa, &perms) || (perms & GSTAGE_WRITE)) {
		r = MERGE_CHANGED;	/* written (its fault gave write back), or gone */
	} else if (memcmp(pa_to_ptr(hpa), pa_to_ptr(target), PAGE_SIZE) != 0) {
		r = MERGE_DIFFERENT;	/* a hash match is never enough */
	} else if (retired_full(retired) ||
		   (content && !content_rmap_add(target, (uint16_t)vm->id, gpa))) {
		r = MERGE_NO_ROOM;
	}
	if (r != MERGE_DONE) {
		if (r != MERGE_CHANGED)
			gstage_protect(&vm->gstage, gpa, perms | GSTAGE_WRITE);
		spin_unlock(&vm->lock);
		return r;
	}
	host_page_map_get(t);
	gstage_remap(&vm->gstage, gpa, target, GSTAGE_RX, &old);	/* the leaf exists */
	count_unmapped(vm, p);
	drop_mapping_locked(vm, hpa, old.fence_gen);
	retired->pa[retired->count++] = hpa;	/* freed after the fence */
	if (old.fence_gen > retired->fence_gen)
		retired->fence_gen = old.fence_gen;
	count_mapped(vm, t);
	if (content)
		vm->content_merges++;
	else
		vm->zero_merges++;
	spin_unlock(&vm->lock);
	return r;
}

/* --- The balloon and free page reporting (hyp/balloon/) --------------- */

enum discard_result guest_memory_discard(struct vm *vm, uint64_t gpa, struct retired_pages *retired)
{
	uint64_t hpa, gen;
	struct host_page *p;
	enum discard_result r = DISCARD_DONE;

	if ((gpa & ~PAGE_MASK) || !guest_memory_contains(vm, gpa, PAGE_SIZE))
		return DISCARD_NOT_RAM;
	spin_lock(&vm->lock);
	uint64_t marker = gstage_marker(&vm->gstage, gpa);
	while (away_kind(marker) == AWAY_BUSY) {
		spin_unlock(&vm->lock);	/* IO on the page: wait for it */
		vm_wait_for_page();
		spin_lock(&vm->lock);
		marker = gstage_marker(&vm->gstage, gpa);
	}
	if (marker) {
		/* Swapped or left to the disk: nothing mapped, nothing to
		 * fence; the slot goes unread, and the next touch is a first
		 * touch. */
		struct gstage_old old;
		gstage_set_marker(&vm->gstage, gpa, 0, &old);
		forget_away_locked(vm, marker, false);
	} else if (!gstage_lookup(&vm->gstage, gpa, &hpa, NULL)) {
		r = DISCARD_UNMAPPED;
	} else if (retired_full(retired) || !drop_room_locked(vm, hpa)) {
		r = DISCARD_RETRY;
	} else {
		p = host_page_of(vm->host, hpa);
		bool shared = is_shared(p);
		gstage_unmap(&vm->gstage, gpa, &hpa);
		gen = gstage_changed(&vm->gstage);	/* the unmap's: it owes a fence */
		count_unmapped(vm, p);
		forget_mapper_locked(vm, p, hpa, gpa);
		drop_mapping_locked(vm, hpa, gen);
		if (!shared)
			retired->pa[retired->count++] = hpa;	/* freed after the fence */
		if (gen > retired->fence_gen)
			retired->fence_gen = gen;
	}
	spin_unlock(&vm->lock);
	return r;
}

/* --- The pager's steps (core/pager.c) -------------------------------- */

unsigned guest_memory_pick_victims(struct vm *vm, bool clock, uint64_t start,
				   struct pager_victim *victims, unsigned max,
				   unsigned lookups, unsigned *accessed_cleared)
{
	uint64_t end = vm->ram_base + vm->ram_size, gpa = clock ? vm->pager_hand : start;
	unsigned n = 0;

	*accessed_cleared = 0;
	if (gpa < vm->ram_base || gpa >= end)
		gpa = vm->ram_base;
	/* One turn at most: a page's cleared A bit counts only after a fence,
	 * which the caller takes between picks (guest_memory.h). */
	if (lookups > vm->ram_size >> PAGE_SHIFT)
		lookups = (unsigned)(vm->ram_size >> PAGE_SHIFT);
	spin_lock(&vm->lock);
	for (; lookups-- && n < max; gpa += PAGE_SIZE) {
		uint64_t hpa;
		unsigned perms;
		struct host_page *p;
		if (gpa >= end)
			gpa = vm->ram_base;
		if (!gstage_lookup(&vm->gstage, gpa, &hpa, &perms) ||
		    !(p = host_page_of(vm->host, hpa)))
			continue;
		/* The clock: a page used since the hand last passed gets a
		 * second chance (its A bit cleared); ESX's random policy
		 * takes what it finds. */
		if (clock && gstage_test_clear_accessed(&vm->gstage, gpa)) {
			working_set_note_cleared(vm, gpa);
			(*accessed_cleared)++;
			continue;
		}
		if (p->origin == PAGE_GUEST_PRIVATE && p->vm == vm->id && p->gpa == gpa &&
		    !vm_device_uses_page(vm, gpa)) {
			victims[n++] = (struct pager_victim){ .gpa = gpa, .hpa = hpa };
		} else if (p->origin == PAGE_SHARED_DISK && pager.disk_page &&
			   drop_room_locked(vm, hpa)) {
			/* A clean copy of a base-disk block: dropped with no IO,
			 * read again from the block cache or the disk on its next
			 * touch (VSwapper's "silent write" never happens). */
			struct gstage_old old;
			uint64_t block = p->block;
			gstage_set_marker(&vm->gstage, gpa, away_marker(AWAY_DISK, block), &old);
			count_unmapped(vm, p);
			drop_mapping_locked(vm, hpa, old.fence_gen);
			vm->pages_disk++;
			vm->disk_drops++;
		}
	}
	spin_unlock(&vm->lock);
	if (clock)
		vm->pager_hand = gpa;
	return n;
}

bool guest_memory_swap_begin(struct vm *vm, uint64_t gpa, uint64_t hpa, uint64_t slot)
{
	unsigned perms;
	struct gstage_old old;
	bool ok;

	spin_lock(&vm->lock);
	ok = private_at_locked(vm, gpa, hpa, &perms);
	if (ok) {
		gstage_set_marker(&vm->gstage, gpa, away_marker(AWAY_BUSY, slot), &old);
		count_unmapped(vm, host_page_of(vm->host, hpa));
		host_page_of(vm->host, hpa)->mappings = 0;
	}
	spin_unlock(&vm->lock);
	return ok;
}

enum swap_end guest_memory_swap_end(struct vm *vm, uint64_t gpa, uint64_t hpa, uint64_t slot,
				    bool written)
{
	struct gstage_old old;
	struct host_page *rec = host_page_of(vm->host, hpa);
	uint64_t zero = written ? 0 : content_zero_page(rec->node);
	enum swap_end r;

	spin_lock(&vm->lock);
	if (gstage_marker(&vm->gstage, gpa) != away_marker(AWAY_BUSY, slot)) {
		r = SWAP_END_RELEASED;	/* the VM was released meanwhile */
	} else if (written) {
		gstage_set_marker(&vm->gstage, gpa, away_marker(AWAY_SWAPPED, slot), &old);
		vm->pages_swapped++;
		vm->swap_outs++;
		r = SWAP_END_SWAPPED;
	} else if (zero && content_page_is_zero(pa_to_ptr(hpa)) &&
		   gstage_remap(&vm->gstage, gpa, zero, GSTAGE_RX, &old) == 0) {
		/* Share before swap: a zero victim needs no slot. */
		host_page_map_get(host_page_of(vm->host, zero));
		count_mapped(vm, host_page_of(vm->host, zero));
		vm->pager_zero++;
		r = SWAP_END_SHARED;
	} else {
		/* Not written (an IO error, or no slot): mapped back as it was,
		 * a create, no fence. */
		gstage_remap(&vm->gstage, gpa, hpa, GSTAGE_RWX, &old);
		rec->mappings = 1;
		count_mapped(vm, rec);
		spin_unlock(&vm->lock);
		return SWAP_END_KEPT;
	}
	spin_unlock(&vm->lock);
	/* Unmapped and fenced before the write (the caller's sync): free. */
	host_page_free(vm->host, hpa);
	return r;
}

bool guest_memory_swapped_slot(struct vm *vm, uint64_t gpa, uint64_t *slot)
{
	uint64_t marker;
	struct gstage_old old;
	bool swapped;

	spin_lock(&vm->lock);
	marker = gstage_marker(&vm->gstage, gpa & PAGE_MASK);
	swapped = away_kind(marker) == AWAY_SWAPPED;
	if (swapped) {
		*slot = away_value(marker);
		gstage_set_marker(&vm->gstage, gpa & PAGE_MASK,
				  away_marker(AWAY_BUSY, *slot), &old);
	}
	spin_unlock(&vm->lock);
	return swapped;
}

void guest_memory_swapped_done(struct vm *vm, uint64_t gpa, uint64_t slot)
{
	struct gstage_old old;
	bool released;

	spin_lock(&vm->lock);
	released = gstage_marker(&vm->gstage, gpa & PAGE_MASK) != away_marker(AWAY_BUSY, slot);
	if (!released)
		gstage_set_marker(&vm->gstage, gpa & PAGE_MASK,
				  away_marker(AWAY_SWAPPED, slot), &old);
	spin_unlock(&vm->lock);
	if (released)
		swap_free(&swap_space, slot);
}

bool guest_memory_drop_swapped(struct vm *vm, uint64_t gpa)
{
	uint64_t marker;
	struct gstage_old old;
	bool dropped;

	spin_lock(&vm->lock);
	marker = gstage_marker(&vm->gstage, gpa & PAGE_MASK);
	dropped = away_kind(marker) == AWAY_SWAPPED;
	if (dropped) {
		gstage_set_marker(&vm->gstage, gpa & PAGE_MASK, 0, &old);
		forget_away_locked(vm, marker, true);
	}
	spin_unlock(&vm->lock);
	return dropped;
}

bool guest_memory_is_swapped(struct vm *vm, uint64_t gpa)
{
	uint64_t marker;

	spin_lock(&vm->lock);
	marker = gstage_marker(&vm->gstage, gpa & PAGE_MASK);
	spin_unlock(&vm->lock);
	return away_kind(marker) == AWAY_SWAPPED || away_kind(marker) == AWAY_BUSY;
}
