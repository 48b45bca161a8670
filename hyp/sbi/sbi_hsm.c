/*
 * SBI Hart State Management (SBI 2.0 chapter 9): a guest starts, stops and
 * suspends its own vCPUs. A suspended or WFI-waiting vCPU gives up its
 * hart until an interrupt it has enabled is pending (hyp/vcpu.c).
 */
#include "core/guest_memory.h"
#include "sbi/sbi.h"
#include "core/vcpu.h"
#include "core/vm.h"

/* Suspend types (SBI 2.0 table 9.3). */
static bool suspend_type_reserved(unsigned long type)
{
	return type > 0xFFFFFFFFUL ||
	       (type >= 0x00000001UL && type <= 0x0FFFFFFFUL) ||
	       (type >= 0x80000001UL && type <= 0x8FFFFFFFUL);
}

static void hsm_handle(struct vcpu *v, unsigned long eid, unsigned long fid,
		       const unsigned long *args, struct sbi_ret *ret)
{
	struct vm *vm = v->vm;
	struct vcpu *target;

	(void)eid;
	ret->error = SBI_SUCCESS;
	switch (fid) {
	case SBI_HSM_HART_START:
		if (args[0] >= vm->nvcpus) {
			ret->error = SBI_ERR_INVALID_PARAM;
			break;
		}
		target = &vm->vcpu[args[0]];
		if (!guest_memory_contains(vm, args[1], 4)) {
			ret->error = SBI_ERR_INVALID_ADDRESS;
			break;
		}
		/* A compare-and-swap claims a STOPPED target: of two vCPUs
		 * starting it at once, the second gets ALREADY_AVAILABLE, as
		 * does a starter of a vCPU still stopping (its hart has not
		 * saved it yet: STOP_PENDING). */
		ret->error = vcpu_hsm_start(target, args[1], args[2]);
		if (ret->error == SBI_SUCCESS)
			vcpu_request(target, 0);	/* wake its hart */
		break;
	case SBI_HSM_HART_STOP:
		/* Returns to the guest only if it failed (SBI 2.0 9.2): the
		 * run loop takes the vCPU off its hart. */
		ret->error = vcpu_hsm_stop(v);
		break;
	case SBI_HSM_HART_GET_STATUS:
		if (args[0] >= vm->nvcpus) {
			ret->error = SBI_ERR_INVALID_PARAM;
			break;
		}
		ret->value = vcpu_hsm_state(&vm->vcpu[args[0]]);
		break;
	case SBI_HSM_HART_SUSPEND:
		if (suspend_type_reserved(args[0])) {
			ret->error = SBI_ERR_INVALID_PARAM;
		} else if (args[0] == SBI_HSM_SUSPEND_RETENTIVE_DEFAULT) {
			ret->error = vcpu_hsm_suspend(v, false, 0, 0);
		} else if (args[0] == SBI_HSM_SUSPEND_NON_RETENTIVE_DEFAULT) {
			if (!guest_memory_contains(vm, args[1], 4))
				ret->error = SBI_ERR_INVALID_ADDRESS;
			else
				ret->error = vcpu_hsm_suspend(v, true, args[1], args[2]);
		} else {
			ret->error = SBI_ERR_NOT_SUPPORTED;	/* platform-specific types */
		}
		break;
	default:
		ret->error = SBI_ERR_NOT_SUPPORTED;
		break;
	}
}

const struct sbi_extension sbi_ext_hsm = {
	.name = "hsm",
	.eid_min = SBI_EXT_HSM,
	.eid_max = SBI_EXT_HSM,
	.handle = hsm_handle,
};
