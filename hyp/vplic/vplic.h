/*
 * The guest's interrupt controller: a virtual PLIC (RISC-V PLIC
 * specification 1.0.0), emulated by trapping every access to its
 * registers. One S-mode context per vCPU (context i interrupts vCPU i
 * through hvip.VSEIP); sources 1..VPLIC_SOURCES-1 are the VM's devices.
 *
 * What Linux 6.1's driver relies on is honoured: it masks a source by
 * writing priority 0 (not the enable bit) and unmasks with priority 1; it
 * completes a claimed source without checking the enable bit; and a
 * level-triggered source whose device still asserts its line after the
 * completion becomes pending again at once.
 *
 * The state machine is pure (unit-tested natively); vplic_update() says
 * which contexts' outputs changed, and the caller raises or lowers VSEIP.
 */
#ifndef DISCV_VPLIC_H
#define DISCV_VPLIC_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/spinlock.h"

#define VPLIC_SOURCES 32		/* source 0 does not exist */
#define VPLIC_MAX_CONTEXTS 8
#define VPLIC_SIZE 0x600000		/* register window, as QEMU's PLIC */

/* Register offsets (PLIC spec 1.0.0, chapter 3 memory map). */
#define VPLIC_PRIORITY 0x000000		/* + 4 * source */
#define VPLIC_PENDING 0x001000		/* bit per source */
#define VPLIC_ENABLE 0x002000		/* + 0x80 * context, bit per source */
#define VPLIC_CONTEXT 0x200000		/* + 0x1000 * context: threshold, claim */
#define VPLIC_PRIORITY_MAX 7

struct vplic {
	struct spinlock lock;
	unsigned ncontexts;
	uint32_t priority[VPLIC_SOURCES];
	uint32_t level;		/* line asserted by the device, per source */
	uint32_t pending;	/* waiting to be claimed */
	uint32_t claimed;	/* claimed, not yet completed */
	uint32_t enable[VPLIC_MAX_CONTEXTS];
	uint32_t threshold[VPLIC_MAX_CONTEXTS];
	uint32_t output;	/* bit per context: its interrupt line as last reported */
	uint64_t claims;	/* counter: interrupts taken by the guest */
};

void vplic_init(struct vplic *p, unsigned ncontexts);

/* The state a PLIC has at power-on (PLIC spec 1.0.0 leaves it to the
 * platform; discv's is vplic_init's): every priority, enable and
 * threshold 0, nothing pending, nothing claimed, every output down. For a
 * VM's reboot: a source the old guest claimed and never completed would
 * otherwise stay claimed, and the new guest never get it again. The
 * device lines go down too (the caller resets the devices first, which
 * lower them anyway). Only the claims counter is kept (the VM's life). */
void vplic_reset(struct vplic *p);

/* A device sets its source's line (level-triggered). */
void vplic_set_level(struct vplic *p, unsigned source, bool asserted);

/* Guest register accesses (32-bit; other widths read 0 / are ignored). */
uint32_t vplic_read(struct vplic *p, uint64_t offset);
void vplic_write(struct vplic *p, uint64_t offset, uint32_t value);

/* Whether context ctx's interrupt line is up now. */
bool vplic_context_line(const struct vplic *p, unsigned ctx);

/* Recomputes every context's line; returns the bit mask of contexts whose
 * line changed since the last call (p->output holds the new lines). */
uint32_t vplic_update(struct vplic *p);

#endif
