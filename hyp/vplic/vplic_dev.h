/*
 * The virtual PLIC as a device of a VM: its register window, its reset
 * and counters, the wires the VM's other devices raise, and the reading
 * of each vCPU's external interrupt line (hvip.VSEIP) by core (vplic.c is
 * the pure state machine).
 */
#ifndef DISCV_VPLIC_DEV_H
#define DISCV_VPLIC_DEV_H

#include <stdbool.h>
#include <stdint.h>
#include "core/irq_line.h"
#include "vplic/vplic.h"

struct vm;

struct vplic_dev {
	struct vplic plic;
	struct vm *vm;
};

/* Makes d the VM's interrupt controller: resets it, maps its registers
 * at base, and registers it with the VM (a device, and the source of
 * every vCPU's external interrupt line). */
bool vplic_dev_init(struct vplic_dev *d, struct vm *vm, uint64_t base);

/* The wire of source (1..VPLIC_SOURCES-1), for a device of the VM. */
struct irq_line vplic_dev_irq_line(struct vplic_dev *d, unsigned source);

#endif
