/*
 * 32-bit device register access for the test guests. A register write is
 * fenced after everything written before it (the rings and buffers a
 * notify publishes), and a register read before everything after it (the
 * memory its value speaks of).
 */
#ifndef TEST_GUEST_MMIO_H
#define TEST_GUEST_MMIO_H

#include <stdint.h>

static inline uint32_t mmio_read32(unsigned long addr)
{
	uint32_t v = *(volatile uint32_t *)addr;

	asm volatile("fence rw,rw" ::: "memory");
	return v;
}

static inline void mmio_write32(unsigned long addr, uint32_t v)
{
	asm volatile("fence rw,rw" ::: "memory");
	*(volatile uint32_t *)addr = v;
}

#endif
