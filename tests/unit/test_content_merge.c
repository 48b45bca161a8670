/*
 * Content sharing over real G-stage tables and page records
 * (hyp/core/guest_memory.c's merge steps, hyp/share/content_share.c):
 * a merge replayed step by step, with the guest's store, a second VM, a
 * fence that has not happened yet, or a last mapper's write cutting in
 * between the steps, as core/content_scan.c would meet them on several
 * harts.
 */
#include <stdlib.h>
#include <string.h>
#include "core/guest_memory.h"
#include "core/vm.h"
#include "share/content_share.h"
#include "share/content_table.h"
#include "host_ram.h"
#include "unit.h"
#include "fake_accesses.h"

#define RAM_BASE 0x80000000UL
#define RAM_SIZE (8UL << 20)
#define G(n) (RAM_BASE + (uint64_t)(n) * PAGE_SIZE)

static unsigned fences;
void vm_flush_gstage(struct vm *vm)
{
	(void)vm;
	fences++;
}

/* Waiting for a page in IO (core/vm.c), faked: nothing is ever in IO
 * here (tests/unit/test_pager.c replays the pager). */
void vm_wait_for_page(void)
{
}

bool vm_device_uses_page(const struct vm *vm, uint64_t gpa)
{
	(void)vm;
	(void)gpa;
	return false;
}

struct world {
	struct test_ram r;
	void *storage;
	struct vm *a, *b;
};

static struct vm *vm_new(struct host_memory *hm, unsigned id)
{
	struct vm *vm = aligned_alloc(16384, sizeof(struct vm));

	memset(vm, 0, sizeof(*vm));
	vm->host = hm;
	vm->id = id;
	vm->ram_base = RAM_BASE;
	vm->ram_size = RAM_SIZE;
	guest_memory_init(vm);
	return vm;
}

static void world_init(struct world *w)
{
	test_ram_init(&w->r, 512, 1);
	uint64_t bytes = content_storage_bytes(w->r.pages, 1);
	w->storage = calloc(1, bytes);
	CHECK(content_init(&w->r.hm, w->storage, w->r.pages, true));
	w->a = vm_new(&w->r.hm, 0);
	w->b = vm_new(&w->r.hm, 1);
}

static void world_destroy(struct world *w)
{
	guest_memory_release(w->a);
	guest_memory_release(w->b);
	/* Everything the guests had is back: only the zero page and the
	 * reverse map's pages stay (the hypervisor's). */
	CHECK_EQ(w->r.hm.used_by_origin[PAGE_GUEST_PRIVATE], 0);
	CHECK_EQ(w->r.hm.used_by_origin[PAGE_SHARED_CONTENT], 0);
	CHECK_EQ(w->r.hm.used_by_origin[PAGE_SHARED_ZERO], 1);
	free(w->a);
	free(w->b);
	free(w->storage);
	test_ram_destroy(&w->r);
}

/* The guest writes `byte` over its page at gpa, as its store would: a
 * fault first if the mapping is read-only. */
static uint64_t guest_store(struct vm *vm, uint64_t gpa, unsigned char byte)
{
	uint64_t hpa;
	bool spurious;
	unsigned perms;

	if (!gstage_lookup(&vm->gstage, gpa, &hpa, &perms) || !(perms & GSTAGE_WRITE))
		CHECK_EQ(guest_memory_fault(vm, gpa, true, &spurious), TOUCH_OK);
	guest_memory_sync(vm);	/* the exit's closing sync */
	CHECK(gstage_lookup(&vm->gstage, gpa, &hpa, &perms));
	CHECK(perms & GSTAGE_WRITE);
	memset(pa_to_ptr(hpa), byte, PAGE_SIZE);
	return hpa;
}

static uint64_t page_at(struct vm *vm, uint64_t gpa, unsigned *perms)
{
	uint64_t hpa = 0;

	gstage_lookup(&vm->gstage, gpa, &hpa, perms);
	return hpa;
}

/* The scanner's steps for page gpa of vm into target (pinned or the
 * zero page): protect, fence, merge, fence and free. */
static enum merge_result scan_merge(struct vm *vm, uint64_t gpa, uint64_t target)
{
	struct retired_pages retired;
	uint64_t hpa = page_at(vm, gpa, NULL);
	enum merge_result r;

