/*
 * SBI v0.1 legacy extensions (SBI 2.0 chapter 5), EIDs 0x00-0x08. Linux
 * 6.1 built with CONFIG_RISCV_SBI_V01 uses the console calls (EID 1 and 2)
 * for hvc0 and earlycon. The hart masks of the IPI and fence calls are
 * pointers to a mask in the guest's virtual memory (or 0 for all harts).
 * Each call returns one value, in a0.
 */
#include "core/guest_console.h"
#include <stddef.h>
#include "sbi/sbi.h"
#include "core/vcpu.h"
#include "core/vm.h"

static void raise_one(struct vcpu *caller, struct vcpu *target, void *arg)
{
	(void)caller;
	(void)arg;
	vcpu_raise_ipi(target);
}

static void request_one(struct vcpu *caller, struct vcpu *target, void *arg)
{
	(void)caller;
	vcpu_request(target, *(unsigned *)arg);
}

/* Applies fn to the harts in the v0.1 mask at guest-virtual address
 * mask_va. Returns an SBI error code. */
static long for_each_legacy_hart(struct vcpu *v, unsigned long mask_va,
				 void (*fn)(struct vcpu *, struct vcpu *, void *), void *arg)
{
	uint64_t mask;

	if (mask_va == 0)
		return sbi_for_each_hart(v, 0, (unsigned long)-1, fn, arg);
	if (!vcpu_read_guest_u64(v, mask_va, &mask))
		return SBI_ERR_INVALID_ADDRESS;
	return sbi_for_each_hart(v, mask, 0, fn, arg);
}

static void legacy_handle(struct vcpu *v, unsigned long eid, unsigned long fid,
			  const unsigned long *args, struct sbi_ret *ret)
{
	unsigned request;

	(void)fid;
	ret->error = 0;
	switch (eid) {
	case SBI_EXT_0_1_SET_TIMER:
		vcpu_set_timer(v, args[0]);
		break;
	case SBI_EXT_0_1_CONSOLE_PUTCHAR:
		guest_console_putc(v->vm, (char)args[0]);
		break;
	case SBI_EXT_0_1_CONSOLE_GETCHAR:
		ret->error = guest_console_getc(v->vm);	/* -1: nothing typed */
		break;
	case SBI_EXT_0_1_CLEAR_IPI:
		vcpu_clear_ipi(v);
		break;
	case SBI_EXT_0_1_SEND_IPI:
		ret->error = for_each_legacy_hart(v, args[0], raise_one, NULL);
		break;
	case SBI_EXT_0_1_REMOTE_FENCE_I:
		request = VCPU_REQ_FENCE_I;
		ret->error = for_each_legacy_hart(v, args[0], request_one, &request);
		break;
	case SBI_EXT_0_1_REMOTE_SFENCE_VMA:
	case SBI_EXT_0_1_REMOTE_SFENCE_VMA_ASID:
		request = VCPU_REQ_FLUSH_VS_TLB;
		ret->error = for_each_legacy_hart(v, args[0], request_one, &request);
		break;
	case SBI_EXT_0_1_SHUTDOWN:
		vm_system_reset(v->vm, SBI_SRST_TYPE_SHUTDOWN, SBI_SRST_REASON_NONE);
		break;
	default:
		ret->error = SBI_ERR_NOT_SUPPORTED;
		break;
	}
}

const struct sbi_extension sbi_ext_legacy = {
	.name = "legacy",
	.eid_min = SBI_EXT_0_1_SET_TIMER,
	.eid_max = SBI_EXT_0_1_SHUTDOWN,
	.legacy = true,
	.handle = legacy_handle,
};
