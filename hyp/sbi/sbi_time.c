/*
 * SBI Timer extension (SBI 2.0 chapter 6). Linux 6.1 with "sstc" in its
 * ISA string writes stimecmp (vstimecmp in VS-mode) directly and never
 * calls this; other guests may. The deadline goes into vstimecmp, so the
 * SBI timer and the Sstc timer are the same timer.
 */
#include "sbi/sbi.h"
#include "core/vcpu.h"

static void time_handle(struct vcpu *v, unsigned long eid, unsigned long fid,
			const unsigned long *args, struct sbi_ret *ret)
{
	(void)eid;
	if (fid != SBI_TIME_SET_TIMER) {
		ret->error = SBI_ERR_NOT_SUPPORTED;
		return;
	}
	vcpu_set_timer(v, args[0]);
	ret->error = SBI_SUCCESS;
}

const struct sbi_extension sbi_ext_time = {
	.name = "time",
	.eid_min = SBI_EXT_TIME,
	.eid_max = SBI_EXT_TIME,
	.handle = time_handle,
};
