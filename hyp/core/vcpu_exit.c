/*
 * Exit handling: every trap from the guest that is not delegated to it
 * lands here, is counted by cause (hvstat exits_by_cause) and is served:
 * SBI calls, first touches of guest RAM, WFI, and the faults a real
 * machine would raise, which are reflected back into the guest.
 */
#include "core/pager.h"
#include "host/console.h"
#include "arch/csr.h"
#include "host/firmware.h"
#include "g-stage/gstage_fence.h"
#include "core/guest_memory.h"
#include "core/sched.h"
#include "mem/host_pages.h"
#include "lib/format.h"
#include "core/mmio.h"
#include "host/irq.h"
#include "arch/sbi_defs.h"
#include "core/vcpu.h"
#include "core/vcpu_exit.h"
#include "core/vm.h"

/* The access fault a machine without memory at that address raises. */
static uint64_t access_fault_for(uint64_t guest_page_fault)
{
	switch (guest_page_fault) {
	case EXC_INSN_GUEST_PAGE_FAULT: return EXC_INSN_ACCESS;
	case EXC_LOAD_GUEST_PAGE_FAULT: return EXC_LOAD_ACCESS;
	default: return EXC_STORE_ACCESS;
	}
}

/*
 * The host had no page for this VM's first touch or copy-on-write. The
 * allocator refuses only a VM at or over its share of host memory, and
 * only once the block cache gave back what it could (host_pages.h): so the
 * VM that asked is the one that caused it, and it is stopped, with a
 * message that says how much it holds against its share. (If it was within
 * its share, the host itself is short, and the message says that.)
 */
void vcpu_exit_stop_for_memory(struct vm *vm, enum touch_result why_touch)
{
	struct host_owner_report r;
	char why[300];

	if (why_touch == TOUCH_SWAP_FAILED) {
		vm_stop(vm, VM_KILLED, "the swap disk could not read one of its pages back");
		return;
	}

	host_pages_owner_report(vm->host, (uint16_t)vm->id, &r);
	bool over = r.share && r.pages >= r.share;

	if (over)
		format(why, sizeof(why),
		       "out of host memory: it holds %lu host pages, over its share of %lu "
		       "(the other guests' unused shares, %lu pages, are kept for them), "
		       "and the pager found nothing to reclaim: %s",
		       r.pages, r.share, r.reserved_for_others, pager_why_nothing());
	else
		format(why, sizeof(why),
		       "out of host memory: the host has no page left although it holds "
		       "%lu host pages, within its share of %lu, and the pager found nothing "
		       "to reclaim: %s",
		       r.pages, r.share, pager_why_nothing());
	vm_stop(vm, VM_KILLED, why);
	if (!over)	/* its unused share is reserved for nobody now */
		host_pages_drop_share(vm->host, (uint16_t)vm->id);
}

/*
 * A guest-page fault: the G-stage has no (or no suitable) mapping. The
 * faulting guest-physical address is htval << 2 | stval[1:0] (priv spec
 * 8.6.3). Guest RAM is mapped on first touch (with its neighbours, see
 * guest_memory_fault_in); an emulated device's registers are never mapped,
 * so their accesses land here and are emulated (mmio.c); anything else is
 * a hole in the guest's physical address space and faults as on hardware.
 */
static void guest_page_fault(struct vcpu *v, const struct trap_info *t)
{
	uint64_t gpa = (t->htval << 2) | (t->stval & 3);
	bool spurious;

	/* Free memory LOW: a VM over its target pages out its own first. */
	if (guest_memory_contains(v->vm, gpa & PAGE_MASK, PAGE_SIZE))
		pager_admit(v->vm);
	/* First touch, or a store to a shared page (copy-on-write: paid for
	 * at the end of the exit, guest_memory_sync). */
	enum touch_result r = guest_memory_fault(v->vm, gpa, t->scause == EXC_STORE_GUEST_PAGE_FAULT,
						 &spurious);
	switch (r) {
	case TOUCH_OK:
		/* The mapping was already right: this hart used a stale entry
		 * (priv spec 4.2.1 lets it keep one until it fences). */
		if (spurious)
			gstage_fence_gpa(v->vm->gstage.vmid, gpa & PAGE_MASK);
		return;	/* retry the access */
	case TOUCH_NO_MEMORY:
	case TOUCH_SWAP_FAILED:
		vcpu_exit_stop_for_memory(v->vm, r);
		return;
	case TOUCH_RETRY:
		return;	/* the exit's closing sync makes room: retry the access */
	case TOUCH_NOT_RAM:
		break;
	}
	/* An emulated device's registers, or a hole. */
	const struct mmio_region *region = mmio_find(v->vm, gpa);
	if (region && t->scause != EXC_INSN_GUEST_PAGE_FAULT && mmio_emulate(v, region, gpa))
		return;
	vcpu_inject_exception(v, access_fault_for(t->scause), t->stval);
}

