/*
 * hyp/runqueue.c with hyp/vcpu_state.c (the wake-up test): round-robin
 * over the queue from the vCPU that ran last, skipping stopped vCPUs and
 * vCPUs of VMs that are not running; waiting vCPUs run (and are woken)
 * only with an enabled interrupt pending; the `runnable` count; the next
 * timer deadline; fairness.
 */
#include <stdlib.h>
#include <string.h>
#include "arch/riscv_defs.h"
#include "core/runqueue.h"
#include "unit.h"
#include "core/vcpu.h"
#include "core/vm.h"

#define VSIE_SSIE (1UL << 1)	/* the guest's sie bits, one below hvip's */
#define VSIE_STIE (1UL << 5)
#define VSIE_SEIE (1UL << 9)
#define PC 0x80200000UL

/* A running VM of nvcpus running vCPUs (reset at PC, no timer). */
static struct vm *vm_new(unsigned id, unsigned nvcpus)
{
	struct vm *vm = aligned_alloc(16384, sizeof(struct vm));

	if (!vm)
		abort();
	memset(vm, 0, sizeof(*vm));
	vm->id = id;
	vm->nvcpus = nvcpus;
	vm->state = VM_RUNNING;
	for (unsigned i = 0; i < nvcpus; i++) {
		struct vcpu *v = &vm->vcpu[i];
		v->vm = vm;
		v->id = i;
		v->last_hart = -1;
		vcpu_reset(v, PC, 0);
		vcpu_set_power(v, VCPU_RUNNING);
	}
	return vm;
}

static void vm_set_state(struct vm *vm, enum vm_state s)
{
	vm->state = s;
}

/* A zeroed queue holding the given vCPUs in order. */
static void rq_fill(struct runqueue *rq, struct vcpu **v, unsigned n)
{
	memset(rq, 0, sizeof(*rq));
	for (unsigned i = 0; i < n; i++)
		CHECK(runqueue_add(rq, v[i]));
}

static struct vcpu *pick(struct runqueue *rq, uint64_t now, unsigned *runnable)
{
	*runnable = 0xdead;	/* must be overwritten */
	return runqueue_pick(rq, now, runnable);
}

static void test_add_until_full(void)
{
	struct vm *vms[RUNQUEUE_MAX / MAX_VCPUS_PER_VM];
	struct runqueue rq;
	struct vcpu extra = { 0 };
	unsigned runnable;
	bool ok = true;

	memset(&rq, 0, sizeof(rq));
	for (unsigned i = 0; i < RUNQUEUE_MAX / MAX_VCPUS_PER_VM; i++)
		vms[i] = vm_new(i, MAX_VCPUS_PER_VM);
	for (unsigned i = 0; i < RUNQUEUE_MAX; i++) {
		ok = runqueue_add(&rq, &vms[i / MAX_VCPUS_PER_VM]->vcpu[i % MAX_VCPUS_PER_VM]) && ok;
		ok = rq.n == i + 1 && ok;
	}
	CHECK(ok);
	CHECK_EQ(rq.n, RUNQUEUE_MAX);
	CHECK(!runqueue_add(&rq, &extra));
	CHECK(!runqueue_add(&rq, &vms[0]->vcpu[0]));
	CHECK_EQ(rq.n, RUNQUEUE_MAX);
	for (unsigned i = 0; i < RUNQUEUE_MAX; i++)
		if (!CHECK(rq.vcpu[i] == &vms[i / MAX_VCPUS_PER_VM]->vcpu[i % MAX_VCPUS_PER_VM]))
			break;
	/* A full queue picks all the way round. */
	for (unsigned i = 1; i <= RUNQUEUE_MAX; i++) {
		struct vcpu *v = pick(&rq, 0, &runnable);
		if (!CHECK(v == rq.vcpu[i % RUNQUEUE_MAX]) || !CHECK_EQ(runnable, RUNQUEUE_MAX))
			break;
	}
	for (unsigned i = 0; i < RUNQUEUE_MAX / MAX_VCPUS_PER_VM; i++)
		free(vms[i]);
}

