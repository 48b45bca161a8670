/*
 * vCPU state changes that need no CSR access: reset, the HSM transitions
 * and the wake-up test. Pure: unit-tested natively.
 */
#include <string.h>
#include "riscv_defs.h"
#include "vcpu.h"
#include "vm.h"

const char *const exit_reason_name[EXIT_REASON_COUNT] = {
	[EXIT_ECALL] = "ecall",
	[EXIT_FETCH_GUEST_PAGE_FAULT] = "fetch_guest_page_fault",
	[EXIT_LOAD_GUEST_PAGE_FAULT] = "load_guest_page_fault",
	[EXIT_STORE_GUEST_PAGE_FAULT] = "store_guest_page_fault",
	[EXIT_VIRTUAL_INSTRUCTION] = "virtual_instruction",
	[EXIT_ILLEGAL_INSTRUCTION] = "illegal_instruction",
	[EXIT_TIMER_INTERRUPT] = "timer_interrupt",
	[EXIT_SOFTWARE_INTERRUPT] = "software_interrupt",
	[EXIT_EXTERNAL_INTERRUPT] = "external_interrupt",
	[EXIT_OTHER] = "other",
};

enum exit_reason exit_reason_of(uint64_t scause)
{
	if (scause & CAUSE_INTERRUPT) {
		switch (scause & ~CAUSE_INTERRUPT) {
		case IRQ_S_TIMER: return EXIT_TIMER_INTERRUPT;
		case IRQ_S_SOFT: return EXIT_SOFTWARE_INTERRUPT;
		case IRQ_S_EXT: return EXIT_EXTERNAL_INTERRUPT;
		default: return EXIT_OTHER;
		}
	}
	switch (scause) {
	case EXC_ECALL_VS: return EXIT_ECALL;
	case EXC_INSN_GUEST_PAGE_FAULT: return EXIT_FETCH_GUEST_PAGE_FAULT;
	case EXC_LOAD_GUEST_PAGE_FAULT: return EXIT_LOAD_GUEST_PAGE_FAULT;
	case EXC_STORE_GUEST_PAGE_FAULT: return EXIT_STORE_GUEST_PAGE_FAULT;
	case EXC_VIRTUAL_INSN: return EXIT_VIRTUAL_INSTRUCTION;
	case EXC_ILLEGAL_INSN: return EXIT_ILLEGAL_INSTRUCTION;
	default: return EXIT_OTHER;
	}
}

/*
 * The state a hart has when it starts in S-mode (SBI 2.0 9.2, hart_start):
 * translation off (vsatp = 0), interrupts off, a0 = hart id, a1 = opaque.
 * sstatus and hstatus here are the HS-level values the world switch loads
 * for sret: SPP = 1 and SPV = 1 enter VS-mode (priv spec 8.6.4); SPVP = 1
 * lets the hypervisor's HLV/HLVX read the guest as supervisor; VTW = 1
 * makes the guest's WFI trap, so a waiting vCPU gives its hart away.
 * FS = Clean in sstatus lets the guest use FP (its own vsstatus.FS too)
 * and shows, as Dirty, when it did.
 */
void vcpu_reset(struct vcpu *v, uint64_t pc, uint64_t a1)
{
	memset(&v->ctx, 0, sizeof(v->ctx));
	memset(&v->csrs, 0, sizeof(v->csrs));
	v->csrs.scounteren = VCPU_RESET_SCOUNTEREN;	/* senvcfg: 0 */
	memset(&v->fp, 0, sizeof(v->fp));
	v->fp_dirty = false;
	v->ctx.sepc = pc;
	v->ctx.x[REG_A0] = v->id;
	v->ctx.x[REG_A1] = a1;
	v->ctx.sstatus = SSTATUS_SPP | SSTATUS_FS_CLEAN;
	v->ctx.hstatus = HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_VTW | HSTATUS_VSXL_64;
	v->csrs.vstimecmp = UINT64_MAX;	/* no timer until the guest sets one */
	v->irq_inject = 0;
	v->requests = VCPU_REQ_FENCE_I | VCPU_REQ_FLUSH_VS_TLB;
	v->suspended = false;
	v->resume_non_retentive = false;
}

void vcpu_hsm_start(struct vcpu *target, uint64_t addr, uint64_t opaque)
{
	vcpu_reset(target, addr, opaque);
	vcpu_set_power(target, VCPU_RUNNING);	/* after the state: its hart may look */
}

void vcpu_hsm_suspend(struct vcpu *v, bool non_retentive, uint64_t addr, uint64_t opaque)
{
	vcpu_set_power(v, VCPU_WAITING);
	v->suspended = true;
	v->resume_non_retentive = non_retentive;
	v->resume_addr = addr;
	v->resume_opaque = opaque;
}

bool vcpu_csrs_interrupt_pending(const struct vcpu_csrs *c, uint64_t now)
{
	uint64_t pending = c->hvip;

	if (now >= c->vstimecmp)
		pending |= HVIP_VSTIP;
	/* vsie holds the guest's view (SSIE bit 1, STIE 5, SEIE 9); the VS
	 * bits of hvip sit one place higher (priv spec 8.2.12). */
	return (pending & (c->vsie << 1)) != 0;
}

bool vcpu_wake_if_pending(struct vcpu *v, uint64_t now)
{
	struct vcpu_csrs c = v->csrs;

	enum vcpu_power power = vcpu_power(v);

	if (power != VCPU_WAITING)
		return power == VCPU_RUNNING;
	c.hvip |= __atomic_load_n(&v->irq_inject, __ATOMIC_ACQUIRE);
	if (!vcpu_csrs_interrupt_pending(&c, now))
		return false;
	if (v->suspended && v->resume_non_retentive) {
		uint64_t vstimecmp = v->csrs.vstimecmp, vsie = v->csrs.vsie;
		uint64_t hvip = v->csrs.hvip;
		uint64_t inject = __atomic_load_n(&v->irq_inject, __ATOMIC_ACQUIRE);
		vcpu_reset(v, v->resume_addr, v->resume_opaque);
		/* A non-retentive suspend keeps pending interrupts and the timer
		 * (vcpu_reset cleared hvip and irq_inject: put them back, or the
		 * interrupt that woke the vCPU, an IPI say, is lost). */
		v->csrs.vstimecmp = vstimecmp;
		v->csrs.vsie = vsie;
		v->csrs.hvip = hvip;
		__atomic_fetch_or(&v->irq_inject, inject, __ATOMIC_ACQ_REL);
	}
	v->suspended = false;
	/* Only if nobody stopped it meanwhile (a reboot, say). */
	enum vcpu_power waiting = VCPU_WAITING;
	return __atomic_compare_exchange_n(&v->power, &waiting, VCPU_RUNNING, false,
					   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
