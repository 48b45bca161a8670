#include <stddef.h>
#include "sbi/sbi.h"
#include "core/vcpu.h"
#include "core/vm.h"

/* Every extension discv offers. BASE's probe_extension answers from it. */
static const struct sbi_extension *const extensions[] = {
	&sbi_ext_legacy,
	&sbi_ext_base,
	&sbi_ext_time,
	&sbi_ext_ipi,
	&sbi_ext_rfence,
	&sbi_ext_hsm,
	&sbi_ext_srst,
	&sbi_ext_dbcn,
	&sbi_ext_discv,
};

const struct sbi_extension *sbi_find_extension(unsigned long eid)
{
	for (size_t i = 0; i < sizeof(extensions) / sizeof(extensions[0]); i++)
		if (eid >= extensions[i]->eid_min && eid <= extensions[i]->eid_max)
			return !extensions[i]->available || extensions[i]->available() ?
				       extensions[i] : NULL;
	return NULL;
}

void sbi_dispatch(struct vcpu *v)
{
	uint64_t *x = v->ctx.x;
	unsigned long eid = x[REG_A7], fid = x[REG_A6];
	const unsigned long args[6] = { x[REG_A0], x[REG_A1], x[REG_A2],
					x[REG_A3], x[REG_A4], x[REG_A5] };
	struct sbi_ret ret = { SBI_ERR_NOT_SUPPORTED, 0 };
	const struct sbi_extension *ext = sbi_find_extension(eid);

	if (ext)
		ext->handle(v, eid, fid, args, &ret);
	if (ext && ext->legacy) {
		x[REG_A0] = (uint64_t)ret.error;	/* the one return value */
	} else {
		x[REG_A0] = (uint64_t)ret.error;
		x[REG_A1] = ret.value;
	}
}

long sbi_for_each_hart(struct vcpu *caller, unsigned long hart_mask,
		       unsigned long hart_mask_base,
		       void (*fn)(struct vcpu *caller, struct vcpu *target, void *arg),
		       void *arg)
{
	struct vm *vm = caller->vm;
	uint64_t selected = 0;

	if (hart_mask_base == (unsigned long)-1) {
		selected = (vm->nvcpus >= 64) ? ~0ULL : (1ULL << vm->nvcpus) - 1;
	} else {
		for (unsigned bit = 0; bit < 64; bit++) {
			if (!(hart_mask & (1UL << bit)))
				continue;
			unsigned long hart = hart_mask_base + bit;
			if (hart < hart_mask_base || hart >= vm->nvcpus)
				return SBI_ERR_INVALID_PARAM;
			selected |= 1ULL << hart;
		}
	}
	for (unsigned i = 0; i < vm->nvcpus; i++)
		if (selected & (1ULL << i))
			fn(caller, &vm->vcpu[i], arg);
	return SBI_SUCCESS;
}
