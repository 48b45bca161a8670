/*
 * hyp/insn.c: decoding the load or store that faulted on an emulated
 * device register. Real instruction words (assembled by
 * riscv64-linux-gnu-as, the assembly in a comment) and encoder helpers
 * written from the RISC-V unprivileged spec (chapter 2: I- and S-type;
 * chapter 16: the CL/CS formats of quadrant 0), checked against each
 * other; every load/store funct3 with every register; every 16-bit word
 * (only c.lw/c.ld/c.sw/c.sd are accepted, whatever the upper 16 bits);
 * every other 32-bit major opcode refused; and insn_load_result's sign
 * and zero extension at the boundaries of each width.
 */
#include <string.h>
#include "core/insn.h"
#include "unit.h"

#define LOAD 0x03
#define STORE 0x23

/* I-type load: imm[11:0] rs1 funct3 rd 0000011 (spec 2.6). */
static uint32_t enc_load(unsigned funct3, unsigned rd, unsigned rs1, int imm)
{
	return ((uint32_t)imm & 0xfff) << 20 | rs1 << 15 | funct3 << 12 | rd << 7 | LOAD;
}

/* S-type store: imm[11:5] rs2 rs1 funct3 imm[4:0] 0100011 (spec 2.6). */
static uint32_t enc_store(unsigned funct3, unsigned rs2, unsigned rs1, int imm)
{
	uint32_t u = (uint32_t)imm & 0xfff;

	return (u >> 5) << 25 | rs2 << 20 | rs1 << 15 | funct3 << 12 | (u & 0x1f) << 7 | STORE;
}

/*
 * CL/CS formats (spec 16.3): funct3 | imm | rs1' | imm | rd'/rs2' | 00,
 * with x8..x15 as 0..7. Word-sized (c.lw, c.sw): uimm[5:3] in bits 12:10,
 * uimm[2] in bit 6, uimm[6] in bit 5. Doubleword-sized (c.ld, c.sd):
 * uimm[5:3] in bits 12:10, uimm[7:6] in bits 6:5.
 */
static uint16_t enc_cw(unsigned funct3, unsigned r, unsigned rs1, unsigned uimm)
{
	return (uint16_t)(funct3 << 13 | ((uimm >> 3) & 7) << 10 | (rs1 - 8) << 7 |
			  ((uimm >> 2) & 1) << 6 | ((uimm >> 6) & 1) << 5 | (r - 8) << 2);
}

static uint16_t enc_cd(unsigned funct3, unsigned r, unsigned rs1, unsigned uimm)
{
	return (uint16_t)(funct3 << 13 | ((uimm >> 3) & 7) << 10 | (rs1 - 8) << 7 |
			  ((uimm >> 6) & 3) << 5 | (r - 8) << 2);
}

#define C_LW(rd, rs1, off) enc_cw(2, rd, rs1, off)
#define C_SW(rs2, rs1, off) enc_cw(6, rs2, rs1, off)
#define C_LD(rd, rs1, off) enc_cd(3, rd, rs1, off)
#define C_SD(rs2, rs1, off) enc_cd(7, rs2, rs1, off)

/* A decoded access, or "refused" (ok false). */
struct want {
	bool ok;
	bool is_store;
	unsigned width;
	bool sign_extend;
	unsigned reg;
	unsigned length;
};

#define NO { .ok = false }
#define LD(w, sx, r) { true, false, w, sx, r, 4 }
#define ST(w, r) { true, true, w, false, r, 4 }
#define CLD(w, sx, r) { true, false, w, sx, r, 2 }
#define CST(w, r) { true, true, w, false, r, 2 }

/* Decodes insn and compares with w; returns true if all fields match. */
static bool check_decode(int line, uint32_t insn, const struct want *w, const char *what)
{
	struct mmio_access a;
	bool ok, got;

	memset(&a, 0xa5, sizeof(a));
	got = insn_decode_mmio(insn, &a);
	ok = unit_check_eq(got, w->ok, __FILE__, line, "insn_decode_mmio()", "ok");
	if (ok && got) {
		ok = unit_check_eq(a.is_store, w->is_store, __FILE__, line, "is_store", "want") && ok;
		ok = unit_check_eq(a.width, w->width, __FILE__, line, "width", "want") && ok;
		ok = unit_check_eq(a.sign_extend, w->sign_extend, __FILE__, line, "sign_extend",
				   "want") && ok;
		ok = unit_check_eq(a.reg, w->reg, __FILE__, line, "reg", "want") && ok;
		ok = unit_check_eq(a.length, w->length, __FILE__, line, "length", "want") && ok;
	}
	if (!ok)
		printf("    instruction 0x%08x (%s)\n", insn, what);
	return ok;
}

