/*
 * hyp/guest_memory.c: first-touch guest RAM over the G-stage and the host
 * page allocator, and the checked copies between hypervisor and guest.
 * Host RAM is a malloc'd buffer (host_ram.h); guest RAM is 8 MiB at
 * 0x80000000.
 */
#include <stdlib.h>
#include <string.h>
#include "core/guest_memory.h"
#include "host_ram.h"
#include "unit.h"
#include "fake_accesses.h"
#include "core/vm.h"

#define RAM_BASE 0x80000000UL
#define RAM_SIZE (8UL << 20)
#define RAM_END (RAM_BASE + RAM_SIZE)

static struct vm *vm_new(struct host_memory *hm, unsigned id, unsigned home_node)
{
	struct vm *vm = aligned_alloc(16384, sizeof(struct vm));

	if (!vm)
		abort();
	memset(vm, 0, sizeof(*vm));
	vm->host = hm;
	vm->id = id;
	vm->home_node = home_node;
	vm->ram_base = RAM_BASE;
	vm->ram_size = RAM_SIZE;
	memset(vm->gstage_root, 0xff, sizeof(vm->gstage_root));	/* init must clear it */
	vm->pages_mapped = 12345;
	guest_memory_init(vm);
	return vm;
}

static void vm_delete(struct vm *vm)
{
	free(vm);
}

/* The G-stage's remote fence, faked: counts, and may run another hart's
 * step while "waiting" (fence_step). */
