/*
 * smp-test: a 4-vCPU guest that reboots in a loop while its other vCPUs
 * sit in WFI, in HSM suspend, and start and stop each other (issue 7,
 * defects 3 and 14). Run it interactively (no GUEST_CMD: in batch mode
 * discv treats a reboot as a crash) with GUEST_VCPUS=4 on HARTS=4.
 *
 * Each boot (vCPU 0 boots, the others stopped):
 *   1. checks that the reboot left every sibling STOPPED;
 *   2. the start race: vCPUs 1 and 2 hart_start vCPU 3 at the same
 *      moment, ROUNDS times a boot: exactly one may win each round
 *      (SBI 2.0 9.1: the other gets SBI_ERR_ALREADY_AVAILABLE);
 *   3. the storm: vCPU 1 executes WFI in a loop (its timer due at once, or
 *      soon), vCPU 2 suspends (HSM retentive) in a loop and keeps starting
 *      vCPU 3, which runs a few WFIs and stops itself; vCPU 0 joins in
 *      starting vCPU 3, and once the storm is under way asks for a cold
 *      reboot (SBI SRST), so the reboot lands while WFI exits, suspends,
 *      starts and stops are in flight on three other harts.
 * After REBOOTS reboots (/chosen/discv,boot-count, docs/guest-platform.md)
 * it checks that a WFI in U-mode raises an illegal-instruction exception
 * (priv spec 3.1.6.5) and powers off: "smp-test: PASS" with reason 0,
 * or "smp-test: FAIL ..." with reason system failure.
 */
#include "console.h"
#include "fdt.h"
#include "smp.h"

#ifndef REBOOTS
#define REBOOTS 50
#endif
#define ROUNDS 5	/* start-race rounds per boot */
#ifndef START_RACE
#define START_RACE 1	/* 0: only the storm and the reboots */
#endif
#define NHARTS 4
#define TIMEBASE_HZ 10000000UL	/* QEMU virt; only bounds waits */

#define EXT_SRST	0x53525354
#define SRST_SHUTDOWN	0
#define SRST_COLD_REBOOT 1
#define SRST_NO_REASON	0
#define SRST_FAILURE	1
#define SBI_ERR_ALREADY_AVAILABLE -6

#define SIE_STIE	(1UL << 5)
#define SSTATUS_SPP	(1UL << 8)
#define SCAUSE_ILLEGAL	2
#define SCAUSE_UECALL	8
#define INSN_WFI	0x10500073UL

static unsigned failures;

#define FAIL(...) do { print("smp-test: FAIL " __VA_ARGS__); failures++; } while (0)

static void srst(unsigned long type, unsigned long reason)
{
	register unsigned long a0 __asm__("a0") = type;
	register unsigned long a1 __asm__("a1") = reason;
	register unsigned long a6 __asm__("a6") = 0;
	register unsigned long a7 __asm__("a7") = EXT_SRST;

	__asm__ volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a6), "r"(a7) : "memory");
}

static unsigned long read_time(void)
{
	unsigned long t;

	__asm__ volatile("rdtime %0" : "=r"(t));
	return t;
}

/* Sstc: the guest's own timer compare (vstimecmp under discv). */
static void set_timer(unsigned long deadline)
{
	__asm__ volatile("csrw 0x14d, %0" :: "r"(deadline));
}

static void wfi(void)
{
	__asm__ volatile("wfi" ::: "memory");
}

/* WFI returns when an interrupt enabled in sie is pending, even with
 * sstatus.SIE = 0 (priv spec 3.3.3): the timer ends it, no trap taken. */
static void timer_wakes_wfi(void)
{
	__asm__ volatile("csrs sie, %0" :: "r"(SIE_STIE));
}

/* ---- 2. the start race ------------------------------------------------ */

static unsigned round_now = ~0U;	/* the round the racers may play */
static unsigned tried;			/* racers' attempts, all rounds */
static unsigned wins[ROUNDS];
static unsigned entries[ROUNDS];

static void race_target(unsigned long hartid, unsigned long round)
{
	(void)hartid;
	smp_fetch_add(&entries[round], 1);
	/* Stay started until both racers have tried, or the loser could
	 * legitimately start us a second time. */
	while (smp_load_acquire(&tried) < 2 * (round + 1))
		;
}

static void racer(unsigned long hartid, unsigned long arg)
{
	(void)hartid;
	(void)arg;
	for (unsigned r = 0; r < ROUNDS; r++) {
		while (smp_load_acquire(&round_now) != r)
			;
		if (smp_start(3, race_target, r) == 0)
			smp_fetch_add(&wins[r], 1);
		smp_fetch_add(&tried, 1);
	}
}