	retired_init(&retired);
	CHECK(guest_memory_write_protect(vm, gpa, hpa));
	guest_memory_sync(vm);
	r = guest_memory_merge(vm, gpa, hpa, target, &retired);
	guest_memory_free_retired(vm, &retired);
	return r;
}

static void test_zero_merge(void)
{
	struct world w;
	uint64_t zero, hpa, before;
	unsigned perms;

	world_init(&w);
	zero = content_zero_page(0);
	CHECK(zero != 0);
	hpa = guest_store(w.a, G(5), 0);		/* a page the guest zeroed */
	before = host_pages_free_count(&w.r.hm);
	CHECK_EQ(scan_merge(w.a, G(5), zero), MERGE_DONE);
	CHECK_EQ(page_at(w.a, G(5), &perms), zero);
	CHECK(!(perms & GSTAGE_WRITE));
	CHECK_EQ(host_pages_free_count(&w.r.hm), before + 1);	/* its page went back */
	CHECK_EQ(host_page_of(&w.r.hm, hpa)->origin, PAGE_FREE);
	CHECK_EQ(w.a->pages_zero, 1);
	CHECK_EQ(w.a->zero_merges, 1);
	CHECK_EQ(w.a->pages_shared, 1);
	/* A read still sees zeroes; a write gets a fresh private page and
	 * leaves the zero page zero. */
	uint64_t mine = guest_store(w.a, G(5), 0x77);
	CHECK(mine != zero);
	CHECK(content_page_is_zero(pa_to_ptr(zero)));
	CHECK_EQ(w.a->pages_zero, 0);
	CHECK_EQ(w.a->content_cow_breaks, 1);
	world_destroy(&w);
}

/* Two VMs with one equal page: A's becomes a hint, B's scan promotes it
 * and merges B's page into it; then each writes. */
static void test_promote_merge_and_cow(void)
{
	struct world w;
	uint64_t pa_a, pa_b, hash, match;
	unsigned perms;

	world_init(&w);
	pa_a = guest_store(w.a, G(3), 0x5a);
	pa_b = guest_store(w.b, G(9), 0x5a);
	hash = page_hash(pa_to_ptr(pa_a));
	CHECK_EQ(content_find(0, hash, pa_a, &match), MATCH_NONE);	/* A: a hint */
	CHECK_EQ(content_find(0, hash, pa_b, &match), MATCH_HINT);	/* B finds it */
	CHECK_EQ(match, pa_a);
	/* Step 1 on both pages, in both VMs, then the promotion. */
	CHECK(guest_memory_write_protect(w.a, G(3), pa_a));
	guest_memory_sync(w.a);
	CHECK(guest_memory_promote(w.a, G(3), pa_a, hash));
	CHECK_EQ(host_page_of(&w.r.hm, pa_a)->origin, PAGE_SHARED_CONTENT);
	CHECK_EQ(w.a->pages_content_shared, 1);
	CHECK_EQ(scan_merge(w.b, G(9), pa_a), MERGE_DONE);
	content_put(pa_a);	/* the promotion's pin */
	CHECK_EQ(page_at(w.b, G(9), &perms), pa_a);
	CHECK(!(perms & GSTAGE_WRITE));
	CHECK_EQ(host_page_of(&w.r.hm, pa_b)->origin, PAGE_FREE);
	CHECK_EQ(host_page_of(&w.r.hm, pa_a)->mappings, 2);
	CHECK_EQ(w.b->content_merges, 1);
	/* Now it is found as a merged page, pinned. */
	CHECK_EQ(content_find(0, hash, 0, &match), MATCH_SHARED);
	CHECK_EQ(match, pa_a);
	CHECK_EQ(host_page_of(&w.r.hm, pa_a)->mappings, 3);
	content_put(pa_a);
	/* B writes: a copy; A still maps the page, unchanged. */
	uint64_t copy = guest_store(w.b, G(9), 0x11);
	CHECK(copy != pa_a);
	CHECK_EQ(((unsigned char *)pa_to_ptr(pa_a))[100], 0x5a);
	CHECK_EQ(host_page_of(&w.r.hm, pa_a)->mappings, 1);	/* after B's fence */
	CHECK_EQ(w.b->content_cow_breaks, 1);
	/* A, the last mapper, writes: the page is A's again, no copy, and it
	 * has left the table. */
	uint64_t back = guest_store(w.a, G(3), 0x22);
	CHECK_EQ(back, pa_a);
	CHECK_EQ(host_page_of(&w.r.hm, pa_a)->origin, PAGE_GUEST_PRIVATE);
	CHECK_EQ(host_page_of(&w.r.hm, pa_a)->gpa, G(3));
	CHECK_EQ(content_find(0, hash, 0x1000, &match), MATCH_NONE);	/* gone (now a hint) */
	CHECK_EQ(w.a->pages_content_shared, 0);
	CHECK_EQ(w.a->pages_shared, 0);
	world_destroy(&w);
}

