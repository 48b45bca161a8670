#include "arch/csr.h"
#include "g-stage/gstage_fence.h"
#include "arch/riscv_defs.h"

/*
 * HFENCE.GVMA rs1, rs2: rs1 = guest-physical address >> 2 (or x0 for all),
 * rs2 = VMID (or x0 for all). Encoded with .insn because GCC 12 cannot
 * enable the H extension in -march: funct7 0110001, funct3 000, opcode
 * SYSTEM (priv spec 8.3.2 and the instruction listing in chapter 8).
 */
void gstage_fence_vmid(uint16_t vmid)
{
	unsigned long v = vmid;

	__asm__ volatile(".insn r 0x73, 0x0, 0x31, x0, x0, %0" :: "r"(v) : "memory");
}

void gstage_fence_gpa(uint16_t vmid, uint64_t gpa)
{
	unsigned long v = vmid, a = gpa >> 2;

	__asm__ volatile(".insn r 0x73, 0x0, 0x31, x0, %0, %1" :: "r"(a), "r"(v) : "memory");
}

void gstage_fence_all(void)
{
	__asm__ volatile(".insn r 0x73, 0x0, 0x31, x0, x0, x0" ::: "memory");
}

static unsigned vmid_bits = HGATP_VMID_BITS;	/* the smallest any hart probed */

void gstage_probe_vmid_bits(void)
{
	uint64_t mask = ((1UL << HGATP_VMID_BITS) - 1) << HGATP_VMID_SHIFT;
	unsigned bits = 0, seen;

	csr_write(CSR_HGATP, mask);	/* MODE = Bare: nothing is translated */
	uint64_t vmid = (csr_read(CSR_HGATP) & mask) >> HGATP_VMID_SHIFT;
	csr_write(CSR_HGATP, 0);
	gstage_fence_all();
	while (vmid & 1) {	/* the implemented bits are the low ones */
		bits++;
		vmid >>= 1;
	}
	seen = __atomic_load_n(&vmid_bits, __ATOMIC_RELAXED);
	while (bits < seen &&
	       !__atomic_compare_exchange_n(&vmid_bits, &seen, bits, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
}

unsigned gstage_vmid_bits(void)
{
	return __atomic_load_n(&vmid_bits, __ATOMIC_RELAXED);
}

bool gstage_vmids_distinct(unsigned count)
{
	return count < (1UL << gstage_vmid_bits());	/* VMID 0 is never used */
}
