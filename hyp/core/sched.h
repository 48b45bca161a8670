/*
 * What each hart does with its time: run the vCPUs of its run queue, one
 * slice at a time, and sleep in WFI when none is runnable. The machine's
 * side of a hart (its id, timer, kicks) is host/hart.h.
 */
#ifndef DISCV_SCHED_H
#define DISCV_SCHED_H

#include <stdbool.h>
#include <stdint.h>
#include "core/runqueue.h"
#include "host/hart.h"

struct vcpu;

struct hart_sched {
	struct runqueue runqueue;	/* the vCPUs placed on this hart */
	struct vcpu *current;		/* loaded vCPU, or NULL */
	uint64_t idle_ticks;		/* time spent asleep in the idle loop */
};

extern struct hart_sched hart_sched[MAX_HARTS];

static inline struct hart_sched *this_sched(void)
{
	return &hart_sched[this_hart()->index];
}

/* Runs vCPUs on this hart until no VM is running any more. */
void sched_run(void);

/* Work that is no vCPU's: every poll added is called by every hart at
 * every turn of its run loop, with no lock held, so it must be cheap when
 * there is nothing to do, and safe to run on several harts at once (the
 * uplink's card, vnet/uplink.c; the memory policy's tick,
 * guest/mem_policy.c). False if SCHED_MAX_POLLS are added already. Add
 * them before the harts start. */
#define SCHED_MAX_POLLS 4
bool sched_add_poll(void (*poll)(void));

/* Brings this hart into the hypervisor: tp, trap vector, interrupt
 * enables, FP, the VMID probe (core/hart_start.c). */
void hart_init(struct hart *h);

#endif
