/*
 * The run loop of a hart: pick a runnable vCPU, run it until it waits,
 * stops or uses up its slice, and sleep in WFI when nothing is runnable,
 * with the hart's timer armed for the earliest guest timer deadline (with
 * Sstc a waiting guest's timer exists only in its saved vstimecmp: nothing
 * else would wake it).
 *
 * Today every vCPU is placed on the boot hart (capability 1); the per-hart
 * run queues and NUMA placement of capability 2 replace pick_next().
 */
#include <stddef.h>
#include "csr.h"
#include "firmware.h"
#include "hart.h"
#include "vcpu.h"
#include "vcpu_exit.h"
#include "vm.h"
#include "vm_table.h"

#define SLICE_TICKS 50000	/* 5 ms at QEMU virt's 10 MHz timebase */

struct hart harts[MAX_HARTS];
unsigned nharts;

/* Round-robin over the vCPUs placed on this hart, starting after the one
 * that ran last; wakes waiting vCPUs whose interrupt has arrived. */
static struct vcpu *pick_next(struct hart *h, unsigned *cursor, unsigned *runnable)
{
	struct vcpu *chosen = NULL;
	unsigned total = vm_count * MAX_VCPUS_PER_VM;
	uint64_t now = read_time();

	*runnable = 0;
	for (unsigned step = 1; step <= total; step++) {
		unsigned slot = (*cursor + step) % total;
		struct vm *vm = &vms[slot / MAX_VCPUS_PER_VM];
		unsigned idx = slot % MAX_VCPUS_PER_VM;
		if (idx >= vm->nvcpus || !vm_is_running(vm))
			continue;
		struct vcpu *v = &vm->vcpu[idx];
		if (v->hart != (int)h->index || !vcpu_wake_if_pending(v, now))
			continue;
		(*runnable)++;
		if (!chosen) {
			chosen = v;
			*cursor = slot;
		}
	}
	return chosen;
}

/* Nothing to run: sleep until the earliest guest deadline or a kick. */
static void idle(struct hart *h)
{
	uint64_t deadline = UINT64_MAX;

	for (unsigned i = 0; i < vm_count; i++) {
		struct vm *vm = &vms[i];
		for (unsigned j = 0; vm_is_running(vm) && j < vm->nvcpus; j++) {
			struct vcpu *v = &vm->vcpu[j];
			if (v->hart == (int)h->index && v->power == VCPU_WAITING &&
			    v->csrs.vstimecmp < deadline)
				deadline = v->csrs.vstimecmp;
		}
	}
	firmware_set_timer(deadline);
	/* sstatus.SIE is 0: the pending interrupt ends WFI without a trap. */
	while (!(csr_read(CSR_SIP) & (SIP_STIP | SIP_SSIP)) && read_time() < deadline)
		wait_for_interrupt();
	csr_clear(CSR_SIP, SIP_SSIP);
	firmware_set_timer(UINT64_MAX);
}

/* Runs v until it stops being runnable, or its slice ends when others
 * wait for this hart. */
static void run_slice(struct hart *h, struct vcpu *v, bool others_waiting)
{
	struct trap_info t;

	vcpu_load(v);
	h->timer_fired = false;
	if (others_waiting)
		firmware_set_timer(read_time() + SLICE_TICKS);
	while (vm_is_running(v->vm) && v->power == VCPU_RUNNING && !h->timer_fired) {
		vcpu_enter(v, &t);
		vcpu_handle_exit(v, &t);
	}
	if (others_waiting && !h->timer_fired)
		firmware_set_timer(UINT64_MAX);
	vcpu_put(v);
	vm_after_run(v->vm);
}

void hart_run(void)
{
	struct hart *h = this_hart();
	unsigned cursor = 0;

	while (vm_any_running()) {
		unsigned runnable;
		struct vcpu *v = pick_next(h, &cursor, &runnable);
		if (v)
			run_slice(h, v, runnable > 1);
		else
			idle(h);
	}
}
