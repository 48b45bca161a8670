/*
 * Running a vCPU on this hart: loading and saving its VS-level CSRs, the
 * entry into the guest, and the hooks the SBI handlers use to change a
 * vCPU's timer, interrupts and TLB state.
 */
#include <stddef.h>
#include "arch/csr.h"
#include "g-stage/gstage_fence.h"
#include "core/sched.h"
#include "core/vcpu.h"
#include "core/vcpu_exit.h"
#include "core/vm.h"
#include "core/vm_table.h"
#include "lib/spinlock.h"

void vcpu_switch_to(struct vcpu_context *ctx);
uint64_t guest_fetch_u16(uint64_t gva, uint64_t *fault);
uint64_t guest_load_u64(uint64_t gva, uint64_t *fault);
void fp_save(struct fp_state *fp);
void fp_restore(const struct fp_state *fp);

/* The world switch addresses the context by these offsets. */
_Static_assert(offsetof(struct vcpu, ctx) == 0, "ctx first");
_Static_assert(offsetof(struct vcpu_context, sepc) == CTX_SEPC, "CTX_SEPC");
_Static_assert(offsetof(struct vcpu_context, sstatus) == CTX_SSTATUS, "CTX_SSTATUS");
_Static_assert(offsetof(struct vcpu_context, hstatus) == CTX_HSTATUS, "CTX_HSTATUS");
_Static_assert(offsetof(struct vcpu_context, host_ra) == CTX_HOST_RA, "CTX_HOST_RA");
_Static_assert(offsetof(struct vcpu_context, host_tp) == CTX_HOST_TP, "CTX_HOST_TP");
_Static_assert(offsetof(struct vcpu_context, host_s) == CTX_HOST_S(0), "CTX_HOST_S");
_Static_assert(offsetof(struct vcpu_context, host_sstatus) == CTX_HOST_SSTATUS, "SSTATUS");
_Static_assert(offsetof(struct vcpu_context, host_stvec) == CTX_HOST_STVEC, "STVEC");
_Static_assert(offsetof(struct vcpu_context, host_sscratch) == CTX_HOST_SSCRATCH, "SSCRATCH");
_Static_assert(sizeof(struct vcpu_context) == CTX_SIZE, "CTX_SIZE");
_Static_assert(offsetof(struct fp_state, fcsr) == 256, "fp_state layout");

/* Exceptions the guest handles itself, without an exit (priv spec 8.2.2):
 * misaligned fetch, illegal instruction, breakpoint, ecall from VU-mode,
 * and the guest's own page faults. Illegal instructions reach OpenSBI
 * first (it does not delegate them) and it forwards them here. */
#define GUEST_EXCEPTIONS ((1UL << EXC_INSN_MISALIGNED) | (1UL << EXC_ILLEGAL_INSN) | \
			  (1UL << EXC_BREAKPOINT) | (1UL << EXC_ECALL_U) | \
			  (1UL << EXC_INSN_PAGE_FAULT) | (1UL << EXC_LOAD_PAGE_FAULT) | \
			  (1UL << EXC_STORE_PAGE_FAULT))
/* Interrupts the guest takes directly: its VS software, timer, external. */
#define GUEST_INTERRUPTS (HVIP_VSSIP | HVIP_VSTIP | HVIP_VSEIP)

/*
 * Makes this hart run v: every CSR the guest can see or that decides what
 * it may do. The VS CSRs are the guest's S-level state (priv spec 8.2.x:
 * vsstatus, vsie, ...); scounteren and senvcfg have no VS copy - in VS-mode
 * the guest accesses the real ones, which govern its VU-mode - so they are
 * the guest's too, and switched here like the rest (hcounteren and henvcfg
 * are the hypervisor's controls over VS-mode, the same for every guest).
 */
