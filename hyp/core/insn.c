#include "core/insn.h"

#define OPCODE_LOAD 0x03
#define OPCODE_STORE 0x23

static bool decode_32(uint32_t insn, struct mmio_access *a)
{
	unsigned opcode = insn & 0x7f, funct3 = (insn >> 12) & 7;

	a->length = 4;
	if (opcode == OPCODE_LOAD) {
		/* funct3: 0 lb, 1 lh, 2 lw, 3 ld, 4 lbu, 5 lhu, 6 lwu */
		if (funct3 == 7)
			return false;
		a->is_store = false;
		a->width = 1U << (funct3 & 3);
		a->sign_extend = funct3 < 3;
		a->reg = (insn >> 7) & 0x1f;
		return true;
	}
	if (opcode == OPCODE_STORE) {
		/* funct3: 0 sb, 1 sh, 2 sw, 3 sd */
		if (funct3 > 3)
			return false;
		a->is_store = true;
		a->width = 1U << funct3;
		a->sign_extend = false;
		a->reg = (insn >> 20) & 0x1f;
		return true;
	}
	return false;
}

/* Compressed quadrant 0 (bits 1:0 = 00): funct3 010 c.lw, 011 c.ld,
 * 110 c.sw, 111 c.sd; rd'/rs2' in bits 4:2 name x8..x15 (spec 16.3). */
static bool decode_16(uint32_t insn, struct mmio_access *a)
{
	unsigned funct3 = (insn >> 13) & 7;

	if ((insn & 3) != 0)
		return false;
	a->length = 2;
	a->reg = 8 + ((insn >> 2) & 7);
	a->sign_extend = false;
	switch (funct3) {
	case 2: a->is_store = false; a->width = 4; a->sign_extend = true; return true;
	case 3: a->is_store = false; a->width = 8; return true;
	case 6: a->is_store = true; a->width = 4; return true;
	case 7: a->is_store = true; a->width = 8; return true;
	default: return false;
	}
}

bool insn_decode_mmio(uint32_t insn, struct mmio_access *a)
{
	if ((insn & 3) == 3)
		return decode_32(insn, a);
	return decode_16(insn & 0xffff, a);
}

uint64_t insn_load_result(const struct mmio_access *a, uint64_t raw)
{
	unsigned bits = a->width * 8;

	if (bits == 64)
		return raw;
	raw &= (1ULL << bits) - 1;
	if (a->sign_extend && (raw >> (bits - 1)))
		raw |= ~0ULL << bits;
	return raw;
}
