/*
 * The world switch between the hypervisor (HS-mode) and a guest (VS-mode),
 * and the hypervisor's own trap vector.
 *
 * vcpu_switch_to(ctx) saves the hypervisor's callee-saved registers in ctx,
 * points stvec at guest_exit and sscratch at ctx, loads the guest's
 * registers and enters the guest with sret (hstatus.SPV = 1, priv spec
 * 8.6.4). The guest runs until a trap that is not delegated to it; the
 * hart then enters HS-mode at guest_exit, which saves the guest's
 * registers and returns from vcpu_switch_to as if from a call. The C side
 * reads scause/stval/htval/htinst right after, before anything can trap.
 */
#include "core/vcpu_context.h"

#define CSR_SSTATUS 0x100
#define CSR_STVEC 0x105
#define CSR_SSCRATCH 0x140
#define CSR_SEPC 0x141
#define CSR_SCAUSE 0x142
#define CSR_STVAL 0x143
#define CSR_HSTATUS 0x600
#define CSR_HTVAL 0x643

	.text
	.global vcpu_switch_to
vcpu_switch_to:
	/* The hypervisor's state, back in place when guest_exit returns. */
	sd ra, CTX_HOST_RA(a0)
	sd sp, CTX_HOST_SP(a0)
	sd gp, CTX_HOST_GP(a0)
	sd tp, CTX_HOST_TP(a0)
	sd s0, CTX_HOST_S(0)(a0)
	sd s1, CTX_HOST_S(1)(a0)
	sd s2, CTX_HOST_S(2)(a0)
	sd s3, CTX_HOST_S(3)(a0)
	sd s4, CTX_HOST_S(4)(a0)
	sd s5, CTX_HOST_S(5)(a0)
	sd s6, CTX_HOST_S(6)(a0)
	sd s7, CTX_HOST_S(7)(a0)
	sd s8, CTX_HOST_S(8)(a0)
	sd s9, CTX_HOST_S(9)(a0)
	sd s10, CTX_HOST_S(10)(a0)
	sd s11, CTX_HOST_S(11)(a0)

	/* sstatus.SPP and hstatus.SPV/SPVP select VS- or VU-mode for sret. */
	ld t0, CTX_SSTATUS(a0)
	ld t1, CTX_HSTATUS(a0)
	ld t2, CTX_SEPC(a0)
	la t3, guest_exit
	csrrw t0, CSR_SSTATUS, t0
	sd t0, CTX_HOST_SSTATUS(a0)
	csrw CSR_HSTATUS, t1
	csrw CSR_SEPC, t2
	csrrw t3, CSR_STVEC, t3
	sd t3, CTX_HOST_STVEC(a0)
	csrrw t4, CSR_SSCRATCH, a0
	sd t4, CTX_HOST_SSCRATCH(a0)

	/* The guest's registers; a0 (the context pointer) last. */
	ld x1, CTX_X(1)(a0)
	ld x2, CTX_X(2)(a0)
	ld x3, CTX_X(3)(a0)
	ld x4, CTX_X(4)(a0)
	ld x5, CTX_X(5)(a0)
	ld x6, CTX_X(6)(a0)
	ld x7, CTX_X(7)(a0)
	ld x8, CTX_X(8)(a0)
	ld x9, CTX_X(9)(a0)
	ld x11, CTX_X(11)(a0)
	ld x12, CTX_X(12)(a0)
	ld x13, CTX_X(13)(a0)
	ld x14, CTX_X(14)(a0)
	ld x15, CTX_X(15)(a0)
	ld x16, CTX_X(16)(a0)
	ld x17, CTX_X(17)(a0)
	ld x18, CTX_X(18)(a0)
	ld x19, CTX_X(19)(a0)
	ld x20, CTX_X(20)(a0)
	ld x21, CTX_X(21)(a0)
	ld x22, CTX_X(22)(a0)
	ld x23, CTX_X(23)(a0)
	ld x24, CTX_X(24)(a0)
	ld x25, CTX_X(25)(a0)
	ld x26, CTX_X(26)(a0)
	ld x27, CTX_X(27)(a0)
	ld x28, CTX_X(28)(a0)
	ld x29, CTX_X(29)(a0)
	ld x30, CTX_X(30)(a0)
	ld x31, CTX_X(31)(a0)
	ld x10, CTX_X(10)(a0)
	sret

	/* stvec requires 4-byte alignment (priv spec 4.1.2). */
	.align 2
