#include "core/vcpu.h"
#include "core/vm.h"
#include "lib/counters.h"
#include "vplic/vplic.h"
#include "vplic/vplic_dev.h"

/*
 * After any change of the vPLIC's state: a vCPU whose line went up gets
 * VSEIP raised (at once if it runs here, else at its next entry, its
 * hart kicked, and it wakes if it waits); a line that went down is
 * lowered at the vCPU's next entry, where VSEIP is always made to match
 * the line (do_requests in core/vcpu.c, through external_line below).
 */
static void sync_lines(struct vplic_dev *d)
{
	struct vm *vm = d->vm;
	uint32_t changed = vplic_update(&d->plic);

	for (unsigned c = 0; c < vm->nvcpus; c++)
		if ((changed & (1U << c)) && (d->plic.output & (1U << c)))
			vcpu_raise_irq(&vm->vcpu[c], HVIP_VSEIP);
}

static uint64_t vplic_mmio_read(void *dev, struct vcpu *v, uint64_t offset, unsigned width)
{
	struct vplic_dev *d = dev;
	uint64_t value = 0;

	(void)v;
	if (width == 4) {
		value = vplic_read(&d->plic, offset);
		sync_lines(d);	/* a claim may have lowered a line */
	}
	return value;
}

static void vplic_mmio_write(void *dev, struct vcpu *v, uint64_t offset, unsigned width,
			     uint64_t value)
{
	struct vplic_dev *d = dev;

	(void)v;
	if (width != 4)
		return;	/* the PLIC's registers are 32-bit (PLIC spec 1.0.0, 3) */
	vplic_write(&d->plic, offset, (uint32_t)value);
	sync_lines(d);
}

static bool external_line(const void *controller, unsigned vcpu_id)
{
	const struct vplic_dev *d = controller;

	return vplic_context_line(&d->plic, vcpu_id);
}

static void reset(void *dev)
{
	struct vplic_dev *d = dev;

	vplic_reset(&d->plic);
}

static void counters(const void *dev, struct counters *c)
{
	const struct vplic_dev *d = dev;

	counters_u64(c, "vplic_injections", d->plic.claims);
}

static void set_level(void *controller, unsigned source, bool asserted)
{
	struct vplic_dev *d = controller;

	vplic_set_level(&d->plic, source, asserted);
	sync_lines(d);
}

bool vplic_dev_init(struct vplic_dev *d, struct vm *vm, uint64_t base)
{
	struct mmio_region r = {
		.base = base,
		.size = VPLIC_SIZE,
		.dev = d,
		.read = vplic_mmio_read,
		.write = vplic_mmio_write,
	};
	struct vm_device dev = { .dev = d, .reset = reset,
				 .counters = counters };

	d->vm = vm;
	vplic_init(&d->plic, vm->nvcpus);
	vm_set_interrupt_controller(vm, d, external_line);
	return mmio_register(vm, &r) && vm_add_device(vm, &dev);
}

struct irq_line vplic_dev_irq_line(struct vplic_dev *d, unsigned source)
{
	return (struct irq_line){ .set_level = set_level, .controller = d, .source = source };
}