static void wait_stopped(unsigned long hartid)
{
	while (smp_hart_status(hartid) != HSM_STOPPED)
		;
}

static void start_race(void)
{
	if (smp_start(1, racer, 0) || smp_start(2, racer, 0)) {
		FAIL("cannot start vCPUs 1 and 2\n");
		return;
	}
	for (unsigned r = 0; r < ROUNDS; r++) {
		smp_store_release(&round_now, r);
		while (smp_load_acquire(&tried) < 2 * (r + 1))
			;
		wait_stopped(3);
		/* 2 wins: both starts took the target. 0 wins: hart_start
		 * refused a target that hart_get_status said was STOPPED. */
		if (wins[r] != 1 || entries[r] != 1)
			FAIL("start race round %u: %u of 2 hart_starts won, target entered %u times\n",
			     r, wins[r], entries[r]);
	}
	wait_stopped(1);
	wait_stopped(2);
}

/* ---- 3. the storm --------------------------------------------------- */

static unsigned long wfi_count, suspend_count, worker_count, worker_starts;

/* In .data: loaded from the image at each boot (start.S zeroes only
 * .bss), and stored to only by the storm vCPUs of a boot. Non-zero at
 * the start of a boot: a vCPU of the previous boot ran during the reboot
 * and wrote into this boot's memory (the reboot freed pages under it). */
static volatile unsigned long ghost __attribute__((section(".data"))) = 0;

static void wfi_storm(unsigned long hartid, unsigned long arg)
{
	(void)hartid;
	(void)arg;
	timer_wakes_wfi();
	for (unsigned long i = 0;; i++) {
		/* Due at once (the exit and the wake-up race), or in 50 us
		 * (the vCPU really sleeps). */
		set_timer(i % 4 ? 0 : read_time() + 500);
		wfi();
		ghost = 1;
		smp_fetch_add(&wfi_count, 1);
	}
}

static void worker(unsigned long hartid, unsigned long arg)
{
	(void)hartid;
	(void)arg;
	timer_wakes_wfi();
	for (int i = 0; i < 3; i++) {
		set_timer(0);
		wfi();
		ghost = 3;
	}
	smp_fetch_add(&worker_count, 1);
}	/* returns: smp_secondary_main stops this hart */

static void suspend_storm(unsigned long hartid, unsigned long arg)
{
	(void)hartid;
	(void)arg;
	timer_wakes_wfi();
	for (unsigned long i = 0;; i++) {
		set_timer(i % 4 ? 0 : read_time() + 300);
		smp_suspend_retentive();
		ghost = 2;
		smp_fetch_add(&suspend_count, 1);
		if (smp_start(3, worker, 0) == 0)
			smp_fetch_add(&worker_starts, 1);
	}
}

static void storm_then_reboot(unsigned boot)
{
	long e1 = smp_start(1, wfi_storm, 0), e2 = smp_start(2, suspend_storm, 0);

	if (e1 || e2) {
		FAIL("boot %u: hart_start of vCPUs 1 and 2: SBI errors %ld %ld\n", boot, e1, e2);
		return;
	}
	/* Let the storm get going, vCPU 0 starting vCPU 3 too, then reboot
	 * at a moment that moves from boot to boot. */
	unsigned long want = 20 + (boot * 7) % 40;
	unsigned long give_up = read_time() + 2 * TIMEBASE_HZ;
	while (smp_load_acquire(&wfi_count) < want || smp_load_acquire(&suspend_count) < want / 2) {
		if (smp_start(3, worker, 0) == 0)
			smp_fetch_add(&worker_starts, 1);
		if (read_time() > give_up) {
			FAIL("boot %u: the storm stalled: %lu WFIs, %lu suspends in 2 s\n", boot,
			     wfi_count, suspend_count);
			return;
		}
	}
	print("smp-test: boot %u: rebooting after %lu WFIs, %lu suspends, %lu starts of vCPU 3\n",
	      boot, wfi_count, suspend_count, worker_starts);
	srst(SRST_COLD_REBOOT, SRST_NO_REASON);
	FAIL("boot %u: SRST cold reboot returned\n", boot);
}

/* ---- the last boot: WFI in U-mode ----------------------------------- */

static volatile unsigned long user_cause[4];
static volatile unsigned user_traps;
unsigned long user_resume;	/* written by run_user */