/* Ground truth from riscv64-linux-gnu-as -march=rv64gc and objdump. */
static const struct {
	uint32_t insn;
	const char *as;
	struct want w;
} table[] = {
	{ 0x00058503, "lb a0, 0(a1)", LD(1, true, 10) },
	{ 0xffe11283, "lh t0, -2(sp)", LD(2, true, 5) },
	{ 0x7fffa483, "lw s1, 2047(t6)", LD(4, true, 9) },
	{ 0x80053083, "ld ra, -2048(a0)", LD(8, false, 1) },
	{ 0x0010cf83, "lbu t6, 1(ra)", LD(1, false, 31) },
	{ 0x01075783, "lhu a5, 16(a4)", LD(2, false, 15) },
	{ 0x00056003, "lwu zero, 0(a0)", LD(4, false, 0) },
	{ 0x00452003, "lw zero, 4(a0)", LD(4, true, 0) },
	{ 0x00a58023, "sb a0, 0(a1)", ST(1, 10) },
	{ 0xfe641fa3, "sh t1, -1(s0)", ST(2, 6) },
	{ 0x00052623, "sw zero, 12(a0)", ST(4, 0) },
	{ 0x7ff13fa3, "sd t6, 2047(sp)", ST(8, 31) },
	{ 0x801fa023, "sw ra, -2048(t6)", ST(4, 1) },
	{ 0x00150513, "addi a0, a0, 1", NO },
	{ 0x00052507, "flw fa0, 0(a0)", NO },
	{ 0x00853507, "fld fa0, 8(a0)", NO },
	{ 0x00a52027, "fsw fa0, 0(a0)", NO },
	{ 0x00a53427, "fsd fa0, 8(a0)", NO },
	{ 0x1005a52f, "lr.w a0, (a1)", NO },
	{ 0x18c5a52f, "sc.w a0, a2, (a1)", NO },
	{ 0x00c5a52f, "amoadd.w a0, a2, (a1)", NO },
	{ 0x000000ef, "jal ra, .", NO },
	{ 0x00000073, "ecall", NO },
	{ 0x10002573, "csrr a0, sstatus", NO },
	{ 0x4188, "c.lw a0, 0(a1)", CLD(4, true, 10) },
	{ 0x5fe0, "c.lw s0, 124(a5)", CLD(4, true, 8) },
	{ 0x7c7c, "c.ld a5, 248(s0)", CLD(8, false, 15) },
	{ 0x6704, "c.ld s1, 8(a4)", CLD(8, false, 9) },
	{ 0xc1c8, "c.sw a0, 4(a1)", CST(4, 10) },
	{ 0xdfe0, "c.sw s0, 124(a5)", CST(4, 8) },
	{ 0xfc7c, "c.sd a5, 248(s0)", CST(8, 15) },
	{ 0xe090, "c.sd a2, 0(s1)", CST(8, 12) },
	{ 0x2588, "c.fld fa0, 8(a1)", NO },
	{ 0xa588, "c.fsd fa0, 8(a1)", NO },
	{ 0x0808, "c.addi4spn a0, sp, 16", NO },
	{ 0x0505, "c.addi a0, 1", NO },
	{ 0x4515, "c.li a0, 5", NO },
	{ 0x4512, "c.lwsp a0, 4(sp)", NO },
	{ 0x6522, "c.ldsp a0, 8(sp)", NO },
	{ 0xc22a, "c.swsp a0, 4(sp)", NO },
	{ 0xe42a, "c.sdsp a0, 8(sp)", NO },
	{ 0x852e, "c.mv a0, a1", NO },
	{ 0x0001, "c.nop", NO },
	{ 0x0000, "all zeros (illegal)", NO },
	{ 0xffffffff, "all ones (illegal)", NO },
};

static void test_assembled(void)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		check_decode(__LINE__, table[i].insn, &table[i].w, table[i].as);
		/* A compressed instruction followed by anything: the fetch
		 * reads 32 bits, only the low 16 are the instruction. */
		if ((table[i].insn & 3) != 3) {
			check_decode(__LINE__, table[i].insn | 0xdead0000, &table[i].w,
				     table[i].as);
			check_decode(__LINE__, table[i].insn | 0xffff0000, &table[i].w,
				     table[i].as);
			/* the next one a 32-bit lw: still the 16-bit one */
			check_decode(__LINE__, table[i].insn | 0x00452003u << 16, &table[i].w,
				     table[i].as);
		}
	}
}