guest_exit:
	csrrw a0, CSR_SSCRATCH, a0	/* a0 = ctx, sscratch = guest a0 */
	sd x1, CTX_X(1)(a0)
	sd x2, CTX_X(2)(a0)
	sd x3, CTX_X(3)(a0)
	sd x4, CTX_X(4)(a0)
	sd x5, CTX_X(5)(a0)
	sd x6, CTX_X(6)(a0)
	sd x7, CTX_X(7)(a0)
	sd x8, CTX_X(8)(a0)
	sd x9, CTX_X(9)(a0)
	sd x11, CTX_X(11)(a0)
	sd x12, CTX_X(12)(a0)
	sd x13, CTX_X(13)(a0)
	sd x14, CTX_X(14)(a0)
	sd x15, CTX_X(15)(a0)
	sd x16, CTX_X(16)(a0)
	sd x17, CTX_X(17)(a0)
	sd x18, CTX_X(18)(a0)
	sd x19, CTX_X(19)(a0)
	sd x20, CTX_X(20)(a0)
	sd x21, CTX_X(21)(a0)
	sd x22, CTX_X(22)(a0)
	sd x23, CTX_X(23)(a0)
	sd x24, CTX_X(24)(a0)
	sd x25, CTX_X(25)(a0)
	sd x26, CTX_X(26)(a0)
	sd x27, CTX_X(27)(a0)
	sd x28, CTX_X(28)(a0)
	sd x29, CTX_X(29)(a0)
	sd x30, CTX_X(30)(a0)
	sd x31, CTX_X(31)(a0)
	csrr t0, CSR_SSCRATCH
	sd t0, CTX_X(10)(a0)

	/* Give the hart back to the hypervisor. */
	ld t1, CTX_HOST_STVEC(a0)
	ld t2, CTX_HOST_SSCRATCH(a0)
	csrw CSR_STVEC, t1
	csrw CSR_SSCRATCH, t2
	ld t1, CTX_HOST_SSTATUS(a0)
	csrrw t1, CSR_SSTATUS, t1
	sd t1, CTX_SSTATUS(a0)
	csrr t1, CSR_HSTATUS
	sd t1, CTX_HSTATUS(a0)
	csrr t1, CSR_SEPC
	sd t1, CTX_SEPC(a0)

	ld ra, CTX_HOST_RA(a0)
	ld sp, CTX_HOST_SP(a0)
	ld gp, CTX_HOST_GP(a0)
	ld tp, CTX_HOST_TP(a0)
	ld s0, CTX_HOST_S(0)(a0)
	ld s1, CTX_HOST_S(1)(a0)
	ld s2, CTX_HOST_S(2)(a0)
	ld s3, CTX_HOST_S(3)(a0)
	ld s4, CTX_HOST_S(4)(a0)
	ld s5, CTX_HOST_S(5)(a0)
	ld s6, CTX_HOST_S(6)(a0)
	ld s7, CTX_HOST_S(7)(a0)
	ld s8, CTX_HOST_S(8)(a0)
	ld s9, CTX_HOST_S(9)(a0)
	ld s10, CTX_HOST_S(10)(a0)
	ld s11, CTX_HOST_S(11)(a0)
	ret

/*
 * A trap taken in HS-mode outside a guest. The hypervisor runs with
 * interrupts disabled (sstatus.SIE = 0) and touches only memory it owns,
 * so this is a hypervisor bug: report it and stop the machine.
 */
	.align 2
	.global hyp_trap_vector
hyp_trap_vector:
	csrr a0, CSR_SCAUSE
	csrr a1, CSR_SEPC
	csrr a2, CSR_STVAL
	mv a3, ra
	j hyp_trap_unexpected

/*
 * uint64_t guest_fetch_u16(uint64_t gva, uint64_t *fault)
 *
 * Reads a 16-bit instruction parcel of the guest, at guest-virtual gva,
 * with HLVX.HU: translated through the guest's vsatp and the G-stage, with
 * execute permission checked in place of read (priv spec 8.3.1). Used to
 * decode a trapping instruction, since QEMU leaves htinst 0. The read can
 * fault (the guest unmapped the page); a temporary stvec catches that:
 * *fault gets scause (0 on success) and the function returns 0.
 */
	.global guest_fetch_u16