static void test_empty(void)
{
	struct runqueue rq;
	unsigned runnable;

	memset(&rq, 0, sizeof(rq));
	CHECK(pick(&rq, 0, &runnable) == NULL);
	CHECK_EQ(runnable, 0);
	CHECK(pick(&rq, UINT64_MAX, &runnable) == NULL);
	CHECK_EQ(runnable, 0);
	CHECK_EQ(runqueue_next_deadline(&rq), UINT64_MAX);
}

static void test_round_robin(void)
{
	struct vm *vm = vm_new(0, 4);
	struct vcpu *v[4] = { &vm->vcpu[0], &vm->vcpu[1], &vm->vcpu[2], &vm->vcpu[3] };
	struct runqueue rq;
	unsigned runnable;

	/* cursor 0 = "vCPU 0 ran last": the first pick is the one after it. */
	rq_fill(&rq, v, 4);
	static const unsigned order[] = { 1, 2, 3, 0, 1, 2, 3, 0, 1 };
	for (unsigned i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		CHECK(pick(&rq, 0, &runnable) == v[order[i]]);
		CHECK_EQ(runnable, 4);
		CHECK_EQ(rq.cursor, order[i]);
	}
	/* Picking changes no vCPU state. */
	for (unsigned i = 0; i < 4; i++)
		CHECK_EQ(vcpu_power(v[i]), VCPU_RUNNING);

	/* The cursor is where the search starts: after it. */
	rq.cursor = 2;
	CHECK(pick(&rq, 0, &runnable) == v[3]);
	rq.cursor = 3;
	CHECK(pick(&rq, 0, &runnable) == v[0]);

	/* A single vCPU is picked every time. */
	rq_fill(&rq, v, 1);
	for (unsigned i = 0; i < 3; i++) {
		CHECK(pick(&rq, 0, &runnable) == v[0]);
		CHECK_EQ(runnable, 1);
	}
	free(vm);
}

static void test_skips_stopped(void)
{
	struct vm *vm = vm_new(0, 4);
	struct vcpu *v[4] = { &vm->vcpu[0], &vm->vcpu[1], &vm->vcpu[2], &vm->vcpu[3] };
	struct runqueue rq;
	unsigned runnable;

	rq_fill(&rq, v, 4);
	vcpu_set_power(v[2], VCPU_STOPPED);
	static const unsigned order[] = { 1, 3, 0, 1, 3, 0 };
	for (unsigned i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		CHECK(pick(&rq, 0, &runnable) == v[order[i]]);
		CHECK_EQ(runnable, 3);
	}
	CHECK_EQ(vcpu_power(v[2]), VCPU_STOPPED);	/* never started by picking */

	/* Started again (HSM hart_start): back in the rotation, after 0. */
	vcpu_hsm_start(v[2], PC, 0);
	CHECK(pick(&rq, 0, &runnable) == v[1]);
	CHECK_EQ(runnable, 4);
	CHECK(pick(&rq, 0, &runnable) == v[2]);

	/* Only stopped ones: nothing. */
	for (unsigned i = 0; i < 4; i++)
		vcpu_set_power(v[i], VCPU_STOPPED);
	CHECK(pick(&rq, 0, &runnable) == NULL);
	CHECK_EQ(runnable, 0);
	free(vm);
}

