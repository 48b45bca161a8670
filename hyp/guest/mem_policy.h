/*
 * The memory policy, first form (ESX, Waldspurger OSDI 2002 sections 5
 * and 6; docs/overcommit.md, "The policy"): once a second it samples the
 * guests' working sets and, when a node's free memory falls to SOFT or
 * below, shares out balloon inflation by the idle memory tax; when the
 * node has plenty again, it deflates. A guest whose balloon the monitor
 * set (`balloon K MIB`) is left alone until `balloon K auto`.
 */
#ifndef DISCV_MEM_POLICY_H
#define DISCV_MEM_POLICY_H

#include <stdbool.h>

struct counters;
struct vm;

/* Starts the tick (a sched poll). */
void mem_policy_init(void);

/* The monitor's `balloon K MIB` (manual: the policy keeps off) and
 * `balloon K auto`. */
void mem_policy_set_manual(struct vm *vm, bool manual);

/* policy_ticks, policy_inflates, policy_deflates (hvstat's total line). */
void mem_policy_counters(struct counters *c);

/* The VM's policy fields: policy_manual, policy_inflated_pages,
 * policy_deflated_pages. */
void mem_policy_vm_counters(const struct vm *vm, struct counters *c);

#endif
