/*
 * SBI System Reset (SBI 2.0 chapter 10): the guest powers its VM off or
 * reboots it. What a reboot means is the VM's business (vm.c): in batch
 * mode it is how a guest booted with panic=-1 reports a panic.
 */
#include "sbi/sbi.h"
#include "core/vcpu.h"
#include "core/vm.h"

static bool reset_type_valid(unsigned long type)
{
	return type <= SBI_SRST_TYPE_WARM_REBOOT;
}

/* Reset reasons: 0 none, 1 system failure, 0xE0000000.. SBI
 * implementation and 0xF0000000.. vendor reasons; the rest is reserved. */
static bool reset_reason_valid(unsigned long reason)
{
	return reason <= SBI_SRST_REASON_SYSTEM_FAILURE ||
	       (reason >= 0xE0000000UL && reason <= 0xFFFFFFFFUL);
}

static void srst_handle(struct vcpu *v, unsigned long eid, unsigned long fid,
			const unsigned long *args, struct sbi_ret *ret)
{
	(void)eid;
	if (fid != SBI_SRST_SYSTEM_RESET) {
		ret->error = SBI_ERR_NOT_SUPPORTED;
		return;
	}
	if (args[0] >= 0xF0000000UL && args[0] <= 0xFFFFFFFFUL) {
		ret->error = SBI_ERR_NOT_SUPPORTED;	/* vendor reset types */
		return;
	}
	if (!reset_type_valid(args[0]) || !reset_reason_valid(args[1])) {
		ret->error = SBI_ERR_INVALID_PARAM;
		return;
	}
	ret->error = SBI_SUCCESS;
	vm_system_reset(v->vm, args[0], args[1]);
}

const struct sbi_extension sbi_ext_srst = {
	.name = "srst",
	.eid_min = SBI_EXT_SRST,
	.eid_max = SBI_EXT_SRST,
	.handle = srst_handle,
};
