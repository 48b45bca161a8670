/*
 * The run loop of a hart: pick the next runnable vCPU of the hart's run
 * queue, run it until it waits, stops or its slice ends, and sleep in WFI
 * when nothing is runnable, with the hart's timer armed for the earliest
 * guest timer deadline of its queue (with Sstc a waiting guest's timer
 * exists only in its saved vstimecmp: nothing else would wake it).
 *
 * The slice timer is always armed while a guest runs: it shares the hart
 * between vCPUs, wakes waiting vCPUs on time, and lets the hypervisor see
 * a vCPU that never exits on its own (a hard lockup, checked at each exit).
 */
#include <stddef.h>
#include "host/console.h"
#include "arch/csr.h"
#include "host/firmware.h"
#include "core/hart.h"
#include "monitor/monitor.h"
#include "arch/sbi_defs.h"
#include "host/virtio_blk.h"
#include "core/vcpu.h"
#include "core/vcpu_exit.h"
#include "core/vm.h"
#include "core/vm_table.h"

#define SLICE_TICKS (timebase_hz / 200)	/* 5 ms */
#define CONSOLE_POLL_TICKS (timebase_hz / 50)	/* the boot hart polls input: 20 ms */
#define LOCKUP_TICKS (10 * timebase_hz)	/* 10 s of run time with the timer masked */

struct hart harts[MAX_HARTS];
unsigned nharts;
uint64_t timebase_hz = 10000000;	/* QEMU virt's; main.c sets the real one */

#define STACK_CANARY 0x5ca1ab1e0ddba11ULL
extern uint64_t hart_stacks[];	/* boot/entry.S */

static uint64_t *canary_of(unsigned long hartid)
{
	return &hart_stacks[hartid * (HART_STACK_SIZE / sizeof(uint64_t))];
}

void hart_stack_canary_init(unsigned long hartid)
{
	*canary_of(hartid) = STACK_CANARY;
}

void hart_check_stack(void)
{
	struct hart *h = this_hart();

	if (*canary_of(h->hartid) != STACK_CANARY)
		hyp_panic("hart %lu overflowed its %u-byte stack", h->hartid, HART_STACK_SIZE);
}

void hart_set_timer(uint64_t deadline)
{
	this_hart()->timer_deadline = deadline;
	firmware_set_timer(deadline);
}

void hart_pause(uint64_t ticks)
{
	struct hart *h = this_hart();
	uint64_t until = read_time() + ticks;

	if (until < h->timer_deadline)
		firmware_set_timer(until);
	if (!(csr_read(CSR_SIP) & (SIP_STIP | SIP_SSIP | SIP_SEIP)))
		wait_for_interrupt();
	if (until < h->timer_deadline)
		firmware_set_timer(h->timer_deadline);	/* a passed deadline fires now */
	if (csr_read(CSR_SIP) & SIP_SEIP)
		host_blk_handle_irq();		/* we are the disk's interrupt hart */
	if (csr_read(CSR_SIP) & SIP_SSIP) {
		csr_clear(CSR_SIP, SIP_SSIP);	/* the kick that woke us; it may */
		h->resched = true;		/* also have meant "look again" */
	}
}

void hart_kick(unsigned index)
{
	/* A hart not started yet has nothing to look at; an IPI would only
	 * wake it in OpenSBI's wait loop (see boot/entry.S). */
	if (index != this_hart()->index && __atomic_load_n(&harts[index].started, __ATOMIC_ACQUIRE))
		firmware_send_ipi(1, harts[index].hartid);
}

void secondary_entry(void);	/* boot/entry.S */
void secondary_main(struct hart *h);

/* Set (in .data: .bss is zeroed after boot) once harts[] is complete. */
volatile int harts_published __attribute__((section(".data")));
void hart_init(struct hart *h);	/* main.c */

void harts_start_secondaries(void)
{
	__atomic_store_n(&harts_published, 1, __ATOMIC_RELEASE);
	for (unsigned i = 1; i < nharts; i++) {
		long err = firmware_hart_start(harts[i].hartid, (unsigned long)secondary_entry,
					       (unsigned long)&harts[i]);
		if (err == SBI_ERR_ALREADY_AVAILABLE)
			continue;	/* it came in through _start (see boot/entry.S) */
		if (err)
			log_info("hart %lu did not start (SBI error %ld): its vCPUs cannot run",
				 harts[i].hartid, err);
	}
}


