/*
 * The pager and the page states it leaves (hyp/core/pager.c,
 * hyp/core/guest_memory.c "The pager's steps", hyp/mem/swap.c), natively:
 * the slot allocator, the clock over accessed bits, swap out and in
 * through a disk that is an array, share before swap, the double-paging
 * cases (a DMA read over a swapped page, a balloon inflate of one, a
 * disk write from the slot), and the interleavings the protocol must
 * survive: a touch while the page's IO is in flight, a release (reboot)
 * in the middle of a swap-out.
 */
#include <stdlib.h>
#include <string.h>
#include "core/guest_memory.h"
#include "core/pager.h"
#include "core/vm.h"
#include "core/working_set.h"
#include "mem/swap.h"
#include "share/content_share.h"
#include "host_ram.h"
#include "unit.h"
#include "fake_accesses.h"

#define RAM_BASE 0x80000000UL
#define RAM_SIZE (1UL << 20)	/* 256 guest pages */
#define G(n) (RAM_BASE + (uint64_t)(n) * PAGE_SIZE)
#define DISK_SLOTS 64

/* --- Fakes: the VM table, fences, waiting, the disk -------------------- */

struct vm *vms;
unsigned vm_count;

/* A fence empties the TLB of the hart where the guest keeps using a
 * page (below, "The guest's hot page"), which then uses it again. */
static unsigned fences;
static int hot_page = -1;	/* -1: none */
static struct vm *hot_vm;
static unsigned hot_page_faults;
static bool hot_entry_cached;
static void guest_uses_hot_page(void);
void vm_flush_gstage(struct vm *vm)
{
	(void)vm;
	fences++;
	hot_entry_cached = false;
	guest_uses_hot_page();
}

/* A wait for a page in IO: runs the other hart's step, once. */
static unsigned waits;
static void (*wait_step)(void);
void vm_wait_for_page(void)
{
	waits++;
	if (wait_step) {
		void (*step)(void) = wait_step;
		wait_step = NULL;
		step();
	}
}

bool vm_device_uses_page(const struct vm *vm, uint64_t gpa)
{
	(void)vm;
	(void)gpa;
	return false;
}

static uint8_t disk[DISK_SLOTS][PAGE_SIZE];
static unsigned disk_reads, disk_writes, disk_write_requests;
static bool disk_fails;

static bool disk_read(void *ctx, uint64_t slot, uint64_t pa, unsigned pages)
{
	(void)ctx;
	if (disk_fails || slot + pages > DISK_SLOTS)
		return false;
	memcpy(pa_to_ptr(pa), disk[slot], (size_t)pages * PAGE_SIZE);
	disk_reads += pages;
	return true;
}

static bool disk_write(void *ctx, uint64_t slot, uint64_t pa, unsigned pages)
{
	(void)ctx;
	if (disk_fails || slot + pages > DISK_SLOTS)
		return false;
	memcpy(disk[slot], pa_to_ptr(pa), (size_t)pages * PAGE_SIZE);
	disk_writes += pages;
	disk_write_requests++;
	return true;
}

/* --- A world: host RAM, content sharing (the zero page), one VM -------- */

struct world {
	struct test_ram r;
	void *content;
	uint64_t *bitmap;
	uint32_t *hash;
	uint8_t *bounce;
	struct vm *vm;
};

static void world_init_sharing(struct world *w, unsigned slots, bool content_sharing)
{
	static const struct swap_disk_ops ops = { disk_read, disk_write, NULL };
	const struct guest_memory_pager hooks = { .reclaim = pager_reclaim };

	test_ram_init(&w->r, 1024, 1);
	w->content = calloc(1, content_storage_bytes(w->r.pages, 1));
	CHECK(content_init(&w->r.hm, w->content, w->r.pages, content_sharing));
	w->bitmap = malloc(swap_bitmap_bytes((uint64_t)slots * PAGE_SIZE) + 8);
	w->hash = malloc(swap_hash_bytes((uint64_t)slots * PAGE_SIZE) + 8);
	w->bounce = aligned_alloc(PAGE_SIZE, SWAP_CLUSTER * PAGE_SIZE);
	swap_init(&swap_space, (uint64_t)slots * PAGE_SIZE, w->bitmap, w->hash, w->bounce, &ops);
	guest_memory_set_pager(&hooks);
	pager_init(false);
	w->vm = aligned_alloc(16384, sizeof(struct vm));
	memset(w->vm, 0, sizeof(*w->vm));
	w->vm->host = &w->r.hm;
	w->vm->ram_base = RAM_BASE;
	w->vm->ram_size = RAM_SIZE;
	w->vm->state = VM_RUNNING;
	guest_memory_init(w->vm);
	vms = w->vm;
	vm_count = 1;
	memset(disk, 0, sizeof(disk));
	disk_reads = disk_writes = disk_write_requests = 0;
	disk_fails = false;
	fences = waits = 0;
	wait_step = NULL;
	hot_page = -1;
}