/* The encoders agree with the assembler (so the loops below test real
 * encodings). */
static void test_encoders(void)
{
	CHECK_EQ(enc_load(0, 10, 11, 0), 0x00058503);		/* lb a0, 0(a1) */
	CHECK_EQ(enc_load(1, 5, 2, -2), 0xffe11283);		/* lh t0, -2(sp) */
	CHECK_EQ(enc_load(2, 9, 31, 2047), 0x7fffa483);		/* lw s1, 2047(t6) */
	CHECK_EQ(enc_load(3, 1, 10, -2048), 0x80053083);	/* ld ra, -2048(a0) */
	CHECK_EQ(enc_load(4, 31, 1, 1), 0x0010cf83);		/* lbu t6, 1(ra) */
	CHECK_EQ(enc_load(5, 15, 14, 16), 0x01075783);		/* lhu a5, 16(a4) */
	CHECK_EQ(enc_load(6, 0, 10, 0), 0x00056003);		/* lwu zero, 0(a0) */
	CHECK_EQ(enc_store(0, 10, 11, 0), 0x00a58023);		/* sb a0, 0(a1) */
	CHECK_EQ(enc_store(1, 6, 8, -1), 0xfe641fa3);		/* sh t1, -1(s0) */
	CHECK_EQ(enc_store(2, 0, 10, 12), 0x00052623);		/* sw zero, 12(a0) */
	CHECK_EQ(enc_store(3, 31, 2, 2047), 0x7ff13fa3);	/* sd t6, 2047(sp) */
	CHECK_EQ(enc_store(2, 1, 31, -2048), 0x801fa023);	/* sw ra, -2048(t6) */
	CHECK_EQ(C_LW(10, 11, 0), 0x4188);
	CHECK_EQ(C_LW(8, 15, 124), 0x5fe0);
	CHECK_EQ(C_LD(15, 8, 248), 0x7c7c);
	CHECK_EQ(C_LD(9, 14, 8), 0x6704);
	CHECK_EQ(C_SW(10, 11, 4), 0xc1c8);
	CHECK_EQ(C_SW(8, 15, 124), 0xdfe0);
	CHECK_EQ(C_SD(15, 8, 248), 0xfc7c);
	CHECK_EQ(C_SD(12, 9, 0), 0xe090);
}

/* Every load funct3 with every rd, a few rs1 and offsets. */
static void test_loads(void)
{
	static const unsigned width[7] = { 1, 2, 4, 8, 1, 2, 4 };
	static const bool sx[7] = { true, true, true, false, false, false, false };
	static const char *name[8] = { "lb", "lh", "lw", "ld", "lbu", "lhu", "lwu", "funct3 7" };
	static const int imms[] = { 0, 1, -1, 8, 2047, -2048 };
	static const unsigned rs1s[] = { 0, 1, 10, 31 };

	for (unsigned f = 0; f < 8; f++)
		for (unsigned rd = 0; rd < 32; rd++)
			for (size_t i = 0; i < sizeof(imms) / sizeof(imms[0]); i++)
				for (size_t j = 0; j < sizeof(rs1s) / sizeof(rs1s[0]); j++) {
					struct want w = NO;

					if (f < 7)
						w = (struct want)LD(width[f], sx[f], rd);
					if (!check_decode(__LINE__,
							  enc_load(f, rd, rs1s[j], imms[i]),
							  &w, name[f]))
						return;
				}
}

/* Every store funct3 (4..7 do not exist) with every rs2. */
static void test_stores(void)
{
	static const char *name[8] = { "sb", "sh", "sw", "sd", "funct3 4", "funct3 5",
				       "funct3 6", "funct3 7" };
	static const int imms[] = { 0, 1, -1, 31, 32, 2047, -2048 };
	static const unsigned rs1s[] = { 0, 2, 11, 31 };

	for (unsigned f = 0; f < 8; f++)
		for (unsigned rs2 = 0; rs2 < 32; rs2++)
			for (size_t i = 0; i < sizeof(imms) / sizeof(imms[0]); i++)
				for (size_t j = 0; j < sizeof(rs1s) / sizeof(rs1s[0]); j++) {
					struct want w = NO;

					if (f < 4)
						w = (struct want)ST(1U << f, rs2);
					if (!check_decode(__LINE__,
							  enc_store(f, rs2, rs1s[j], imms[i]),
							  &w, name[f]))
						return;
				}
}