/* A hart OpenSBI sent to _start instead of secondary_entry (boot/entry.S):
 * once the boot hart has described the harts, run as the one we are. */
void late_secondary_main(unsigned long hartid)
{
	while (!__atomic_load_n(&harts_published, __ATOMIC_ACQUIRE))
		;
	for (unsigned i = 1; i < nharts; i++)
		if (harts[i].hartid == hartid)
			secondary_main(&harts[i]);
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
	host_blk_enable_irqs();
	hart_run();
	for (;;)
		wait_for_interrupt();
}

/*
 * The hard-lockup watchdog. Linux keeps interrupts masked only briefly;
 * a vCPU whose timer interrupt has been pending while masked (sie.STIE
 * off, or sstatus.SIE off in its kernel) for 10 s of its own run time is
 * stuck for good. Only that VM is stopped.
 */
static void check_lockup(struct vcpu *v, uint64_t ran, uint64_t now)
{
	uint64_t vsstatus = csr_read(CSR_VSSTATUS), vsie = csr_read(CSR_VSIE);
	bool in_kernel = v->ctx.sstatus & SSTATUS_SPP;
	bool pending = now >= csr_read(CSR_VSTIMECMP);
	bool masked = !(vsie & SIP_STIP) || (in_kernel && !(vsstatus & SSTATUS_SIE));

	if (!pending || !masked) {
		v->masked_ticks = 0;
		return;
	}
	v->masked_ticks += ran;
	if (v->masked_ticks >= LOCKUP_TICKS)
		vm_stop(v->vm, VM_HUNG, "hard lockup: a vCPU kept its pending timer "
			"interrupt masked for 10 s of its run time");
}

/* Sleeps until a waiting vCPU's deadline, a kick, or (boot hart) the
 * next console poll. */
static void idle(struct hart *h)
{
	uint64_t start = read_time();
	uint64_t deadline = runqueue_next_deadline(&h->runqueue);

	if (h->index == 0 && deadline > start + CONSOLE_POLL_TICKS)
		deadline = start + CONSOLE_POLL_TICKS;
	hart_set_timer(deadline);
	/* sstatus.SIE is 0: the pending interrupt ends WFI without a trap. */
	while (!(csr_read(CSR_SIP) & (SIP_STIP | SIP_SSIP | SIP_SEIP)) && read_time() < deadline)
		wait_for_interrupt();
	if (csr_read(CSR_SIP) & SIP_SEIP)
		host_blk_handle_irq();
	csr_clear(CSR_SIP, SIP_SSIP);
	hart_set_timer(UINT64_MAX);
	h->idle_ticks += read_time() - start;
}

/* Runs v until it stops being runnable, its slice ends, or a kick asks
 * the hart to look at its queue again. */
static void run_slice(struct hart *h, struct vcpu *v)
{
	struct trap_info t;

	/* The handshake with the VM's reboot (vcpu_begin_run, vcpus_halt):
	 * halted after we picked it? Do not run. */
	if (!vcpu_begin_run(v)) {
		vm_after_run(v->vm);
		return;
	}
	if (!vm_is_running(v->vm)) {
		vcpu_end_run(v);
		vm_after_run(v->vm);
		return;
	}
	vcpu_load(v);
	h->timer_fired = false;
	h->resched = false;
	uint64_t deadline = read_time() + SLICE_TICKS;
	uint64_t wake = runqueue_next_deadline(&h->runqueue);
	hart_set_timer(wake < deadline ? wake : deadline);
	while (vm_is_running(v->vm) && vcpu_power(v) == VCPU_RUNNING &&
	       !h->timer_fired && !h->resched) {
		uint64_t entered = read_time();
		vcpu_enter(v, &t);
		uint64_t now = read_time();
		v->run_ticks += now - entered;
		vcpu_handle_exit(v, &t);
		check_lockup(v, now - entered, now);
	}
	hart_set_timer(UINT64_MAX);
	vcpu_put(v);
	vcpu_end_run(v);	/* not loaded; a hart_stop completes */
	vm_after_run(v->vm);
}

void hart_run(void)
{
	struct hart *h = this_hart();

	while (vm_any_running()) {
		unsigned runnable;
		hart_check_stack();
		if (h->index == 0)
			monitor_poll_console();
		struct vcpu *v = runqueue_pick(&h->runqueue, read_time(), &runnable);
		if (v)
			run_slice(h, v);
		else
			idle(h);
	}
}
