/*
 * hyp/vcpu_state.c: the vCPU power-state machine under concurrency
 * (docs/concurrency.md). Each test replays one interleaving
 * step by step: "this hart" does the first half of a transition, a fake
 * "other hart" step runs in between (what another hart may do at that
 * moment: post a G-stage flush, halt the VM for a reboot, raise an IPI,
 * start the same target), then the first half's second half runs, and
 * the test checks that nothing the other hart did was lost or overridden.
 *
 * Issue 7: defect 2 (reset lost a pending G-stage flush), defect 3 (a
 * WFI exit, a suspend, a hart_start or a wake-up made a vCPU runnable
 * again after the reboot had stopped it), 14 (two hart_starts of one
 * target both won; the wake-up's reset dropped a concurrent IPI).
 */
#include <stdlib.h>
#include <string.h>
#include "arch/riscv_defs.h"
#include "arch/sbi_defs.h"
#include "unit.h"
#include "core/vcpu.h"
#include "core/vm.h"

#define NV 4
#define PC 0x80200000UL
#define VSIE_SSIE (1UL << 1)	/* the guest's sie bits, one below hvip's */
#define VSIE_STIE (1UL << 5)

static struct vm *vm;

/* A VM of NV vCPUs: vCPU 0 running (and loaded on its hart), the others
 * stopped, nothing pending. */
static void setup(void)
{
	vm = aligned_alloc(16384, sizeof(*vm));
	if (!vm)
		abort();
	memset(vm, 0, sizeof(*vm));
	vm->nvcpus = NV;
	vm->state = VM_RUNNING;
	for (unsigned i = 0; i < NV; i++) {
		struct vcpu *v = &vm->vcpu[i];
		v->vm = vm;
		v->id = i;
		v->hart = (int)i;
		v->last_hart = -1;
		vcpu_reset(v, 0, 0);
		v->requests = 0;
		vcpu_set_power(v, VCPU_STOPPED);
	}
	vcpu_reset(&vm->vcpu[0], PC, 0);
	vcpu_set_power(&vm->vcpu[0], VCPU_RUNNING);
	CHECK(vcpu_begin_run(&vm->vcpu[0]));
}

static void teardown(void)
{
	free(vm);
	vm = NULL;
}

/* ---- the other hart's steps ------------------------------------------ */

/* What vcpu_request does on another hart: a G-stage page of the VM was
 * replaced; the vCPU must flush before it next runs guest code. */
static void other_hart_posts_flush(struct vcpu *v)
{
	__atomic_fetch_or(&v->requests, VCPU_REQ_FLUSH_GSTAGE, __ATOMIC_SEQ_CST);
}

/* What vcpu_raise_irq does for a vCPU not loaded on the caller's hart. */
static void other_hart_raises_ipi(struct vcpu *v)
{
	__atomic_fetch_or(&v->irq_inject, HVIP_VSSIP, __ATOMIC_SEQ_CST);
}

/* What vm_request_reboot does on the hart of the vCPU that asked. */
static bool other_hart_halts_vm(void)
{
	return vcpus_halt(vm->vcpu, vm->nvcpus);
}

/* Neither runnable nor able to become runnable without the reboot: a
 * stopped state (HALTED, or the old code's STOPPED). */
static bool held(const struct vcpu *v)
{
	enum vcpu_power p = vcpu_power(v);

	return p == VCPU_HALTED || p == VCPU_STOPPED;
}

static bool none_runnable(uint64_t now)
{
	for (unsigned i = 0; i < NV; i++)
		if (vcpu_wake_if_pending(&vm->vcpu[i], now) || vcpu_begin_run(&vm->vcpu[i]))
			return false;
	return true;
}

/* ---- defect 2: a reset keeps pending fence requests --------------------- */