static void world_init(struct world *w, unsigned slots)
{
	world_init_sharing(w, slots, true);
}

static void world_destroy(struct world *w)
{
	guest_memory_release(w->vm);
	/* Nothing leaks: no guest page, no slot. */
	CHECK_EQ(w->r.hm.used_by_origin[PAGE_GUEST_PRIVATE], 0);
	CHECK_EQ(swap_space.used, 0);
	free(w->vm);
	free(w->content);
	free(w->bitmap);
	free(w->hash);
	free(w->bounce);
	test_ram_destroy(&w->r);
	vms = NULL;
	vm_count = 0;
}

/* The guest fills page n with a pattern of its own (never zero). */
static void guest_fill(struct vm *vm, unsigned n)
{
	uint64_t hpa;

	CHECK_EQ(device_touch_writable(vm, G(n), &hpa), TOUCH_OK);
	memset(pa_to_ptr(hpa), 0x40 + (int)n, PAGE_SIZE);
	((uint8_t *)pa_to_ptr(hpa))[n] = (uint8_t)n;
}

static bool guest_check(struct vm *vm, unsigned n)
{
	uint64_t hpa;
	const uint8_t *p;

	if (device_touch(vm, G(n), &hpa) != TOUCH_OK)
		return false;
	p = pa_to_ptr(hpa);
	for (unsigned i = 0; i < PAGE_SIZE; i++)
		if (p[i] != (i == n ? n : 0x40 + n))
			return false;
	return true;
}

static bool mapped(struct vm *vm, unsigned n)
{
	return gstage_lookup(&vm->gstage, G(n), NULL, NULL);
}

/* QEMU sets A when the guest uses a page; the test sets it by hand in
 * the Sv39x4 leaf (gstage.h gives the format). */
static void guest_uses(struct vm *vm, unsigned n)
{
	uint64_t gpa = G(n), *t = vm->gstage.root;

	t = pa_to_ptr((t[(gpa >> 30) & 2047] >> 10) << 12);
	t = pa_to_ptr((t[(gpa >> 21) & 511] >> 10) << 12);
	t[(gpa >> 12) & 511] |= PTE_A;
}

/*
 * The guest's hot page: a vCPU on another hart uses page hot_page all the
 * time, at every point where that hart could run (every lock release,
 * and right after it acknowledges a fence). While its TLB holds the
 * page's entry, its walker does not run and A is not set again; a fence
 * empties the TLB and the next use walks and sets A. A use of a page that
 * is not mapped would fault and wait: counted, nothing set.
 */
static void guest_uses_hot_page(void)
{
	if (hot_page < 0 || hot_entry_cached)
		return;
	if (!mapped(hot_vm, (unsigned)hot_page)) {
		hot_page_faults++;
		return;
	}
	guest_uses(hot_vm, (unsigned)hot_page);
	hot_entry_cached = true;
}

static void hot_page_step(struct spinlock *l)
{
	(void)l;
	guest_uses_hot_page();
	unit_unlock_hook = hot_page_step;	/* at the next release again */
}

static void guest_keeps_using(struct vm *vm, int n)
{
	hot_vm = vm;
	hot_page = n;
	hot_page_faults = 0;
	hot_entry_cached = false;
	guest_uses_hot_page();
	unit_unlock_hook = n < 0 ? NULL : hot_page_step;
}

/* --- The slot allocator ------------------------------------------------ */

