/*
 * The test guests' entry point and trap vector (shared by sbi-test and
 * virtio-test).
 *
 * The image begins with the 64-byte RISC-V Linux boot image header
 * (Linux 6.1, Documentation/riscv/boot-image-header.rst), so discv -- or any
 * loader that boots Linux -- can load it.  The loader enters at the first
 * byte in S-mode (VS-mode under discv) with:
 *     a0 = hart id, a1 = physical address of the device tree, satp = 0.
 */

#define STACK_SIZE	16384

	.section .text.head, "ax"
	.option push
	.option norvc			/* code0 must be one 4-byte instruction */
	.globl _start
_start:
	j	entry			/* code0: jump over the header        */
	.word	0			/* code1                              */
	.dword	0x200000		/* text_offset: RAM base + 2 MiB      */
	.dword	_image_size		/* image_size (from linker.ld)        */
	.dword	0			/* flags: bit 0 = 0 -> little endian  */
	.word	0x2			/* version 0.2                        */
	.word	0			/* res1                               */
	.dword	0			/* res2                               */
	.ascii	"RISCV\0\0\0"		/* magic (deprecated, 8 bytes)        */
	.word	0x05435352		/* magic2: "RSC\x05"                  */
	.word	0			/* res3                               */
	.option pop

	.text
entry:
	/* No interrupts: clear every enable bit and the global enable. */
	csrw	sie, zero
	csrci	sstatus, 2		/* sstatus.SIE = 0 */

	/* Keep the boot arguments in callee-saved registers. */
	mv	s0, a0
	mv	s1, a1
	mv	tp, a0			/* every hart keeps its hart id in tp (smp.h) */

	/* Zero .bss (the stack lives there too, but nothing uses it yet). */
	la	t0, __bss_start
	la	t1, __bss_end
1:	bgeu	t0, t1, 2f
	sd	zero, 0(t0)
	addi	t0, t0, 8
	j	1b
2:
	la	sp, stack_top
	la	t0, trap_entry
	csrw	stvec, t0		/* direct mode: low bits 00 */

	mv	a0, s0
	mv	a1, s1
	call	main
	/* main powers the machine off; if that ever returns, park the hart. */
3:	wfi
	j	3b

/*
 * S-mode trap vector.  Traps are taken only from S-mode itself, on the same
 * stack, so we just spill the caller-saved registers (the C ABI makes the
 * handler preserve the rest), call the guest's trap_handler() (sbi-test's
 * records the cause and moves sepc past the faulting instruction;
 * virtio-test's reports any trap as a failure), and return with sret.
 */
	.balign 4
	.globl trap_entry		/* also the secondary harts' (smp.S) */
trap_entry:
	addi	sp, sp, -128
	sd	ra,   0(sp)
	sd	t0,   8(sp)
	sd	t1,  16(sp)
	sd	t2,  24(sp)
	sd	a0,  32(sp)
	sd	a1,  40(sp)
	sd	a2,  48(sp)
	sd	a3,  56(sp)
	sd	a4,  64(sp)
	sd	a5,  72(sp)
	sd	a6,  80(sp)
	sd	a7,  88(sp)
	sd	t3,  96(sp)
	sd	t4, 104(sp)
	sd	t5, 112(sp)
	sd	t6, 120(sp)
	call	trap_handler
	ld	ra,   0(sp)
	ld	t0,   8(sp)
	ld	t1,  16(sp)
	ld	t2,  24(sp)
	ld	a0,  32(sp)
	ld	a1,  40(sp)
	ld	a2,  48(sp)
	ld	a3,  56(sp)
	ld	a4,  64(sp)
	ld	a5,  72(sp)
	ld	a6,  80(sp)
	ld	a7,  88(sp)
	ld	t3,  96(sp)
	ld	t4, 104(sp)
	ld	t5, 112(sp)
	ld	t6, 120(sp)
	addi	sp, sp, 128
	sret

	.bss
	.balign 16
stack:
	.space	STACK_SIZE
stack_top:
