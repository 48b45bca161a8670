#include "gstage_fence.h"

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