static void test_slots(void)
{
	uint64_t bitmap[2], first, again;
	uint32_t hash[100];
	uint8_t bounce[1];
	struct swap_space s;

	swap_init(&s, 100 * PAGE_SIZE, bitmap, hash, bounce, NULL);
	CHECK_EQ(s.nslots, 100);
	CHECK_EQ(swap_alloc(&s, 16, &first), 16);
	CHECK_EQ(first, 0);
	CHECK_EQ(swap_alloc(&s, 99, &first), SWAP_CLUSTER);	/* capped */
	CHECK_EQ(first, 16);
	/* A hole of 3: a run stops at the next used slot. */
	CHECK(swap_free(&s, 5));
	CHECK(swap_free(&s, 6));
	CHECK(swap_free(&s, 7));
	CHECK(!swap_free(&s, 7));				/* twice: refused */
	CHECK(!swap_free(&s, 100));				/* out of range */
	CHECK_EQ(swap_alloc(&s, 16, &first), 16);		/* next fit: after 31 */
	CHECK_EQ(first, 32);
	for (unsigned i = 0; i < 3; i++)
		CHECK_EQ(swap_alloc(&s, 16, &again), 16);
	CHECK_EQ(swap_alloc(&s, 16, &again), 4);		/* the end: runs never wrap */
	CHECK_EQ(again, 96);
	CHECK_EQ(s.used, 97);
	CHECK_EQ(swap_alloc(&s, 16, &first), 3);		/* wraps to the hole */
	CHECK_EQ(first, 5);
	CHECK_EQ(s.used, 100);
	CHECK_EQ(swap_alloc(&s, 1, &first), 0);			/* full */
	CHECK_EQ(s.full, 1);
	/* The last partial run does not wrap past the end. */
	CHECK(swap_free(&s, 99));
	CHECK(swap_free(&s, 0));
	CHECK_EQ(swap_alloc(&s, 4, &first), 1);
	CHECK(first == 99 || first == 0);
	/* No swap at all. */
	swap_init(&s, 0, NULL, NULL, NULL, NULL);
	CHECK_EQ(swap_alloc(&s, 1, &first), 0);
}

/* --- Swap out and in ----------------------------------------------------- */

static void test_clock_swap_out_and_in(void)
{
	struct world w;

	world_init(&w, DISK_SLOTS);
	for (unsigned n = 0; n < 32; n++)
		guest_fill(w.vm, n);
	uint64_t used = host_pages_free_count(&w.r.hm);
	/* New leaves carry A: the hand's first turn only clears them, the
	 * second finds victims - all in one call. */
	CHECK(pager_reclaim(w.vm, SWAP_CLUSTER) >= SWAP_CLUSTER);
	CHECK_EQ(w.vm->swap_outs, w.vm->pages_swapped);
	CHECK(w.vm->pages_swapped >= SWAP_CLUSTER);
	CHECK_EQ(swap_space.used, w.vm->pages_swapped);
	CHECK(host_pages_free_count(&w.r.hm) >= used + SWAP_CLUSTER);
	/* Clustered: one request per run of slots. */
	CHECK(disk_write_requests * SWAP_CLUSTER <= disk_writes + SWAP_CLUSTER);
	CHECK(fences > 0);
	/* Every page reads back as written: swapped ones from the disk. */
	unsigned swapped = (unsigned)w.vm->pages_swapped;
	for (unsigned n = 0; n < 32; n++)
		CHECK(guest_check(w.vm, n));
	CHECK_EQ(w.vm->swap_ins, swapped);
	CHECK_EQ(w.vm->pages_swapped, 0);
	CHECK_EQ(swap_space.used, 0);
	CHECK_EQ(disk_reads, swapped);
	world_destroy(&w);
}

/* A page used since the hand passed is not taken; the others are. */
static void test_clock_spares_used_pages(void)
{
	struct world w;
	struct pager_victim v[SWAP_CLUSTER];
	unsigned cleared;

	world_init(&w, DISK_SLOTS);
	for (unsigned n = 0; n < 8; n++)
		guest_fill(w.vm, n);
	/* One turn over RAM: every A cleared, no victim. */
	CHECK_EQ(guest_memory_pick_victims(w.vm, true, 0, v, SWAP_CLUSTER, 256, &cleared), 0);
	guest_uses(w.vm, 3);
	guest_uses(w.vm, 5);
	unsigned got = guest_memory_pick_victims(w.vm, true, 0, v, SWAP_CLUSTER, 256, &cleared);
	CHECK_EQ(got, 6);
	for (unsigned i = 0; i < got; i++)
		CHECK(v[i].gpa != G(3) && v[i].gpa != G(5));
	/* In guest-physical order: slots follow the guest's layout. */
	for (unsigned i = 1; i < got; i++)
		CHECK(v[i].gpa > v[i - 1].gpa);
	/* Random policy: takes pages whatever their A bits. */
	guest_uses(w.vm, 0);
	CHECK_EQ(guest_memory_pick_victims(w.vm, false, G(0), v, 1, 256, &cleared), 1);
	CHECK_EQ(v[0].gpa, G(0));
	world_destroy(&w);
}

