/*
 * A hart's run queue: the vCPUs placed on that hart, served round-robin.
 *
 * Placement is static (hyp/placement.c): a vCPU lives on one hart for its
 * VM's whole life, so only the owning hart ever runs, wakes or removes the
 * vCPUs of its queue; other harts only post interrupts and requests to a
 * vCPU (atomically) and kick the hart. The queue itself needs no lock.
 * Pure code: unit-tested natively.
 */
#ifndef DISCV_RUNQUEUE_H
#define DISCV_RUNQUEUE_H

#include <stdbool.h>
#include <stdint.h>

#define RUNQUEUE_MAX 256	/* 256 one-vCPU guests on one hart */

struct vcpu;

struct runqueue {
	struct vcpu *vcpu[RUNQUEUE_MAX];
	unsigned n;
	unsigned cursor;	/* index of the vCPU that ran last */
};

/* Appends v; false if the queue is full. */
bool runqueue_add(struct runqueue *rq, struct vcpu *v);

/* The next runnable vCPU after the one that ran last (a vCPU of a running
 * VM, started, and not waiting, or waiting with an enabled interrupt now
 * pending: it is woken). NULL if none. *runnable counts the runnable ones
 * (to know whether the chosen one must share the hart). */
struct vcpu *runqueue_pick(struct runqueue *rq, uint64_t now, unsigned *runnable);

/* The earliest timer deadline (vstimecmp) of the queue's waiting vCPUs,
 * UINT64_MAX if none: when the hart must wake up to run one of them. */
uint64_t runqueue_next_deadline(const struct runqueue *rq);

#endif