void vcpu_load(struct vcpu *v)
{
	struct hart *h = this_hart();

	csr_write(CSR_HGATP, gstage_hgatp(&v->vm->gstage));
	/* A vCPU arriving from another hart may find stale G-stage entries
	 * for its VMID here from an earlier visit: flush them. With fewer
	 * hardware VMIDs than VMs the tag cannot be trusted at all. */
	if (!gstage_vmids_distinct(vm_count))
		gstage_fence_all();
	else if (v->last_hart != (int)h->index)
		gstage_fence_vmid(v->vm->gstage.vmid);
	csr_write(CSR_HEDELEG, GUEST_EXCEPTIONS);
	csr_write(CSR_HIDELEG, GUEST_INTERRUPTS);
	csr_write(CSR_HCOUNTEREN, ~0UL);	/* the guest reads time/cycle */
	csr_write(CSR_HENVCFG, HENVCFG_STCE);	/* Sstc: the guest's own stimecmp */
	csr_write(CSR_VSSTATUS, v->csrs.vsstatus);
	csr_write(CSR_VSIE, v->csrs.vsie);
	csr_write(CSR_VSTVEC, v->csrs.vstvec);
	csr_write(CSR_VSSCRATCH, v->csrs.vsscratch);
	csr_write(CSR_VSEPC, v->csrs.vsepc);
	csr_write(CSR_VSCAUSE, v->csrs.vscause);
	csr_write(CSR_VSTVAL, v->csrs.vstval);
	csr_write(CSR_VSATP, v->csrs.vsatp);
	csr_write(CSR_SCOUNTEREN, v->csrs.scounteren);
	csr_write(CSR_SENVCFG, v->csrs.senvcfg);
	csr_write(CSR_HVIP, v->csrs.hvip);
	/* QEMU 7.2 re-arms the guest timer only on a vstimecmp write, not on
	 * htimedelta: write htimedelta first. */
	csr_write(CSR_HTIMEDELTA, v->csrs.htimedelta);
	csr_write(CSR_VSTIMECMP, v->csrs.vstimecmp);
	fp_restore(&v->fp);
	v->fp_dirty = false;
	v->hart = (int)h->index;
	v->last_hart = (int)h->index;
	this_sched()->current = v;
}

/* Saves what vcpu_load loaded and the guest may have changed. */
void vcpu_put(struct vcpu *v)
{
	v->csrs.vsstatus = csr_read(CSR_VSSTATUS);
	v->csrs.vsie = csr_read(CSR_VSIE);
	v->csrs.vstvec = csr_read(CSR_VSTVEC);
	v->csrs.vsscratch = csr_read(CSR_VSSCRATCH);
	v->csrs.vsepc = csr_read(CSR_VSEPC);
	v->csrs.vscause = csr_read(CSR_VSCAUSE);
	v->csrs.vstval = csr_read(CSR_VSTVAL);
	v->csrs.vsatp = csr_read(CSR_VSATP);
	v->csrs.scounteren = csr_read(CSR_SCOUNTEREN);
	v->csrs.senvcfg = csr_read(CSR_SENVCFG);
	/* The guest may have cleared VSSIP through its sip: read it back. */
	v->csrs.hvip = csr_read(CSR_HVIP);
	v->csrs.vstimecmp = csr_read(CSR_VSTIMECMP);
	/* Save FP only if the guest wrote it (sstatus.FS went Dirty). */
	if (v->fp_dirty) {
		fp_save(&v->fp);
		v->fp_dirty = false;
	}
	csr_write(CSR_HVIP, 0);
	csr_write(CSR_VSTIMECMP, UINT64_MAX);
	this_sched()->current = NULL;
}

/* Does the work other harts or the hypervisor queued for this vCPU. */
/* The level of v's external interrupt line, from the VM's interrupt
 * controller (which registered how to read it: vm_set_interrupt_controller). */
static bool vcpu_external_line(const struct vcpu *v)
{
	const struct vm *vm = v->vm;

	return vm->external_line && vm->external_line(vm->interrupt_controller, v->id);
}

static void do_requests(struct vcpu *v)
{
	unsigned req = __atomic_exchange_n(&v->requests, 0, __ATOMIC_ACQ_REL);
	uint64_t irqs = __atomic_exchange_n(&v->irq_inject, 0, __ATOMIC_ACQ_REL);

	if (irqs)
		csr_set(CSR_HVIP, irqs);
	/* The external interrupt is a level: VSEIP follows the vPLIC line. */
	if (vcpu_external_line(v))
		csr_set(CSR_HVIP, HVIP_VSEIP);
	else
		csr_clear(CSR_HVIP, HVIP_VSEIP);
	if (req & VCPU_REQ_FENCE_I)
		__asm__ volatile("fence.i" ::: "memory");
	if (req & VCPU_REQ_FLUSH_VS_TLB)	/* hfence.vvma x0, x0 (current VMID) */
		__asm__ volatile(".insn r 0x73, 0x0, 0x11, x0, x0, x0" ::: "memory");
	if (req & VCPU_REQ_FLUSH_GSTAGE)
		gstage_fence_vmid(v->vm->gstage.vmid);
}

void vcpu_ack_own_requests(void)
{
	struct vcpu *current = this_sched()->current;

	if (current)
		do_requests(current);
}

void spin_lock_acking(struct spinlock *l)
{
	while (!spin_trylock(l))
		vcpu_ack_own_requests();
}

void vcpu_enter(struct vcpu *v, struct trap_info *t)
{
	do_requests(v);
	v->ctx.sstatus = (v->ctx.sstatus & ~SSTATUS_FS) | SSTATUS_FS_CLEAN;
	vcpu_switch_to(&v->ctx);
	t->scause = csr_read(CSR_SCAUSE);
	t->stval = csr_read(CSR_STVAL);
	t->htval = csr_read(CSR_HTVAL);
	t->htinst = csr_read(CSR_HTINST);
	if ((v->ctx.sstatus & SSTATUS_FS) == SSTATUS_FS_DIRTY)
		v->fp_dirty = true;
}

