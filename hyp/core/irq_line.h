/*
 * An interrupt wire from a device to the VM's interrupt controller.
 *
 * A device of a VM (virtio-blk, later virtio-net and the balloon) raises
 * and lowers a level-triggered line; which controller it goes to, and
 * which source it is there, is decided by whoever builds the guest's
 * machine (hyp/guest/). The device only holds the wire, so it names no
 * controller, and the controller (hyp/vplic/) names no device.
 */
#ifndef DISCV_IRQ_LINE_H
#define DISCV_IRQ_LINE_H

#include <stdbool.h>

struct irq_line {
	void (*set_level)(void *controller, unsigned source, bool asserted);
	void *controller;
	unsigned source;	/* the controller's source number (1..31 on the vPLIC) */
};

static inline void irq_line_set(const struct irq_line *line, bool asserted)
{
	line->set_level(line->controller, line->source, asserted);
}

#endif
