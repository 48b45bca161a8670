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
#include "arch/csr.h"
#include "core/content_scan.h"
#include "core/pager.h"
#include "core/sched.h"
#include "core/vcpu.h"
#include "core/vcpu_exit.h"
#include "core/vm.h"
#include "core/vm_table.h"
#include "host/console.h"
#include "host/irq.h"

#define SLICE_TICKS (timebase_hz / 200)	/* 5 ms */
#define CONSOLE_POLL_TICKS (timebase_hz / 50)	/* the boot hart polls input: 20 ms */
#define LOCKUP_TICKS (10 * timebase_hz)	/* 10 s of run time with the timer masked */

struct hart_sched hart_sched[MAX_HARTS];

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
static void idle(struct hart *h, struct hart_sched *s)
{
	uint64_t start = read_time();
	uint64_t deadline = runqueue_next_deadline(&s->runqueue);

	if (h->index == 0 && deadline > start + CONSOLE_POLL_TICKS)
		deadline = start + CONSOLE_POLL_TICKS;
	hart_set_timer(deadline);
	/* Idle time is the pager's when free memory is short (HARD), then
	 * the content scanner's (it stops at a pending interrupt: the timer
	 * above is armed first). */
	pager_background();
	uint64_t scan_next = content_scan(true);
	if (scan_next < deadline) {
		deadline = scan_next;
		hart_set_timer(deadline);
	}
	/* sstatus.SIE is 0: the pending interrupt ends WFI without a trap. */
	while (!(csr_read(CSR_SIP) & (SIP_STIP | SIP_SSIP | SIP_SEIP)) && read_time() < deadline)
		wait_for_interrupt();
	if (csr_read(CSR_SIP) & SIP_SEIP)
		host_irq_handle();
	csr_clear(CSR_SIP, SIP_SSIP);
	hart_set_timer(UINT64_MAX);
	s->idle_ticks += read_time() - start;
}

/* Runs v until it stops being runnable, its slice ends, or a kick asks
 * the hart to look at its queue again. */
static void run_slice(struct hart *h, struct hart_sched *s, struct vcpu *v)
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
	h->kicked = false;
	uint64_t deadline = read_time() + SLICE_TICKS;
	uint64_t wake = runqueue_next_deadline(&s->runqueue);
	hart_set_timer(wake < deadline ? wake : deadline);
	while (vm_is_running(v->vm) && vcpu_power(v) == VCPU_RUNNING &&
	       !h->timer_fired && !h->kicked) {
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

static void (*polls[SCHED_MAX_POLLS])(void);
static unsigned npolls;

bool sched_add_poll(void (*poll)(void))
{
	if (npolls == SCHED_MAX_POLLS)
		return false;
	polls[npolls++] = poll;
	return true;
}

void sched_run(void)
{
	struct hart *h = this_hart();
	struct hart_sched *s = this_sched();

	while (vm_any_running()) {
		unsigned runnable;
		hart_check_stack();
		if (h->index == 0)
			console_poll_input();
		for (unsigned i = 0; i < npolls; i++)
			polls[i]();
		content_scan(false);
		struct vcpu *v = runqueue_pick(&s->runqueue, read_time(), &runnable);
		if (v)
			run_slice(h, s, v);
		else
			idle(h, s);
	}
}
