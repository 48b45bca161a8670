/*
 * vCPU state changes that need no CSR access: reset, the power-state
 * machine (HSM, WFI, wake-up, the run handshake, the reboot's halt).
 * Pure: unit-tested natively (tests/unit/test_vcpu_states.c replays the
 * interleavings).
 *
 * Every power change is a compare-and-swap from the state its author
 * expects. Only the VM's reboot changes a state unconditionally (to
 * HALTED), and nothing but the reboot leaves HALTED, so once the reboot
 * has halted the vCPUs no WFI, suspend, stop, start or wake-up in flight
 * can make one runnable again (docs/concurrency.md).
 */
#include <string.h>
#include "arch/riscv_defs.h"
#include "arch/sbi_defs.h"
#include "core/vcpu.h"
#include "core/vm.h"

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
 *
 * `requests` and `irq_inject` are only added to, atomically: another hart
 * may have posted a G-stage flush (a page of the VM was replaced) or an
 * IPI a moment ago, and a plain store here would lose it.
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
	__atomic_fetch_or(&v->requests, VCPU_REQ_FENCE_I | VCPU_REQ_FLUSH_VS_TLB,
			  __ATOMIC_ACQ_REL);
	v->resume_non_retentive = false;
}

bool vcpu_start_claim(struct vcpu *target)
{
	return vcpu_power_cas(target, VCPU_STOPPED, VCPU_STARTING);
}

long vcpu_start_finish(struct vcpu *target, uint64_t addr, uint64_t opaque)
{
	vcpu_reset(target, addr, opaque);
	/* Release: its hart sees the state before it sees RUNNING. */
	if (!vcpu_power_cas(target, VCPU_STARTING, VCPU_RUNNING))
		return SBI_ERR_FAILED;	/* the VM's reboot halted it meanwhile */
	return SBI_SUCCESS;
}

long vcpu_hsm_start(struct vcpu *target, uint64_t addr, uint64_t opaque)
{
	if (!vcpu_start_claim(target))
		return SBI_ERR_ALREADY_AVAILABLE;
	return vcpu_start_finish(target, addr, opaque);
}

long vcpu_hsm_stop(struct vcpu *v)
{
	return vcpu_power_cas(v, VCPU_RUNNING, VCPU_STOPPING) ? SBI_SUCCESS : SBI_ERR_FAILED;
}

long vcpu_hsm_suspend(struct vcpu *v, bool non_retentive, uint64_t addr, uint64_t opaque)
{
	v->resume_non_retentive = non_retentive;
	v->resume_addr = addr;
	v->resume_opaque = opaque;
	return vcpu_power_cas(v, VCPU_RUNNING, VCPU_SUSPENDED) ? SBI_SUCCESS : SBI_ERR_FAILED;
}

unsigned long vcpu_hsm_state(const struct vcpu *v)
{
	switch (vcpu_power(v)) {
	case VCPU_STARTING: return SBI_HSM_STATE_START_PENDING;
	case VCPU_RUNNING:
	case VCPU_WAITING: return SBI_HSM_STATE_STARTED;	/* WFI is still "started" */
	case VCPU_SUSPENDED: return SBI_HSM_STATE_SUSPENDED;
	case VCPU_STOPPING: return SBI_HSM_STATE_STOP_PENDING;
	case VCPU_STOPPED:
	case VCPU_HALTED:
	default: return SBI_HSM_STATE_STOPPED;
	}
}

bool vcpu_wait(struct vcpu *v)
{
	return vcpu_power_cas(v, VCPU_RUNNING, VCPU_WAITING);
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
	enum vcpu_power power = vcpu_power(v);

	if (power == VCPU_RUNNING)
		return true;
	if (power != VCPU_WAITING && power != VCPU_SUSPENDED)
		return false;
	/* Read after the power (acquire): saved by the vCPU's put. A reboot
	 * resetting them now makes the swap below fail. */
	struct vcpu_csrs c = v->csrs;
	c.hvip |= __atomic_load_n(&v->irq_inject, __ATOMIC_ACQUIRE);
	if (!vcpu_csrs_interrupt_pending(&c, now))
		return false;
	/* Nothing else is written here: a non-retentive resume is reset by
	 * vcpu_begin_run, once the vCPU is loaded and safe from a reboot. */
	return vcpu_power_cas(v, power, VCPU_RUNNING);
}

/* A non-retentive suspend resumes like a hart_start at its resume address
 * (SBI 2.0 9.4) but keeps pending interrupts and the timer: the interrupt
 * that woke the vCPU must still be delivered. */
static void resume_non_retentive(struct vcpu *v)
{
	uint64_t vstimecmp = v->csrs.vstimecmp, vsie = v->csrs.vsie, hvip = v->csrs.hvip;

	vcpu_reset(v, v->resume_addr, v->resume_opaque);
	v->csrs.vstimecmp = vstimecmp;
	v->csrs.vsie = vsie;
	v->csrs.hvip = hvip;
}

bool vcpu_begin_run(struct vcpu *v)
{
	__atomic_store_n(&v->loaded, true, __ATOMIC_SEQ_CST);
	/* Pairs with vcpus_halt: halted after we looked? Do not run. */
	if (__atomic_load_n(&v->power, __ATOMIC_SEQ_CST) != VCPU_RUNNING) {
		__atomic_store_n(&v->loaded, false, __ATOMIC_SEQ_CST);
		return false;
	}
	if (v->resume_non_retentive)
		resume_non_retentive(v);
	return true;
}

void vcpu_end_run(struct vcpu *v)
{
	__atomic_store_n(&v->loaded, false, __ATOMIC_SEQ_CST);
	vcpu_power_cas(v, VCPU_STOPPING, VCPU_STOPPED);	/* now it may be started */
}

bool vcpus_halt(struct vcpu *vcpus, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		__atomic_exchange_n(&vcpus[i].power, VCPU_HALTED, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned i = 0; i < n; i++)
		if (__atomic_load_n(&vcpus[i].loaded, __ATOMIC_SEQ_CST))
			return true;
	return false;
}