static void test_skips_vms_not_running(void)
{
	struct vm *a = vm_new(0, 2), *b = vm_new(1, 2);
	struct vcpu *v[4] = { &a->vcpu[0], &b->vcpu[0], &a->vcpu[1], &b->vcpu[1] };
	struct runqueue rq;
	unsigned runnable;

	rq_fill(&rq, v, 4);
	vm_set_state(b, VM_OFF);
	static const unsigned order[] = { 2, 0, 2, 0 };
	for (unsigned i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		CHECK(pick(&rq, 0, &runnable) == v[order[i]]);
		CHECK_EQ(runnable, 2);
	}
	/* Every final state and the monitor's stop keep it off the hart. */
	static const enum vm_state off[] = { VM_OFF, VM_FAILED, VM_CRASHED, VM_KILLED,
					     VM_HUNG, VM_STOPPED };
	for (unsigned s = 0; s < sizeof(off) / sizeof(off[0]); s++) {
		vm_set_state(b, off[s]);
		for (unsigned i = 0; i < 4; i++) {
			struct vcpu *got = pick(&rq, 0, &runnable);
			CHECK(got != NULL && got->vm == a);
			CHECK_EQ(runnable, 2);
		}
	}
	/* Even a waiting vCPU with its interrupt pending is not woken. */
	vcpu_set_power(v[1], VCPU_WAITING);
	v[1]->irq_inject = HVIP_VSSIP;
	v[1]->csrs.vsie = VSIE_SSIE;
	pick(&rq, 0, &runnable);
	CHECK_EQ(vcpu_power(v[1]), VCPU_WAITING);

	/* Both VMs down: nothing to run. */
	vm_set_state(a, VM_KILLED);
	CHECK(pick(&rq, 0, &runnable) == NULL);
	CHECK_EQ(runnable, 0);

	/* b running again: its vCPUs are picked (and the waiting one woken). */
	vm_set_state(b, VM_RUNNING);
	rq.cursor = 0;
	CHECK(pick(&rq, 0, &runnable) == v[1]);
	CHECK_EQ(runnable, 2);
	CHECK_EQ(vcpu_power(v[1]), VCPU_RUNNING);
	CHECK(pick(&rq, 0, &runnable) == v[3]);
	CHECK(pick(&rq, 0, &runnable) == v[1]);
	free(a);
	free(b);
}

static void test_waiting_timer(void)
{
	struct vm *vm = vm_new(0, 3);
	struct vcpu *v[3] = { &vm->vcpu[0], &vm->vcpu[1], &vm->vcpu[2] };
	struct vcpu *w = v[1];
	struct runqueue rq;
	unsigned runnable;

	rq_fill(&rq, v, 3);
	vcpu_set_power(w, VCPU_WAITING);	/* WFI */
	w->csrs.vstimecmp = 1000;
	w->csrs.vsie = VSIE_STIE;
	/* Not yet due: skipped, still waiting. */
	CHECK(pick(&rq, 999, &runnable) == v[2]);
	CHECK_EQ(runnable, 2);
	CHECK(pick(&rq, 999, &runnable) == v[0]);
	CHECK(pick(&rq, 999, &runnable) == v[2]);
	CHECK_EQ(vcpu_power(w), VCPU_WAITING);
	/* Due (vstimecmp <= now): picked in its turn, and woken. */
	rq.cursor = 0;
	CHECK(pick(&rq, 1000, &runnable) == w);
	CHECK_EQ(runnable, 3);
	CHECK_EQ(vcpu_power(w), VCPU_RUNNING);
	CHECK_EQ(w->ctx.sepc, PC);		/* WFI: no reset */
	CHECK_EQ(w->csrs.vstimecmp, 1000);	/* the interrupt is still there */

	/* Due but STIE clear: stays waiting, whatever the time. */
	vcpu_set_power(w, VCPU_WAITING);
	w->csrs.vsie = VSIE_SSIE | VSIE_SEIE;
	rq.cursor = 0;
	CHECK(pick(&rq, UINT64_MAX, &runnable) == v[2]);
	CHECK_EQ(runnable, 2);
	CHECK_EQ(vcpu_power(w), VCPU_WAITING);

	/* The only vCPU, waiting and not due: nothing to run. */
	vcpu_set_power(v[0], VCPU_STOPPED);
	vcpu_set_power(v[2], VCPU_STOPPED);
	w->csrs.vsie = VSIE_STIE;
	CHECK(pick(&rq, 999, &runnable) == NULL);
	CHECK_EQ(runnable, 0);
	CHECK(pick(&rq, 1001, &runnable) == w);
	CHECK_EQ(runnable, 1);
	CHECK_EQ(vcpu_power(w), VCPU_RUNNING);

	/* A waiting vCPU that becomes due but is not the one chosen is still
	 * counted runnable (and woken). */
	vcpu_set_power(v[0], VCPU_RUNNING);
	vcpu_set_power(w, VCPU_WAITING);
	rq.cursor = 2;
	CHECK(pick(&rq, 5000, &runnable) == v[0]);
	CHECK_EQ(runnable, 2);
	CHECK_EQ(vcpu_power(w), VCPU_RUNNING);
	free(vm);
}

