/* SBI Base extension (SBI 2.0 chapter 4): versions, ids, probing. */
#include "sbi/sbi.h"

static void base_handle(struct vcpu *v, unsigned long eid, unsigned long fid,
			const unsigned long *args, struct sbi_ret *ret)
{
	(void)v;
	(void)eid;
	ret->error = SBI_SUCCESS;
	switch (fid) {
	case SBI_BASE_GET_SPEC_VERSION:
		/* >= 0.3, or Linux 6.1 ignores SRST and cannot power off. */
		ret->value = SBI_SPEC_VERSION;
		break;
	case SBI_BASE_GET_IMPL_ID:
		ret->value = SBI_IMPL_ID_DISCV;
		break;
	case SBI_BASE_GET_IMPL_VERSION:
		ret->value = SBI_IMPL_VERSION_DISCV;
		break;
	case SBI_BASE_PROBE_EXT:
		ret->value = sbi_find_extension(args[0]) ? 1 : 0;
		break;
	case SBI_BASE_GET_MVENDORID:
	case SBI_BASE_GET_MARCHID:
	case SBI_BASE_GET_MIMPID:
		ret->value = 0;	/* a virtual machine of no vendor */
		break;
	default:
		ret->error = SBI_ERR_NOT_SUPPORTED;
		break;
	}
}

const struct sbi_extension sbi_ext_base = {
	.name = "base",
	.eid_min = SBI_EXT_BASE,
	.eid_max = SBI_EXT_BASE,
	.handle = base_handle,
};
