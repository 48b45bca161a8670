/*
 * Host interrupt dispatch: the interrupts of the host's own devices, taken
 * through the machine's PLICs (PLIC spec 1.0.0).
 *
 * A host driver registers a handler for its device's source while it
 * probes (the device tree names the source and, as interrupt-parent, the
 * PLIC). Once every driver has probed, host_irq_wire() routes each
 * registered source to one hart, and each hart enables the sources routed
 * to it. On a supervisor external interrupt the run loop and hart_pause()
 * call host_irq_handle(), which knows the drivers only by their handlers.
 *
 * A source that cannot be routed (no PLIC behind it, or one that cannot
 * reach S-mode) stays registered but unwired: host_irq_wired() tells its
 * driver to poll instead of waiting for the interrupt.
 */
#ifndef DISCV_HOST_IRQ_H
#define DISCV_HOST_IRQ_H

#include <stdbool.h>
#include <stdint.h>

#define HOST_IRQ_MAX 16		/* registrations */

struct platform;

/*
 * Registers handler(ctx) for source `source` of the PLIC whose phandle is
 * plic_phandle. `name` (kept, not copied) names the device in log lines.
 * Returns the registration's number, or -1 if the table is full or the
 * source is not a PLIC source (1..1023; 0 means "no interrupt"). Call
 * before host_irq_wire().
 */
int host_irq_register(uint32_t plic_phandle, uint32_t source, void (*handler)(void *ctx),
		      void *ctx, const char *name);

/* Routes each registered source to one hart wired to its PLIC, at
 * priority 1. Called once, on the boot hart, after the drivers probed. */
void host_irq_wire(const struct platform *p);

/* Each hart, once running: enables the sources routed to it. */
void host_irq_enable_this_hart(void);

/* Serves a supervisor external interrupt on this hart: claims, calls the
 * handler, completes. */
void host_irq_handle(void);

/* Whether the registration's interrupt will come (it is routed to a
 * hart); false for -1 (a driver that could not register). */
bool host_irq_wired(int registration);

/* Interrupts served for one registration (0 for -1), and for all. */
uint64_t host_irq_count(int registration);
uint64_t host_irq_total(void);

#endif
