/*
 * Decoding the load or store that faulted on an emulated device register.
 *
 * The hardware tells the hypervisor the guest-physical address of a
 * faulting access (htval), but not what the access was: QEMU 7.2 leaves
 * htinst 0. So the hypervisor reads the instruction (HLVX, hyp/switch.S)
 * and decodes it here. Only what a guest's device driver uses for MMIO is
 * accepted: the integer loads and stores of RV64I (lb/lh/lw/ld/lbu/lhu/
 * lwu, sb/sh/sw/sd) and their compressed forms c.lw/c.ld/c.sw/c.sd, whose
 * registers are x8-x15 (RISC-V unprivileged spec, chapters 2, 5 and 16).
 * Pure code: unit-tested natively.
 */
#ifndef DISCV_INSN_H
#define DISCV_INSN_H

#include <stdbool.h>
#include <stdint.h>

struct mmio_access {
	bool is_store;
	unsigned width;		/* bytes: 1, 2, 4 or 8 */
	bool sign_extend;	/* loads: lb, lh, lw sign-extend; lbu, lhu, lwu, ld don't */
	unsigned reg;		/* rd of a load, rs2 of a store (x0..x31) */
	unsigned length;	/* instruction bytes: 2 or 4 (how far to advance the pc) */
};

/* Decodes insn (its low 16 bits only, if compressed). Returns false for
 * anything that is not one of the accepted loads and stores. */
bool insn_decode_mmio(uint32_t insn, struct mmio_access *a);

/* The value a load of `width` bytes writes to its register. */
uint64_t insn_load_result(const struct mmio_access *a, uint64_t raw);

#endif