/*
 * The guest keeps using page 3 while the pager runs. The clock's first
 * turn clears every A bit and finds no victim; the guest's hart still
 * caches page 3's entry, so its uses set no A until a fence empties its
 * TLB. The pager fences before the second turn: page 3 is spared. (Its
 * fence removed, the second turn took page 3 while it was in use.)
 */
static void test_clock_fences_before_second_turn(void)
{
	struct world w;

	world_init(&w, DISK_SLOTS);
	for (unsigned n = 0; n < 32; n++)
		guest_fill(w.vm, n);
	guest_keeps_using(w.vm, 3);
	unsigned before = fences;
	CHECK(pager_reclaim(w.vm, SWAP_CLUSTER) >= SWAP_CLUSTER);
	guest_keeps_using(w.vm, -1);
	CHECK(mapped(w.vm, 3));
	CHECK_EQ(hot_page_faults, 0);
	CHECK(w.vm->pages_swapped >= SWAP_CLUSTER - 1);
	CHECK(fences >= before + 2);	/* between the turns, and step 3's */
	for (unsigned n = 0; n < 32; n++)
		CHECK(guest_check(w.vm, n));
	world_destroy(&w);
}

/* Share before swap: a zero victim gets the zero page, no slot, no IO. */
static void test_zero_victim_is_shared(void)
{
	struct world w;
	uint64_t hpa;

	world_init(&w, DISK_SLOTS);
	for (unsigned n = 0; n < 16; n++)
		CHECK_EQ(device_touch_writable(w.vm, G(n), &hpa), TOUCH_OK);	/* zero */
	CHECK(pager_reclaim(w.vm, SWAP_CLUSTER) >= SWAP_CLUSTER);
	CHECK_EQ(w.vm->pager_zero, 16);
	CHECK_EQ(w.vm->pages_zero, 16);
	CHECK_EQ(disk_writes, 0);
	CHECK_EQ(swap_space.used, 0);
	CHECK_EQ(gstage_lookup(&w.vm->gstage, G(3), &hpa, NULL), true);
	CHECK_EQ(hpa, content_zero_page(0));
	world_destroy(&w);
}

/* With content sharing off (CONTENT_SHARE=0) there is no zero page: zero
 * victims are written like any other (they were kept, and a guest whose
 * cold pages were all zero found nothing to give). */
static void test_zero_victim_swapped_without_sharing(void)
{
	struct world w;
	uint64_t hpa;

	world_init_sharing(&w, DISK_SLOTS, false);
	for (unsigned n = 0; n < 16; n++)
		CHECK_EQ(device_touch_writable(w.vm, G(n), &hpa), TOUCH_OK);
	CHECK(pager_reclaim(w.vm, SWAP_CLUSTER) >= SWAP_CLUSTER);
	CHECK_EQ(w.vm->pager_zero, 0);
	CHECK(w.vm->pages_swapped >= SWAP_CLUSTER);
	for (unsigned n = 0; n < 16; n++) {
		CHECK_EQ(device_touch(w.vm, G(n), &hpa), TOUCH_OK);
		CHECK(all_zero(pa_to_ptr(hpa), PAGE_SIZE));
	}
	world_destroy(&w);
}

/* Swap full: nothing non-zero can go, nothing is lost, and the reclaim
 * says so (the admission message names it). */
static void test_swap_full(void)
{
	struct world w;

	world_init(&w, 4);
	for (unsigned n = 0; n < 16; n++)
		guest_fill(w.vm, n);
	CHECK(pager_reclaim(w.vm, SWAP_CLUSTER) > 0);	/* 4 slots' worth */
	CHECK_EQ(w.vm->pages_swapped, 4);
	CHECK_EQ(pager_reclaim(w.vm, SWAP_CLUSTER), 0);
	CHECK_STR(pager_why_nothing(), "swap full");
	for (unsigned n = 0; n < 16; n++)
		CHECK(guest_check(w.vm, n));
	world_destroy(&w);
}

/* A disk error on the write: every victim is mapped back, unchanged. */
static void test_write_error_keeps_pages(void)
{
	struct world w;

	world_init(&w, DISK_SLOTS);
	for (unsigned n = 0; n < 16; n++)
		guest_fill(w.vm, n);
	disk_fails = true;
	CHECK_EQ(pager_reclaim(w.vm, SWAP_CLUSTER), 0);
	disk_fails = false;
	CHECK_EQ(w.vm->pages_swapped, 0);
	CHECK_EQ(swap_space.used, 0);
	CHECK_EQ(swap_space.io_errors, 1);
	for (unsigned n = 0; n < 16; n++)
		CHECK(mapped(w.vm, n) && guest_check(w.vm, n));
	world_destroy(&w);
}

