#include <stddef.h>
#include "core/insn.h"
#include "core/mmio.h"
#include "core/vcpu.h"
#include "core/vcpu_exit.h"
#include "core/vm.h"

bool mmio_register(struct vm *vm, const struct mmio_region *r)
{
	if (vm->nmmio == MAX_MMIO_REGIONS)
		return false;
	for (unsigned i = 0; i < vm->nmmio; i++) {
		const struct mmio_region *o = &vm->mmio[i];
		if (r->base < o->base + o->size && o->base < r->base + r->size)
			return false;
	}
	vm->mmio[vm->nmmio++] = *r;
	return true;
}

const struct mmio_region *mmio_find(const struct vm *vm, uint64_t gpa)
{
	for (unsigned i = 0; i < vm->nmmio; i++)
		if (gpa >= vm->mmio[i].base && gpa - vm->mmio[i].base < vm->mmio[i].size)
			return &vm->mmio[i];
	return NULL;
}

bool mmio_emulate(struct vcpu *v, const struct mmio_region *r, uint64_t gpa)
{
	struct mmio_access a;
	uint32_t insn;
	uint64_t offset = gpa - r->base;

	if (!vcpu_fetch_insn(v, &insn) || !insn_decode_mmio(insn, &a))
		return false;
	if (offset % a.width || offset + a.width > r->size)
		return false;	/* devices take naturally aligned accesses only */
	if (a.is_store) {
		/* x0 reads as zero: Linux's writel(0, ...) is `sw zero, ...` */
		uint64_t value = a.reg ? v->ctx.x[a.reg] : 0;
		if (a.width < 8)
			value &= (1ULL << (a.width * 8)) - 1;
		r->write(r->dev, v, offset, a.width, value);
		if (v->mmio_retry) {
			/* Work left: back to the guest, which stores again
			 * (and takes its interrupts in between). */
			v->mmio_retry = false;
			return true;
		}
	} else {
		uint64_t value = insn_load_result(&a, r->read(r->dev, v, offset, a.width));
		if (a.reg)
			v->ctx.x[a.reg] = value;
	}
	v->ctx.sepc += a.length;
	return true;
}

void mmio_retry(struct vcpu *v)
{
	v->mmio_retry = true;
}
