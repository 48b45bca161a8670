/*
 * The hypervisor's first instructions. OpenSBI (fw_jump) enters here in
 * HS-mode, at the link address 0x80200000, on the boot hart, with
 * a0 = hart id and a1 = physical address of the device tree, translation
 * off and interrupts off. Other harts stay parked in OpenSBI until the
 * hypervisor starts them with SBI HSM, at secondary_entry.
 */
#define STACK_SIZE 32768	/* keep in step with HART_STACK_SIZE (hart.h) */
#define MAX_HARTS 8

/* sp = the top of this hart's stack (a0 = hart id); a hart id past
 * MAX_HARTS has no stack and parks. */
	.macro hart_stack
	li t0, MAX_HARTS
	bgeu a0, t0, park
	la sp, hart_stacks
	li t0, STACK_SIZE
	addi t1, a0, 1
	mul t0, t0, t1
	add sp, sp, t0
	.endm

	.section .text.entry
	.global _start
_start:
	/*
	 * Only the first hart here boots. OpenSBI 1.1 can send a second one:
	 * its sbi_hsm_hart_start() marks the target START_PENDING before it
	 * stores the start address (later OpenSBI stores the address first),
	 * so a target that wakes in between jumps to the old address, the
	 * firmware's default: here. Seen twice in ~100 runs (hyp_main ran
	 * again and zeroed everything). Such a hart must not touch .bss: it
	 * goes the secondaries' way instead (hart.c, late_secondary_main).
	 */
	la t0, boot_claimed
	li t1, 1
	amoswap.w.aqrl t1, t1, (t0)
	bnez t1, late_secondary

	/* Each hart gets a stack, indexed by hart id (QEMU virt: 0..7). */
	hart_stack

	/* Zero .bss (nothing is on the stack yet, so its part may go too). */
	la t0, __bss_start
	la t1, __bss_end
1:	bgeu t0, t1, 2f
	sd zero, 0(t0)
	addi t0, t0, 8
	j 1b
2:
	call hyp_main
park:
	wfi
	j park

/* A hart sent to _start after the boot hart: wait for harts[] (C). */
late_secondary:
	hart_stack
	call late_secondary_main
	j park

	.data
	.align 2
	.global boot_claimed
boot_claimed:
	.word 0
	.text

/*
 * A secondary hart, started by hart_start (SBI HSM) from the boot hart:
 * a0 = hart id, a1 = its struct hart (the opaque argument).
 */
	.global secondary_entry
secondary_entry:
	hart_stack
	mv a0, a1
	call secondary_main
	j park

/* hart_stacks is defined in host/hart.c, in .bss.stacks (first in .bss). */
