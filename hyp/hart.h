/*
 * A physical hart as the hypervisor sees it. While the hypervisor runs on
 * a hart, tp points to that hart's struct (the guest's tp is swapped out
 * by the world switch).
 */
#ifndef DISCV_HART_H
#define DISCV_HART_H

#include <stdbool.h>
#include <stdint.h>

#define MAX_HARTS 8

struct vcpu;

struct hart {
	unsigned index;		/* 0..nharts-1, dense */
	unsigned long hartid;	/* the platform's hart id */
	unsigned node;		/* NUMA node */
	struct vcpu *current;	/* loaded vCPU, or NULL */
	bool timer_fired;	/* the slice or wake-up timer expired */
};

extern struct hart harts[MAX_HARTS];
extern unsigned nharts;

static inline struct hart *this_hart(void)
{
	struct hart *h;

	__asm__("mv %0, tp" : "=r"(h));
	return h;
}

/* Runs vCPUs on this hart until no VM is running any more. */
void hart_run(void);

#endif
