/*
 * The idle memory tax and the working-set estimate (mem/idle_tax.h).
 */
#include <stddef.h>
#include "mem/idle_tax.h"

void ws_estimate_add(struct ws_estimate *e, unsigned touched, unsigned sampled)
{
	uint32_t s = sampled ? (uint32_t)((uint64_t)touched * 1000 / sampled) : 0;

	if (e->periods++ == 0) {
		e->slow = e->fast = s;	/* the first sample replaces the guess */
	} else {
		/* Gains of 1/2 and 1/8: the fast average follows within two
		 * periods, the slow one remembers about eight. */
		e->fast = (uint32_t)(((uint64_t)e->fast + s) / 2);
		e->slow = (uint32_t)(((uint64_t)e->slow * 7 + s) / 8);
	}
	e->last = s;
}

unsigned ws_estimate_permille(const struct ws_estimate *e)
{
	uint32_t m = e->slow > e->fast ? e->slow : e->fast;

	if (!e->periods)
		return 1000;	/* never sampled: all active */
	return m > e->last ? m : e->last;
}

/* The taxed size of c once `take` more pages are gone, times (1 - tau) to
 * stay in integers: active * (1 - tau) + idle. */
static uint64_t taxed_size(const struct tax_client *c, unsigned tau_percent)
{
	uint64_t held = c->held - c->take;
	uint64_t active = c->active < held ? c->active : held;

	return active * (100 - tau_percent) + (held - active) * 100;
}

uint64_t idle_tax_reclaim(struct tax_client *c, unsigned n, uint64_t want, uint64_t step,
			  unsigned tau_percent)
{
	uint64_t assigned = 0;

	if (tau_percent > 99)
		tau_percent = 99;	/* tau = 1 would make idle pages cost infinitely */
	if (!step)
		step = 1;
	for (unsigned i = 0; i < n; i++)
		c[i].take = 0;
	while (assigned < want) {
		struct tax_client *payer = NULL;
		uint64_t worst = 0;
		for (unsigned i = 0; i < n; i++) {
			if (c[i].held <= c[i].floor + c[i].take)
				continue;	/* at its floor */
			uint64_t t = taxed_size(&c[i], tau_percent);
			if (!payer || t > worst) {
				worst = t;
				payer = &c[i];
			}
		}
		if (!payer)
			break;
		uint64_t room = payer->held - payer->floor - payer->take;
		uint64_t s = step < room ? step : room;
		if (s > want - assigned)
			s = want - assigned;
		payer->take += s;
		assigned += s;
	}
	return assigned;
}