static void test_start_keeps_flush(void)
{
	setup();
	struct vcpu *t = &vm->vcpu[1];

	/* t stopped, not loaded: a page of its VM is replaced; the flush
	 * waits in t->requests for its next entry. */
	other_hart_posts_flush(t);
	/* vCPU 0 starts t (HSM hart_start): the reset must keep it. */
	CHECK_EQ(vcpu_hsm_start(t, PC, 0), SBI_SUCCESS);
	CHECK_EQ(t->requests & VCPU_REQ_FLUSH_GSTAGE, VCPU_REQ_FLUSH_GSTAGE);
	/* ...and still asks for the fences a fresh hart needs. */
	CHECK_EQ(t->requests & (VCPU_REQ_FENCE_I | VCPU_REQ_FLUSH_VS_TLB),
		 VCPU_REQ_FENCE_I | VCPU_REQ_FLUSH_VS_TLB);

	/* The flush posted in the middle of a start (claim, flush, reset). */
	struct vcpu *u = &vm->vcpu[2];
	CHECK(vcpu_start_claim(u));
	other_hart_posts_flush(u);
	CHECK_EQ(vcpu_start_finish(u, PC, 0), SBI_SUCCESS);
	CHECK_EQ(u->requests & VCPU_REQ_FLUSH_GSTAGE, VCPU_REQ_FLUSH_GSTAGE);
	teardown();
}

static void test_resume_keeps_flush(void)
{
	setup();
	struct vcpu *v = &vm->vcpu[0];

	/* vCPU 0 suspends non-retentively and is put. */
	CHECK_EQ(vcpu_hsm_suspend(v, true, PC + 0x1000, 5), SBI_SUCCESS);
	vcpu_end_run(v);
	v->csrs.vsie = VSIE_SSIE;
	v->csrs.hvip = HVIP_VSSIP;	/* an IPI pending: it wakes */
	other_hart_posts_flush(v);
	CHECK(vcpu_wake_if_pending(v, 0));
	CHECK(vcpu_begin_run(v));	/* the resume's reset happens here */
	CHECK_EQ(v->ctx.sepc, PC + 0x1000);
	CHECK_EQ(v->ctx.x[REG_A1], 5);
	CHECK_EQ(v->requests & VCPU_REQ_FLUSH_GSTAGE, VCPU_REQ_FLUSH_GSTAGE);
	teardown();
}

/* ---- defect 3: the reboot's halt wins over every transition ------------- */

/* vCPU 1 runs on its hart; vCPU 0 asks for a reboot; vCPU 1's WFI exit is
 * in progress and stores WAITING after the halt (the old code's plain
 * store put it back in the game: woken, it ran while its pages were freed). */
static void test_halt_vs_wfi_exit(void)
{
	setup();
	struct vcpu *v = &vm->vcpu[1];

	CHECK_EQ(vcpu_hsm_start(v, PC, 0), SBI_SUCCESS);
	CHECK(vcpu_begin_run(v));	/* loaded on hart 1, in the guest */
	v->csrs.vsie = VSIE_STIE;
	v->csrs.vstimecmp = 0;		/* its timer is due: WFI would return */

	CHECK(other_hart_halts_vm());	/* loaded ones remain: the reboot waits */
	CHECK(!vcpu_wait(v));		/* the WFI exit, after the halt */
	CHECK(held(v));
	vcpu_end_run(v);		/* put */
	vcpu_end_run(&vm->vcpu[0]);	/* the asker is put too */
	CHECK(held(v));
	/* Its hart picks again: not woken, not run. */
	CHECK(!vcpu_wake_if_pending(v, 1000));
	CHECK(!vcpu_begin_run(v));
	CHECK(!v->loaded);
	CHECK(none_runnable(1000));
	teardown();
}

/* The WFI exit completed just before the halt: WAITING, then HALTED; its
 * timer fires while the reboot frees pages: it must not wake. */
