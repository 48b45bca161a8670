/*
 * Who gives memory back, and how much (ESX's idle memory tax, Waldspurger
 * OSDI 2002 sections 5.2-5.3; docs/overcommit.md, "The policy"). Pure
 * arithmetic: core/working_set.c feeds it samples, guest/mem_policy.c
 * turns its answer into balloon targets.
 *
 * ESX charges a VM's idle pages more than its active ones: with shares S,
 * P pages held, a fraction f of them active and the tax rate tau, the
 * shares-per-page ratio is rho = S / (P * (f + k * (1 - f))), k = 1 / (1 -
 * tau). Memory is taken from the VM with the lowest rho first. With tau =
 * 0.75 an idle page costs four active ones: a VM that sits on memory it
 * does not use gives it up before a busy VM gives up what it works in.
 * All shares are equal here (per-VM GUEST_SHARES is a later issue), so
 * the lowest rho is the highest taxed size P * (f + k * (1 - f)).
 */
#ifndef DISCV_IDLE_TAX_H
#define DISCV_IDLE_TAX_H

#include <stdint.h>

#define IDLE_TAX_PERCENT 75	/* tau: ESX's default */

/*
 * The working-set estimate of one VM (ESX section 5.3): each sampling
 * period gives the fraction of sampled pages that were touched. A slow and
 * a fast moving average smooth it; the estimate is the largest of the
 * two and of the last sample, so it rises at once when a VM gets busy and
 * falls slowly when it idles. In permille; a VM never sampled counts as
 * all active (it pays no tax before anyone knows).
 */
struct ws_estimate {
	uint32_t slow, fast, last;	/* permille */
	uint32_t periods;		/* samples taken (a zeroed estimate: none) */
};

void ws_estimate_add(struct ws_estimate *e, unsigned touched, unsigned sampled);
unsigned ws_estimate_permille(const struct ws_estimate *e);

/* One VM, as the tax sees it. */
struct tax_client {
	uint64_t held;		/* host pages it holds now */
	uint64_t active;	/* pages of its estimated working set */
	uint64_t floor;		/* it never keeps fewer than this */
	uint64_t take;		/* out: pages to take from it */
};

/*
 * Shares `want` pages of reclaim among the clients, `step` pages at a time,
 * each step from the client whose taxed size (active + idle / (1 - tau))
 * is largest; never below a client's floor. Returns the pages assigned
 * (less than want only if every client is at its floor).
 */
uint64_t idle_tax_reclaim(struct tax_client *c, unsigned n, uint64_t want, uint64_t step,
			  unsigned tau_percent);

#endif
