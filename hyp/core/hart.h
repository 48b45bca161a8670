/*
 * A physical hart as the hypervisor sees it. While the hypervisor runs on
 * a hart, tp points to that hart's struct (the guest's tp is swapped out
 * by the world switch).
 */
#ifndef DISCV_HART_H
#define DISCV_HART_H

#include <stdbool.h>
#include <stdint.h>
#include "core/runqueue.h"

#define MAX_HARTS 8
#define HART_STACK_SIZE 32768	/* boot/entry.S gives each hart this much */

/* Each hart's stack bottom holds a canary; hart_check_stack() panics if
 * a deep call chain ran over it (before it corrupts a neighbour's stack). */
void hart_stack_canary_init(unsigned long hartid);
void hart_check_stack(void);

struct vcpu;

struct hart {
	unsigned index;		/* 0..nharts-1, dense; 0 is the boot hart */
	unsigned long hartid;	/* the platform's hart id */
	unsigned node;		/* NUMA node */
	struct runqueue runqueue;	/* the vCPUs placed on this hart */
	struct vcpu *current;	/* loaded vCPU, or NULL */
	bool timer_fired;	/* the slice timer expired */
	bool resched;		/* another hart kicked this one */
	uint64_t idle_ticks;	/* time spent asleep in the idle loop */
	uint64_t timer_deadline;	/* what the hart's timer is armed for */
	int started;		/* running discv's loop (set by the hart itself; int: amoswap.w) */
};

extern struct hart harts[MAX_HARTS];
extern unsigned nharts;
extern uint64_t timebase_hz;	/* ticks of `time` per second */

static inline struct hart *this_hart(void)
{
	struct hart *h;

	__asm__("mv %0, tp" : "=r"(h));
	return h;
}

/* Makes hart `index` leave its guest (or its sleep) and look at its run
 * queue: a supervisor software interrupt through SBI IPI. */
void hart_kick(unsigned index);

/* Starts the secondary harts (parked in OpenSBI) in the hypervisor. */
void harts_start_secondaries(void);

/* Arms this hart's timer (through SBI) and remembers the deadline. */
void hart_set_timer(uint64_t deadline);

/* Waits a little, in WFI, for a device to finish: under QEMU an emulated
 * hart that spins takes a host CPU from the thread that emulates the
 * device. Returns after `ticks` or any interrupt; the hart's timer is
 * left armed as it was. */
void hart_pause(uint64_t ticks);

/* Runs vCPUs on this hart until no VM is running any more. */
void hart_run(void);

#endif
