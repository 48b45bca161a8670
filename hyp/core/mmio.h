/*
 * Emulated device registers in a guest's physical address space.
 *
 * A guest-physical address that is neither RAM nor mapped takes a
 * G-stage fault; if it falls in a registered region, the faulting load or
 * store is decoded (insn.c) and handed to the device's read or write
 * function, then the guest continues after the instruction. This is how
 * the virtual PLIC and the virtio-mmio devices work: they are never
 * mapped, every access traps.
 */
#ifndef DISCV_MMIO_H
#define DISCV_MMIO_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;
struct vm;

#define MAX_MMIO_REGIONS 8

struct mmio_region {
	uint64_t base, size;
	void *dev;
	/* offset is relative to base; width 1, 2, 4 or 8, naturally aligned */
	uint64_t (*read)(void *dev, struct vcpu *v, uint64_t offset, unsigned width);
	void (*write)(void *dev, struct vcpu *v, uint64_t offset, unsigned width, uint64_t value);
};

/* Adds a region to the VM's address space; false if full or overlapping. */
bool mmio_register(struct vm *vm, const struct mmio_region *r);

/* The region containing gpa, or NULL. */
const struct mmio_region *mmio_find(const struct vm *vm, uint64_t gpa);

/* Emulates the access of v's faulting instruction at gpa, in region r:
 * returns false if the instruction is not a load/store the emulation
 * accepts or is misaligned (the caller then raises an access fault). */
bool mmio_emulate(struct vcpu *v, const struct mmio_region *r, uint64_t gpa);

/*
 * Called by a device's write function: the access is not finished (its
 * budget ran out with work left). v goes back to its guest without
 * advancing sepc, so the guest executes the store again and comes back
 * for the rest, taking its interrupts and its turn on the hart between.
 */
void mmio_retry(struct vcpu *v);

#endif
