/*
 * discv's own SBI extension (EID SBI_EXT_DISCV, in the firmware-specific
 * range): the paravirtual copy, Disco's bcopy-to-remap. IRIX under Disco
 * called the monitor where its kernel copied a whole page to a whole page
 * (Bugnion et al. 1997, section 4.2.4), so that the copy became a second
 * mapping of the same machine page. A Linux guest with
 * guest-kernel/patches/0002 calls REMAP_PAGE where socket data is copied
 * out to its destination (__skb_datagram_iter): NFS's page-cache pages
 * then become the pages the network brought, which are the server's.
 *
 * REMAP_PAGE(dst, src): after the call, the caller's page dst holds what
 * its page src holds, as one host page mapped read-only at both (copy on
 * write). Both must be page-aligned pages of the caller's RAM, different,
 * mapped (src), and no device's rings. Any refusal leaves dst unchanged,
 * and the guest copies: the call is an optimisation, never a need.
 * PV_COPY=0 hides the extension (its probe answers 0).
 */
#include "core/guest_memory.h"
#include "core/vcpu.h"
#include "core/vm.h"
#include "sbi/sbi.h"

static bool enabled = true;

void sbi_discv_set_enabled(bool on)
{
	enabled = on;
}

static bool discv_available(void)
{
	return enabled;
}

static long remap_page(struct vm *vm, uint64_t dst, uint64_t src)
{
	struct retired_pages retired;
	uint64_t pa;
	bool mapped;

	if ((dst | src) & ~PAGE_MASK)
		return SBI_ERR_INVALID_PARAM;
	if (!guest_memory_contains(vm, dst, PAGE_SIZE) || !guest_memory_contains(vm, src, PAGE_SIZE))
		return SBI_ERR_INVALID_ADDRESS;
	if (dst == src)
		return SBI_ERR_INVALID_PARAM;
	if (vm_device_uses_page(vm, dst) || vm_device_uses_page(vm, src))
		return SBI_ERR_DENIED;
	/* The network's protocol, within one VM (docs/virtual-network.md):
	 * pin src (read-only from now on), fence, map dst to it, fence. */
	pa = guest_memory_pin_shared(vm, src);
	if (!pa)
		return SBI_ERR_FAILED;	/* not mapped: nothing to share */
	guest_memory_sync(vm);
	retired_init(&retired);
	mapped = guest_memory_map_shared(vm, dst, pa, &retired);
	guest_memory_unpin(vm, pa);
	guest_memory_free_retired(vm, &retired);	/* dst's old page, after the fence */
	return mapped ? SBI_SUCCESS : SBI_ERR_FAILED;
}

static void discv_handle(struct vcpu *v, unsigned long eid, unsigned long fid,
			 const unsigned long *args, struct sbi_ret *ret)
{
	(void)eid;
	ret->value = 0;
	switch (fid) {
	case SBI_DISCV_REMAP_PAGE:
		ret->error = remap_page(v->vm, args[0], args[1]);
		if (ret->error == SBI_SUCCESS)
			v->vm->pv_remaps++;
		else
			v->vm->pv_remap_fallbacks++;
		break;
	default:
		ret->error = SBI_ERR_NOT_SUPPORTED;
		break;
	}
}

const struct sbi_extension sbi_ext_discv = {
	.name = "discv",
	.eid_min = SBI_EXT_DISCV,
	.eid_max = SBI_EXT_DISCV,
	.available = discv_available,
	.handle = discv_handle,
};