guest_fetch_u16:
	la t0, 1f
	csrrw t0, CSR_STVEC, t0
	/* hlvx.hu a2, (a0): funct7 0110010, rs2 00011, funct3 100 */
	.insn r 0x73, 0x4, 0x32, a2, a0, x3
	csrw CSR_STVEC, t0
	sd zero, 0(a1)
	mv a0, a2
	ret
	.align 2
1:	csrr t1, CSR_SCAUSE
	sd t1, 0(a1)
	csrw CSR_STVEC, t0
	li a0, 0
	ret

/*
 * uint64_t guest_load_u64(uint64_t gva, uint64_t *fault)
 *
 * Like guest_fetch_u16, for data: HLV.D reads 8 bytes at guest-virtual gva
 * with the guest's read permission (funct7 0110110, rs2 00000).
 */
	.global guest_load_u64
guest_load_u64:
	la t0, 1f
	csrrw t0, CSR_STVEC, t0
	.insn r 0x73, 0x4, 0x36, a2, a0, x0
	csrw CSR_STVEC, t0
	sd zero, 0(a1)
	mv a0, a2
	ret
	.align 2
1:	csrr t1, CSR_SCAUSE
	sd t1, 0(a1)
	csrw CSR_STVEC, t0
	li a0, 0
	ret

/*
 * Floating-point state save and restore (struct fp_state: f0..f31, fcsr).
 * Only these two routines touch FP registers; the hypervisor itself is
 * built with -mabi=lp64 and no F/D, so the compiler never does.
 */
	.option push
	.option arch, +d
	.global fp_save
fp_save:
	fsd f0, 0(a0)
	fsd f1, 8(a0)
	fsd f2, 16(a0)
	fsd f3, 24(a0)
	fsd f4, 32(a0)
	fsd f5, 40(a0)
	fsd f6, 48(a0)
	fsd f7, 56(a0)
	fsd f8, 64(a0)
	fsd f9, 72(a0)
	fsd f10, 80(a0)
	fsd f11, 88(a0)
	fsd f12, 96(a0)
	fsd f13, 104(a0)
	fsd f14, 112(a0)
	fsd f15, 120(a0)
	fsd f16, 128(a0)
	fsd f17, 136(a0)
	fsd f18, 144(a0)
	fsd f19, 152(a0)
	fsd f20, 160(a0)
	fsd f21, 168(a0)
	fsd f22, 176(a0)
	fsd f23, 184(a0)
	fsd f24, 192(a0)
	fsd f25, 200(a0)
	fsd f26, 208(a0)
	fsd f27, 216(a0)
	fsd f28, 224(a0)
	fsd f29, 232(a0)
	fsd f30, 240(a0)
	fsd f31, 248(a0)
	frcsr t0
	sd t0, 256(a0)
	ret

	.global fp_restore
fp_restore:
	fld f0, 0(a0)
	fld f1, 8(a0)
	fld f2, 16(a0)
	fld f3, 24(a0)
	fld f4, 32(a0)
	fld f5, 40(a0)
	fld f6, 48(a0)
	fld f7, 56(a0)
	fld f8, 64(a0)
	fld f9, 72(a0)
	fld f10, 80(a0)
	fld f11, 88(a0)
	fld f12, 96(a0)
	fld f13, 104(a0)
	fld f14, 112(a0)
	fld f15, 120(a0)
	fld f16, 128(a0)
	fld f17, 136(a0)
	fld f18, 144(a0)
	fld f19, 152(a0)
	fld f20, 160(a0)
	fld f21, 168(a0)
	fld f22, 176(a0)
	fld f23, 184(a0)
	fld f24, 192(a0)
	fld f25, 200(a0)
	fld f26, 208(a0)
	fld f27, 216(a0)
	fld f28, 224(a0)
	fld f29, 232(a0)
	fld f30, 240(a0)
	fld f31, 248(a0)
	ld t0, 256(a0)
	fscsr t0
	ret
	.option pop
