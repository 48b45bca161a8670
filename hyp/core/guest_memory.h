/*
 * Guest-physical memory of a VM: RAM allocated on first touch, copy-on-
 * write of shared pages, and copies between the hypervisor and guest RAM
 * that check every address.
 *
 * Guest RAM is not allocated up front. The G-stage starts empty; the first
 * access to a page takes a guest-page fault and guest_memory_touch() maps
 * a freshly zeroed host page from the VM's home NUMA node. Every page
 * mapped for a guest goes through here, so the owner record is always
 * right. Pure code (G-stage, host_pages, and vm_flush_gstage as the remote
 * fence): unit-tested natively.
 */
#ifndef DISCV_GUEST_MEMORY_H
#define DISCV_GUEST_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

/* Prepares the VM's (empty) G-stage and memory accounting. */
void guest_memory_init(struct vm *vm);

/* True if [gpa, gpa + len) lies inside the VM's RAM (len may be 0). */
bool guest_memory_contains(const struct vm *vm, uint64_t gpa, uint64_t len);

enum touch_result {
	TOUCH_OK,		/* mapped (now or already); *hpa set */
	TOUCH_NOT_RAM,		/* gpa is not guest RAM */
	TOUCH_NO_MEMORY,	/* host memory exhausted */
	TOUCH_RETRY,		/* too many changes wait for a fence, or the page is
				 * in IO (the pager): retry after one */
	TOUCH_SWAP_FAILED,	/* the page is swapped and its slot could not be read */
};

/*
 * Hypervisor accesses to guest RAM (devices, SBI calls, the loader) get a
 * host address from the two functions below, which open an access on
 * this hart (on TOUCH_OK only), and use it for one load, store or copy
 * within that page; then guest_memory_touch_end closes it. In between the
 * hart takes no lock, waits for nothing and fences nothing. A page is
 * taken from a VM (merged, swapped out, remapped, freed) only after a
 * G-stage fence that every loaded vCPU of the VM has acknowledged and
 * that waited for every access open on another hart when it began (the
 * hart that writes into a VM's page may run no vCPU of that VM: a
 * network frame is delivered by its sender's hart). So no page is taken
 * under an access that holds its address (docs/concurrency.md, "Host
 * addresses handed out").
 */

/* Makes sure the page holding gpa is mapped, allocating a zeroed private
 * page on first touch. On TOUCH_OK, *hpa is the host address of gpa's
 * page (page-aligned), for reading. */
enum touch_result guest_memory_touch(struct vm *vm, uint64_t gpa, uint64_t *hpa);

/* Like guest_memory_touch, for a write by the hypervisor: a page mapped
 * read-only because it is shared gets its private copy first. The lookup,
 * the check and the copy happen under one hold of the VM's lock, so *hpa
 * is always a page that only this VM maps, writable. If a copy was made,
 * the VM owes a fence (guest_memory_sync) before the guest is told that
 * the written data is there. If the copy finds the VM's deferred drops
 * full, the touch fences the VM itself (there is no exit to wait for) and
 * tries again; TOUCH_RETRY only if they stay full. */
enum touch_result guest_memory_touch_writable(struct vm *vm, uint64_t gpa, uint64_t *hpa);

/* Closes the access that a touch's TOUCH_OK opened: the bytes are there. */
void guest_memory_touch_end(void);

/*
 * The guest-page fault path: resolves a fault at gpa for a store
 * (`store`) or a load/fetch. An unmapped page is mapped (first touch, with
 * the still-unmapped pages of its 64 KiB-aligned block: "fault-around":
 * each G-stage fault is an exit, and under QEMU an exit costs a full TLB
 * flush; Linux touches its memory densely, so mapping a block per fault
 * removes ~94 % of boot-time faults for ~1 % more mapped pages,
 * docs/performance.md); a store to a shared page copies it (copy-on-write,
 * which owes a fence; TOUCH_RETRY if the VM's deferred drops are full:
 * the exit's closing sync empties them, and the guest retries). *spurious is set when the mapping already allowed
 * the access: the faulting hart used a stale entry (an older invalid or
 * read-only one, which the privileged spec lets it keep until it fences,
 * 4.2.1) and must fence that address locally before retrying, or it can
 * fault for ever.
 */
