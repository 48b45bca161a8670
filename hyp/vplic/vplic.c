#include <string.h>
#include "vplic/vplic.h"

void vplic_init(struct vplic *p, unsigned ncontexts)
{
	*p = (struct vplic){ .ncontexts = ncontexts < VPLIC_MAX_CONTEXTS ? ncontexts
								   : VPLIC_MAX_CONTEXTS };
}

void vplic_reset(struct vplic *p)
{
	spin_lock(&p->lock);
	memset(p->priority, 0, sizeof(p->priority));
	p->level = p->pending = p->claimed = 0;
	memset(p->enable, 0, sizeof(p->enable));
	memset(p->threshold, 0, sizeof(p->threshold));
	p->output = 0;
	spin_unlock(&p->lock);
}

static bool valid_source(unsigned s)
{
	return s > 0 && s < VPLIC_SOURCES;
}

void vplic_set_level(struct vplic *p, unsigned source, bool asserted)
{
	uint32_t bit;

	if (!valid_source(source))
		return;
	bit = 1U << source;
	spin_lock(&p->lock);
	if (asserted) {
		p->level |= bit;
		if (!(p->claimed & bit))	/* in service: re-pends on completion */
			p->pending |= bit;
	} else {
		p->level &= ~bit;
		p->pending &= ~bit;	/* a level source stops pending when it drops */
	}
	spin_unlock(&p->lock);
}

/* The best source context ctx may claim: pending, enabled for it, with
 * priority above its threshold; the highest priority wins, ties go to the
 * lowest id (PLIC spec 1.0.0, 5.1). 0 if none. */
static unsigned best_source(const struct vplic *p, unsigned ctx)
{
	uint32_t candidates = p->pending & p->enable[ctx];
	unsigned best = 0;

	for (unsigned s = 1; s < VPLIC_SOURCES; s++) {
		if (!(candidates & (1U << s)) || p->priority[s] <= p->threshold[ctx])
			continue;
		if (!best || p->priority[s] > p->priority[best])
			best = s;
	}
	return best;
}

bool vplic_context_line(const struct vplic *p, unsigned ctx)
{
	return ctx < p->ncontexts && best_source(p, ctx) != 0;
}

static uint32_t claim(struct vplic *p, unsigned ctx)
{
	unsigned s = best_source(p, ctx);

	if (s) {
		p->pending &= ~(1U << s);
		p->claimed |= 1U << s;
		p->claims++;
	}
	return s;
}

static void complete(struct vplic *p, unsigned source)
{
	uint32_t bit;

	/* Linux 6.1 completes without looking at the enable bits: accept any
	 * claimed source. A level source still asserted pends again. (The
	 * source is the guest's value: checked before it is shifted by.) */
	if (!valid_source(source))
		return;
	bit = 1U << source;
	if (!(p->claimed & bit))
		return;
	p->claimed &= ~bit;
	if (p->level & bit)
		p->pending |= bit;
}

uint32_t vplic_read(struct vplic *p, uint64_t off)
{
	uint32_t v = 0;

	spin_lock(&p->lock);
	if (off < VPLIC_PENDING) {
		unsigned s = (unsigned)(off / 4);
		v = s < VPLIC_SOURCES ? p->priority[s] : 0;
	} else if (off == VPLIC_PENDING) {
		v = p->pending;
	} else if (off >= VPLIC_ENABLE && off < VPLIC_CONTEXT) {
		uint64_t ctx = (off - VPLIC_ENABLE) / 0x80, word = (off - VPLIC_ENABLE) % 0x80;
		v = (ctx < p->ncontexts && word == 0) ? p->enable[ctx] : 0;
	} else if (off >= VPLIC_CONTEXT) {
		uint64_t ctx = (off - VPLIC_CONTEXT) / 0x1000, reg = (off - VPLIC_CONTEXT) % 0x1000;
		if (ctx < p->ncontexts && reg == 0)
			v = p->threshold[ctx];
		else if (ctx < p->ncontexts && reg == 4)
			v = claim(p, (unsigned)ctx);
	}
	spin_unlock(&p->lock);
	return v;
}

void vplic_write(struct vplic *p, uint64_t off, uint32_t value)
{
	spin_lock(&p->lock);
	if (off < VPLIC_PENDING) {
		unsigned s = (unsigned)(off / 4);
		if (valid_source(s))
			p->priority[s] = value & VPLIC_PRIORITY_MAX;
	} else if (off >= VPLIC_ENABLE && off < VPLIC_CONTEXT) {
		uint64_t ctx = (off - VPLIC_ENABLE) / 0x80, word = (off - VPLIC_ENABLE) % 0x80;
		if (ctx < p->ncontexts && word == 0)
			p->enable[ctx] = value & ~1U;	/* source 0 does not exist */
	} else if (off >= VPLIC_CONTEXT) {
		uint64_t ctx = (off - VPLIC_CONTEXT) / 0x1000, reg = (off - VPLIC_CONTEXT) % 0x1000;
		if (ctx < p->ncontexts && reg == 0)
			p->threshold[ctx] = value & VPLIC_PRIORITY_MAX;
		else if (ctx < p->ncontexts && reg == 4)
			complete(p, value);
	}
	/* The pending bits are read-only (PLIC spec 1.0.0, 3.2). */
	spin_unlock(&p->lock);
}

uint32_t vplic_update(struct vplic *p)
{
	uint32_t lines = 0, changed;

	spin_lock(&p->lock);
	for (unsigned c = 0; c < p->ncontexts; c++)
		if (best_source(p, c))
			lines |= 1U << c;
	changed = lines ^ p->output;
	p->output = lines;
	spin_unlock(&p->lock);
	return changed;
}