/* Each compressed load/store with every register pair and offsets. */
static void test_compressed(void)
{
	for (unsigned r = 8; r < 16; r++)
		for (unsigned rs1 = 8; rs1 < 16; rs1++) {
			for (unsigned off = 0; off < 128; off += 4) {
				struct want lw = CLD(4, true, r), sw = CST(4, r);

				if (!check_decode(__LINE__, C_LW(r, rs1, off), &lw, "c.lw") ||
				    !check_decode(__LINE__, C_SW(r, rs1, off), &sw, "c.sw"))
					return;
			}
			for (unsigned off = 0; off < 256; off += 8) {
				struct want ld = CLD(8, false, r), sd = CST(8, r);

				if (!check_decode(__LINE__, C_LD(r, rs1, off), &ld, "c.ld") ||
				    !check_decode(__LINE__, C_SD(r, rs1, off), &sd, "c.sd"))
					return;
			}
		}
}

/*
 * Every 16-bit word, alone and with garbage in the upper half: accepted
 * exactly when it is in quadrant 0 with funct3 010 (c.lw), 011 (c.ld),
 * 110 (c.sw) or 111 (c.sd); c.addi4spn (000), c.fld (001), the reserved
 * 100 and c.fsd (101), and all of quadrants 1 and 2, are refused.
 */
static void test_every_16bit_word(void)
{
	static const uint32_t upper[] = { 0, 0xffff, 0xdead, 0x0003, 0x8000 };
	unsigned bad = 0, accepted = 0;

	for (uint32_t w = 0; w < 0x10000; w++) {
		unsigned funct3 = w >> 13;
		struct want want = NO;

		if ((w & 3) == 3)
			continue;	/* a 32-bit instruction's low half */
		if ((w & 3) == 0) {
			unsigned r = 8 + ((w >> 2) & 7);

			switch (funct3) {
			case 2: want = (struct want)CLD(4, true, r); break;
			case 3: want = (struct want)CLD(8, false, r); break;
			case 6: want = (struct want)CST(4, r); break;
			case 7: want = (struct want)CST(8, r); break;
			}
		}
		accepted += want.ok;
		for (size_t i = 0; i < sizeof(upper) / sizeof(upper[0]); i++)
			if (!check_decode(__LINE__, upper[i] << 16 | w, &want, "16-bit word") &&
			    ++bad >= 5)
				return;
	}
	CHECK_EQ(accepted, 4 * 0x2000 / 4);	/* 4 funct3 values x 2^11 words */
}

/* Every 32-bit major opcode but LOAD and STORE is refused, whatever its
 * funct3 and registers (FP loads/stores 0x07/0x27 and AMOs 0x2f among
 * them). */
static void test_other_opcodes(void)
{
	unsigned bad = 0;

	for (unsigned op = 3; op < 0x80; op += 4) {
		if (op == LOAD || op == STORE)
			continue;
		for (unsigned f = 0; f < 8; f++) {
			static const uint32_t rest[] = { 0, 0x00b50500, 0xfffff000 & ~0x7000u,
							 0x80000f80 };
			struct want no = NO;

			for (size_t i = 0; i < sizeof(rest) / sizeof(rest[0]); i++)
				if (!check_decode(__LINE__, rest[i] | f << 12 | op, &no,
						  "other opcode") && ++bad >= 5)
					return;
		}
	}
}

static uint64_t load(unsigned width, bool sx, uint64_t raw)
{
	struct mmio_access a = { .is_store = false, .width = width, .sign_extend = sx,
				 .reg = 10, .length = 4 };

	return insn_load_result(&a, raw);
}

