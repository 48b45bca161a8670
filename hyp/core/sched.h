/*
 * What each hart does with its time: run the vCPUs of its run queue, one
 * slice at a time, and sleep in WFI when none is runnable. The machine's
 * side of a hart (its id, timer, kicks) is host/hart.h.
 */
#ifndef DISCV_SCHED_H
#define DISCV_SCHED_H

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

/* Work that is no vCPU's: `poll` is called by every hart at every
 * scheduling decision (after each slice, and after each sleep), before
 * any hart runs; it must not wait. The uplink takes its received frames
 * so (vnet/uplink.c). One poll at most. */
void sched_set_poll(void (*poll)(void));

/* Brings this hart into the hypervisor: tp, trap vector, interrupt
 * enables, FP, the VMID probe (core/hart_start.c). */
void hart_init(struct hart *h);

#endif
