/*
 * The virtual PLIC as a device of a VM: its register window, and the
 * wiring of its per-vCPU outputs to hvip.VSEIP (vplic.c is the pure state
 * machine).
 */
#ifndef DISCV_VPLIC_DEV_H
#define DISCV_VPLIC_DEV_H

#include <stdbool.h>

struct vm;
struct vcpu;

/* Resets the VM's vPLIC and maps its registers at GUEST_PLIC_BASE. */
bool vplic_dev_init(struct vm *vm);

/* A device of the VM sets its interrupt line (source 1..31). */
void vm_set_irq_line(struct vm *vm, unsigned source, bool asserted);

/* Whether v's external interrupt line is up (for hvip.VSEIP at entry). */
bool vplic_dev_line(const struct vcpu *v);

#endif
