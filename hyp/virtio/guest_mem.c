#include <string.h>
#include "arch/riscv_defs.h"
#include "core/guest_memory.h"
#include "virtio/guest_mem.h"

/* One single-copy-atomic access of 2, 4 or 8 bytes at p (aligned); the
 * caller's buffer may be unaligned, so it is moved through a local. */
static void access_word(void *p, void *buf, size_t len, bool write)
{
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	switch (len) {
	case 2:
		if (write) {
			memcpy(&v16, buf, 2);
			__atomic_store_n((uint16_t *)p, v16, __ATOMIC_RELAXED);
		} else {
			v16 = __atomic_load_n((uint16_t *)p, __ATOMIC_RELAXED);
			memcpy(buf, &v16, 2);
		}
		break;
	case 4:
		if (write) {
			memcpy(&v32, buf, 4);
			__atomic_store_n((uint32_t *)p, v32, __ATOMIC_RELAXED);
		} else {
			v32 = __atomic_load_n((uint32_t *)p, __ATOMIC_RELAXED);
			memcpy(buf, &v32, 4);
		}
		break;
	default:
		if (write) {
			memcpy(&v64, buf, 8);
			__atomic_store_n((uint64_t *)p, v64, __ATOMIC_RELAXED);
		} else {
			v64 = __atomic_load_n((uint64_t *)p, __ATOMIC_RELAXED);
			memcpy(buf, &v64, 8);
		}
		break;
	}
}

static bool mem_access(struct vm *vm, uint64_t gpa, void *buf, size_t len, bool write)
{
	uint64_t hpa;

	if ((len == 2 || len == 4 || len == 8) && gpa % len == 0) {
		/* A write must not land in a shared page: copy it first. */
		if (!guest_memory_contains(vm, gpa, len) ||
		    (write ? guest_memory_touch_writable(vm, gpa, &hpa)
			   : guest_memory_touch(vm, gpa, &hpa)) != TOUCH_OK)
			return false;
		access_word((char *)pa_to_ptr(hpa) + (gpa & ~PAGE_MASK), buf, len, write);
		guest_memory_touch_end();
		return true;
	}
	return write ? guest_copy_to(vm, gpa, buf, len) : guest_copy_from(vm, buf, gpa, len);
}

static bool mem_read(void *ctx, uint64_t gpa, void *dst, size_t len)
{
	return mem_access(ctx, gpa, dst, len, false);
}

static bool mem_write(void *ctx, uint64_t gpa, const void *src, size_t len)
{
	return mem_access(ctx, gpa, (void *)src, len, true);
}

struct guest_mem_ops virtio_guest_memory(struct vm *vm)
{
	return (struct guest_mem_ops){ vm, mem_read, mem_write };
}