/* A page that comes back from its slot with other bytes than went out
 * (the disk, or a slot two pages shared) is refused, not mapped: the
 * touch fails with a swap error (the VM would stop), the page stays
 * swapped, and once the slot holds the page again it comes back whole. */
static void test_corrupt_slot_is_refused(void)
{
	struct world w;
	uint64_t slot, hpa;

	world_init(&w, DISK_SLOTS);
	for (unsigned n = 0; n < 16; n++)
		guest_fill(w.vm, n);
	CHECK(pager_reclaim(w.vm, SWAP_CLUSTER) >= SWAP_CLUSTER);
	CHECK(!mapped(w.vm, 3));
	CHECK(guest_memory_swapped_slot(w.vm, G(3), &slot));	/* where page 3 went */
	guest_memory_swapped_done(w.vm, G(3), slot);
	disk[slot][100] ^= 1;	/* one bit */
	CHECK_EQ(device_touch(w.vm, G(3), &hpa), TOUCH_SWAP_FAILED);
	CHECK_EQ(swap_space.checksum_errors, 1);
	CHECK(!mapped(w.vm, 3) && guest_memory_is_swapped(w.vm, G(3)));
	disk[slot][100] ^= 1;
	CHECK(guest_check(w.vm, 3));
	CHECK_EQ(swap_space.checksum_errors, 1);
	for (unsigned n = 0; n < 16; n++)
		CHECK(guest_check(w.vm, n));
	world_destroy(&w);
}

/* --- Interleavings -------------------------------------------------------- */

static struct world *cur;

/* A device writes page 2 to the guest's disk from its slot (vblk.c): BUSY
 * meanwhile. A guest touch in that window waits (vm_wait_for_page) until
 * the device puts the slot back, then swaps the page in. */
static uint64_t held_slot;
static void device_done(void)
{
	guest_memory_swapped_done(cur->vm, G(2), held_slot);
}

static void test_touch_waits_for_busy_page(void)
{
	struct world w;
	uint8_t out[PAGE_SIZE];

	world_init(&w, DISK_SLOTS);
	cur = &w;
	for (unsigned n = 0; n < 16; n++)
		guest_fill(w.vm, n);
	CHECK(pager_reclaim(w.vm, SWAP_CLUSTER) > 0);
	CHECK(guest_memory_is_swapped(w.vm, G(2)));
	CHECK(guest_memory_swapped_slot(w.vm, G(2), &held_slot));
	CHECK(guest_memory_is_swapped(w.vm, G(2)));	/* BUSY counts as swapped */
	/* The device's read of the slot: no swap-in, the page stays away. */
	CHECK(swap_read(&swap_space, held_slot, ptr_to_pa(out)));
	CHECK_EQ(out[2], 2);
	CHECK_EQ(out[0], 0x42);
	uint64_t again;
	CHECK(!guest_memory_swapped_slot(w.vm, G(2), &again));	/* BUSY: not handed out twice */
	wait_step = device_done;
	CHECK(guest_check(w.vm, 2));	/* waited, then swapped in */
	CHECK_EQ(waits, 1);
	CHECK(!guest_memory_is_swapped(w.vm, G(2)));
	for (unsigned n = 0; n < 16; n++)
		CHECK(guest_check(w.vm, n));
	world_destroy(&w);
}

/* A reboot releases the VM between the pager's unmap and its write: the
 * pager's end sees the page gone, frees page and slot, maps nothing. */
static void test_release_during_swap_out(void)
{
	struct world w;
	struct pager_victim v[4];
	unsigned cleared;
	uint64_t first;

	world_init(&w, DISK_SLOTS);
	for (unsigned n = 0; n < 4; n++)
		guest_fill(w.vm, n);
	CHECK_EQ(guest_memory_pick_victims(w.vm, false, G(0), v, 4, 256, &cleared), 4);
	CHECK_EQ(swap_alloc(&swap_space, 4, &first), 4);
	for (unsigned i = 0; i < 4; i++)
		CHECK(guest_memory_swap_begin(w.vm, v[i].gpa, v[i].hpa, first + i));
	guest_memory_sync(w.vm);
	guest_memory_release(w.vm);	/* the reboot */
	for (unsigned i = 0; i < 4; i++) {
		CHECK_EQ(guest_memory_swap_end(w.vm, v[i].gpa, v[i].hpa, first + i, true),
			 SWAP_END_RELEASED);
		CHECK(swap_free(&swap_space, first + i));
	}
	CHECK_EQ(w.vm->pages_swapped, 0);
	CHECK(!mapped(w.vm, 0));
	world_destroy(&w);
}

