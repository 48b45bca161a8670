/*
 * The pager: under memory pressure, guest pages go to swap (core/pager.c;
 * docs/overcommit.md).
 */
#ifndef DISCV_PAGER_H
#define DISCV_PAGER_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct counters;

/* Host free-memory states (ESX, Waldspurger 2002 section 6.2): free
 * memory above 6 %, 4 %, 2 % and 1 % of RAM, with hysteresis. */
enum mem_state { MEM_HIGH, MEM_SOFT, MEM_HARD, MEM_LOW };

/* Sets the pager up: victims by the clock over G-stage accessed bits,
 * or at random (PAGER_POLICY=random: ESX's choice, to compare). */
void pager_init(bool random_policy);

/*
 * Frees about `want` host pages, for VM `vm` whose page could not be had
 * (NULL: for the host). A VM over its share pages out its own pages
 * (taking another's would only add to that one's reserve); otherwise the
 * VM furthest over its share, or the largest, pays. Called with no lock
 * held; may sleep in swap IO. Returns the pages freed (0: nothing could
 * be: swap full and no page to share or drop).
 */
uint64_t pager_reclaim(struct vm *vm, uint64_t want);

/* Called by idle harts: for each node in the HARD or LOW state, pages
 * out one cluster from the VM homed there furthest over its share. */
void pager_background(void);

/* Recomputes the host's state and every node's from their free pages;
 * returns the host's. */
enum mem_state pager_update_mem_state(void);

/* A node's state as last computed: the lesser of its own and the host's
 * (a node short while another has room pages nothing out). */
enum mem_state pager_node_state(unsigned node);

/* Called before a VM's guest-page fault is served: in the LOW state, a VM
 * holding more host pages than its target (vm->mem_target, set by the
 * memory policy) first pages out a cluster of its own (counted in
 * low_blocks). */
void pager_admit(struct vm *vm);

/* Why the last reclaim for a VM found nothing (for its stop message). */
const char *pager_why_nothing(void);

/* mem_state, pager_policy, pager_runs, ... (hvstat's total line) */
void pager_counters(struct counters *c);

#endif