#define FAULT_AROUND_BYTES (64UL * 1024)
enum touch_result guest_memory_fault(struct vm *vm, uint64_t gpa, bool store, bool *spurious);

/* True if the page holding gpa is mapped (with any permissions). */
bool guest_memory_is_mapped(struct vm *vm, uint64_t gpa);

/*
 * Pages unmapped from a VM that may be running, waiting for their fence
 * before they go back to the allocator (Linux's mmu_gather, in small).
 * A caller that unmaps or replaces mappings collects the old pages here
 * and hands them to guest_memory_free_retired when it holds no lock.
 */
#define RETIRED_MAX 32
struct retired_pages {
	uint64_t fence_gen;	/* the G-stage generation they wait for */
	unsigned count;
	uint64_t pa[RETIRED_MAX];
};

static inline void retired_init(struct retired_pages *r)
{
	r->fence_gen = 0;
	r->count = 0;
}

static inline bool retired_full(const struct retired_pages *r)
{
	return r->count == RETIRED_MAX;
}

/* Fences what the VM owes (guest_memory_sync), then frees the pages.
 * No lock may be held. */
void guest_memory_free_retired(struct vm *vm, struct retired_pages *r);

/*
 * Sharing (hyp/share/). Maps the shared host page shared_pa read-only
 * (and executable) at page-aligned gpa in place of whatever was there,
 * and counts the new mapping in its owner record. A private page it
 * replaced goes to *retired, which must have room (!retired_full); a
 * shared page it replaced waits on the VM's deferred drops (if those are
 * full, it fences the VM to empty them, acknowledging its own vCPU's
 * fences as every touch may, and looks again; false if they stay full). The
 * change owes a fence whenever something was mapped there before, a
 * shared page included: pay it (guest_memory_sync or _free_retired)
 * before telling the guest the new contents are there. False if gpa is
 * not RAM or a table page could not be had.
 */
bool guest_memory_map_shared(struct vm *vm, uint64_t gpa, uint64_t shared_pa,
			     struct retired_pages *retired);

/*
 * The network's remap (hyp/vnet/): pins the host page behind the VM's
 * page gpa so that another VM can map it (guest_memory_map_shared). A
 * private page becomes shared first (PAGE_SHARED_NET) and read-only in
 * this VM too; that change owes this VM a fence (guest_memory_sync)
 * before another VM may map the page, since until then a vCPU's stale
 * writable translation can still change it. A page that is shared
 * already (a base-disk block, a kernel page, a page received before)
 * needs nothing. The pin keeps the page from being freed (it counts as a
 * mapping) until guest_memory_unpin. 0 if gpa is not a mapped RAM page.
 */
uint64_t guest_memory_pin_shared(struct vm *vm, uint64_t gpa);
void guest_memory_unpin(struct vm *vm, uint64_t pa);

/*
 * Pays the VM's fence debt: returns once every G-stage change of the VM
 * made before the call is fenced on every hart (gstage_sync). No lock may
 * be held. Devices call it before they publish a completion; every exit
 * ends with it.
 */
void guest_memory_sync(struct vm *vm);

/* Copy between hypervisor memory and guest RAM, touching pages as needed.
 * Return false (having copied nothing) if the range is not all RAM, or
 * false part-way if host memory runs out. */
bool guest_copy_to(struct vm *vm, uint64_t gpa, const void *src, size_t len);
bool guest_copy_from(struct vm *vm, void *dst, uint64_t gpa, size_t len);