/* The pages a swap-out took can no longer be changed: after swap_begin
 * and the fence the page is unmapped (a guest store would fault and
 * wait), and a content merge that had write-protected it fails. */
static void test_swap_begin_unmaps(void)
{
	struct world w;
	struct pager_victim v[1];
	unsigned cleared;

	world_init(&w, DISK_SLOTS);
	guest_fill(w.vm, 7);
	CHECK_EQ(guest_memory_pick_victims(w.vm, false, G(7), v, 1, 256, &cleared), 1);
	CHECK(guest_memory_write_protect(w.vm, G(7), v[0].hpa));	/* the scanner, step 1 */
	unsigned f = fences;
	CHECK(guest_memory_swap_begin(w.vm, G(7), v[0].hpa, 0));
	CHECK(!mapped(w.vm, 7));
	CHECK(!guest_memory_write_protect(w.vm, G(7), v[0].hpa));
	guest_memory_sync(w.vm);
	CHECK_EQ(fences, f + 1);	/* the unmap owed a fence */
	/* Not written (no slot was taken): mapped back as it was. */
	CHECK_EQ(guest_memory_swap_end(w.vm, G(7), v[0].hpa, 0, false), SWAP_END_KEPT);
	CHECK(mapped(w.vm, 7) && guest_check(w.vm, 7));
	world_destroy(&w);
}

/* A device's store into a page being swapped out, from a hart that runs
 * no vCPU of the VM (a frame delivered by its sender's hart): it looked
 * the page up before the unmap and stores after it. The unmap's fence
 * waits for that access, so the slot gets the stored bytes; without the
 * wait it got the old ones and the store went to a page about to be
 * freed. */
static uint64_t store_page;
static void device_stores(void)
{
	((uint8_t *)pa_to_ptr(store_page))[100] = 0x99;
	guest_memory_touch_end();
}

static void test_swap_out_waits_for_device_store(void)
{
	struct world w;
	struct pager_victim v[1];
	unsigned cleared;
	uint64_t slot, hpa;

	world_init(&w, DISK_SLOTS);
	guest_fill(w.vm, 7);
	CHECK_EQ(guest_memory_pick_victims(w.vm, false, G(7), v, 1, 256, &cleared), 1);
	CHECK_EQ(guest_memory_touch_writable(w.vm, G(7), &store_page), TOUCH_OK);	/* device */
	CHECK_EQ(store_page, v[0].hpa);
	CHECK_EQ(swap_alloc(&swap_space, 1, &slot), 1);
	CHECK(guest_memory_swap_begin(w.vm, G(7), v[0].hpa, slot));
	access_finish_step = device_stores;
	guest_memory_sync(w.vm);			/* waits for the device's store */
	CHECK(access_finish_step == NULL);
	CHECK(swap_write(&swap_space, slot, &v[0].hpa, 1));
	run_access_finish_step();			/* not waited for: it comes now */
	CHECK_EQ(guest_memory_swap_end(w.vm, G(7), v[0].hpa, slot, true), SWAP_END_SWAPPED);
	CHECK_EQ(w.vm->pages_swapped, 1);
	/* Read back from the slot: the device's byte is there. */
	CHECK_EQ(device_touch(w.vm, G(7), &hpa), TOUCH_OK);
	CHECK_EQ(((uint8_t *)pa_to_ptr(hpa))[100], 0x99);
	CHECK_EQ(w.vm->swap_ins, 1);
	world_destroy(&w);
}

/* --- No double paging ------------------------------------------------------ */