void vcpu_set_timer(struct vcpu *v, uint64_t deadline)
{
	/* Called by the vCPU itself, so it is loaded on this hart. */
	v->csrs.vstimecmp = deadline;
	csr_write(CSR_VSTIMECMP, deadline);
}

void vcpu_raise_ipi(struct vcpu *target)
{
	vcpu_raise_irq(target, HVIP_VSSIP);
}

void vcpu_raise_irq(struct vcpu *target, uint64_t hvip_bit)
{
	struct hart *h = this_hart();

	if (this_sched()->current == target) {
		csr_set(CSR_HVIP, hvip_bit);	/* loaded here: raise it now */
		return;
	}
	/* Raised at its next entry; its hart looks again if it sleeps or
	 * runs another vCPU. */
	__atomic_fetch_or(&target->irq_inject, hvip_bit, __ATOMIC_SEQ_CST);
	if (target->hart == (int)h->index)
		h->kicked = true;
	else
		hart_kick((unsigned)target->hart);
}

void vcpu_clear_ipi(struct vcpu *v)
{
	__atomic_fetch_and(&v->irq_inject, ~HVIP_VSSIP, __ATOMIC_ACQ_REL);
	csr_clear(CSR_HVIP, HVIP_VSSIP);
}

/*
 * Posts work for target's next entry. If it may be running on another
 * hart right now, that hart is kicked out of the guest to do it (an empty
 * request is just the kick: the VM's state changed).
 *
 * Fences are synchronous, as SBI RFENCE and the G-stage protocol require:
 * when this returns, target either has done them or is not loaded (and
 * does them before it next runs guest code). While waiting, this hart
 * does its own vCPU's requests: two vCPUs fencing each other from two
 * harts would otherwise wait for each other forever.
 */
void vcpu_request(struct vcpu *target, unsigned requests)
{
	struct hart *h = this_hart();

	__atomic_fetch_or(&target->requests, requests, __ATOMIC_SEQ_CST);
	if (target->hart < 0 || target->hart == (int)h->index)
		return;	/* a vCPU of this hart is not running now */
	hart_kick((unsigned)target->hart);
	if (!requests)
		return;
	struct vcpu *current = this_sched()->current;
	while ((__atomic_load_n(&target->requests, __ATOMIC_ACQUIRE) & requests) &&
	       __atomic_load_n(&target->loaded, __ATOMIC_ACQUIRE)) {
		if (current)
			do_requests(current);
	}
}

bool vcpu_read_guest_u64(struct vcpu *v, uint64_t gva, uint64_t *value)
{
	uint64_t fault;

	(void)v;
	*value = guest_load_u64(gva, &fault);
	return fault == 0;
}

bool vcpu_fetch_insn(struct vcpu *v, uint32_t *insn)
{
	uint64_t fault;
	uint32_t lo = (uint32_t)guest_fetch_u16(v->ctx.sepc, &fault);

	if (fault)
		return false;
	if ((lo & 3) != 3) {	/* a 16-bit compressed instruction */
		*insn = lo;
		return true;
	}
	/* A 32-bit instruction may cross into the next page: two reads. */
	uint32_t hi = (uint32_t)guest_fetch_u16(v->ctx.sepc + 2, &fault);
	if (fault)
		return false;
	*insn = lo | (hi << 16);
	return true;
}

/*
 * Delivers an exception to the guest as the hardware would if it had been
 * delegated (priv spec 4.1.1 and 8.6.4): vsepc/vscause/vstval record it,
 * vsstatus.SPP the privilege it came from, SPIE the old SIE, and the
 * guest continues at its vstvec with interrupts off, in VS-mode.
 */
void vcpu_inject_exception(struct vcpu *v, uint64_t cause, uint64_t tval)
{
	uint64_t vsstatus = csr_read(CSR_VSSTATUS);

	vsstatus &= ~(SSTATUS_SPP | SSTATUS_SPIE);
	if (v->ctx.sstatus & SSTATUS_SPP)
		vsstatus |= SSTATUS_SPP;
	if (vsstatus & SSTATUS_SIE)
		vsstatus |= SSTATUS_SPIE;
	vsstatus &= ~SSTATUS_SIE;
	csr_write(CSR_VSSTATUS, vsstatus);
	csr_write(CSR_VSEPC, v->ctx.sepc);
	csr_write(CSR_VSCAUSE, cause);
	csr_write(CSR_VSTVAL, tval);
	v->ctx.sepc = csr_read(CSR_VSTVEC) & ~3UL;	/* exceptions use the base */
	v->ctx.sstatus |= SSTATUS_SPP;
}