static unsigned fences;
static void (*fence_step)(void);
void vm_flush_gstage(struct vm *vm)
{
	(void)vm;
	fences++;
	if (fence_step) {
		void (*step)(void) = fence_step;
		fence_step = NULL;
		step();
	}
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

/* A load fault at gpa; *hpa is its page afterwards. */
static enum touch_result fault_in(struct vm *vm, uint64_t gpa, uint64_t *hpa)
{
	bool spurious;
	enum touch_result r = guest_memory_fault(vm, gpa, false, &spurious);

	if (r == TOUCH_OK)
		gstage_lookup(&vm->gstage, gpa & PAGE_MASK, hpa, NULL);
	return r;
}

static void test_init(void)
{
	struct test_ram r;
	test_ram_init(&r, 64, 2);
	struct vm *vm = vm_new(&r.hm, 3, 1);

	CHECK_EQ(vm->pages_mapped, 0);
	CHECK(vm->gstage.root == vm->gstage_root);
	CHECK_EQ(vm->gstage.vmid, 4);	/* id + 1: VMID 0 is never used */
	CHECK_EQ(vm->gstage.leaves, 0);
	CHECK_EQ(vm->gstage.table_pages, 0);
	CHECK(all_zero(vm->gstage_root, sizeof(vm->gstage_root)));
	CHECK_EQ(ptr_to_pa(vm->gstage_root) & 0x3fff, 0);
	CHECK_EQ((gstage_hgatp(&vm->gstage) >> 44) & 0x3fff, 4);
	CHECK_EQ(host_pages_free_count(&r.hm), 64);	/* nothing allocated up front */
	vm_delete(vm);
	test_ram_destroy(&r);
}

static void test_contains(void)
{
	struct test_ram r;
	test_ram_init(&r, 16, 1);
	struct vm *vm = vm_new(&r.hm, 0, 0);

	CHECK(guest_memory_contains(vm, RAM_BASE, 0));
	CHECK(guest_memory_contains(vm, RAM_BASE, 1));
	CHECK(guest_memory_contains(vm, RAM_BASE, RAM_SIZE));
	CHECK(!guest_memory_contains(vm, RAM_BASE, RAM_SIZE + 1));
	CHECK(guest_memory_contains(vm, RAM_END - 1, 1));
	CHECK(!guest_memory_contains(vm, RAM_END - 1, 2));
	CHECK(guest_memory_contains(vm, RAM_END, 0));	/* empty range at the end */
	CHECK(!guest_memory_contains(vm, RAM_END, 1));
	CHECK(!guest_memory_contains(vm, RAM_END + 1, 0));
	CHECK(!guest_memory_contains(vm, RAM_BASE - 1, 0));
	CHECK(!guest_memory_contains(vm, RAM_BASE - 1, 1));
	CHECK(!guest_memory_contains(vm, RAM_BASE - 1, 2));
	CHECK(!guest_memory_contains(vm, 0, 0));
	CHECK(!guest_memory_contains(vm, 0, RAM_END));
	/* Lengths that wrap around the address space. */
	CHECK(!guest_memory_contains(vm, RAM_BASE, UINT64_MAX));
	CHECK(!guest_memory_contains(vm, RAM_BASE + PAGE_SIZE, UINT64_MAX));
	CHECK(!guest_memory_contains(vm, RAM_END - 1, UINT64_MAX));
	CHECK(!guest_memory_contains(vm, RAM_BASE + 1, UINT64_MAX - RAM_BASE));
	CHECK(!guest_memory_contains(vm, RAM_BASE, -RAM_BASE));	/* end wraps to exactly 0 */
	CHECK(!guest_memory_contains(vm, UINT64_MAX, 1));
	CHECK(!guest_memory_contains(vm, UINT64_MAX, 0));
	CHECK(!guest_memory_contains(vm, UINT64_MAX - PAGE_SIZE + 1, PAGE_SIZE));
	vm_delete(vm);
	test_ram_destroy(&r);
}

static void test_touch(void)
{
	struct test_ram r;
	test_ram_init(&r, 64, 2);
	struct vm *vm = vm_new(&r.hm, 3, 1);
	uint64_t hpa = 0, hpa2 = 0, got = 0;
	unsigned perms = 0;

	CHECK_EQ(device_touch(vm, RAM_BASE + 0x1234, &hpa), TOUCH_OK);
	CHECK_EQ(hpa & (PAGE_SIZE - 1), 0);
	struct host_page *p = host_page_of(&r.hm, hpa);
	if (!CHECK(p != NULL))
		goto out;
	CHECK_EQ(p->origin, PAGE_GUEST_PRIVATE);
	CHECK_EQ(p->vm, 3);
	CHECK_EQ(p->gpa, RAM_BASE + 0x1000);
	CHECK_EQ(p->mappings, 1);
	CHECK_EQ(p->node, 1);	/* the VM's home node */
	CHECK(all_zero(pa_to_ptr(hpa), PAGE_SIZE));	/* the buffer started as 0xa5 */
	CHECK_EQ(vm->pages_mapped, 1);
	CHECK(gstage_lookup(&vm->gstage, RAM_BASE + 0x1000, &got, &perms));
	CHECK_EQ(got, hpa);
	CHECK_EQ(perms, GSTAGE_RWX);
	/* Its tables are host pages too, owned by the VM. */
	CHECK_EQ(vm->gstage.table_pages, 2);
	CHECK_EQ(r.hm.used_by_origin[PAGE_GSTAGE_TABLE], 2);
	CHECK_EQ(r.hm.used_by_origin[PAGE_GUEST_PRIVATE], 1);
	CHECK_EQ(host_pages_free_count(&r.hm), 61);
	uint64_t l1 = (vm->gstage_root[RAM_BASE >> 30] >> PTE_PPN_SHIFT) << PAGE_SHIFT;
	struct host_page *t = host_page_of(&r.hm, l1);
	if (CHECK(t != NULL)) {
		CHECK_EQ(t->origin, PAGE_GSTAGE_TABLE);
		CHECK_EQ(t->vm, 3);
	}

	/* A second touch anywhere in the page: the same page, no allocation. */
	CHECK_EQ(device_touch(vm, RAM_BASE + 0x1fff, &hpa2), TOUCH_OK);
	CHECK_EQ(hpa2, hpa);
	CHECK_EQ(device_touch(vm, RAM_BASE + 0x1000, &hpa2), TOUCH_OK);
	CHECK_EQ(hpa2, hpa);
	CHECK_EQ(vm->pages_mapped, 1);
	CHECK_EQ(p->mappings, 1);
	CHECK_EQ(host_pages_free_count(&r.hm), 61);

	/* Data written through the hpa stays (touch does not re-zero). */
	memset(pa_to_ptr(hpa), 0x3c, PAGE_SIZE);
	CHECK_EQ(device_touch(vm, RAM_BASE + 0x1000, &hpa2), TOUCH_OK);
	CHECK_EQ(*(unsigned char *)pa_to_ptr(hpa2 + 100), 0x3c);

	/* The next page is another page. */
	CHECK_EQ(device_touch(vm, RAM_BASE + 0x2000, &hpa2), TOUCH_OK);
	CHECK(hpa2 != hpa);
	CHECK_EQ(host_page_of(&r.hm, hpa2)->gpa, RAM_BASE + 0x2000);
	CHECK_EQ(vm->pages_mapped, 2);

	/* The first and last page of RAM; outside RAM. */
	CHECK_EQ(device_touch(vm, RAM_BASE, &hpa2), TOUCH_OK);
	CHECK_EQ(device_touch(vm, RAM_END - 1, &hpa2), TOUCH_OK);
	CHECK_EQ(host_page_of(&r.hm, hpa2)->gpa, RAM_END - PAGE_SIZE);
	CHECK_EQ(vm->pages_mapped, 4);
	uint64_t free_before = host_pages_free_count(&r.hm);
	CHECK_EQ(device_touch(vm, RAM_END, &hpa2), TOUCH_NOT_RAM);
	CHECK_EQ(device_touch(vm, RAM_BASE - 1, &hpa2), TOUCH_NOT_RAM);
	CHECK_EQ(device_touch(vm, 0, &hpa2), TOUCH_NOT_RAM);
	CHECK_EQ(device_touch(vm, 1UL << 41, &hpa2), TOUCH_NOT_RAM);
	CHECK_EQ(device_touch(vm, UINT64_MAX, &hpa2), TOUCH_NOT_RAM);
	CHECK_EQ(vm->pages_mapped, 4);
	CHECK_EQ(host_pages_free_count(&r.hm), free_before);
	CHECK(!gstage_lookup(&vm->gstage, RAM_END, NULL, NULL));
out:
	guest_memory_release(vm);
	vm_delete(vm);
	test_ram_destroy(&r);
}

static void test_touch_no_memory(void)
{
	struct test_ram r;
	/* 4 host pages: a guest page and its 2 tables, and one more page. */
	test_ram_init(&r, 4, 1);
	struct vm *vm = vm_new(&r.hm, 0, 0);
	uint64_t hpa = 0;

	CHECK_EQ(device_touch(vm, RAM_BASE, &hpa), TOUCH_OK);
	CHECK_EQ(host_pages_free_count(&r.hm), 1);
	/* The next 2 MiB needs a new leaf table besides the page: the page is
	 * allocated, the table is not, and the page must go back. */
	CHECK_EQ(device_touch(vm, RAM_BASE + (2UL << 20), &hpa), TOUCH_NO_MEMORY);
	CHECK_EQ(host_pages_free_count(&r.hm), 1);
	CHECK_EQ(r.hm.used_by_origin[PAGE_GUEST_PRIVATE], 1);
	CHECK_EQ(vm->pages_mapped, 1);
	CHECK(!gstage_lookup(&vm->gstage, RAM_BASE + (2UL << 20), NULL, NULL));
	/* The same 2 MiB still has room for one page... */
	CHECK_EQ(device_touch(vm, RAM_BASE + PAGE_SIZE, &hpa), TOUCH_OK);
	CHECK_EQ(host_pages_free_count(&r.hm), 0);
	CHECK_EQ(vm->pages_mapped, 2);
	/* ...and then none. */
	CHECK_EQ(device_touch(vm, RAM_BASE + 2 * PAGE_SIZE, &hpa), TOUCH_NO_MEMORY);
	CHECK_EQ(vm->pages_mapped, 2);
	CHECK(!gstage_lookup(&vm->gstage, RAM_BASE + 2 * PAGE_SIZE, NULL, NULL));
	/* Pages already mapped are still fine without free memory. */
	CHECK_EQ(device_touch(vm, RAM_BASE + 10, &hpa), TOUCH_OK);

	/* Copies fail part-way: what fitted was copied. */
	char buf[3 * 4096];
	memset(buf, 0x77, sizeof(buf));
	CHECK(!guest_copy_to(vm, RAM_BASE + PAGE_SIZE, buf, sizeof(buf)));
	CHECK(guest_copy_from(vm, buf, RAM_BASE + PAGE_SIZE, 16));
	CHECK_EQ((unsigned char)buf[0], 0x77);

	guest_memory_release(vm);
	CHECK_EQ(host_pages_free_count(&r.hm), 4);
	CHECK_EQ(vm->pages_mapped, 0);
	vm_delete(vm);
	test_ram_destroy(&r);
}

static void fill_pattern(unsigned char *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(i * 131 + seed + (i >> 8));
}

static void test_copies(void)
{
	struct test_ram r;
	test_ram_init(&r, 64, 2);
	struct vm *vm = vm_new(&r.hm, 1, 0);
	static unsigned char src[3 * 4096], dst[3 * 4096];
	uint64_t gpa = RAM_BASE + PAGE_SIZE - 10, hpa;
	const size_t n = 2 * PAGE_SIZE + 100;	/* spans 4 pages */

	fill_pattern(src, sizeof(src), 1);
	CHECK(guest_copy_to(vm, gpa, src, n));
	CHECK_EQ(vm->pages_mapped, 4);
	memset(dst, 0, sizeof(dst));
	CHECK(guest_copy_from(vm, dst, gpa, n));
	CHECK_MEM(dst, src, n);
	/* The bytes are where the G-stage says: check through each hpa. */
	for (size_t off = 0; off < n; off += 997) {
		CHECK_EQ(device_touch(vm, gpa + off, &hpa), TOUCH_OK);
		CHECK_EQ(*(unsigned char *)pa_to_ptr(hpa + ((gpa + off) & (PAGE_SIZE - 1))), src[off]);
	}
	/* Around the copy, the pages are still zero. */
	CHECK_EQ(device_touch(vm, RAM_BASE, &hpa), TOUCH_OK);
	CHECK(all_zero(pa_to_ptr(hpa), PAGE_SIZE - 10));
	/* A sub-range at an odd offset. */
	memset(dst, 0, sizeof(dst));
	CHECK(guest_copy_from(vm, dst, gpa + 4000, 300));
	CHECK_MEM(dst, src + 4000, 300);

	/* Across a 2 MiB boundary: into a new leaf table. */
	uint64_t g2 = RAM_BASE + (2UL << 20) - 5;
	CHECK(guest_copy_to(vm, g2, src, 10));
	memset(dst, 0, sizeof(dst));
	CHECK(guest_copy_from(vm, dst, g2, 10));
	CHECK_MEM(dst, src, 10);
	CHECK_EQ(vm->gstage.table_pages, 3);

	/* Exactly up to the end of RAM; one byte more is refused, and nothing
	 * is written or mapped. */
	CHECK(guest_copy_to(vm, RAM_END - 100, src, 100));
	uint64_t mapped = vm->pages_mapped, free_pages = host_pages_free_count(&r.hm);
	unsigned char other[128];
	fill_pattern(other, sizeof(other), 99);
	CHECK(!guest_copy_to(vm, RAM_END - 100, other, 101));
	CHECK(!guest_copy_to(vm, RAM_END, other, 1));
	CHECK(!guest_copy_to(vm, RAM_BASE - 1, other, 2));
	CHECK(!guest_copy_to(vm, RAM_BASE + 3 * (2UL << 20), other, SIZE_MAX));
	CHECK(!guest_copy_to(vm, UINT64_MAX - 10, other, 20));
	CHECK_EQ(vm->pages_mapped, mapped);
	CHECK_EQ(host_pages_free_count(&r.hm), free_pages);
	memset(dst, 0, sizeof(dst));
	CHECK(guest_copy_from(vm, dst, RAM_END - 100, 100));
	CHECK_MEM(dst, src, 100);	/* not partly overwritten by the refused copy */

	/* A refused copy_from leaves the destination alone. */
	memset(dst, 0xee, sizeof(dst));
	CHECK(!guest_copy_from(vm, dst, RAM_END - 100, 101));
	CHECK(!guest_copy_from(vm, dst, RAM_BASE - 4096, 8192));
	CHECK(!guest_copy_from(vm, dst, 0, 16));
	for (size_t i = 0; i < sizeof(dst); i++)
		if (dst[i] != 0xee) {
			CHECK_EQ(dst[i], 0xee);
			break;
		}
	CHECK_EQ(vm->pages_mapped, mapped);

	/* Zero-length copies: fine anywhere inside or at the end of RAM. */
	CHECK(guest_copy_to(vm, RAM_END, src, 0));
	CHECK(guest_copy_from(vm, dst, RAM_BASE + 12345, 0));
	CHECK(!guest_copy_to(vm, RAM_END + 1, src, 0));
	CHECK_EQ(vm->pages_mapped, mapped);

	/* Reading RAM the guest never wrote gives zeros. */
	memset(dst, 0xee, sizeof(dst));
	CHECK(guest_copy_from(vm, dst, RAM_BASE + (5UL << 20), 64));
	CHECK(all_zero(dst, 64));

	guest_memory_release(vm);
	vm_delete(vm);
	test_ram_destroy(&r);
}

static void test_release(void)
{
	struct test_ram r;
	/* All 8 MiB of the guest, its 5 table pages, and some spare. */
	test_ram_init(&r, 2048 + 5 + 16, 2);
	struct vm *vm = vm_new(&r.hm, 2, 0);
	const uint64_t start_free = host_pages_free_count(&r.hm);
	uint64_t hpa;
	bool ok = true;

	for (uint64_t g = RAM_BASE; g < RAM_END; g += PAGE_SIZE) {
		ok = device_touch(vm, g, &hpa) == TOUCH_OK && ok;
		*(uint64_t *)pa_to_ptr(hpa) = g;	/* dirty every page */
	}
	CHECK(ok);
	CHECK_EQ(vm->pages_mapped, 2048);
	CHECK_EQ(vm->gstage.leaves, 2048);
	CHECK_EQ(vm->gstage.table_pages, 5);
	CHECK_EQ(host_pages_free_count(&r.hm), 16);
	CHECK_EQ(r.hm.used_by_origin[PAGE_GUEST_PRIVATE], 2048);
	CHECK_EQ(r.hm.used_by_origin[PAGE_GSTAGE_TABLE], 5);
	/* Once the home node is used up, the other node serves. */
	CHECK(r.hm.node[1].free_pages < r.hm.node[1].total_pages);

	guest_memory_release(vm);
	CHECK_EQ(host_pages_free_count(&r.hm), start_free);
	CHECK_EQ(vm->pages_mapped, 0);
	CHECK_EQ(vm->gstage.leaves, 0);
	CHECK_EQ(vm->gstage.table_pages, 0);
	CHECK_EQ(r.hm.used_by_origin[PAGE_GUEST_PRIVATE], 0);
	CHECK_EQ(r.hm.used_by_origin[PAGE_GSTAGE_TABLE], 0);
	CHECK(all_zero(vm->gstage_root, sizeof(vm->gstage_root)));
	unsigned not_free = 0;
	for (uint64_t i = 0; i < r.pages; i++)
		if (r.table[i].origin != PAGE_FREE || r.table[i].mappings)
			not_free++;
	CHECK_EQ(not_free, 0);

	/* The VM can start over; its pages come back zeroed. */
	CHECK_EQ(device_touch(vm, RAM_BASE + PAGE_SIZE, &hpa), TOUCH_OK);
	CHECK(all_zero(pa_to_ptr(hpa), PAGE_SIZE));
	CHECK_EQ(vm->pages_mapped, 1);
	guest_memory_release(vm);
	CHECK_EQ(host_pages_free_count(&r.hm), start_free);

	/* Releasing an empty VM is harmless. */
	guest_memory_release(vm);
	CHECK_EQ(host_pages_free_count(&r.hm), start_free);
	CHECK_EQ(vm->pages_mapped, 0);
	vm_delete(vm);
	test_ram_destroy(&r);
}

static void test_two_vms(void)
{
	struct test_ram r;
	test_ram_init(&r, 64, 2);
	struct vm *a = vm_new(&r.hm, 0, 0), *b = vm_new(&r.hm, 1, 1);
	const uint64_t start_free = host_pages_free_count(&r.hm);
	uint64_t ha, hb;
	static const char msg_a[] = "guest a", msg_b[] = "guest b";
	char buf[16];

	CHECK(guest_copy_to(a, RAM_BASE, msg_a, sizeof(msg_a)));
	CHECK(guest_copy_to(b, RAM_BASE, msg_b, sizeof(msg_b)));
	CHECK_EQ(device_touch(a, RAM_BASE, &ha), TOUCH_OK);
	CHECK_EQ(device_touch(b, RAM_BASE, &hb), TOUCH_OK);
	CHECK(ha != hb);
	CHECK_EQ(host_page_of(&r.hm, ha)->vm, 0);
	CHECK_EQ(host_page_of(&r.hm, hb)->vm, 1);
	CHECK_EQ(host_page_of(&r.hm, ha)->node, 0);
	CHECK_EQ(host_page_of(&r.hm, hb)->node, 1);
	CHECK(a->gstage.vmid != b->gstage.vmid);

	/* Releasing one VM leaves the other's memory intact. */
	guest_memory_release(a);
	CHECK_EQ(a->pages_mapped, 0);
	CHECK_EQ(b->pages_mapped, 1);
	CHECK(guest_copy_from(b, buf, RAM_BASE, sizeof(msg_b)));
	CHECK_STR(buf, msg_b);
	CHECK_EQ(host_page_of(&r.hm, hb)->origin, PAGE_GUEST_PRIVATE);
	CHECK_EQ(host_page_of(&r.hm, hb)->mappings, 1);
	/* a touches its RAM again: fresh zeroed pages, nothing of before. */
	memset(buf, 0x55, sizeof(buf));
	CHECK(guest_copy_from(a, buf, RAM_BASE, sizeof(buf)));
	CHECK(all_zero(buf, sizeof(buf)));
	guest_memory_release(a);
	guest_memory_release(b);
	CHECK_EQ(host_pages_free_count(&r.hm), start_free);
	vm_delete(a);
	vm_delete(b);
	test_ram_destroy(&r);
}

static unsigned mapped_in(struct vm *vm, uint64_t from, uint64_t to)
{
	unsigned n = 0;

	for (uint64_t g = from; g < to; g += PAGE_SIZE)
		if (gstage_lookup(&vm->gstage, g, NULL, NULL))
			n++;
	return n;
}

static void test_fault_in(void)
{
	struct test_ram r;
	test_ram_init(&r, 128, 2);
	struct vm *vm = vm_new(&r.hm, 1, 0);
	const uint64_t block = RAM_BASE + 0x30000, pages = FAULT_AROUND_BYTES / PAGE_SIZE;
	uint64_t hpa = 0, got = 0, neighbour = 0;

	CHECK_EQ(FAULT_AROUND_BYTES, 64 * 1024);
	/* A neighbour mapped before keeps its page. */
	CHECK_EQ(device_touch(vm, block + 3 * PAGE_SIZE, &neighbour), TOUCH_OK);
	memset(pa_to_ptr(neighbour), 0x42, PAGE_SIZE);

	CHECK_EQ(fault_in(vm, block + 5 * PAGE_SIZE + 0x123, &hpa), TOUCH_OK);
	CHECK(gstage_lookup(&vm->gstage, block + 5 * PAGE_SIZE, &got, NULL));
	CHECK_EQ(hpa, got);			/* the result is gpa's own page */
	CHECK_EQ(host_page_of(&r.hm, hpa)->gpa, block + 5 * PAGE_SIZE);
	CHECK_EQ(mapped_in(vm, block, block + FAULT_AROUND_BYTES), pages);
	CHECK_EQ(mapped_in(vm, block - PAGE_SIZE, block), 0);	/* only its block */
	CHECK_EQ(mapped_in(vm, block + FAULT_AROUND_BYTES,
			   block + FAULT_AROUND_BYTES + PAGE_SIZE), 0);
	CHECK_EQ(vm->pages_mapped, pages);
	CHECK(gstage_lookup(&vm->gstage, block + 3 * PAGE_SIZE, &got, NULL));
	CHECK_EQ(got, neighbour);
	CHECK_EQ(*(unsigned char *)pa_to_ptr(neighbour), 0x42);
	/* Every neighbour has a proper owner record. */
	unsigned good = 0;
	for (uint64_t g = block; g < block + FAULT_AROUND_BYTES; g += PAGE_SIZE) {
		struct host_page *p;
		if (gstage_lookup(&vm->gstage, g, &got, NULL) && (p = host_page_of(&r.hm, got)) &&
		    p->origin == PAGE_GUEST_PRIVATE && p->vm == 1 && p->gpa == g &&
		    p->mappings == 1 && all_zero(pa_to_ptr(got), g == block + 3 * PAGE_SIZE ?
						 0 : PAGE_SIZE))
			good++;
	}
	CHECK_EQ(good, pages);

	/* Again in the same block: nothing new. */
	CHECK_EQ(fault_in(vm, block, &hpa), TOUCH_OK);
	CHECK_EQ(vm->pages_mapped, pages);

	/* The last block of RAM; outside RAM nothing is mapped. */
	CHECK_EQ(fault_in(vm, RAM_END - 1, &hpa), TOUCH_OK);
	CHECK_EQ(mapped_in(vm, RAM_END - FAULT_AROUND_BYTES, RAM_END), pages);
	CHECK_EQ(vm->pages_mapped, 2 * pages);
	CHECK_EQ(fault_in(vm, RAM_END, &hpa), TOUCH_NOT_RAM);
	CHECK_EQ(fault_in(vm, RAM_BASE - 1, &hpa), TOUCH_NOT_RAM);
	CHECK_EQ(vm->pages_mapped, 2 * pages);

	guest_memory_release(vm);
	CHECK_EQ(host_pages_free_count(&r.hm), 128);
	vm_delete(vm);
	test_ram_destroy(&r);
}

static unsigned reclaims, stops;
static uint64_t count_reclaim(struct vm *vm, uint64_t want)
{
	(void)vm;
	(void)want;
	reclaims++;
	return 0;	/* nothing to take */
}

static void count_stop(struct vm *vm, enum touch_result why)
{
	(void)vm;
	(void)why;
	stops++;
}

static void test_fault_in_edges(void)
{
	struct test_ram r;
	/* RAM that ends 2 pages into a 64 KiB block. */
	test_ram_init(&r, 64, 1);
	struct vm *vm = vm_new(&r.hm, 0, 0);
	uint64_t hpa = 0;

	vm->ram_size = (2UL << 20) + 2 * PAGE_SIZE;
	uint64_t end = RAM_BASE + vm->ram_size;
	CHECK_EQ(fault_in(vm, end - PAGE_SIZE, &hpa), TOUCH_OK);
	CHECK_EQ(mapped_in(vm, end - 2 * PAGE_SIZE, end), 2);
	CHECK_EQ(vm->pages_mapped, 2);
	CHECK(!gstage_lookup(&vm->gstage, end, NULL, NULL));
	guest_memory_release(vm);
	vm_delete(vm);
	test_ram_destroy(&r);

	/* Host memory runs out inside the block: gpa's own page first, then
	 * as many neighbours as fit; the fault still succeeds. */
	test_ram_init(&r, 8, 1);	/* 2 table pages + 6 guest pages */
	vm = vm_new(&r.hm, 0, 0);
	CHECK_EQ(fault_in(vm, RAM_BASE + 0xf000, &hpa), TOUCH_OK);
	CHECK(gstage_lookup(&vm->gstage, RAM_BASE + 0xf000, NULL, NULL));
	CHECK_EQ(vm->pages_mapped, 6);
	CHECK_EQ(mapped_in(vm, RAM_BASE, RAM_BASE + FAULT_AROUND_BYTES), 6);
	CHECK_EQ(host_pages_free_count(&r.hm), 0);
	/* No page for gpa itself: the error, and nothing else happens. */
	CHECK_EQ(fault_in(vm, RAM_BASE + 0x1e000, &hpa), TOUCH_NO_MEMORY);
	CHECK_EQ(vm->pages_mapped, 6);
	guest_memory_release(vm);
	CHECK_EQ(host_pages_free_count(&r.hm), 8);
	vm_delete(vm);
	test_ram_destroy(&r);

	/* With a pager: a neighbour is never worth a reclaim, let alone a
	 * stopped VM. gpa's own page asks the pager (which finds nothing
	 * here); its neighbours take what is free and stop there. */
	const struct guest_memory_pager hooks = { .reclaim = count_reclaim,
						  .out_of_memory = count_stop };
	guest_memory_set_pager(&hooks);
	test_ram_init(&r, 8, 1);
	vm = vm_new(&r.hm, 0, 0);
	reclaims = stops = 0;
	CHECK_EQ(fault_in(vm, RAM_BASE + 0xf000, &hpa), TOUCH_OK);
	CHECK_EQ(vm->pages_mapped, 6);
	CHECK_EQ(reclaims, 0);
	CHECK_EQ(stops, 0);
	CHECK_EQ(fault_in(vm, RAM_BASE + 0x1e000, &hpa), TOUCH_NO_MEMORY);
	CHECK_EQ(reclaims, 1);		/* for gpa itself, once */
	CHECK_EQ(stops, 0);		/* the fault path's caller decides */
	guest_memory_set_pager(&(struct guest_memory_pager){ 0 });
	guest_memory_release(vm);
	vm_delete(vm);
	test_ram_destroy(&r);
}

/*
 * pages_local / pages_remote: 4 nodes of 16 pages; the VM's home node 1
 * has only 5 free pages (the rest taken by the hypervisor), so after its
 * 2 table pages 3 guest pages are local and the rest come from node 2
 * (the next node in numbering order).
 */
static void test_local_remote(void)
{
	struct test_ram r;
	test_ram_init(&r, 64, 4);
	uint64_t taken[11], hpa;

	for (unsigned i = 0; i < 11; i++) {
		taken[i] = host_page_alloc(&r.hm, 1, PAGE_HYPERVISOR, HOST_PAGE_NO_VM, 0);
		CHECK_EQ(host_page_of(&r.hm, taken[i])->node, 1);
	}
	CHECK_EQ(r.hm.node[1].free_pages, 5);
	struct vm *vm = vm_new(&r.hm, 5, 1);
	CHECK_EQ(vm->pages_local, 0);
	CHECK_EQ(vm->pages_remote, 0);

	unsigned on_node[4] = { 0 };
	bool ok = true;
	for (unsigned i = 0; i < 10; i++) {
		ok = device_touch(vm, RAM_BASE + i * PAGE_SIZE, &hpa) == TOUCH_OK && ok;
		on_node[host_page_of(&r.hm, hpa)->node]++;
		ok = vm->pages_local + vm->pages_remote == vm->pages_mapped && ok;
	}
	CHECK(ok);
	CHECK_EQ(vm->gstage.table_pages, 2);
	CHECK_EQ(r.hm.node[1].free_pages, 0);
	CHECK_EQ(vm->pages_mapped, 10);
	CHECK_EQ(on_node[1], 3);
	CHECK_EQ(on_node[2], 7);
	CHECK_EQ(vm->pages_local, 3);
	CHECK_EQ(vm->pages_remote, 7);
	CHECK_EQ(r.hm.node[2].free_pages, 16 - 7);
	/* Touching mapped pages again changes no counter. */
	CHECK_EQ(device_touch(vm, RAM_BASE + 4 * PAGE_SIZE + 8, &hpa), TOUCH_OK);
	CHECK_EQ(vm->pages_local, 3);
	CHECK_EQ(vm->pages_remote, 7);

	/* Another VM homed on node 2: its pages are local there. */
	struct vm *b = vm_new(&r.hm, 6, 2);
	CHECK_EQ(device_touch(b, RAM_BASE, &hpa), TOUCH_OK);
	CHECK_EQ(host_page_of(&r.hm, hpa)->node, 2);
	CHECK_EQ(b->pages_local, 1);
	CHECK_EQ(b->pages_remote, 0);
	guest_memory_release(b);
	CHECK_EQ(b->pages_local, 0);
	CHECK_EQ(b->pages_remote, 0);
	vm_delete(b);

	/* Release: both back to 0, each page on its own node's list. */
	guest_memory_release(vm);
	CHECK_EQ(vm->pages_mapped, 0);
	CHECK_EQ(vm->pages_local, 0);
	CHECK_EQ(vm->pages_remote, 0);
	CHECK_EQ(r.hm.node[1].free_pages, 5);
	CHECK_EQ(r.hm.node[2].free_pages, 16);

	/* Touched again after the release: the counters start over. */
	CHECK_EQ(device_touch(vm, RAM_BASE, &hpa), TOUCH_OK);
	CHECK_EQ(vm->pages_local, 1);
	CHECK_EQ(vm->pages_remote, 0);
	guest_memory_release(vm);
	CHECK_EQ(vm->pages_local, 0);
	for (unsigned i = 0; i < 11; i++)
		CHECK(host_page_free(&r.hm, taken[i]));
	CHECK_EQ(host_pages_free_count(&r.hm), 64);
	vm_delete(vm);
	test_ram_destroy(&r);
}

/* A base-disk block's shared host page, filled with `byte`. */
static uint64_t shared_page(struct test_ram *r, uint64_t block, int byte)
{
	uint64_t pa = host_page_alloc(&r->hm, 0, PAGE_SHARED_DISK, HOST_PAGE_NO_VM, block);

	if (pa)
		memset(pa_to_ptr(pa), byte, PAGE_SIZE);
	return pa;
}

static bool all_bytes(uint64_t pa, int byte)
{
	const unsigned char *p = pa_to_ptr(pa);

	for (unsigned i = 0; i < PAGE_SIZE; i++)
		if (p[i] != byte)
			return false;
	return true;
}

/*
 * Defect: a hypervisor write (a device's DMA, DBCN, GET_ID) into a page
 * mapped to a shared page looked the page up, dropped the VM's lock,
 * retook it and checked only that the page was writable by then. Another
 * vCPU breaking copy-on-write on the same page in that gap made it
 * writable - to its new copy - and the write went into the shared page
 * that every guest reading that block sees. Replayed: the other vCPU's
 * store fault runs at the first release of the lock inside the write.
 */
static struct vm *race_vm;
static uint64_t race_gpa;
static bool race_other_spurious;
static void other_vcpu_stores(struct spinlock *l)
{
	if (l != &race_vm->lock) {
		unit_unlock_hook = other_vcpu_stores;	/* not this one: wait on */
		return;
	}
	guest_memory_fault(race_vm, race_gpa, true, &race_other_spurious);
}

static void test_write_races_cow(void)
{
	struct test_ram r;
	test_ram_init(&r, 64, 1);
	struct vm *vm = vm_new(&r.hm, 0, 0);
	struct retired_pages retired;
	uint64_t gpa = RAM_BASE + 0x5000, s = shared_page(&r, 7, 'B'), hpa = 0;

	retired_init(&retired);
	CHECK(guest_memory_map_shared(vm, gpa, s, &retired));
	CHECK_EQ(host_page_of(&r.hm, s)->mappings, 1);
	race_vm = vm;
	race_gpa = gpa;
	unit_unlock_hook = other_vcpu_stores;
	CHECK(guest_copy_to(vm, gpa + 100, "XXXX", 4));
	unit_unlock_hook = NULL;
	CHECK(all_bytes(s, 'B'));			/* the shared page is untouched */
	CHECK(gstage_lookup(&vm->gstage, gpa, &hpa, NULL));
	CHECK(hpa != s);
	CHECK_MEM((char *)pa_to_ptr(hpa) + 100, "XXXX", 4);	/* the write is in the copy */
	CHECK_EQ(*(char *)pa_to_ptr(hpa + 99), 'B');
	CHECK_EQ(vm->cow_breaks, 1);			/* one copy, not two */
	CHECK(race_other_spurious);			/* the other vCPU found it done */
	CHECK_EQ(vm->pages_shared, 0);
	CHECK_EQ(vm->pages_mapped, 1);
	/* The copy owes the other vCPUs a fence; until it is paid they may
	 * still read the shared page, so it still counts as mapped (the
	 * block cache must not evict it and give it to someone else). */
	CHECK(!gstage_fenced(&vm->gstage, gstage_changed(&vm->gstage)));
	CHECK_EQ(host_page_of(&r.hm, s)->mappings, 1);
	fences = 0;
	guest_memory_sync(vm);
	CHECK_EQ(fences, 1);
	CHECK_EQ(host_page_of(&r.hm, s)->mappings, 0);
	guest_memory_release(vm);
	vm_delete(vm);
	test_ram_destroy(&r);
}

/*
 * Defect: a guest page that moved from one shared page to another (block
 * X's to block Y's: Linux reuses page-cache pages) was never fenced, so
 * the VM's other vCPUs could go on reading X. Every change of a live leaf
 * owes a fence before the device completes the request.
 */
static void test_shared_to_shared_owes_fence(void)
{
	struct test_ram r;
	test_ram_init(&r, 64, 1);
	struct vm *vm = vm_new(&r.hm, 0, 0);
	struct retired_pages retired;
	uint64_t gpa = RAM_BASE, x = shared_page(&r, 1, 'X'), y = shared_page(&r, 2, 'Y'), hpa;

	retired_init(&retired);
	CHECK(guest_memory_map_shared(vm, gpa, x, &retired));
	CHECK_EQ(retired.fence_gen, 0);		/* nothing was mapped there */
	fences = 0;
	guest_memory_sync(vm);
	CHECK_EQ(fences, 0);
	CHECK(guest_memory_map_shared(vm, gpa, y, &retired));
	CHECK_EQ(retired.count, 0);		/* X stays: it is the block cache's */
	CHECK(retired.fence_gen > 0);		/* ...but the move owes a fence */
	CHECK_EQ(host_page_of(&r.hm, x)->mappings, 1);	/* not evictable before it */
	guest_memory_sync(vm);
	CHECK_EQ(fences, 1);
	CHECK(gstage_fenced(&vm->gstage, retired.fence_gen));
	CHECK(gstage_lookup(&vm->gstage, gpa, &hpa, NULL));
	CHECK_EQ(hpa, y);
	CHECK_EQ(host_page_of(&r.hm, x)->mappings, 0);	/* dropped after the fence */
	CHECK_EQ(host_page_of(&r.hm, y)->mappings, 1);
	CHECK_EQ(vm->pages_shared, 1);
	CHECK_EQ(vm->pages_mapped, 1);
	guest_memory_release(vm);
	vm_delete(vm);
	test_ram_destroy(&r);
}

/*
 * A private page replaced by a shared mapping is retired and goes back to
 * the allocator only after the fence: while the fence waits for the other
 * harts (one of which may still be writing through its old translation),
 * the page is still the VM's.
 */
static struct test_ram *fence_ram;
static uint64_t fence_watched;
static bool watched_still_owned;
static void check_watched_page(void)
{
	struct host_page *p = host_page_of(&fence_ram->hm, fence_watched);

	watched_still_owned = p && p->origin == PAGE_GUEST_PRIVATE && p->vm == 0;
}

static void test_retired_after_fence(void)
{
	struct test_ram r;
	test_ram_init(&r, 64, 1);
	struct vm *vm = vm_new(&r.hm, 0, 0);
	struct retired_pages retired;
	uint64_t gpa = RAM_BASE + 0x3000, s = shared_page(&r, 3, 'S'), priv = 0;

	CHECK_EQ(device_touch(vm, gpa, &priv), TOUCH_OK);
	uint64_t free_before = host_pages_free_count(&r.hm);
	retired_init(&retired);
	CHECK(guest_memory_map_shared(vm, gpa, s, &retired));
	CHECK_EQ(retired.count, 1);
	CHECK_EQ(retired.pa[0], priv);
	CHECK_EQ(host_pages_free_count(&r.hm), free_before);	/* not yet */
	fences = 0;
	fence_ram = &r;
	fence_watched = priv;
	watched_still_owned = false;
	fence_step = check_watched_page;
	guest_memory_free_retired(vm, &retired);
	CHECK_EQ(fences, 1);
	CHECK(watched_still_owned);			/* during the fence */
	CHECK_EQ(host_page_of(&r.hm, priv)->origin, PAGE_FREE);	/* after it */
	CHECK_EQ(host_pages_free_count(&r.hm), free_before + 1);
	CHECK_EQ(retired.count, 0);
	/* A full list refuses more, rather than lose a page. */
	retired.count = RETIRED_MAX;
	CHECK(!guest_memory_map_shared(vm, gpa + PAGE_SIZE, s, &retired));
	guest_memory_release(vm);
	vm_delete(vm);
	test_ram_destroy(&r);
}

/*
 * The fault path: a store to a shared page copies it (and owes a fence);
 * a fault on a page that is already mapped as the access needs is
 * spurious - the hart used a stale entry, which the privileged spec lets
 * it keep until it fences - and must tell the caller to fence locally, or
 * the vCPU can fault on it for ever.
 */
static void test_fault_cow_and_spurious(void)
{
	struct test_ram r;
	test_ram_init(&r, 64, 1);
	struct vm *vm = vm_new(&r.hm, 0, 0);
	struct retired_pages retired;
	uint64_t gpa = RAM_BASE + 0x7000, s = shared_page(&r, 9, 'K'), hpa = 0;
	bool spurious = true;

	retired_init(&retired);
	CHECK(guest_memory_map_shared(vm, gpa, s, &retired));
	/* A load or fetch fault on the read-only shared page: spurious. */
	CHECK_EQ(guest_memory_fault(vm, gpa, false, &spurious), TOUCH_OK);
	CHECK(spurious);
	/* A store: copy-on-write, not spurious. */
	CHECK_EQ(guest_memory_fault(vm, gpa + 8, true, &spurious), TOUCH_OK);
	CHECK(!spurious);
	CHECK(gstage_lookup(&vm->gstage, gpa, &hpa, NULL));
	CHECK(hpa != s);
	CHECK(all_bytes(hpa, 'K'));
	CHECK_EQ(vm->cow_breaks, 1);
	uint64_t owed = gstage_changed(&vm->gstage);
	CHECK(!gstage_fenced(&vm->gstage, owed));
	/* Another vCPU's store fault on it, after the copy: spurious. */
	CHECK_EQ(guest_memory_fault(vm, gpa, true, &spurious), TOUCH_OK);
	CHECK(spurious);
	CHECK_EQ(vm->cow_breaks, 1);
	CHECK_EQ(vm->spurious_faults, 2);
	/* A first touch is not spurious. */
	CHECK_EQ(guest_memory_fault(vm, RAM_BASE + 0x20000, true, &spurious), TOUCH_OK);
	CHECK(!spurious);
	CHECK_EQ(gstage_changed(&vm->gstage), owed);	/* creates owe nothing */
	guest_memory_release(vm);
	vm_delete(vm);
	test_ram_destroy(&r);
}

/*
 * Deferred drops under contention: another vCPU breaks a copy-on-write
 * during every fence, so there is always a drop newer than the fence.
 * With one generation for the whole list (the newest), no drain ever
 * succeeded, the list filled, and a drop that found it full was lost:
 * the page stayed counted as mapped for ever (never evictable). Each
 * drop keeps its own generation now, and a full list makes the change
 * wait (TOUCH_RETRY) instead of losing the drop.
 */
static struct vm *contended_vm;
static uint64_t contended_shared, contended_next;
static void cow_during_fence(void)
{
	struct retired_pages retired;
	bool spurious;

	retired_init(&retired);
	guest_memory_map_shared(contended_vm, contended_next, contended_shared, &retired);
	guest_memory_fault(contended_vm, contended_next, true, &spurious);
	contended_next += PAGE_SIZE;
}

static void test_drops_under_contention(void)
{
	struct test_ram r;
	test_ram_init(&r, 1400, 1);
	struct vm *vm = vm_new(&r.hm, 0, 0);
	uint64_t s = shared_page(&r, 5, 'D');
	unsigned most = 0;
	bool spurious;

	contended_vm = vm;
	contended_shared = s;
	contended_next = RAM_BASE + (4UL << 20);
	for (unsigned i = 0; i < 300; i++) {
		struct retired_pages retired;
		uint64_t gpa = RAM_BASE + i * PAGE_SIZE;
		retired_init(&retired);
		CHECK(guest_memory_map_shared(vm, gpa, s, &retired));
		CHECK_EQ(guest_memory_fault(vm, gpa, true, &spurious), TOUCH_OK);
		fence_step = cow_during_fence;
		guest_memory_sync(vm);
		if (vm->shared_drops.count > most)
			most = vm->shared_drops.count;
	}
	guest_memory_sync(vm);
	CHECK(most <= 2);				/* drained as it goes */
	CHECK_EQ(vm->shared_drops.count, 0);
	CHECK_EQ(vm->shared_drops_full, 0);
	CHECK_EQ(host_page_of(&r.hm, s)->mappings, 0);	/* nothing leaked */
	CHECK_EQ(vm->cow_breaks, 600);
	/* A full list: the change waits, the page stays mapped read-only. */
	vm->shared_drops.count = DEFERRED_DROPS_MAX;
	for (unsigned i = 0; i < DEFERRED_DROPS_MAX; i++) {
		vm->shared_drops.drop[i].pa = s;
		vm->shared_drops.drop[i].fence_gen = UINT64_MAX;	/* never fenced */
	}
	struct retired_pages retired;
	uint64_t gpa = RAM_BASE + (6UL << 20), hpa = 0;
	retired_init(&retired);
	CHECK(guest_memory_map_shared(vm, gpa, s, &retired));
	CHECK_EQ(guest_memory_fault(vm, gpa, true, &spurious), TOUCH_RETRY);
	CHECK(gstage_lookup(&vm->gstage, gpa, &hpa, NULL));
	CHECK_EQ(hpa, s);
	CHECK_EQ(vm->shared_drops_full, 1);
	/* A device's write, or a shared mapping, has no exit to wait for: it
	 * fences itself. With drops that no fence can empty it gives up; with
	 * drops merely not fenced yet, it empties them and goes on. */
	uint64_t other = shared_page(&r, 6, 'E');
	CHECK_EQ(device_touch_writable(vm, gpa, &hpa), TOUCH_RETRY);
	CHECK(!guest_memory_map_shared(vm, gpa, other, &retired));
	unsigned full_before = vm->shared_drops_full;
	uint64_t gen = __atomic_add_fetch(&vm->gstage.changed, 1, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < DEFERRED_DROPS_MAX; i++)
		vm->shared_drops.drop[i].fence_gen = gen;	/* the next fence covers them */
	host_page_of(&r.hm, s)->mappings += DEFERRED_DROPS_MAX;	/* what they hold */
	CHECK(guest_memory_map_shared(vm, gpa, other, &retired));
	CHECK(gstage_lookup(&vm->gstage, gpa, &hpa, NULL) && hpa == other);
	CHECK(vm->shared_drops_full > full_before);	/* it did find them full */
	guest_memory_sync(vm);
	CHECK_EQ(vm->shared_drops.count, 0);
	/* The same for the device's write over the shared page: its copy. */
	vm->shared_drops.count = DEFERRED_DROPS_MAX;
	gen = __atomic_add_fetch(&vm->gstage.changed, 1, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < DEFERRED_DROPS_MAX; i++) {
		vm->shared_drops.drop[i].pa = other;
		vm->shared_drops.drop[i].fence_gen = gen;
	}
	host_page_of(&r.hm, other)->mappings += DEFERRED_DROPS_MAX;
	full_before = vm->shared_drops_full;
	CHECK_EQ(device_touch_writable(vm, gpa, &hpa), TOUCH_OK);
	CHECK(hpa != other && hpa != s);		/* its own copy */
	CHECK(vm->shared_drops_full > full_before);
	guest_memory_sync(vm);
	CHECK_EQ(vm->shared_drops.count, 0);
	CHECK_EQ(host_page_of(&r.hm, other)->mappings, 0);	/* nothing leaked */
	guest_memory_release(vm);
	vm_delete(vm);
	test_ram_destroy(&r);
}

/* Fills the page at gpa of vm (touching it) with byte b. */
static uint64_t fill_guest_page(struct vm *vm, uint64_t gpa, char b)
{
	uint64_t hpa = 0;

	CHECK_EQ(device_touch_writable(vm, gpa, &hpa), TOUCH_OK);
	memset(pa_to_ptr(hpa), b, PAGE_SIZE);
	return hpa;
}

static bool store_fault(struct vm *vm, uint64_t gpa)
{
	bool spurious;

	return guest_memory_fault(vm, gpa, true, &spurious) == TOUCH_OK && !spurious;
}

/*
 * The network's remap (vnet/vnet.c place_frame): A's private page is
 * pinned (made PAGE_SHARED_NET, read-only in A, a fence owed), mapped
 * into B, unpinned. Then every way it can end: A writes (copy: B keeps
 * the old contents), B drops it (after B's fence), the last mapping
 * frees it, and a write with no other mapper left takes it back in
 * place without a copy.
 */
static void test_net_share_and_cow(void)
{
	struct test_ram r;
	test_ram_init(&r, 64, 1);
	struct vm *a = vm_new(&r.hm, 0, 0), *b = vm_new(&r.hm, 1, 0);
	struct retired_pages retired;
	uint64_t ga = RAM_BASE + 0x5000, gb = RAM_BASE + 0x9000, pa, hpa = 0;
	unsigned perms = 0;

	uint64_t page = fill_guest_page(a, ga, 'A');
	fill_guest_page(b, gb, 'b');
	uint64_t used = host_pages_free_count(&r.hm);
	/* Pin: not RAM, misaligned, unmapped pages are refused. */
	CHECK_EQ(guest_memory_pin_shared(a, ga + 8), 0);
	CHECK_EQ(guest_memory_pin_shared(a, RAM_END), 0);
	CHECK_EQ(guest_memory_pin_shared(a, ga + PAGE_SIZE), 0);
	uint64_t owed = gstage_changed(&a->gstage);
	pa = guest_memory_pin_shared(a, ga);
	CHECK_EQ(pa, page);
	CHECK_EQ(host_page_of(&r.hm, pa)->origin, PAGE_SHARED_NET);
	CHECK_EQ(host_page_of(&r.hm, pa)->mappings, 2);	/* A's mapping and the pin */
	CHECK(gstage_lookup(&a->gstage, ga, &hpa, &perms) && !(perms & GSTAGE_WRITE));
	CHECK(gstage_changed(&a->gstage) > owed);	/* the write-protect owes A a fence */
	CHECK_EQ(a->pages_shared, 1);
	guest_memory_sync(a);
	retired_init(&retired);
	CHECK(guest_memory_map_shared(b, gb, pa, &retired));
	guest_memory_unpin(a, pa);
	guest_memory_free_retired(b, &retired);	/* B's old page, after B's fence */
	CHECK_EQ(host_page_of(&r.hm, pa)->mappings, 2);
	CHECK_EQ(host_pages_free_count(&r.hm), used + 1);	/* one page for two */
	CHECK(gstage_lookup(&b->gstage, gb, &hpa, &perms) && hpa == pa && !(perms & GSTAGE_WRITE));
	/* A writes: B's page must not change; A gets a copy. */
	CHECK(store_fault(a, ga));
	CHECK_EQ(a->cow_breaks, 1);
	CHECK(gstage_lookup(&a->gstage, ga, &hpa, NULL) && hpa != pa);
	memset(pa_to_ptr(hpa), 'X', PAGE_SIZE);
	CHECK(all_bytes(pa, 'A'));
	guest_memory_sync(a);	/* A's drop of the shared page, after A's fence */
	CHECK_EQ(host_page_of(&r.hm, pa)->mappings, 1);
	/* B writes now: no one else maps it, so B takes it back in place. */
	CHECK(store_fault(b, gb));
	CHECK_EQ(b->cow_breaks, 0);
	CHECK_EQ(b->cow_kept, 1);
	CHECK_EQ(b->pages_shared, 0);
	CHECK(gstage_lookup(&b->gstage, gb, &hpa, &perms) && hpa == pa && (perms & GSTAGE_WRITE));
	CHECK_EQ(host_page_of(&r.hm, pa)->origin, PAGE_GUEST_PRIVATE);
	CHECK_EQ(host_page_of(&r.hm, pa)->vm, 1);	/* charged to B now */
	CHECK_EQ(r.hm.used_by_origin[PAGE_SHARED_NET], 0);
	guest_memory_release(a);
	guest_memory_release(b);
	CHECK_EQ(host_pages_free_count(&r.hm), 64);
	vm_delete(a);
	vm_delete(b);
	test_ram_destroy(&r);
}

/* The last mapping of a network-shared page frees it, whoever drops it,
 * and only after the dropper's fence; a pin keeps it alive. */
static void test_net_share_freed_by_last(void)
{
	struct test_ram r;
	test_ram_init(&r, 64, 1);
	struct vm *a = vm_new(&r.hm, 0, 0), *b = vm_new(&r.hm, 1, 0);
	struct retired_pages retired;
	uint64_t ga = RAM_BASE + 0x5000, gb = RAM_BASE + 0x9000, pa, hpa = 0;

	fill_guest_page(a, ga, 'A');
	pa = guest_memory_pin_shared(a, ga);
	guest_memory_sync(a);
	retired_init(&retired);
	CHECK(guest_memory_map_shared(b, gb, pa, &retired));	/* b had nothing there */
	CHECK_EQ(retired.count, 0);
	/* A stops mapping it (copy on write) while the pin is still held. */
	CHECK(store_fault(a, ga));
	guest_memory_sync(a);
	CHECK_EQ(host_page_of(&r.hm, pa)->mappings, 2);	/* B and the pin */
	/* B's page is replaced by another (a disk read, say): its drop waits
	 * for B's fence, then the pin is the last. */
	uint64_t other = shared_page(&r, 7, 'D');
	CHECK(guest_memory_map_shared(b, gb, other, &retired));
	CHECK_EQ(host_page_of(&r.hm, pa)->mappings, 2);	/* not before B's fence */
	guest_memory_sync(b);
	CHECK_EQ(host_page_of(&r.hm, pa)->mappings, 1);
	CHECK_EQ(host_page_of(&r.hm, pa)->origin, PAGE_SHARED_NET);	/* pinned: alive */
	CHECK(all_bytes(pa, 'A'));
	guest_memory_unpin(a, pa);
	CHECK_EQ(host_page_of(&r.hm, pa)->origin, PAGE_FREE);
	CHECK_EQ(r.hm.used_by_origin[PAGE_SHARED_NET], 0);
	/* A pinned page is never taken back in place: the pin counts. */
	uint64_t ga2 = ga + PAGE_SIZE;
	fill_guest_page(a, ga2, 'P');
	pa = guest_memory_pin_shared(a, ga2);
	CHECK(store_fault(a, ga2));
	CHECK(gstage_lookup(&a->gstage, ga2, &hpa, NULL) && hpa != pa);
	CHECK(all_bytes(pa, 'P'));	/* what the receiver will map is intact */
	guest_memory_sync(a);
	guest_memory_unpin(a, pa);
	CHECK_EQ(host_page_of(&r.hm, pa)->origin, PAGE_FREE);
	/* A base-disk page needs no change: pinned as it is. */
	CHECK(guest_memory_map_shared(a, ga2 + PAGE_SIZE, other, &retired));
	uint64_t before = gstage_changed(&a->gstage);
	CHECK_EQ(guest_memory_pin_shared(a, ga2 + PAGE_SIZE), other);
	CHECK_EQ(gstage_changed(&a->gstage), before);
	CHECK_EQ(host_page_of(&r.hm, other)->origin, PAGE_SHARED_DISK);
	guest_memory_unpin(a, other);
	CHECK_EQ(host_page_of(&r.hm, other)->origin, PAGE_SHARED_DISK);	/* the cache's */
	/* Releasing a VM frees the network pages only it still maps. */
	fill_guest_page(a, ga, 'R');
	pa = guest_memory_pin_shared(a, ga);
	guest_memory_sync(a);
	CHECK(guest_memory_map_shared(b, gb, pa, &retired));
	guest_memory_unpin(a, pa);
	guest_memory_release(a);
	CHECK_EQ(host_page_of(&r.hm, pa)->origin, PAGE_SHARED_NET);	/* B maps it */
	guest_memory_release(b);
	CHECK_EQ(host_page_of(&r.hm, pa)->origin, PAGE_FREE);
	vm_delete(a);
	vm_delete(b);
	test_ram_destroy(&r);
}

int main(void)
{
	RUN(test_init);
	RUN(test_contains);
	RUN(test_touch);
	RUN(test_touch_no_memory);
	RUN(test_copies);
	RUN(test_release);
	RUN(test_two_vms);
	RUN(test_fault_in);
	RUN(test_fault_in_edges);
	RUN(test_local_remote);
	RUN(test_write_races_cow);
	RUN(test_shared_to_shared_owes_fence);
	RUN(test_retired_after_fence);
	RUN(test_fault_cow_and_spurious);
	RUN(test_drops_under_contention);
	RUN(test_net_share_and_cow);
	RUN(test_net_share_freed_by_last);
	return unit_report("test_guest_memory");
}
