/*
 * Guest-physical memory of a VM: RAM allocated on first touch, and copies
 * between the hypervisor and guest RAM that check every address.
 *
 * Guest RAM is not allocated up front. The G-stage starts empty; the first
 * access to a page takes a guest-page fault and guest_memory_touch() maps
 * a freshly zeroed host page from the VM's home NUMA node. Every page
 * mapped for a guest goes through here, so the owner record is always
 * right. Pure code (G-stage and host_pages only): unit-tested natively.
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
};

/* Makes sure the page holding gpa is mapped, allocating a zeroed private
 * page on first touch. On TOUCH_OK, *hpa is the host address of gpa's
 * page (page-aligned). */
enum touch_result guest_memory_touch(struct vm *vm, uint64_t gpa, uint64_t *hpa);

/*
 * The first-touch fault path: maps the page holding gpa, and with it the
 * still-unmapped pages of its 64 KiB-aligned block ("fault-around"). Each
 * G-stage fault is an exit, and under QEMU an exit costs a full TLB flush;
 * Linux touches its memory densely, so mapping a block per fault removes
 * ~94 % of boot-time faults for ~1 % more mapped pages (docs/performance.md).
 * Returns the result for gpa's own page.
 */
#define FAULT_AROUND_BYTES (64UL * 1024)
enum touch_result guest_memory_fault_in(struct vm *vm, uint64_t gpa, uint64_t *hpa);

/* True if the page holding gpa is mapped (with any permissions). */
bool guest_memory_is_mapped(struct vm *vm, uint64_t gpa);

/* Like guest_memory_touch, for a write by the hypervisor: a page mapped
 * read-only because it is shared gets its private copy first. */
enum touch_result guest_memory_touch_writable(struct vm *vm, uint64_t gpa, uint64_t *hpa);

/*
 * Sharing (hyp/share/). guest_memory_map_shared maps the shared host page
 * shared_pa read-only (and executable) at page-aligned gpa in place of
 * whatever was there, and counts the new mapping in its owner record. A
 * private page it replaced is returned in *old_private: the caller frees
 * it with guest_memory_free_private only after the VM's G-stage TLBs were
 * flushed on every hart (docs/concurrency.md). False if gpa is not RAM or
 * a table page could not be had.
 */
bool guest_memory_map_shared(struct vm *vm, uint64_t gpa, uint64_t shared_pa,
			     uint64_t *old_private);
void guest_memory_free_private(struct vm *vm, uint64_t pa);

/*
 * Copy-on-write: the guest (or a device on its behalf) writes to gpa,
 * mapped read-only to a shared page. Gives the VM a private copy, mapped
 * writable. *hpa is the copy. The VM's other vCPUs must be fenced before
 * they run again (they may hold the old read-only translation).
 */
enum touch_result guest_memory_break_cow(struct vm *vm, uint64_t gpa, uint64_t *hpa);

/* Copy between hypervisor memory and guest RAM, touching pages as needed.
 * Return false (having copied nothing) if the range is not all RAM, or
 * false part-way if host memory runs out. */
bool guest_copy_to(struct vm *vm, uint64_t gpa, const void *src, size_t len);
bool guest_copy_from(struct vm *vm, void *dst, uint64_t gpa, size_t len);

/* Unmaps and frees every page of the VM (G-stage tables included). The
 * caller fences the VMID on every hart before the VM runs again. */
void guest_memory_release(struct vm *vm);

#endif