/*
 * Content-based sharing (core/content_scan.c drives these; docs/
 * overcommit.md tells the protocol). A merge of private page hpa at gpa
 * into `target` (a node's zero page or a merged page, pinned):
 *
 *   1. guest_memory_write_protect, then guest_memory_sync: from now on
 *      no vCPU and no device can change hpa (a guest store faults, and
 *      the fault gives write back in place: the merge then sees it);
 *   2. guest_memory_merge: under the VM's lock, checks that gpa still
 *      maps hpa read-only, compares every byte with target, and only
 *      then points gpa at target; hpa goes to *retired;
 *   3. guest_memory_free_retired: the fence, then hpa is freed.
 *
 * A page that matched another guest page's hint is made a merged page
 * first (guest_memory_promote, after step 1 in its own VM).
 */
struct scan_item {
	uint64_t gpa, hpa;
	bool merged;	/* a merged page to audit (pinned: content_put after), not a candidate */
};

/* Walks up to `lookups` guest pages from *cursor (wrapping), collecting
 * up to max items: private pages, and merged pages this VM is the newest
 * mapper of. *cursor moves on. */
unsigned guest_memory_scan(struct vm *vm, uint64_t *cursor, struct scan_item *items,
			   unsigned max, unsigned lookups);

/* Step 1: makes gpa read-only if it still maps private page hpa (owes a
 * fence). False if it does not. */
bool guest_memory_write_protect(struct vm *vm, uint64_t gpa, uint64_t hpa);

/* Gives write back to gpa if it still maps hpa read-only (no fence). */
void guest_memory_unprotect(struct vm *vm, uint64_t gpa, uint64_t hpa);

/* Makes private page hpa, read-only at gpa and fenced, a merged page if
 * it still hashes to `hash` and does not look like a page table
 * (content_page_is_page_table). Pinned for a merge (content_put). */
bool guest_memory_promote(struct vm *vm, uint64_t gpa, uint64_t hpa, uint64_t hash);

enum merge_result {
	MERGE_DONE,
	MERGE_CHANGED,		/* gpa no longer maps hpa read-only: left alone */
	MERGE_DIFFERENT,	/* the bytes differ: write given back */
	MERGE_NO_ROOM,		/* *retired full or no reverse-map entry: write given back */
};

/* Step 2, above. */
enum merge_result guest_memory_merge(struct vm *vm, uint64_t gpa, uint64_t hpa, uint64_t target,
				     struct retired_pages *retired);

/*
 * The balloon and free page reporting (hyp/balloon/): the guest gives
 * page gpa back. Whatever backs it is unmapped - a private page goes to
 * *retired (freed after the fence), a shared page's mapping is dropped
 * after the fence as every shared drop is - so that its next touch is a
 * first touch: a zeroed private page. The change owes a fence before the
 * guest is told (virtio_mmio_complete pays it).
 */
enum discard_result {
	DISCARD_DONE,
	DISCARD_UNMAPPED,	/* nothing was mapped there: nothing to do */
	DISCARD_NOT_RAM,	/* gpa is not a page of guest RAM */
	DISCARD_RETRY,		/* *retired or the deferred drops are full: fence, call again */
};
enum discard_result guest_memory_discard(struct vm *vm, uint64_t gpa, struct retired_pages *retired);

/*
 * Page states (docs/overcommit.md). A guest page is unmapped (never
 * touched, or given back), mapped private, or mapped to a shared page
 * (disk, kernel, network, zero, merged: read-only, copied on write). An
 * unmapped page may have gone somewhere, which its G-stage slot remembers
 * (a marker, gstage.h):
 *
 *   SWAPPED  its contents are in a swap slot (mem/swap.h);
 *   DISK     it was a clean copy of a base-disk block: mapped again from
 *            the block cache (or the disk) on its next touch;
 *   BUSY     IO on its slot is in flight: whoever touches it waits, with
 *            no lock held (and acknowledging fences, vm_wait_for_page).
 *
 * Every access - a guest fault, a device's DMA, an SBI call, the loader,
 * the monitor - goes through guest_memory_touch* or the fault path, which
 * bring the page back first; a DMA read over a whole page and a balloon
 * inflate drop a SWAPPED slot unread (the double-paging cases). A
 * ballooned page is an unmapped page the balloon's bitmap remembers.
 *
 * The layer above (core/pager.c, main.c) supplies what this pure code
 * cannot do itself: reclaim (called with no lock held when a page cannot
 * be had; returns pages freed, the caller retries if any), what to do
 * when a hypervisor access finds no page even so (out_of_memory: stop the
 * VM, as the fault path does), and the base
 * disk's shared pages for DISK pages (share_base_block and its put).
 */