static void test_waiting_ipi(void)
{
	struct vm *vm = vm_new(0, 2);
	struct vcpu *v[2] = { &vm->vcpu[0], &vm->vcpu[1] };
	struct vcpu *w = v[1];
	struct runqueue rq;
	unsigned runnable;

	rq_fill(&rq, v, 2);
	vcpu_set_power(v[0], VCPU_STOPPED);
	vcpu_set_power(w, VCPU_WAITING);
	w->csrs.vsie = VSIE_STIE;		/* timers only (none set) */
	CHECK(pick(&rq, 10, &runnable) == NULL);
	/* An IPI posted by another hart, but SSIE clear: still waiting. */
	w->irq_inject = HVIP_VSSIP;
	CHECK(pick(&rq, 10, &runnable) == NULL);
	CHECK_EQ(runnable, 0);
	CHECK_EQ(vcpu_power(w), VCPU_WAITING);
	/* SSIE set: woken, the IPI still to be delivered. */
	w->csrs.vsie = VSIE_SSIE;
	CHECK(pick(&rq, 10, &runnable) == w);
	CHECK_EQ(runnable, 1);
	CHECK_EQ(vcpu_power(w), VCPU_RUNNING);
	CHECK_EQ(w->irq_inject, HVIP_VSSIP);
	CHECK_EQ(w->ctx.sepc, PC);

	/* An external interrupt already in hvip, SEIE set. */
	vcpu_set_power(w, VCPU_WAITING);
	w->irq_inject = 0;
	w->csrs.hvip = HVIP_VSEIP;
	w->csrs.vsie = VSIE_SSIE | VSIE_STIE;
	CHECK(pick(&rq, 10, &runnable) == NULL);
	w->csrs.vsie = VSIE_SEIE;
	CHECK(pick(&rq, 10, &runnable) == w);
	CHECK_EQ(vcpu_power(w), VCPU_RUNNING);

	/* Retentive HSM suspend: woken where it was, no longer suspended. */
	w->csrs.hvip = 0;
	w->ctx.sepc = 0x80001234;
	w->ctx.x[REG_A0] = 0x55;
	CHECK_EQ(vcpu_hsm_suspend(w, false, 0x80400000, 0x99), 0);
	CHECK_EQ(vcpu_power(w), VCPU_SUSPENDED);
	CHECK(pick(&rq, 10, &runnable) == NULL);
	CHECK_EQ(vcpu_power(w), VCPU_SUSPENDED);
	w->irq_inject = HVIP_VSSIP;
	w->csrs.vsie = VSIE_SSIE;
	CHECK(pick(&rq, 10, &runnable) == w);
	CHECK_EQ(vcpu_power(w), VCPU_RUNNING);
	CHECK(vcpu_begin_run(w));	/* a retentive resume resets nothing */
	vcpu_end_run(w);
	CHECK_EQ(w->ctx.sepc, 0x80001234);
	CHECK_EQ(w->ctx.x[REG_A0], 0x55);
	free(vm);
}

