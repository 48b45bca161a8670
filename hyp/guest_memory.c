#include <string.h>
#include "guest_memory.h"
#include "vm.h"

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

void guest_memory_init(struct vm *vm)
{
	memset(vm->gstage_root, 0, sizeof(vm->gstage_root));
	/* VMID 0 is left unused, so a stale hgatp of 0 never matches a VM. */
	gstage_init(&vm->gstage, vm->gstage_root, (uint16_t)(vm->id + 1),
		    alloc_table_page, free_table_page, vm);
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

enum touch_result guest_memory_touch(struct vm *vm, uint64_t gpa, uint64_t *hpa)
{
	uint64_t page_gpa = gpa & PAGE_MASK;
	enum touch_result result = TOUCH_OK;

	if (!guest_memory_contains(vm, page_gpa, PAGE_SIZE))
		return TOUCH_NOT_RAM;
	spin_lock(&vm->lock);
	if (!gstage_lookup(&vm->gstage, page_gpa, hpa, NULL)) {
		uint64_t page = host_page_alloc(vm->host, vm->home_node, PAGE_GUEST_PRIVATE,
						(uint16_t)vm->id, page_gpa);
		if (!page) {
			result = TOUCH_NO_MEMORY;
		} else if (gstage_map(&vm->gstage, page_gpa, page, GSTAGE_RWX) != 0) {
			host_page_free(vm->host, page);
			result = TOUCH_NO_MEMORY;	/* no page for a table */
		} else {
			struct host_page *rec = host_page_of(vm->host, page);
			rec->mappings = 1;
			vm->pages_mapped++;
			if (rec->node == vm->home_node)
				vm->pages_local++;
			else
				vm->pages_remote++;	/* home node full */
			*hpa = page;
		}
	}
	spin_unlock(&vm->lock);
	return result;
}

enum touch_result guest_memory_fault_in(struct vm *vm, uint64_t gpa, uint64_t *hpa)
{
	enum touch_result result = guest_memory_touch(vm, gpa, hpa);
	uint64_t block = gpa & ~(FAULT_AROUND_BYTES - 1), unused;

	if (result != TOUCH_OK)
		return result;
	/* Best effort: a neighbour outside RAM or without memory stays unmapped. */
	for (uint64_t g = block; g < block + FAULT_AROUND_BYTES; g += PAGE_SIZE)
		if (g != (gpa & PAGE_MASK))
			guest_memory_touch(vm, g, &unused);
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

static bool is_shared(const struct host_page *p)
{
	return p && (p->origin == PAGE_SHARED_DISK || p->origin == PAGE_SHARED_KERNEL);
}

enum touch_result guest_memory_break_cow(struct vm *vm, uint64_t gpa, uint64_t *hpa)
{
	uint64_t page_gpa = gpa & PAGE_MASK, old;
	unsigned perms;
	enum touch_result result = TOUCH_OK;

	if (!guest_memory_contains(vm, page_gpa, PAGE_SIZE))
		return TOUCH_NOT_RAM;
	spin_lock(&vm->lock);
	if (!gstage_lookup(&vm->gstage, page_gpa, &old, &perms)) {
		spin_unlock(&vm->lock);
		return guest_memory_touch(vm, gpa, hpa);	/* not mapped at all */
	}
	if (perms & GSTAGE_WRITE) {
		*hpa = old;	/* another vCPU broke it first */
	} else {
		uint64_t copy = host_page_alloc(vm->host, vm->home_node, PAGE_GUEST_PRIVATE,
						(uint16_t)vm->id, page_gpa);
		struct host_page *shared = host_page_of(vm->host, old);
		if (!copy) {
			result = TOUCH_NO_MEMORY;
		} else {
			memcpy(pa_to_ptr(copy), pa_to_ptr(old), PAGE_SIZE);
			gstage_unmap(&vm->gstage, page_gpa, NULL);
			gstage_map(&vm->gstage, page_gpa, copy, GSTAGE_RWX);	/* table exists */
			host_page_of(vm->host, copy)->mappings = 1;
			if (shared)
				host_page_map_put(shared);
			if (is_shared(shared))
				vm->pages_shared--;
			vm->cow_breaks++;
			*hpa = copy;
		}
	}
	spin_unlock(&vm->lock);
	return result;
}

enum touch_result guest_memory_touch_writable(struct vm *vm, uint64_t gpa, uint64_t *hpa)
{
	unsigned perms;
	enum touch_result r = guest_memory_touch(vm, gpa, hpa);

	if (r != TOUCH_OK)
		return r;
	spin_lock(&vm->lock);
	bool writable = gstage_lookup(&vm->gstage, gpa & PAGE_MASK, NULL, &perms) &&
			(perms & GSTAGE_WRITE);
	spin_unlock(&vm->lock);
	return writable ? TOUCH_OK : guest_memory_break_cow(vm, gpa, hpa);
}

bool guest_memory_map_shared(struct vm *vm, uint64_t gpa, uint64_t shared_pa,
			     uint64_t *old_private)
{
	uint64_t old;
	bool ok = true;

	*old_private = 0;
	if ((gpa & ~PAGE_MASK) || !guest_memory_contains(vm, gpa, PAGE_SIZE))
		return false;
	spin_lock(&vm->lock);
	if (gstage_lookup(&vm->gstage, gpa, &old, NULL)) {
		if (old == shared_pa) {
			spin_unlock(&vm->lock);
			return true;	/* already this page */
		}
		struct host_page *p = host_page_of(vm->host, old);
		gstage_unmap(&vm->gstage, gpa, NULL);
		vm->pages_mapped--;
		if (p && p->node == vm->home_node)
			vm->pages_local--;
		else
			vm->pages_remote--;
		if (p)
			host_page_map_put(p);
		if (is_shared(p))
			vm->pages_shared--;
		else
			*old_private = old;
	}
	if (gstage_map(&vm->gstage, gpa, shared_pa, GSTAGE_RX) != 0) {
		ok = false;
	} else {
		struct host_page *s = host_page_of(vm->host, shared_pa);
		host_page_map_get(s);
		vm->pages_mapped++;
		vm->pages_shared++;
		if (s->node == vm->home_node)
			vm->pages_local++;
		else
			vm->pages_remote++;
	}
	spin_unlock(&vm->lock);
	return ok;
}

void guest_memory_free_private(struct vm *vm, uint64_t pa)
{
	host_page_free(vm->host, pa);
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

	(void)gpa;
	(void)perms;
	if (p)
		host_page_map_put(p);
	if (p && p->node == vm->home_node)
		vm->pages_local--;
	else
		vm->pages_remote--;
	if (is_shared(p))
		vm->pages_shared--;	/* it stays, shared by others or cached */
	else
		host_page_free(vm->host, hpa);
	vm->pages_mapped--;
}

void guest_memory_release(struct vm *vm)
{
	spin_lock(&vm->lock);
	gstage_for_each(&vm->gstage, release_page, vm);
	gstage_clear(&vm->gstage);
	spin_unlock(&vm->lock);
}