static void test_overwrite_and_discard_drop_slots(void)
{
	struct world w;
	struct retired_pages retired;
	uint64_t zero;

	world_init(&w, DISK_SLOTS);
	for (unsigned n = 0; n < 16; n++)
		guest_fill(w.vm, n);
	CHECK(pager_reclaim(w.vm, SWAP_CLUSTER) >= SWAP_CLUSTER);
	uint64_t swapped = w.vm->pages_swapped, reads = disk_reads;
	/* A DMA read over the whole of page 1: its slot is stale. */
	CHECK(guest_memory_drop_swapped(w.vm, G(1)));
	CHECK_EQ(w.vm->stale_reads_avoided, 1);
	CHECK(!guest_memory_drop_swapped(w.vm, G(1)));	/* once */
	/* A whole-page mapping (a shared disk page) over page 4. */
	retired_init(&retired);
	zero = content_zero_page(0);
	CHECK(guest_memory_map_shared(w.vm, G(4), zero, &retired));
	guest_memory_free_retired(w.vm, &retired);
	CHECK_EQ(w.vm->stale_reads_avoided, 2);
	/* A balloon inflate of page 6. */
	retired_init(&retired);
	CHECK_EQ(guest_memory_discard(w.vm, G(6), &retired), DISCARD_DONE);
	guest_memory_free_retired(w.vm, &retired);
	CHECK_EQ(w.vm->swap_discards, 1);
	CHECK_EQ(w.vm->pages_swapped, swapped - 3);
	CHECK_EQ(swap_space.used, swapped - 3);
	CHECK_EQ(disk_reads, reads);			/* none of them was read */
	/* Their next touch is a first touch: zeroes. */
	uint64_t hpa;
	CHECK_EQ(device_touch(w.vm, G(6), &hpa), TOUCH_OK);
	CHECK(all_zero(pa_to_ptr(hpa), PAGE_SIZE));
	world_destroy(&w);
}

/* --- Working-set sampling (core/working_set.c) ------------------------- */

static unsigned sampled_below(const struct vm *vm, unsigned n)
{
	unsigned k = 0;

	for (unsigned i = 0; i < WS_SAMPLE_PAGES; i++)
		k += vm->working_set.sample[i] < G(n);
	return k;
}

static void test_working_set_sampling(void)
{
	struct world w;
	struct vm *vm;
	unsigned cleared;
	struct pager_victim v[SWAP_CLUSTER];

	world_init(&w, DISK_SLOTS);
	vm = w.vm;
	for (unsigned n = 0; n < 256; n++)
		guest_fill(vm, n);	/* every page mapped, accessed */
	working_set_init(100);
	CHECK_EQ(working_set_permille(vm), 1000);	/* never sampled: all active */
	CHECK(!working_set_tick(vm, 0));		/* the first period begins */
	CHECK(!working_set_tick(vm, 99));		/* not due */
	/* The guest uses the lower half: the sample's pages there count. */
	for (unsigned n = 0; n < 128; n++)
		guest_uses(vm, n);
	unsigned expect = sampled_below(vm, 128);
	CHECK(working_set_tick(vm, 100));
	CHECK_EQ(vm->working_set.last_touched, expect);
	CHECK_EQ(working_set_permille(vm), expect * 10);	/* the first sample replaces the guess */
	/* The next period: every page used, then the pager's clock clears
	 * every A bit before the period ends. Its notes keep the touches. */
	for (unsigned n = 0; n < 256; n++)
		guest_uses(vm, n);
	CHECK_EQ(guest_memory_pick_victims(vm, true, G(0), v, SWAP_CLUSTER, 256, &cleared), 0);
	CHECK(working_set_tick(vm, 200));
	CHECK_EQ(vm->working_set.last_touched, WS_SAMPLE_PAGES);
	/* An idle period: nothing touched; the estimate falls slowly. */
	CHECK(working_set_tick(vm, 300));
	CHECK_EQ(vm->working_set.last_touched, 0);
	CHECK(working_set_permille(vm) > 0);
	CHECK_EQ(vm->working_set.estimate.periods, 3);
	/* Sampling off: no period ends. */
	working_set_init(0);
	CHECK(!working_set_tick(vm, 10000));
	world_destroy(&w);
}

/* --- Free-memory states and the LOW state's blocking (core/pager.c) ---- */

/* The states as if the node had `permille` free; its real count stays. */
static void set_free(struct world *w, uint64_t permille)
{
	uint64_t real = w->r.hm.node[0].free_pages;

	w->r.hm.node[0].free_pages = w->r.hm.node[0].total_pages * permille / 1000;
	pager_update_mem_state();
	w->r.hm.node[0].free_pages = real;
}

