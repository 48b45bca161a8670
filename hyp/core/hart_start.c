/*
 * A hart entering the hypervisor: the boot hart from hyp_main, the others
 * from boot/entry.S once the boot hart started them (SBI HSM).
 */
#include "arch/csr.h"
#include "core/sched.h"
#include "g-stage/gstage_fence.h"
#include "host/console.h"
#include "host/irq.h"

extern char hyp_trap_vector[];	/* core/switch.S */

/* Called from switch.S on any trap taken in HS-mode outside a guest. */
void hyp_trap_unexpected(uint64_t scause, uint64_t sepc, uint64_t stval, uint64_t ra)
{
	hyp_panic("unexpected trap in the hypervisor: scause=%lx sepc=%lx stval=%lx ra=%lx",
		  scause, sepc, stval, ra);
}

/* The hart's own state: trap vector, interrupt enables (taken only as
 * exits from guests or as WFI wake-ups: sstatus.SIE stays 0 in HS-mode),
 * FP usable by fp_save/fp_restore. */
void hart_init(struct hart *h)
{
	hart_become(h);
	csr_write(CSR_STVEC, (uint64_t)hyp_trap_vector);
	csr_clear(CSR_SSTATUS, SSTATUS_SIE);
	csr_set(CSR_SSTATUS, SSTATUS_FS_INITIAL);
	csr_write(CSR_SIE, SIP_SSIP | SIP_STIP | SIP_SEIP);
	gstage_probe_vmid_bits();
}

void secondary_main(struct hart *h);

/* A hart OpenSBI sent to _start instead of secondary_entry (boot/entry.S):
 * once the boot hart has described the harts, run as the one we are. */
void late_secondary_main(unsigned long hartid)
{
	struct hart *h = hart_wait_published(hartid);

	if (h)
		secondary_main(h);
	for (;;)
		wait_for_interrupt();
}

/* Entered from boot/entry.S on a secondary hart, a0 = its struct hart. */
void secondary_main(struct hart *h)
{
	if (__atomic_exchange_n(&h->started, 1, __ATOMIC_ACQ_REL))
		for (;;)
			wait_for_interrupt();	/* this hart runs already */
	hart_init(h);
	host_irq_enable_this_hart();
	sched_run();
	for (;;)
		wait_for_interrupt();
}