void run_user(void (*fn)(void));	/* below: enters fn in U-mode */
void user_wfi(void);

__asm__(
	"	.text\n"
	"	.globl run_user\n"
	"run_user:\n"			/* a0 = user code; it ends with ecall */
	"	addi	sp, sp, -16\n"
	"	sd	ra, 0(sp)\n"
	"	la	t0, 1f\n"
	"	la	t1, user_resume\n"
	"	sd	t0, 0(t1)\n"
	"	csrw	sepc, a0\n"
	"	li	t0, 0x100\n"		/* sstatus.SPP = 0: to U-mode */
	"	csrc	sstatus, t0\n"
	"	sret\n"
	"1:	ld	ra, 0(sp)\n"		/* back in S-mode (trap_handler) */
	"	addi	sp, sp, 16\n"
	"	ret\n"
	"	.globl user_wfi\n"
	"user_wfi:\n"
	"	wfi\n"
	"	ecall\n"
	"2:	j	2b\n");

void trap_handler(void)
{
	unsigned long scause, sepc, stval;

	__asm__ volatile("csrr %0, scause; csrr %1, sepc; csrr %2, stval"
			 : "=r"(scause), "=r"(sepc), "=r"(stval));
	unsigned n = user_traps++;
	if (n < 4)
		user_cause[n] = scause;
	if ((long)scause < 0) {		/* an interrupt: the timer below */
		set_timer(~0UL);	/* clears it; sepc is where to go on */
		return;
	}
	if (scause == SCAUSE_ILLEGAL && stval != INSN_WFI && stval != 0)
		FAIL("illegal-instruction stval 0x%lx, expected the WFI 0x%lx\n", stval,
		     INSN_WFI);
	if (scause == SCAUSE_UECALL || n >= 3) {
		/* Back to S-mode, to run_user's return. */
		__asm__ volatile("csrw sepc, %0; csrs sstatus, %1"
				 :: "r"(user_resume), "r"(SSTATUS_SPP));
		return;
	}
	__asm__ volatile("csrw sepc, %0" :: "r"(sepc + 4));
}

static void check_user_wfi(void)
{
	/* Only the timer enabled, due in 20 ms: a WFI that waited (as if
	 * the kernel had run it) ends with the timer interrupt, taken at once
	 * in U-mode (priv spec 3.1.6.1: S-level interrupts are always enabled
	 * below S-mode), instead of the illegal-instruction exception. */
	__asm__ volatile("csrw sie, %0" :: "r"(SIE_STIE));
	set_timer(read_time() + TIMEBASE_HZ / 50);
	run_user(user_wfi);
	set_timer(~0UL);
	__asm__ volatile("csrw sie, zero");
	if (user_traps != 2 || user_cause[0] != SCAUSE_ILLEGAL || user_cause[1] != SCAUSE_UECALL)
		FAIL("WFI in U-mode: %u traps, causes 0x%lx 0x%lx, expected an illegal "
		     "instruction (0x2) then the ecall (0x8)\n", user_traps, user_cause[0],
		     user_cause[1]);
	else
		print("smp-test: WFI in U-mode raised an illegal-instruction exception\n");
}

int main(unsigned long hartid, const void *dtb)
{
	unsigned boot = 0;

	if (ghost)
		FAIL("vCPU %lu of the previous boot wrote into this boot's memory\n", ghost);
	if (!fdt_chosen_u32(dtb, "discv,boot-count", &boot))
		FAIL("no /chosen/discv,boot-count\n");
	if (hartid != 0)
		FAIL("booted on hart %lu, expected 0\n", hartid);
	for (unsigned long h = 1; h < NHARTS; h++)
		if (smp_hart_status(h) != HSM_STOPPED)
			FAIL("boot %u: vCPU %lu is in HSM state %ld after the reboot\n", boot, h,
			     smp_hart_status(h));
	if (failures == 0 && boot < REBOOTS) {
		if (START_RACE)
			start_race();
		if (failures == 0) {
			storm_then_reboot(boot);	/* returns only on failure */
		}
	}
	if (failures == 0) {
		check_user_wfi();
	}
	if (failures == 0) {
		print("smp-test: PASS: %u reboots with vCPUs in WFI, suspend, start and stop\n",
		      boot);
		srst(SRST_SHUTDOWN, SRST_NO_REASON);
	} else {
		print("smp-test: FAIL: %u failures at boot %u\n", failures, boot);
		srst(SRST_SHUTDOWN, SRST_FAILURE);
	}
	for (;;)
		wfi();
}
