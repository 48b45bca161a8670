/*
 * The machine's harts as discv sees them: which hart this is, its NUMA
 * node, its timer, the IPI that kicks it, the WFI that waits, its stack.
 * While the hypervisor runs on a hart, tp points to that hart's struct
 * (the guest's tp is swapped out by the world switch).
 *
 * What a hart does with its time (run vCPUs, sleep) is the core's
 * (hyp/core/sched.c); the two events a hart can be woken by, its timer
 * and a kick, are recorded here, where they are taken.
 */
#ifndef DISCV_HOST_HART_H
#define DISCV_HOST_HART_H

#include <stdbool.h>
#include <stdint.h>

#define MAX_HARTS 8
#define HART_STACK_SIZE 32768	/* keep in step with boot/entry.S */

struct hart {
	unsigned index;		/* 0..nharts-1, dense; 0 is the boot hart */
	unsigned long hartid;	/* the platform's hart id */
	unsigned node;		/* NUMA node */
	bool timer_fired;	/* the timer interrupt came (and was cleared) */
	bool kicked;		/* another hart kicked this one: look at your work again */
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

/* Makes this hart h (tp), with its timer disarmed and its stack canary
 * set. */
void hart_become(struct hart *h);

/* Each hart's stack bottom holds a canary; hart_check_stack() panics if
 * a deep call chain ran over it (before it corrupts a neighbour's stack). */
void hart_check_stack(void);

/* Makes hart `index` leave its guest (or its sleep) and look at its work:
 * a supervisor software interrupt through SBI IPI. */
void hart_kick(unsigned index);

/* Starts the secondary harts (parked in OpenSBI) at `entry`, with a1 =
 * their struct hart. */
void harts_start_secondaries(unsigned long entry);

/* A hart OpenSBI sent to _start instead of the secondaries' entry
 * (boot/entry.S): waits until the boot hart has described the harts, then
 * returns the one with this hart id (NULL: not one of ours). */
struct hart *hart_wait_published(unsigned long hartid);

/* Arms this hart's timer (through SBI) and remembers the deadline. */
void hart_set_timer(uint64_t deadline);

/* Waits a little, in WFI, for a device to finish: under QEMU an emulated
 * hart that spins takes a host CPU from the thread that emulates the
 * device. Returns after `ticks` or any interrupt; the hart's timer is
 * left armed as it was. A host device interrupt is served (host/irq.c),
 * a kick sets `kicked`. */
void hart_pause(uint64_t ticks);

#endif