static void test_halt_vs_waiting_wakeup(void)
{
	setup();
	struct vcpu *v = &vm->vcpu[1];

	CHECK_EQ(vcpu_hsm_start(v, PC, 0), SBI_SUCCESS);
	CHECK(vcpu_begin_run(v));
	CHECK(vcpu_wait(v));
	vcpu_end_run(v);
	v->csrs.vsie = VSIE_STIE;
	v->csrs.vstimecmp = 50;
	CHECK(!vcpu_wake_if_pending(v, 10));	/* still waiting */
	CHECK(other_hart_halts_vm());		/* vCPU 0 (the asker) loaded */
	vcpu_end_run(&vm->vcpu[0]);
	CHECK(!vcpus_halt(vm->vcpu, NV));	/* now nobody is loaded */
	CHECK(!vcpu_wake_if_pending(v, 100));	/* its deadline passed */
	CHECK(held(v));
	CHECK(none_runnable(100));
	teardown();
}

/* HSM suspend in the same exit window. */
static void test_halt_vs_suspend(void)
{
	setup();
	struct vcpu *v = &vm->vcpu[2];

	CHECK_EQ(vcpu_hsm_start(v, PC, 0), SBI_SUCCESS);
	CHECK(vcpu_begin_run(v));
	CHECK(other_hart_halts_vm());
	CHECK(vcpu_hsm_suspend(v, false, 0, 0) != SBI_SUCCESS);
	CHECK(held(v));
	CHECK_EQ(vcpu_hsm_stop(v), SBI_ERR_FAILED);	/* nor a stop */
	CHECK(held(v));
	vcpu_end_run(v);
	vcpu_end_run(&vm->vcpu[0]);
	v->csrs.vsie = VSIE_SSIE;
	v->csrs.hvip = HVIP_VSSIP;
	CHECK(none_runnable(0));
	teardown();
}

/* A running vCPU starts a sibling the reboot has just stopped (before it
 * is put), or is in the middle of starting it when the halt comes. */
static void test_halt_vs_hart_start(void)
{
	setup();
	struct vcpu *starter = &vm->vcpu[0], *t = &vm->vcpu[3], *u = &vm->vcpu[2];

	CHECK(vcpu_start_claim(u));		/* the start of u is under way */
	CHECK(other_hart_halts_vm());		/* starter is loaded */
	CHECK_EQ(vcpu_hsm_start(t, PC, 0), SBI_ERR_ALREADY_AVAILABLE);
	CHECK(held(t));
	CHECK_EQ(vcpu_start_finish(u, PC, 0), SBI_ERR_FAILED);
	CHECK(held(u));
	vcpu_end_run(starter);
	CHECK(none_runnable(0));
	teardown();
}

/* The run handshake, both orders: the hart marks the vCPU loaded and
 * re-reads its power; the rebooter halts and then reads `loaded`. */
static void test_run_handshake(void)
{
	setup();
	struct vcpu *v = &vm->vcpu[1];

	CHECK_EQ(vcpu_hsm_start(v, PC, 0), SBI_SUCCESS);
	vcpu_end_run(&vm->vcpu[0]);
	/* Hart first: it sees RUNNING and runs; the rebooter sees it loaded. */
	CHECK(vcpu_begin_run(v));
	CHECK(vcpus_halt(vm->vcpu, NV));
	vcpu_end_run(v);
	CHECK(!vcpus_halt(vm->vcpu, NV));
	teardown();

	setup();
	v = &vm->vcpu[1];
	CHECK_EQ(vcpu_hsm_start(v, PC, 0), SBI_SUCCESS);
	vcpu_end_run(&vm->vcpu[0]);
	/* Rebooter first: nobody loaded, it may free; the hart backs out. */
	CHECK(!vcpus_halt(vm->vcpu, NV));
	CHECK(!vcpu_begin_run(v));
	CHECK(!v->loaded);
	teardown();
}

/* ---- 14: one winner of two hart_starts; STOP_PENDING ---------------------- */