/*
 * A virtual-instruction exception (priv spec 20211203, 8.6.1): an
 * instruction legal in HS-mode but not allowed to the guest. WFI lands
 * here from VS-mode because discv sets hstatus.VTW, and from VU-mode
 * always (mstatus.TW = 0 under OpenSBI). The guest sees a machine with S-
 * and U-mode and no H: there a WFI in U-mode raises an illegal-instruction
 * exception (3.1.6.5, TW: "When S-mode is implemented, then executing WFI
 * in U-mode causes an illegal instruction exception"), so that is what a
 * VU-mode WFI delivers to the guest kernel; only the kernel's WFI waits.
 * sstatus.SPP holds the guest's privilege at the trap (8.6.4). Everything
 * else (hypervisor CSRs, hfence, ...) is illegal for such a guest too.
 */
static void virtual_instruction(struct vcpu *v, const struct trap_info *t)
{
	uint32_t insn = (uint32_t)t->stval;

	if (insn == 0 && !vcpu_fetch_insn(v, &insn))
		return;	/* the guest's mapping changed under us: let it retry */
	if (insn == INSN_WFI && (v->ctx.sstatus & SSTATUS_SPP)) {
		v->ctx.sepc += 4;
		vcpu_wait(v);	/* RUNNING -> WAITING, unless a reboot halted it */
		return;
	}
	vcpu_inject_exception(v, EXC_ILLEGAL_INSN, insn);
}

/* An interrupt for the hypervisor arrived while the guest ran. */
static void host_interrupt(struct vcpu *v, uint64_t irq)
{
	(void)v;
	switch (irq) {
	case IRQ_S_TIMER:
		hart_set_timer(UINT64_MAX);	/* clears sip.STIP */
		this_hart()->timer_fired = true;
		break;
	case IRQ_S_SOFT:
		csr_clear(CSR_SIP, SIP_SSIP);	/* a kick from another hart: */
		this_hart()->kicked = true;	/* look at the run queue again */
		break;
	case IRQ_S_EXT:
		host_irq_handle();		/* a host device (a disk) signalled */
		break;
	default:
		break;
	}
}

static void (*ecall_handler)(struct vcpu *v);

void vcpu_exit_set_ecall_handler(void (*handler)(struct vcpu *v))
{
	ecall_handler = handler;
}

void vcpu_handle_exit(struct vcpu *v, const struct trap_info *t)
{
	enum exit_reason reason = exit_reason_of(t->scause);

	struct exit_record *r = &v->trace[v->trace_next++ % VCPU_TRACE_LEN];

	v->exits++;
	v->exits_by_cause[reason]++;
	*r = (struct exit_record){ read_time(), t->scause, v->ctx.sepc, t->stval };
	if (reason >= EXIT_FETCH_GUEST_PAGE_FAULT && reason <= EXIT_STORE_GUEST_PAGE_FAULT)
		r->tval = (t->htval << 2) | (t->stval & 3);
	else if (reason == EXIT_ECALL)
		r->tval = v->ctx.x[REG_A7];	/* the SBI extension called */
	if (t->scause & CAUSE_INTERRUPT) {
		host_interrupt(v, t->scause & ~CAUSE_INTERRUPT);
		vm_serve_kicked_devices(v->vm);
		return;
	}
	switch (t->scause) {
	case EXC_ECALL_VS:
		v->ctx.sepc += 4;	/* before the call: hart_start etc. may redirect */
		if (ecall_handler)
			ecall_handler(v);
		else
			v->ctx.x[REG_A0] = (uint64_t)SBI_ERR_NOT_SUPPORTED;
		break;
	case EXC_INSN_GUEST_PAGE_FAULT:
	case EXC_LOAD_GUEST_PAGE_FAULT:
	case EXC_STORE_GUEST_PAGE_FAULT:
		guest_page_fault(v, t);
		break;
	case EXC_VIRTUAL_INSN:
		virtual_instruction(v, t);
		break;
	case EXC_ILLEGAL_INSN:
		vcpu_inject_exception(v, EXC_ILLEGAL_INSN, t->stval);
		break;
	default:
		log_info("%s: vcpu %u: unexpected trap scause=%lx stval=%lx sepc=%lx",
			 v->vm->name, v->id, t->scause, t->stval, v->ctx.sepc);
		vm_stop(v->vm, VM_KILLED, "unexpected trap");
		break;
	}
	/* A G-stage change in this exit (a copy-on-write by a guest store, or
	 * by a device or SBI call writing guest memory) may have left the VM's
	 * other vCPUs a stale translation: pay the fence before this vCPU
	 * retries its access, with no lock held (docs/concurrency.md). */
	guest_memory_sync(v->vm);
	vm_serve_kicked_devices(v->vm);
}