/* The guest stores between the write-protect's fence and the merge: its
 * fault gives the write back, and the merge must see it and not map the
 * page that the guest has just changed. */
static void test_store_between_protect_and_merge(void)
{
	struct world w;
	struct retired_pages retired;
	uint64_t zero, hpa;
	unsigned perms;

	world_init(&w);
	zero = content_zero_page(0);
	hpa = guest_store(w.a, G(1), 0);
	CHECK(guest_memory_write_protect(w.a, G(1), hpa));
	guest_memory_sync(w.a);
	/* The guest, on another hart: a store fault, then the store. */
	CHECK_EQ(guest_store(w.a, G(1), 0x33), hpa);	/* write given back in place */
	retired_init(&retired);
	CHECK_EQ(guest_memory_merge(w.a, G(1), hpa, zero, &retired), MERGE_CHANGED);
	CHECK_EQ(retired.count, 0);
	CHECK_EQ(page_at(w.a, G(1), &perms), hpa);
	CHECK(perms & GSTAGE_WRITE);
	CHECK_EQ(((unsigned char *)pa_to_ptr(hpa))[0], 0x33);
	world_destroy(&w);
}

/*
 * A device's write into a page the scanner is merging: the network
 * delivers a frame into VM a's receive buffer from the sender's hart,
 * which runs no vCPU of a, so a's fence does not reach it. The device
 * has looked the page up (writable, private, still zero) and not yet
 * stored when the scanner protects, fences and compares. The fence must
 * wait for that access; otherwise the page compares equal to the zero
 * page, is merged and freed, and the frame lands in a free page (another
 * guest's, once reused) while a's buffer reads zeroes.
 */
static uint64_t device_page;
static void device_stores_frame(void)
{
	memset(pa_to_ptr(device_page), 0xab, 256);
	guest_memory_touch_end();
}

static void test_device_write_during_merge(void)
{
	struct world w;
	uint64_t zero, hpa;
	unsigned perms;

	world_init(&w);
	zero = content_zero_page(0);
	hpa = guest_store(w.a, G(2), 0);		/* a zeroed receive buffer */
	/* The device, on another hart: the lookup; its store is to come. */
	CHECK_EQ(guest_memory_touch_writable(w.a, G(2), &device_page), TOUCH_OK);
	CHECK_EQ(device_page, hpa);
	/* The scanner: protect, fence (which waits for the device), merge. */
	access_finish_step = device_stores_frame;
	unsigned waits = access_waits_seen;
	CHECK_EQ(scan_merge(w.a, G(2), zero), MERGE_DIFFERENT);
	CHECK_EQ(access_waits_seen, waits + 1);
	run_access_finish_step();	/* not waited for: the store comes late */
	/* The guest reads its buffer: the frame is there, in its own page. */
	CHECK_EQ(page_at(w.a, G(2), &perms), hpa);
	CHECK_EQ(((unsigned char *)pa_to_ptr(hpa))[0], 0xab);
	CHECK_EQ(host_page_of(&w.r.hm, hpa)->origin, PAGE_GUEST_PRIVATE);
	CHECK(content_page_is_zero(pa_to_ptr(zero)));
	world_destroy(&w);
}

/* A hash match whose bytes differ: never merged, write given back. */
static void test_different_bytes(void)
{
	struct world w;
	uint64_t pa_a, pa_b, hash, match;
	unsigned perms;

	world_init(&w);
	pa_a = guest_store(w.a, G(2), 0x44);
	pa_b = guest_store(w.b, G(2), 0x44);
	((unsigned char *)pa_to_ptr(pa_b))[4095] = 0x45;	/* one byte differs */
	hash = page_hash(pa_to_ptr(pa_a));
	CHECK(guest_memory_write_protect(w.a, G(2), pa_a));
	guest_memory_sync(w.a);
	CHECK(guest_memory_promote(w.a, G(2), pa_a, hash));
	/* Pretend B's page hashed the same (a collision). */
	CHECK_EQ(scan_merge(w.b, G(2), pa_a), MERGE_DIFFERENT);
	CHECK_EQ(page_at(w.b, G(2), &perms), pa_b);
	CHECK(perms & GSTAGE_WRITE);
	CHECK_EQ(host_page_of(&w.r.hm, pa_a)->mappings, 2);	/* A's mapping + the pin */
	content_put(pa_a);
	/* A promotion checks the hash again: a page changed since its hint
	 * is not promoted. */
	CHECK(!guest_memory_promote(w.b, G(2), pa_b, page_hash(pa_to_ptr(pa_a))));
	CHECK_EQ(content_find(0, hash, pa_b, &match), MATCH_SHARED);
	content_put(match);
	world_destroy(&w);
}

