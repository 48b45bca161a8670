/*
 * Host interrupt dispatch over the machine's PLICs: the registrations,
 * their routing to harts, and the claim/complete cycle.
 */
#include "arch/riscv_defs.h"
#include "host/console.h"
#include "host/hart.h"
#include "host/irq.h"
#include "host/platform.h"

/* PLIC registers (PLIC spec 1.0.0, chapter 3: the memory map). */
#define PLIC_PRIORITY(source) (4 * (source))
#define PLIC_ENABLE(context, source) (0x2000 + 0x80 * (context) + 4 * ((source) / 32))
#define PLIC_THRESHOLD(context) (0x200000 + 0x1000 * (context))
#define PLIC_CLAIM_COMPLETE(context) (0x200004 + 0x1000 * (context))
#define PLIC_SOURCES 1024	/* source ids 1..1023; 0 means "no interrupt" */

/*
 * One registered source: source `source` of the PLIC whose phandle is
 * `plic_phandle`, taken by hart `hart` (harts[] index) through that PLIC's
 * S-mode context `context` once wired.
 */
struct registration {
	uint32_t plic_phandle, source;
	void (*handler)(void *ctx);
	void *ctx;
	const char *name;
	volatile uint8_t *plic;		/* its registers; NULL: not wired */
	unsigned context;
	int hart;
	uint64_t count;			/* interrupts served */
};

static struct registration registrations[HOST_IRQ_MAX];
static unsigned nregistrations;

static uint32_t plic_read(volatile uint8_t *plic, uint64_t off)
{
	return *(volatile uint32_t *)(plic + off);
}

static void plic_write(volatile uint8_t *plic, uint64_t off, uint32_t v)
{
	*(volatile uint32_t *)(plic + off) = v;
}

int host_irq_register(uint32_t plic_phandle, uint32_t source, void (*handler)(void *ctx),
		      void *ctx, const char *name)
{
	if (nregistrations == HOST_IRQ_MAX || source == 0 || source >= PLIC_SOURCES)
		return -1;
	registrations[nregistrations] = (struct registration){
		.plic_phandle = plic_phandle, .source = source,
		.handler = handler, .ctx = ctx, .name = name, .hart = -1,
	};
	return (int)nregistrations++;
}

/* Whether the controller serves the hart with id 0 (socket 0). */
static bool plic_serves_hart0(const struct platform *p, const struct irq_controller *c)
{
	for (unsigned ph = 0; ph < p->nharts; ph++)
		if ((c->harts & (1U << ph)) && p->hartid[ph] == 0)
			return true;
	return false;
}

/* The harts[] index of the hart with this hart id, or -1. */
static int hart_index(unsigned long hartid)
{
	for (unsigned h = 0; h < nharts; h++)
		if (harts[h].hartid == hartid)
			return (int)h;
	return -1;
}

/*
 * Routes each source to one hart: the first hart wired to the PLIC the
 * device names as interrupt-parent (QEMU virt wires every virtio-mmio slot
 * to one socket's PLIC: the last node's). Source priority 1 (0 would mean
 * "never interrupt"); the target hart enables it and sets threshold 0.
 */
void host_irq_wire(const struct platform *p)
{
	for (unsigned i = 0; i < nregistrations; i++) {
		struct registration *r = &registrations[i];
		const struct irq_controller *c = platform_plic_by_phandle(p, r->plic_phandle);
		if (!c)
			continue;	/* an APLIC (NODES > 2): its driver polls */
		if (!plic_serves_hart0(p, c)) {
			/* QEMU 7.2 connects the outputs of a PLIC whose harts do
			 * not start at 0 by a wrong index (the fault that also
			 * stops a third socket from starting): measured, none of
			 * its interrupts reach S-mode, even with the enables set
			 * by the target hart itself after OpenSBI started it. */
			log_info("%s: its PLIC (node %u) cannot interrupt S-mode "
				 "under QEMU 7.2: polling", r->name, c->node);
			continue;
		}
		for (unsigned ph = 0; ph < p->nharts; ph++) {
			int h = hart_index(p->hartid[ph]);
			if (!(c->harts & (1U << ph)) || c->s_context[ph] < 0 || h < 0)
				continue;
			r->hart = h;
			r->context = (unsigned)c->s_context[ph];
			break;
		}
		if (r->hart < 0)
			continue;
		r->plic = pa_to_ptr(c->base);
		plic_write(r->plic, PLIC_PRIORITY(r->source), 1);
		log_info("%s: interrupt %u to hart %lu", r->name, r->source,
			 harts[r->hart].hartid);
	}
}

/*
 * Enables, in this hart's S-mode context, the sources routed to it. Each
 * hart does it for itself once running: OpenSBI clears a hart's PLIC
 * enables when it starts the hart (its warm irqchip init).
 */
void host_irq_enable_this_hart(void)
{
	int me = (int)this_hart()->index;

	for (unsigned i = 0; i < nregistrations; i++) {
		struct registration *r = &registrations[i];
		if (!r->plic || r->hart != me)
			continue;
		plic_write(r->plic, PLIC_ENABLE(r->context, r->source),
			   plic_read(r->plic, PLIC_ENABLE(r->context, r->source)) |
			   1U << (r->source % 32));
		plic_write(r->plic, PLIC_THRESHOLD(r->context), 0);
	}
}

/* Calls the handler of every registration of this PLIC source. */
static void dispatch(volatile uint8_t *plic, uint32_t source)
{
	for (unsigned i = 0; i < nregistrations; i++) {
		struct registration *r = &registrations[i];
		if (r->plic != plic || r->source != source)
			continue;
		r->count++;
		r->handler(r->ctx);
	}
}

/*
 * A supervisor external interrupt on this hart: for each source routed
 * here, claim from its context (the read returns the highest-priority
 * pending source, or 0), serve what was claimed, and complete it by
 * writing its id back (PLIC spec 1.0.0: interrupt claim and completion).
 * The handler must quiet its device first, or the source pends again.
 */
void host_irq_handle(void)
{
	int me = (int)this_hart()->index;

	for (unsigned i = 0; i < nregistrations; i++) {
		struct registration *r = &registrations[i];
		if (!r->plic || r->hart != me)
			continue;
		uint32_t claimed = plic_read(r->plic, PLIC_CLAIM_COMPLETE(r->context));
		if (!claimed)
			continue;
		dispatch(r->plic, claimed);
		plic_write(r->plic, PLIC_CLAIM_COMPLETE(r->context), claimed);
	}
}

bool host_irq_wired(int registration)
{
	return registration >= 0 && registration < (int)nregistrations &&
	       registrations[registration].plic;
}

uint64_t host_irq_count(int registration)
{
	if (registration < 0 || registration >= (int)nregistrations)
		return 0;
	return registrations[registration].count;
}

uint64_t host_irq_total(void)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < nregistrations; i++)
		n += registrations[i].count;
	return n;
}