static void test_load_result(void)
{
	/* bytes */
	CHECK_EQ(load(1, true, 0x00), 0);
	CHECK_EQ(load(1, true, 0x7f), 0x7f);
	CHECK_EQ(load(1, true, 0x80), 0xffffffffffffff80ULL);
	CHECK_EQ(load(1, true, 0xff), 0xffffffffffffffffULL);
	CHECK_EQ(load(1, false, 0x80), 0x80);
	CHECK_EQ(load(1, false, 0xff), 0xff);
	CHECK_EQ(load(1, false, 0x7f), 0x7f);
	/* only the low byte of what the device returned counts */
	CHECK_EQ(load(1, false, 0x12345680), 0x80);
	CHECK_EQ(load(1, true, 0x12345680), 0xffffffffffffff80ULL);
	CHECK_EQ(load(1, true, 0xffffffffffffff7fULL), 0x7f);
	CHECK_EQ(load(1, false, 0xffffffffffffffffULL), 0xff);
	/* halfwords */
	CHECK_EQ(load(2, true, 0x7fff), 0x7fff);
	CHECK_EQ(load(2, true, 0x8000), 0xffffffffffff8000ULL);
	CHECK_EQ(load(2, true, 0xffff), 0xffffffffffffffffULL);
	CHECK_EQ(load(2, true, 0x80), 0x80);
	CHECK_EQ(load(2, false, 0x8000), 0x8000);
	CHECK_EQ(load(2, false, 0xffff), 0xffff);
	CHECK_EQ(load(2, false, 0xabcd8001), 0x8001);
	CHECK_EQ(load(2, true, 0xabcd7fff), 0x7fff);
	/* words */
	CHECK_EQ(load(4, true, 0x7fffffff), 0x7fffffff);
	CHECK_EQ(load(4, true, 0x80000000), 0xffffffff80000000ULL);
	CHECK_EQ(load(4, true, 0xffffffff), 0xffffffffffffffffULL);
	CHECK_EQ(load(4, true, 0x8000), 0x8000);
	CHECK_EQ(load(4, false, 0x80000000), 0x80000000);
	CHECK_EQ(load(4, false, 0xffffffff), 0xffffffff);
	CHECK_EQ(load(4, false, 0xdeadbeef80000001ULL), 0x80000001);
	CHECK_EQ(load(4, true, 0xdeadbeef7fffffffULL), 0x7fffffff);
	/* doublewords: unchanged either way */
	CHECK_EQ(load(8, false, 0x8000000000000000ULL), 0x8000000000000000ULL);
	CHECK_EQ(load(8, true, 0x8000000000000000ULL), 0x8000000000000000ULL);
	CHECK_EQ(load(8, false, 0xffffffffffffffffULL), 0xffffffffffffffffULL);
	CHECK_EQ(load(8, false, 0x7fffffffffffffffULL), 0x7fffffffffffffffULL);
	CHECK_EQ(load(8, false, 0), 0);

	/* Decoded, then loaded: what the guest's register gets. */
	struct mmio_access a;

	CHECK(insn_decode_mmio(0x00452003, &a));	/* lw zero, 4(a0) */
	CHECK_EQ(insn_load_result(&a, 0x80000000), 0xffffffff80000000ULL);
	CHECK(insn_decode_mmio(0x00056003, &a));	/* lwu zero, 0(a0) */
	CHECK_EQ(insn_load_result(&a, 0x80000000), 0x80000000);
	CHECK(insn_decode_mmio(0x4188, &a));		/* c.lw a0, 0(a1) */
	CHECK_EQ(insn_load_result(&a, 0xfffffffe), 0xfffffffffffffffeULL);
	CHECK(insn_decode_mmio(0x7c7c, &a));		/* c.ld a5, 248(s0) */
	CHECK_EQ(insn_load_result(&a, 0xfffffffe), 0xfffffffe);
	CHECK(insn_decode_mmio(0x00058503, &a));	/* lb a0, 0(a1) */
	CHECK_EQ(insn_load_result(&a, 0xff), 0xffffffffffffffffULL);
	CHECK(insn_decode_mmio(0x0010cf83, &a));	/* lbu t6, 1(ra) */
	CHECK_EQ(insn_load_result(&a, 0xff), 0xff);
	CHECK(insn_decode_mmio(0xffe11283, &a));	/* lh t0, -2(sp) */
	CHECK_EQ(insn_load_result(&a, 0x8000), 0xffffffffffff8000ULL);
	CHECK(insn_decode_mmio(0x01075783, &a));	/* lhu a5, 16(a4) */
	CHECK_EQ(insn_load_result(&a, 0x8000), 0x8000);
}

int main(void)
{
	RUN(test_assembled);
	RUN(test_encoders);
	RUN(test_loads);
	RUN(test_stores);
	RUN(test_compressed);
	RUN(test_every_16bit_word);
	RUN(test_other_opcodes);
	RUN(test_load_result);
	return unit_report("test_insn");
}