/* A page table is never promoted, even read-only and hashing right. */
static void test_page_table_never_promoted(void)
{
	struct world w;
	uint64_t hpa, hash;

	world_init(&w);
	hpa = guest_store(w.a, G(4), 0);
	uint64_t *pte = pa_to_ptr(hpa);
	pte[0] = (0x80200ULL << 10) | 0xef;
	pte[1] = (0x80201ULL << 10) | 0xef;
	hash = page_hash(pte);
	CHECK(guest_memory_write_protect(w.a, G(4), hpa));
	guest_memory_sync(w.a);
	CHECK(!guest_memory_promote(w.a, G(4), hpa, hash));
	CHECK_EQ(host_page_of(&w.r.hm, hpa)->origin, PAGE_GUEST_PRIVATE);
	guest_memory_unprotect(w.a, G(4), hpa);
	world_destroy(&w);
}

/* The replaced page is freed only after the fence of its remap. */
static void test_freed_after_fence(void)
{
	struct world w;
	struct retired_pages retired;
	uint64_t zero, hpa;

	world_init(&w);
	zero = content_zero_page(0);
	hpa = guest_store(w.a, G(6), 0);
	CHECK(guest_memory_write_protect(w.a, G(6), hpa));
	guest_memory_sync(w.a);
	retired_init(&retired);
	unsigned before = fences;
	CHECK_EQ(guest_memory_merge(w.a, G(6), hpa, zero, &retired), MERGE_DONE);
	CHECK_EQ(retired.count, 1);
	/* Not yet fenced: another vCPU may still write through its old
	 * writable translation... no: it was read-only since the first
	 * fence, but may still read through it, so the page stays. */
	CHECK_EQ(host_page_of(&w.r.hm, hpa)->origin, PAGE_GUEST_PRIVATE);
	CHECK(!gstage_fenced(&w.a->gstage, retired.fence_gen));
	guest_memory_free_retired(w.a, &retired);
	CHECK_EQ(fences, before + 1);
	CHECK_EQ(host_page_of(&w.r.hm, hpa)->origin, PAGE_FREE);
	world_destroy(&w);
}

/* The reverse map follows every mapper, and a VM's release takes a
 * merged page down with its last mapping. */
static void test_rmap_and_release(void)
{
	struct world w;
	uint64_t pa_a, pa_b2, hash;

	world_init(&w);
	pa_a = guest_store(w.a, G(7), 0x66);
	guest_store(w.b, G(7), 0x66);
	pa_b2 = guest_store(w.b, G(8), 0x66);	/* the same bytes twice in B */
	hash = page_hash(pa_to_ptr(pa_a));
	CHECK(guest_memory_write_protect(w.a, G(7), pa_a));
	guest_memory_sync(w.a);
	CHECK(guest_memory_promote(w.a, G(7), pa_a, hash));
	CHECK_EQ(scan_merge(w.b, G(7), pa_a), MERGE_DONE);
	CHECK_EQ(scan_merge(w.b, G(8), pa_a), MERGE_DONE);
	content_put(pa_a);
	CHECK_EQ(host_page_of(&w.r.hm, pa_a)->mappings, 3);
	CHECK(content_rmap_first(pa_a, 1, G(8)));	/* the newest mapper */
	CHECK(!content_rmap_first(pa_a, 0, G(7)));
	CHECK_EQ(host_page_of(&w.r.hm, pa_b2)->origin, PAGE_FREE);
	/* A goes (a reboot): B keeps the page. */
	guest_memory_release(w.a);
	CHECK_EQ(host_page_of(&w.r.hm, pa_a)->origin, PAGE_SHARED_CONTENT);
	CHECK_EQ(host_page_of(&w.r.hm, pa_a)->mappings, 2);
	/* B goes: the page is freed with its last mapping. */
	guest_memory_release(w.b);
	CHECK_EQ(host_page_of(&w.r.hm, pa_a)->origin, PAGE_FREE);
	world_destroy(&w);
}

