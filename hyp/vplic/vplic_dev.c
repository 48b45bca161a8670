#include "core/vcpu.h"
#include "core/vm.h"
#include "vplic/vplic.h"
#include "vplic/vplic_dev.h"

/*
 * After any change of the vPLIC's state: a vCPU whose line went up gets
 * VSEIP raised (at once if it runs here, else at its next entry, its
 * hart kicked, and it wakes if it waits); a line that went down is
 * lowered at the vCPU's next entry, where VSEIP is always made to match
 * the line (do_requests in vcpu.c).
 */
static void sync_lines(struct vm *vm)
{
	uint32_t changed = vplic_update(&vm->vplic);

	for (unsigned c = 0; c < vm->nvcpus; c++)
		if ((changed & (1U << c)) && (vm->vplic.output & (1U << c)))
			vcpu_raise_irq(&vm->vcpu[c], HVIP_VSEIP);
}

static uint64_t vplic_mmio_read(void *dev, struct vcpu *v, uint64_t offset, unsigned width)
{
	struct vm *vm = dev;
	uint64_t value = 0;

	(void)v;
	if (width == 4) {
		value = vplic_read(&vm->vplic, offset);
		sync_lines(vm);	/* a claim may have lowered a line */
	}
	return value;
}

static void vplic_mmio_write(void *dev, struct vcpu *v, uint64_t offset, unsigned width,
			     uint64_t value)
{
	struct vm *vm = dev;

	(void)v;
	if (width != 4)
		return;	/* the PLIC's registers are 32-bit (PLIC spec 1.0.0, 3) */
	vplic_write(&vm->vplic, offset, (uint32_t)value);
	sync_lines(vm);
}

bool vplic_dev_init(struct vm *vm)
{
	struct mmio_region r = {
		.base = GUEST_PLIC_BASE,
		.size = VPLIC_SIZE,
		.dev = vm,
		.read = vplic_mmio_read,
		.write = vplic_mmio_write,
	};

	vplic_init(&vm->vplic, vm->nvcpus);
	return mmio_register(vm, &r);
}

void vm_set_irq_line(struct vm *vm, unsigned source, bool asserted)
{
	vplic_set_level(&vm->vplic, source, asserted);
	sync_lines(vm);
}

bool vplic_dev_line(const struct vcpu *v)
{
	return vplic_context_line(&v->vm->vplic, v->id);
}
