/*
 * The secondary harts' entry point and stacks (smp.h). SBI HSM hart_start
 * enters here in S-mode with a0 = hart id, a1 = opaque, satp = 0 and
 * sstatus.SIE = 0 (SBI 2.0 section 9.1). .bss was zeroed by the boot
 * hart and must not be zeroed again.
 */
#include "smp.h"

	.text
	.globl smp_entry
	.balign 4
smp_entry:
	csrw	sie, zero
	csrci	sstatus, 2		/* sstatus.SIE = 0 */
	li	t0, SMP_MAX_HARTS
	bgeu	a0, t0, 2f		/* no stack for this hart: park it */
	mv	tp, a0
	/* sp = smp_stacks + (hartid + 1) * SMP_STACK_SIZE */
	addi	t0, a0, 1
	li	t1, SMP_STACK_SIZE
	mul	t0, t0, t1
	la	sp, smp_stacks
	add	sp, sp, t0
	la	t0, trap_entry
	csrw	stvec, t0
	call	smp_secondary_main	/* (hartid, opaque); stops the hart */
2:	wfi
	j	2b

	.bss
	.balign 16
	.globl smp_stacks
smp_stacks:
	.space	SMP_MAX_HARTS * SMP_STACK_SIZE