/* A merged page pinned by the scanner is not taken back in place by a
 * writing sole mapper: it copies, and the page lives until the unpin. */
static void test_pin_blocks_take_back(void)
{
	struct world w;
	uint64_t pa_a, hash, match;

	world_init(&w);
	pa_a = guest_store(w.a, G(2), 0x12);
	hash = page_hash(pa_to_ptr(pa_a));
	CHECK(guest_memory_write_protect(w.a, G(2), pa_a));
	guest_memory_sync(w.a);
	CHECK(guest_memory_promote(w.a, G(2), pa_a, hash));
	content_put(pa_a);
	CHECK_EQ(content_find(0, hash, 0, &match), MATCH_SHARED);	/* the scanner's pin */
	uint64_t copy = guest_store(w.a, G(2), 0x13);
	CHECK(copy != pa_a);
	CHECK_EQ(host_page_of(&w.r.hm, pa_a)->origin, PAGE_SHARED_CONTENT);
	CHECK_EQ(((unsigned char *)pa_to_ptr(pa_a))[7], 0x12);	/* what the scanner reads */
	content_put(match);
	CHECK_EQ(host_page_of(&w.r.hm, pa_a)->origin, PAGE_FREE);
	world_destroy(&w);
}

/* The balloon's discard: a private page is unmapped now and freed after
 * the fence; a shared page's mapping drops after it; the next touch is
 * a first touch (zeroes). */
static void test_discard(void)
{
	struct world w;
	struct retired_pages retired;
	uint64_t zero, pa;
	unsigned perms;

	world_init(&w);
	zero = content_zero_page(0);
	pa = guest_store(w.a, G(10), 0x99);
	retired_init(&retired);
	CHECK_EQ(guest_memory_discard(w.a, G(10), &retired), DISCARD_DONE);
	CHECK(!gstage_lookup(&w.a->gstage, G(10), NULL, NULL));
	CHECK_EQ(retired.count, 1);
	CHECK_EQ(host_page_of(&w.r.hm, pa)->origin, PAGE_GUEST_PRIVATE);	/* not before the fence */
	CHECK_EQ(guest_memory_discard(w.a, G(10), &retired), DISCARD_UNMAPPED);
	CHECK_EQ(guest_memory_discard(w.a, RAM_BASE + RAM_SIZE, &retired), DISCARD_NOT_RAM);
	CHECK_EQ(guest_memory_discard(w.a, G(10) + 8, &retired), DISCARD_NOT_RAM);
	guest_memory_free_retired(w.a, &retired);
	CHECK_EQ(host_page_of(&w.r.hm, pa)->origin, PAGE_FREE);
	/* A zero-page mapping: dropped, the zero page stays. */
	guest_store(w.a, G(13), 0);
	CHECK_EQ(scan_merge(w.a, G(13), zero), MERGE_DONE);
	uint32_t before = host_page_of(&w.r.hm, zero)->mappings;
	retired_init(&retired);
	CHECK_EQ(guest_memory_discard(w.a, G(13), &retired), DISCARD_DONE);
	CHECK_EQ(retired.count, 0);
	CHECK_EQ(w.a->pages_zero, 0);
	guest_memory_sync(w.a);
	CHECK_EQ(host_page_of(&w.r.hm, zero)->mappings, before - 1);
	/* The next touch: a zeroed private page. */
	uint64_t again = guest_store(w.a, G(10), 0);
	CHECK(content_page_is_zero(pa_to_ptr(again)));
	CHECK(gstage_lookup(&w.a->gstage, G(10), NULL, &perms) && (perms & GSTAGE_WRITE));
	world_destroy(&w);
}

int main(void)
{
	RUN(test_discard);
	RUN(test_zero_merge);
	RUN(test_promote_merge_and_cow);
	RUN(test_store_between_protect_and_merge);
	RUN(test_device_write_during_merge);
	RUN(test_different_bytes);
	RUN(test_page_table_never_promoted);
	RUN(test_freed_after_fence);
	RUN(test_rmap_and_release);
	RUN(test_pin_blocks_take_back);
	return unit_report("test_content_merge");
}