static void test_two_starts_one_target(void)
{
	setup();
	struct vcpu *t = &vm->vcpu[1];

	/* vCPU 0 claims t; vCPU 2 (on another hart) starts t in between. */
	CHECK(vcpu_start_claim(t));
	CHECK_EQ(vcpu_hsm_start(t, PC + 0x2000, 2), SBI_ERR_ALREADY_AVAILABLE);
	CHECK_EQ(vcpu_hsm_state(t), SBI_HSM_STATE_START_PENDING);
	CHECK_EQ(vcpu_start_finish(t, PC + 0x1000, 1), SBI_SUCCESS);
	/* The winner's start, not a mix of the two. */
	CHECK_EQ(vcpu_power(t), VCPU_RUNNING);
	CHECK_EQ(t->ctx.sepc, PC + 0x1000);
	CHECK_EQ(t->ctx.x[REG_A1], 1);
	/* The loser's try came too late to change anything either. */
	CHECK_EQ(vcpu_hsm_start(t, PC + 0x2000, 2), SBI_ERR_ALREADY_AVAILABLE);
	CHECK_EQ(t->ctx.sepc, PC + 0x1000);
	teardown();
}

static void test_start_while_stopping(void)
{
	setup();
	struct vcpu *t = &vm->vcpu[1];

	CHECK_EQ(vcpu_hsm_start(t, PC, 0), SBI_SUCCESS);
	CHECK(vcpu_begin_run(t));
	CHECK_EQ(vcpu_hsm_stop(t), SBI_SUCCESS);	/* its hart still saves it */
	CHECK_EQ(vcpu_hsm_state(t), SBI_HSM_STATE_STOP_PENDING);
	t->ctx.sepc = 0x1234;				/* vcpu_put's writes */
	CHECK_EQ(vcpu_hsm_start(t, PC + 0x40, 0), SBI_ERR_ALREADY_AVAILABLE);
	CHECK_EQ(t->ctx.sepc, 0x1234);
	vcpu_end_run(t);				/* put: now stopped */
	CHECK_EQ(vcpu_hsm_state(t), SBI_HSM_STATE_STOPPED);
	CHECK_EQ(vcpu_hsm_start(t, PC + 0x40, 0), SBI_SUCCESS);
	CHECK_EQ(t->ctx.sepc, PC + 0x40);
	teardown();
}

/* ---- 14: the wake-up keeps an IPI raised while it resumes ----------------- */

static void test_resume_keeps_ipi(void)
{
	setup();
	struct vcpu *v = &vm->vcpu[0];

	CHECK_EQ(vcpu_hsm_suspend(v, true, PC + 0x1000, 0), SBI_SUCCESS);
	vcpu_end_run(v);
	v->csrs.vsie = VSIE_STIE | VSIE_SSIE;
	v->csrs.vstimecmp = 0;		/* woken by its timer */
	CHECK(vcpu_wake_if_pending(v, 10));
	other_hart_raises_ipi(v);	/* vCPU 1 sends an IPI right now */
	CHECK(vcpu_begin_run(v));	/* the resume */
	CHECK_EQ(v->ctx.sepc, PC + 0x1000);
	CHECK_EQ(v->irq_inject & HVIP_VSSIP, HVIP_VSSIP);	/* still to deliver */
	CHECK_EQ(v->csrs.vstimecmp, 0);				/* and the timer */
	teardown();
}

/* An IPI raised at any point of a hart_start survives it too. */
static void test_start_keeps_ipi(void)
{
	setup();
	struct vcpu *t = &vm->vcpu[1];

	CHECK(vcpu_start_claim(t));
	other_hart_raises_ipi(t);
	CHECK_EQ(vcpu_start_finish(t, PC, 0), SBI_SUCCESS);
	CHECK_EQ(t->irq_inject & HVIP_VSSIP, HVIP_VSSIP);
	teardown();
}

int main(void)
{
	RUN(test_start_keeps_flush);
	RUN(test_resume_keeps_flush);
	RUN(test_halt_vs_wfi_exit);
	RUN(test_halt_vs_waiting_wakeup);
	RUN(test_halt_vs_suspend);
	RUN(test_halt_vs_hart_start);
	RUN(test_run_handshake);
	RUN(test_two_starts_one_target);
	RUN(test_start_while_stopping);
	RUN(test_resume_keeps_ipi);
	RUN(test_start_keeps_ipi);
	return unit_report("test_vcpu_states");
}
