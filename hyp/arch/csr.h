/*
 * CSR access and the few privileged instructions the hypervisor issues.
 * The only header with inline assembly for CSRs: pure code never includes it.
 * CSRs are named by number, so no assembler support for the H extension is
 * needed (GCC 12 rejects 'h' in -march).
 */
#ifndef DISCV_CSR_H
#define DISCV_CSR_H

#include <stdint.h>
#include "arch/riscv_defs.h"

#define __stringify_1(x) #x
#define __stringify(x) __stringify_1(x)

#define csr_read(csr) ({ uint64_t __v; \
	__asm__ volatile("csrr %0, " __stringify(csr) : "=r"(__v) :: "memory"); __v; })
#define csr_write(csr, val) ({ uint64_t __v = (uint64_t)(val); \
	__asm__ volatile("csrw " __stringify(csr) ", %0" :: "rK"(__v) : "memory"); })
#define csr_set(csr, val) ({ uint64_t __v = (uint64_t)(val); \
	__asm__ volatile("csrs " __stringify(csr) ", %0" :: "rK"(__v) : "memory"); })
#define csr_clear(csr, val) ({ uint64_t __v = (uint64_t)(val); \
	__asm__ volatile("csrc " __stringify(csr) ", %0" :: "rK"(__v) : "memory"); })
#define csr_swap(csr, val) ({ uint64_t __v = (uint64_t)(val); \
	__asm__ volatile("csrrw %0, " __stringify(csr) ", %1" : "=r"(__v) : "rK"(__v) : "memory"); __v; })

static inline uint64_t read_time(void)
{
	return csr_read(CSR_TIME);
}

static inline void wait_for_interrupt(void)
{
	__asm__ volatile("wfi" ::: "memory");
}

#endif