static void test_non_retentive_resume(void)
{
	struct vm *vm = vm_new(0, 3);
	struct vcpu *v[3] = { &vm->vcpu[0], &vm->vcpu[1], &vm->vcpu[2] };
	struct vcpu *w = v[2];
	struct runqueue rq;
	unsigned runnable;

	rq_fill(&rq, v, 3);
	w->ctx.sepc = 0x80005554;
	w->ctx.x[REG_SP] = 0x12345;
	w->ctx.x[REG_A0] = 0x1111;
	w->csrs.vsatp = 0x8000000000012345UL;
	w->csrs.vsie = VSIE_SSIE | VSIE_STIE;
	w->csrs.vstimecmp = 5000;
	CHECK_EQ(vcpu_hsm_suspend(w, true, 0x80400000, 0x0badcafe), 0);
	CHECK_EQ(vcpu_power(w), VCPU_SUSPENDED);
	/* Nothing pending: skipped. */
	for (unsigned i = 0; i < 4; i++)
		CHECK(pick(&rq, 100, &runnable) != w);
	CHECK_EQ(runnable, 2);
	CHECK_EQ(w->ctx.sepc, 0x80005554);

	/* An IPI arrives: picked in its turn and, once its hart has loaded
	 * it (vcpu_begin_run), resumed like a hart_start. */
	w->irq_inject = HVIP_VSSIP;
	rq.cursor = 1;
	CHECK(pick(&rq, 100, &runnable) == w);
	CHECK_EQ(runnable, 3);
	CHECK_EQ(vcpu_power(w), VCPU_RUNNING);
	CHECK_EQ(w->ctx.sepc, 0x80005554);	/* the wake-up writes nothing */
	CHECK(vcpu_begin_run(w));
	vcpu_end_run(w);
	CHECK_EQ(w->ctx.sepc, 0x80400000);
	CHECK_EQ(w->ctx.x[REG_A0], 2);		/* its hart id */
	CHECK_EQ(w->ctx.x[REG_A1], 0x0badcafe);
	CHECK_EQ(w->ctx.x[REG_SP], 0);
	CHECK_EQ(w->csrs.vsatp, 0);
	/* It keeps the IPI that woke it, its timer and its enables. */
	CHECK_EQ(w->irq_inject & HVIP_VSSIP, HVIP_VSSIP);
	CHECK_EQ(w->csrs.vstimecmp, 5000);
	CHECK_EQ(w->csrs.vsie, VSIE_SSIE | VSIE_STIE);
	/* Running now: picked again in turn, without another reset. */
	w->ctx.sepc = 0x80400010;
	CHECK(pick(&rq, 100, &runnable) == v[0]);
	CHECK(pick(&rq, 100, &runnable) == v[1]);
	CHECK(pick(&rq, 100, &runnable) == w);
	CHECK(vcpu_begin_run(w));
	vcpu_end_run(w);
	CHECK_EQ(w->ctx.sepc, 0x80400010);

	/* Woken by its timer instead: the timer is kept (it still fires). */
	w->irq_inject = 0;
	CHECK_EQ(vcpu_hsm_suspend(w, true, 0x80600000, 7), 0);
	rq.cursor = 1;
	CHECK(pick(&rq, 4999, &runnable) == v[0]);
	CHECK_EQ(vcpu_power(w), VCPU_SUSPENDED);
	rq.cursor = 1;
	CHECK(pick(&rq, 5000, &runnable) == w);
	CHECK(vcpu_begin_run(w));
	vcpu_end_run(w);
	CHECK_EQ(w->ctx.sepc, 0x80600000);
	CHECK_EQ(w->ctx.x[REG_A1], 7);
	CHECK_EQ(w->csrs.vstimecmp, 5000);
	CHECK_EQ(w->irq_inject, 0);
	free(vm);
}

static void test_next_deadline(void)
{
	struct vm *a = vm_new(0, 4), *b = vm_new(1, 2);
	struct vcpu *v[6] = { &a->vcpu[0], &a->vcpu[1], &a->vcpu[2], &a->vcpu[3],
			      &b->vcpu[0], &b->vcpu[1] };
	struct runqueue rq;

	rq_fill(&rq, v, 6);
	/* All running (timers far away): no deadline to wait for. */
	CHECK_EQ(runqueue_next_deadline(&rq), UINT64_MAX);
	/* A running and a stopped vCPU with early timers are ignored. */
	v[0]->csrs.vstimecmp = 10;
	vcpu_set_power(v[1], VCPU_STOPPED);
	v[1]->csrs.vstimecmp = 20;
	CHECK_EQ(runqueue_next_deadline(&rq), UINT64_MAX);
	/* Waiting vCPUs: the earliest of them. */
	vcpu_set_power(v[2], VCPU_WAITING);
	v[2]->csrs.vstimecmp = 500;
	CHECK_EQ(runqueue_next_deadline(&rq), 500);
	vcpu_set_power(v[3], VCPU_WAITING);
	v[3]->csrs.vstimecmp = 300;
	CHECK_EQ(runqueue_next_deadline(&rq), 300);
	/* A waiting vCPU without a timer changes nothing. */
	vcpu_set_power(v[5], VCPU_WAITING);
	CHECK_EQ(v[5]->csrs.vstimecmp, UINT64_MAX);
	CHECK_EQ(runqueue_next_deadline(&rq), 300);
	/* One of a VM that is not running is ignored; when it runs, counted. */
	vcpu_set_power(v[4], VCPU_WAITING);
	v[4]->csrs.vstimecmp = 40;
	vm_set_state(b, VM_OFF);
	CHECK_EQ(runqueue_next_deadline(&rq), 300);
	vm_set_state(b, VM_RUNNING);
	CHECK_EQ(runqueue_next_deadline(&rq), 40);
	/* Already in the past: still the minimum (the hart must not sleep). */
	v[3]->csrs.vstimecmp = 0;
	CHECK_EQ(runqueue_next_deadline(&rq), 0);
	/* Only the ignored kinds left: none. */
	vm_set_state(b, VM_STOPPED);
	vcpu_set_power(v[2], VCPU_RUNNING);
	vcpu_set_power(v[3], VCPU_STOPPED);
	CHECK_EQ(runqueue_next_deadline(&rq), UINT64_MAX);
	free(a);
	free(b);
}

