/*
 * SBI RFENCE extension (SBI 2.0 chapter 8). A guest's remote fence.i and
 * sfence.vma become requests on the target vCPUs, done on their own hart
 * before they next enter the guest (a whole VS-stage flush for the VM's
 * VMID: always correct, and the guest's flushes are rare). The hfence
 * functions are for guests that are hypervisors themselves: not offered.
 */
#include "sbi/sbi.h"
#include "core/vcpu.h"

static void request_one(struct vcpu *caller, struct vcpu *target, void *arg)
{
	(void)caller;
	vcpu_request(target, *(unsigned *)arg);
}

static void rfence_handle(struct vcpu *v, unsigned long eid, unsigned long fid,
			  const unsigned long *args, struct sbi_ret *ret)
{
	unsigned request;

	(void)eid;
	switch (fid) {
	case SBI_RFENCE_REMOTE_FENCE_I:
		request = VCPU_REQ_FENCE_I;
		break;
	case SBI_RFENCE_REMOTE_SFENCE_VMA:
	case SBI_RFENCE_REMOTE_SFENCE_VMA_ASID:
		request = VCPU_REQ_FLUSH_VS_TLB;
		break;
	default:
		ret->error = SBI_ERR_NOT_SUPPORTED;
		return;
	}
	ret->error = sbi_for_each_hart(v, args[0], args[1], request_one, &request);
}

const struct sbi_extension sbi_ext_rfence = {
	.name = "rfence",
	.eid_min = SBI_EXT_RFENCE,
	.eid_max = SBI_EXT_RFENCE,
	.handle = rfence_handle,
};
