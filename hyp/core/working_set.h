/*
 * How much of its memory each VM uses (ESX's statistical sampling,
 * Waldspurger OSDI 2002 section 5.3; docs/overcommit.md, "The policy").
 *
 * Each period (WS_PERIOD, 30 s by default, as ESX) a VM has a sample of
 * WS_SAMPLE_PAGES random guest pages whose G-stage accessed bits were
 * cleared when the period began. At its end, the pages whose A bit is set
 * again were touched: touched / sampled is the period's active fraction,
 * fed to the moving averages of mem/idle_tax.h. ESX invalidates the
 * sampled pages' mappings and counts the faults; the A bit, which QEMU
 * sets in G-stage entries itself (bring-up facts), tells the same with no
 * fault at all.
 *
 * Two things also clear or set A bits, and both are accounted:
 *  - the pager's clock clears A bits as it passes (guest_memory.c): a
 *    sampled page whose set bit it clears is noted as touched
 *    (working_set_note_cleared, called under the VM's lock);
 *  - every mapping the hypervisor makes is born accessed (gstage_map): a
 *    sampled page remapped in the period (a copy-on-write break, a page
 *    brought back from swap) counts as touched; the page faults that
 *    cause those are guest touches nearly always, and an estimate too
 *    high only taxes the VM less.
 */
#ifndef DISCV_WORKING_SET_H
#define DISCV_WORKING_SET_H

#include <stdbool.h>
#include <stdint.h>
#include "mem/idle_tax.h"

#define WS_SAMPLE_PAGES 100	/* ESX's sample size */

struct vm;
struct counters;

struct working_set {
	uint64_t sample[WS_SAMPLE_PAGES];	/* guest-physical pages, sorted */
	bool touched[WS_SAMPLE_PAGES];		/* the clock cleared its set A bit */
	bool sampling;				/* a period is under way */
	uint64_t period_end;			/* `time` at which it ends */
	uint64_t rng;
	struct ws_estimate estimate;
	unsigned last_touched;			/* of the last period's sample */
};

/* The sampling period, in ticks of `time` (discv.ws_period seconds); 0
 * turns sampling off. */
void working_set_init(uint64_t period);

/* Ends the VM's period if it is due (and starts the next): called by the
 * memory policy's tick with no lock held. Returns true if it ended one. */
bool working_set_tick(struct vm *vm, uint64_t now);

/* The VM's working set, in permille of its RAM (1000 before any sample). */
unsigned working_set_permille(const struct vm *vm);

/* The pager's clock cleared a set A bit at gpa; under vm->lock. */
void working_set_note_cleared(struct vm *vm, uint64_t gpa);

/* ws_permille, ws_periods, ws_last_touched (the VM's hvstat line). */
void working_set_counters(const struct vm *vm, struct counters *c);

#endif