static void test_mem_states_and_low_blocking(void)
{
	struct world w;

	world_init(&w, DISK_SLOTS);
	/* Down through the states, then up only past each threshold. */
	set_free(&w, 100);
	CHECK_EQ(pager_node_state(0), MEM_HIGH);
	set_free(&w, 39);
	CHECK_EQ(pager_node_state(0), MEM_SOFT);
	set_free(&w, 45);				/* above soft, below high */
	CHECK_EQ(pager_node_state(0), MEM_SOFT);	/* hysteresis */
	set_free(&w, 19);
	CHECK_EQ(pager_node_state(0), MEM_HARD);
	set_free(&w, 9);
	CHECK_EQ(pager_node_state(0), MEM_LOW);
	set_free(&w, 15);
	CHECK_EQ(pager_node_state(0), MEM_LOW);		/* below hard's way up */
	set_free(&w, 21);
	CHECK_EQ(pager_node_state(0), MEM_HARD);
	set_free(&w, 61);
	CHECK_EQ(pager_node_state(0), MEM_HIGH);
	CHECK_EQ(pager_update_mem_state(), MEM_HIGH);

	/* LOW blocks a VM over its target: it pages out its own. */
	for (unsigned n = 0; n < 64; n++)
		guest_fill(w.vm, n);
	w.vm->mem_target = 16;
	pager_admit(w.vm);				/* HIGH: nothing */
	CHECK_EQ(w.vm->low_blocks, 0);
	set_free(&w, 5);
	pager_admit(w.vm);
	CHECK_EQ(w.vm->low_blocks, 1);
	CHECK(w.vm->swap_outs > 0);
	uint64_t outs = w.vm->swap_outs;
	w.vm->mem_target = 4096;			/* within its target: not held */
	pager_admit(w.vm);
	CHECK_EQ(w.vm->low_blocks, 1);
	CHECK_EQ(w.vm->swap_outs, outs);
	w.vm->mem_target = 0;				/* no target: never held */
	pager_admit(w.vm);
	CHECK_EQ(w.vm->low_blocks, 1);
	for (unsigned n = 0; n < 64; n++)
		CHECK(guest_check(w.vm, n));		/* nothing lost */
	set_free(&w, 1000);
	world_destroy(&w);
}

/* Two nodes: a node short while the other has room is not short. */
static void test_node_states_follow_the_host(void)
{
	struct test_ram r;
	struct vm vm0 = { 0 };

	test_ram_init(&r, 2000, 2);
	vm0.host = &r.hm;
	vms = &vm0;
	vm_count = 1;
	uint64_t f0 = r.hm.node[0].free_pages, f1 = r.hm.node[1].free_pages;
	uint64_t t0 = r.hm.node[0].total_pages, t1 = r.hm.node[1].total_pages;
	r.hm.node[0].free_pages = t0 / 200;		/* 0.5 %: LOW by itself */
	r.hm.node[1].free_pages = t1 / 2;		/* half free: the host has room */
	CHECK_EQ(pager_update_mem_state(), MEM_HIGH);
	CHECK_EQ(pager_node_state(0), MEM_HIGH);
	r.hm.node[1].free_pages = t1 / 40;		/* 2.5 %: the host is short */
	CHECK_EQ(pager_update_mem_state(), MEM_HARD);	/* 1.5 % in all */
	CHECK_EQ(pager_node_state(0), MEM_HARD);	/* node 0 pays, bounded by the host */
	CHECK_EQ(pager_node_state(1), MEM_SOFT);
	r.hm.node[0].free_pages = t0 / 2;
	r.hm.node[1].free_pages = t1 / 2;
	CHECK_EQ(pager_update_mem_state(), MEM_HIGH);
	CHECK_EQ(pager_node_state(0), MEM_HIGH);
	CHECK_EQ(pager_node_state(1), MEM_HIGH);
	r.hm.node[0].free_pages = f0;
	r.hm.node[1].free_pages = f1;
	vms = NULL;
	vm_count = 0;
	test_ram_destroy(&r);
}

int main(void)
{
	RUN(test_slots);
	RUN(test_clock_swap_out_and_in);
	RUN(test_clock_spares_used_pages);
	RUN(test_clock_fences_before_second_turn);
	RUN(test_zero_victim_is_shared);
	RUN(test_zero_victim_swapped_without_sharing);
	RUN(test_swap_full);
	RUN(test_write_error_keeps_pages);
	RUN(test_corrupt_slot_is_refused);
	RUN(test_touch_waits_for_busy_page);
	RUN(test_release_during_swap_out);
	RUN(test_swap_begin_unmaps);
	RUN(test_swap_out_waits_for_device_store);
	RUN(test_overwrite_and_discard_drop_slots);
	RUN(test_working_set_sampling);
	RUN(test_mem_states_and_low_blocking);
	RUN(test_node_states_follow_the_host);
	return unit_report("test_pager");
}
