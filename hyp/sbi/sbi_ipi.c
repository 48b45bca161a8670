/* SBI IPI extension (SBI 2.0 chapter 7): a supervisor software interrupt
 * for each selected vCPU of the caller's VM, injected as hvip.VSSIP. */
#include <stddef.h>
#include "sbi/sbi.h"
#include "core/vcpu.h"

static void raise_one(struct vcpu *caller, struct vcpu *target, void *arg)
{
	(void)caller;
	(void)arg;
	vcpu_raise_ipi(target);
}

static void ipi_handle(struct vcpu *v, unsigned long eid, unsigned long fid,
		       const unsigned long *args, struct sbi_ret *ret)
{
	(void)eid;
	if (fid != SBI_IPI_SEND_IPI) {
		ret->error = SBI_ERR_NOT_SUPPORTED;
		return;
	}
	ret->error = sbi_for_each_hart(v, args[0], args[1], raise_one, NULL);
}

const struct sbi_extension sbi_ext_ipi = {
	.name = "ipi",
	.eid_min = SBI_EXT_IPI,
	.eid_max = SBI_EXT_IPI,
	.handle = ipi_handle,
};