/* k RUNNING vCPUs (among stopped ones and ones of a stopped VM): k * m
 * picks pick each exactly m times. */
static void test_fairness(void)
{
	struct vm *vms[4], *off = vm_new(9, 8);
	struct vcpu *all[RUNQUEUE_MAX];
	uint64_t rng = unit_seed();

	for (unsigned i = 0; i < 4; i++)
		vms[i] = vm_new(i, 8);
	vm_set_state(off, VM_OFF);
	for (unsigned k = 1; k <= 32; k++) {
		struct runqueue rq;
		unsigned count[RUNQUEUE_MAX] = { 0 }, n = 0, running = 0, runnable;
		const unsigned m = 1 + k % 5;
		bool ok = true;

		/* k running vCPUs of 4 VMs, a random number of stopped or
		 * stopped-VM vCPUs in random places between them. */
		memset(&rq, 0, sizeof(rq));
		for (unsigned i = 0; i < 32; i++) {
			struct vcpu *v = &vms[i / 8]->vcpu[i % 8];
			vcpu_set_power(v, i < k ? VCPU_RUNNING : VCPU_STOPPED);
		}
		for (unsigned i = 0; i < 8; i++)
			vcpu_set_power(&off->vcpu[i], VCPU_RUNNING);
		unsigned next_run = 0, next_stopped = k, next_off = 0;
		while (next_run < k || next_stopped < 32 || next_off < 8) {
			unsigned r = unit_rand(&rng) % 3;
			struct vcpu *v;
			if (r == 0 && next_run < k) {
				v = &vms[next_run / 8]->vcpu[next_run % 8];
				next_run++;
			} else if (r == 1 && next_stopped < 32 && unit_rand(&rng) % 2) {
				v = &vms[next_stopped / 8]->vcpu[next_stopped % 8];
				next_stopped++;
			} else if (r == 2 && next_off < 8 && unit_rand(&rng) % 2) {
				v = &off->vcpu[next_off++];
			} else {
				continue;
			}
			all[n++] = v;
			runqueue_add(&rq, v);
		}
		rq.cursor = unit_rand(&rng) % n;
		for (unsigned p = 0; p < k * m; p++) {
			struct vcpu *v = pick(&rq, 0, &runnable);
			ok = v != NULL && runnable == k && ok;
			for (unsigned i = 0; i < n; i++)
				if (all[i] == v)
					count[i]++;
		}
		for (unsigned i = 0; i < n; i++) {
			bool is_running = all[i]->vm != off && vcpu_power(all[i]) == VCPU_RUNNING;
			running += is_running;
			ok = count[i] == (is_running ? m : 0) && ok;
		}
		ok = running == k && ok;
		if (!CHECK(ok))
			printf("    k = %u, m = %u, queue of %u\n", k, m, n);
	}
	for (unsigned i = 0; i < 4; i++)
		free(vms[i]);
	free(off);
}

int main(void)
{
	RUN(test_add_until_full);
	RUN(test_empty);
	RUN(test_round_robin);
	RUN(test_skips_stopped);
	RUN(test_skips_vms_not_running);
	RUN(test_waiting_timer);
	RUN(test_waiting_ipi);
	RUN(test_non_retentive_resume);
	RUN(test_next_deadline);
	RUN(test_fairness);
	return unit_report("test_runqueue");
}