struct guest_memory_pager {
	uint64_t (*reclaim)(struct vm *vm, uint64_t want);
	void (*out_of_memory)(struct vm *vm, enum touch_result why);
	uint64_t (*disk_page)(uint64_t block, unsigned node, uint16_t vm);
	void (*disk_page_put)(uint64_t block, unsigned node);
};
void guest_memory_set_pager(const struct guest_memory_pager *p);

/*
 * The pager's steps (core/pager.c; docs/overcommit.md tells the order):
 *
 *   1. guest_memory_pick_victims: from the VM's clock hand (or from
 *      `start`, the random policy), private pages to swap; with the
 *      clock, pages used since the hand last passed are skipped (A
 *      cleared, counted in *accessed_cleared). One turn of the hand at
 *      most: before the hand comes back to a page whose A bit it
 *      cleared, the caller fences the VM - a hart whose TLB still holds
 *      the page's entry does not walk the table again, so it would not
 *      set A however much the guest used the page. Disk-shared
 *      mappings found on the way are dropped at once (DISK; no IO).
 *   2. guest_memory_swap_begin for each (slot reserved): the page is
 *      unmapped, BUSY; then guest_memory_sync: no vCPU can change it.
 *   3. the write (mem/swap.h), then guest_memory_swap_end: SWAPPED and
 *      the page freed; or, if it was not written, the zero page mapped
 *      if it is zero (share before swap), else mapped back.
 */
struct pager_victim {
	uint64_t gpa, hpa;
};
unsigned guest_memory_pick_victims(struct vm *vm, bool clock, uint64_t start,
				   struct pager_victim *victims, unsigned max,
				   unsigned lookups, unsigned *accessed_cleared);
bool guest_memory_swap_begin(struct vm *vm, uint64_t gpa, uint64_t hpa, uint64_t slot);
enum swap_end {
	SWAP_END_SWAPPED,	/* in the slot, page freed */
	SWAP_END_SHARED,	/* zero: the zero page mapped, page freed; slot unused */
	SWAP_END_KEPT,		/* mapped back as it was; slot unused */
	SWAP_END_RELEASED,	/* the VM was released meanwhile: page freed, slot unused */
};
enum swap_end guest_memory_swap_end(struct vm *vm, uint64_t gpa, uint64_t hpa, uint64_t slot,
				    bool written);

/*
 * No double paging (hyp/vdisk/vblk.c). A guest disk write whose source
 * page is swapped goes from the slot: guest_memory_swapped_slot marks it
 * BUSY and gives the slot (false if the page is not swapped), the caller
 * reads the slot into its own buffer, and guest_memory_swapped_done puts
 * it back as SWAPPED. A read that will overwrite the whole page drops a
 * swapped page's slot unread first (guest_memory_drop_swapped; true if
 * it did).
 */
bool guest_memory_swapped_slot(struct vm *vm, uint64_t gpa, uint64_t *slot);
void guest_memory_swapped_done(struct vm *vm, uint64_t gpa, uint64_t slot);
bool guest_memory_drop_swapped(struct vm *vm, uint64_t gpa);
/* True if the page holding gpa is swapped (or its swap IO is in flight). */
bool guest_memory_is_swapped(struct vm *vm, uint64_t gpa);

/* Unmaps and frees every page of the VM (G-stage tables included). The
 * caller fences the VMID on every hart before the VM runs again. */
void guest_memory_release(struct vm *vm);

#endif
