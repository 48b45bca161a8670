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
#include "core/vcpu_context.h"

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

/*
 * A vCPU's power state: the SBI HSM states (SBI 2.0 section 9.1) plus
 * WAITING (a guest in WFI, still "started") and HALTED (held by its VM's
 * reboot). Every change is a compare-and-swap from the state its author
 * expects (vcpu_state.c), so the reboot's HALTED wins over any change in
 * flight; docs/concurrency.md draws the machine.
 */
enum vcpu_power {
	VCPU_STOPPED,		/* HSM STOPPED: not started, or stopped and saved */
	VCPU_STARTING,		/* HSM START_PENDING: a hart_start writes its state */
	VCPU_RUNNING,		/* HSM STARTED: runnable */
	VCPU_WAITING,		/* HSM STARTED, in WFI: runnable on an interrupt */
	VCPU_SUSPENDED,		/* HSM SUSPENDED: runnable on an interrupt */
	VCPU_STOPPING,		/* HSM STOP_PENDING: hart_stop, not yet saved by its hart */
	VCPU_HALTED,		/* its VM reboots: only the reboot moves it (to STOPPED) */
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
	 * hart_start, at resume_addr with a1 = resume_opaque. Written and
	 * read only while the vCPU is loaded (the reset on resume is done by
	 * vcpu_begin_run, not by the wake-up). */
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

/* An unconditional store: only for a VM whose vCPUs nobody else can
 * touch (creation, and the reboot while every vCPU is HALTED). */
static inline void vcpu_set_power(struct vcpu *v, enum vcpu_power p)
{
	__atomic_store_n(&v->power, p, __ATOMIC_RELEASE);
}

/* Moves v from `from` to `to` if it is still in `from`. */
static inline bool vcpu_power_cas(struct vcpu *v, enum vcpu_power from, enum vcpu_power to)
{
	return __atomic_compare_exchange_n(&v->power, &from, to, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
}

/* Puts the vCPU in the state of a hart entering S-mode at pc with
 * a0 = its hart id and a1 = a1 (Linux boot protocol, SBI hart_start).
 * Pending fence requests and raised interrupts are kept: other harts set
 * them atomically at any time, and a lost G-stage flush is a stale
 * translation (docs/concurrency.md). The caller owns v's state: v is
 * STARTING (hart_start), loaded on this hart (a resume), or its VM's
 * reboot holds it. */
void vcpu_reset(struct vcpu *v, uint64_t pc, uint64_t a1);

/* If v waits (WFI, HSM suspend) and an enabled interrupt is pending, makes
 * it runnable again (a compare-and-swap: a reboot's HALTED wins). Returns
 * true if v is runnable. Called by v's hart, v not loaded; writes nothing
 * but the power state. */
bool vcpu_wake_if_pending(struct vcpu *v, uint64_t now);

/*
 * The run handshake with the VM's reboot (vcpus_halt). vcpu_begin_run
 * marks v loaded, then re-reads its power (both sequentially consistent):
 * false if it is not RUNNING, and v is not loaded. Otherwise v is loaded
 * and, if it is resuming from a non-retentive suspend, reset to its resume
 * state. vcpu_end_run clears `loaded` after vcpu_put and completes a
 * hart_stop (STOPPING -> STOPPED), so a hart_start never resets a vCPU
 * whose hart is still saving it.
 */
bool vcpu_begin_run(struct vcpu *v);
void vcpu_end_run(struct vcpu *v);

/* The reboot's stop: every vCPU of the VM becomes HALTED (an exchange,
 * whatever it was doing), then, after a full fence, returns true if any is
 * still loaded (its hart will see HALTED and put it). Caller: the VM's
 * life_lock held. */
bool vcpus_halt(struct vcpu *vcpus, unsigned n);

/* WFI (priv spec 3.3.3) from the guest kernel: RUNNING -> WAITING. False
 * if the vCPU was halted meanwhile. Called by v's hart, v loaded. */
bool vcpu_wait(struct vcpu *v);

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
/*
 * HSM (SBI 2.0 chapter 9). Each returns an SBI error.
 * vcpu_hsm_start: STOPPED -> STARTING (exactly one of several concurrent
 * starters wins; the others get SBI_ERR_ALREADY_AVAILABLE), the reset,
 * then STARTING -> RUNNING; SBI_ERR_FAILED if the VM's reboot halted the
 * target meanwhile. vcpu_hsm_stop: RUNNING -> STOPPING (its hart finishes
 * the stop, vcpu_end_run). vcpu_hsm_suspend: RUNNING -> SUSPENDED. The
 * callers are loaded vCPUs (the caller of start, the subject of stop and
 * suspend), so the VM's reboot waits until they are put.
 */
long vcpu_hsm_start(struct vcpu *target, uint64_t addr, uint64_t opaque);
/* vcpu_hsm_start's two halves: the claim (STOPPED -> STARTING, false if
 * not STOPPED), then the reset and STARTING -> RUNNING by the winner. */
bool vcpu_start_claim(struct vcpu *target);
long vcpu_start_finish(struct vcpu *target, uint64_t addr, uint64_t opaque);
long vcpu_hsm_stop(struct vcpu *v);
long vcpu_hsm_suspend(struct vcpu *v, bool non_retentive, uint64_t addr, uint64_t opaque);
/* The HSM state of a vCPU (SBI 2.0 table 9.1) for hart_get_status. */
unsigned long vcpu_hsm_state(const struct vcpu *v);

/*
 * Does this hart's current vCPU's requests (fences) now, as the wait loop
 * of a synchronous fence does. For code that waits for another hart
 * while holding no host address of guest memory (docs/concurrency.md).
 */
void vcpu_ack_own_requests(void);

/*
 * Takes a lock that its holder may keep across a wait for another hart
 * (a device's lock, held while its serve waits for the pager): while
 * spinning, this hart acknowledges its own vCPU's fences, so the holder's
 * wait can never come back to wait for this hart.
 */
struct spinlock;
void spin_lock_acking(struct spinlock *l);

#endif
