/*
 * A virtual CPU: the guest's registers, its virtual-supervisor CSRs, its
 * floating-point state, its SBI hart state and its counters.
 *
 * A vCPU is "loaded" while its CSRs are in the hart's registers (between
 * vcpu_load and vcpu_put); then the hardware copy is the live one and the
 * struct copy is stale. Pure declarations: the host unit tests include it.
 */
#ifndef DISCV_VCPU_H
#define DISCV_VCPU_H

#include <stdbool.h>
#include <stdint.h>
#include "vcpu_context.h"

struct vm;

/* VS-level state switched by vcpu_load/vcpu_put (priv spec 8.2). */
struct vcpu_csrs {
	uint64_t vsstatus, vsie, vstvec, vsscratch, vsepc, vscause, vstval;
	uint64_t vsatp;
	uint64_t hvip;		/* interrupts injected into the guest */
	uint64_t htimedelta;
	uint64_t vstimecmp;	/* the guest's Sstc timer deadline */
	/* The guest's own S-level CSRs that have no VS copy (it accesses the
	 * real ones: vcpu_load/vcpu_put switch them). */
	uint64_t scounteren;	/* counters its VU-mode may read (with hcounteren) */
	uint64_t senvcfg;	/* its VU-mode environment (FIOM, CBIE, ...) */
};

/* scounteren at reset: VU-mode may read cycle, time and instret, as KVM
 * gives a new vCPU (and Linux 6.1's vDSO reads time from user mode). */
#define VCPU_RESET_SCOUNTEREN 0x7

struct fp_state {
	uint64_t f[32];
	uint64_t fcsr;
};

/* SBI HSM states (SBI 2.0 section 9.1), plus WAITING for a guest in WFI. */
enum vcpu_power {
	VCPU_STOPPED,		/* not started, or stopped by HSM hart_stop */
	VCPU_RUNNING,		/* runnable (HSM "started") */
	VCPU_WAITING,		/* WFI or HSM suspend: runnable on an interrupt */
};

/* Why the guest left VS-mode; the names are hvstat's exits_by_cause keys. */
enum exit_reason {
	EXIT_ECALL,		/* SBI call */
	EXIT_FETCH_GUEST_PAGE_FAULT,
	EXIT_LOAD_GUEST_PAGE_FAULT,
	EXIT_STORE_GUEST_PAGE_FAULT,
	EXIT_VIRTUAL_INSTRUCTION,
	EXIT_ILLEGAL_INSTRUCTION,
	EXIT_TIMER_INTERRUPT,
	EXIT_SOFTWARE_INTERRUPT,
	EXIT_EXTERNAL_INTERRUPT,
	EXIT_OTHER,
	EXIT_REASON_COUNT
};

extern const char *const exit_reason_name[EXIT_REASON_COUNT];

/* The hvstat cause of a trap, from its scause. */
enum exit_reason exit_reason_of(uint64_t scause);

/* Work a vCPU must do on its own hart before it next enters the guest. */
enum vcpu_request {
	VCPU_REQ_FENCE_I = 1 << 0,		/* guest's remote fence.i */
	VCPU_REQ_FLUSH_VS_TLB = 1 << 1,		/* guest's remote sfence.vma */
	VCPU_REQ_FLUSH_GSTAGE = 1 << 2,		/* hypervisor changed the G-stage */
};

/* One entry of a vCPU's exit trace (the monitor's `trace`). */
struct exit_record {
	uint64_t time;		/* host time of the exit */
	uint64_t scause;
	uint64_t sepc;		/* guest pc */
	uint64_t tval;		/* stval, or the guest-physical address of a G-stage fault */
};

#define VCPU_TRACE_LEN 16

struct vcpu {
	struct vcpu_context ctx;	/* first: the world switch's base pointer */
	struct vcpu_csrs csrs;
	struct fp_state fp;
	bool fp_dirty;			/* guest changed FP since its last save */
	int hart;			/* index of the hart it runs on */
	int last_hart;			/* where it last ran (-1: never) */

	struct vm *vm;
	unsigned id;			/* the guest's hart id */
	enum vcpu_power power;		/* written by other harts: use vcpu_power() */
	bool loaded;			/* on its hart between vcpu_load and vcpu_put */
	/* Set by a device during an MMIO store it could not finish within
	 * its budget: the guest executes the store again (mmio.c). */
	bool mmio_retry;
	unsigned requests;		/* enum vcpu_request bits, atomic */
	uint64_t irq_inject;		/* hvip bits to raise at next entry, atomic */

	/* HSM suspend (SBI 2.0 9.4): a non-retentive suspend resumes like a
	 * hart_start, at resume_addr with a1 = resume_opaque. */
	bool suspended;
	bool resume_non_retentive;
	uint64_t resume_addr, resume_opaque;

	uint64_t exits;
	uint64_t exits_by_cause[EXIT_REASON_COUNT];
	uint64_t run_ticks;		/* time spent in the guest */
	uint64_t masked_ticks;		/* run time with its timer pending but masked */
	struct exit_record trace[VCPU_TRACE_LEN];
	unsigned trace_next;		/* total exits recorded; slot = next % LEN */
};

static inline enum vcpu_power vcpu_power(const struct vcpu *v)
{
	return __atomic_load_n(&v->power, __ATOMIC_ACQUIRE);
}

static inline void vcpu_set_power(struct vcpu *v, enum vcpu_power p)
{
	__atomic_store_n(&v->power, p, __ATOMIC_RELEASE);
}

/* Puts the vCPU in the state of a hart entering S-mode at pc with
 * a0 = its hart id and a1 = a1 (Linux boot protocol, SBI hart_start). */
void vcpu_reset(struct vcpu *v, uint64_t pc, uint64_t a1);

/* If v waits (WFI, HSM suspend) and an enabled interrupt is pending, makes
 * it runnable again. Returns true if v is runnable. v must not be loaded. */
bool vcpu_wake_if_pending(struct vcpu *v, uint64_t now);

/* True if an interrupt the guest has enabled in vsie is pending, given
 * the vCPU's saved CSRs and the current time. Pure. */
bool vcpu_csrs_interrupt_pending(const struct vcpu_csrs *c, uint64_t now);

/* Arch hooks used by the SBI handlers; implemented in vcpu.c and stubbed
 * in the unit tests. The caller is the vCPU itself, loaded on this hart. */
void vcpu_set_timer(struct vcpu *v, uint64_t deadline);
void vcpu_raise_ipi(struct vcpu *target);
/* Raises an hvip bit (VSSIP, VSEIP) of target, wherever it runs. */
void vcpu_raise_irq(struct vcpu *target, uint64_t hvip_bit);
void vcpu_clear_ipi(struct vcpu *v);
void vcpu_request(struct vcpu *target, unsigned requests);
/* Reads a u64 at a guest-virtual address, through the guest's own page
 * tables (HLV.D). False if the guest's translation faults. */
bool vcpu_read_guest_u64(struct vcpu *v, uint64_t gva, uint64_t *value);
/* HSM: start a stopped vCPU at addr with a1 = opaque; suspend the caller. */
void vcpu_hsm_start(struct vcpu *target, uint64_t addr, uint64_t opaque);
void vcpu_hsm_suspend(struct vcpu *v, bool non_retentive, uint64_t addr, uint64_t opaque);

#endif
