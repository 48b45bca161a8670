/*
 * The machine's harts: their table, stacks, timers, kicks and pauses.
 */
#include "arch/csr.h"
#include "arch/sbi_defs.h"
#include "host/console.h"
#include "host/firmware.h"
#include "host/hart.h"
#include "host/irq.h"

struct hart harts[MAX_HARTS];
unsigned nharts;
uint64_t timebase_hz = 10000000;	/* QEMU virt's; main.c sets the real one */

/* Each hart's stack, indexed by hart id; boot/entry.S points sp at the
 * top of its own before any C runs (.bss.stacks: first in .bss). */
uint64_t hart_stacks[MAX_HARTS][HART_STACK_SIZE / sizeof(uint64_t)]
	__attribute__((section(".bss.stacks"), aligned(4096)));

#define STACK_CANARY 0x5ca1ab1e0ddba11ULL

void hart_become(struct hart *h)
{
	__asm__ volatile("mv tp, %0" :: "r"(h));
	hart_stacks[h->hartid][0] = STACK_CANARY;
	h->timer_deadline = UINT64_MAX;	/* not armed */
}

void hart_check_stack(void)
{
	struct hart *h = this_hart();

	if (hart_stacks[h->hartid][0] != STACK_CANARY)
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
		host_irq_handle();		/* we are a host device's interrupt hart */
	if (csr_read(CSR_SIP) & SIP_SSIP) {
		csr_clear(CSR_SIP, SIP_SSIP);	/* the kick that woke us; it may */
		h->kicked = true;		/* also have meant "look again" */
	}
}

void hart_kick(unsigned index)
{
	/* A hart not started yet has nothing to look at; an IPI would only
	 * wake it in OpenSBI's wait loop (see boot/entry.S). */
	if (index != this_hart()->index && __atomic_load_n(&harts[index].started, __ATOMIC_ACQUIRE))
		firmware_send_ipi(1, harts[index].hartid);
}

/* Set (in .data: .bss is zeroed after boot) once harts[] is complete. */
static volatile int harts_published __attribute__((section(".data")));

void harts_start_secondaries(unsigned long entry)
{
	__atomic_store_n(&harts_published, 1, __ATOMIC_RELEASE);
	for (unsigned i = 1; i < nharts; i++) {
		long err = firmware_hart_start(harts[i].hartid, entry, (unsigned long)&harts[i]);
		if (err == SBI_ERR_ALREADY_AVAILABLE)
			continue;	/* it came in through _start (see boot/entry.S) */
		if (err)
			log_info("hart %lu did not start (SBI error %ld): its vCPUs cannot run",
				 harts[i].hartid, err);
	}
}

struct hart *hart_wait_published(unsigned long hartid)
{
	while (!__atomic_load_n(&harts_published, __ATOMIC_ACQUIRE))
		;
	for (unsigned i = 1; i < nharts; i++)
		if (harts[i].hartid == hartid)
			return &harts[i];
	return NULL;
}
