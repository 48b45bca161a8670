/*
 * sbi-test: an S-mode guest that checks discv's SBI implementation.
 *
 * Each check prints "PASS <name>" or "FAIL <name>: got X expected Y", then
 * main() prints "sbi-test: N passed, M failed" and powers off with SBI SRST:
 * reason 0 (no reason) if everything passed, 1 (system failure) otherwise.
 *
 * Chapter numbers refer to the RISC-V SBI specification v2.0.  The expected
 * values follow discv's platform contract (README.md), which picks one answer
 * where the spec leaves a choice (e.g. probe_extension returning exactly 1).
 */
#include <stdarg.h>
#include "console.h"

typedef unsigned long ulong;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

/* ------------------------------------------------------------------------ */
/* Platform facts (discv contract)                                          */
/* ------------------------------------------------------------------------ */

#define RAM_BASE	0x80000000UL
#define TIMEBASE_HZ	10000000UL		/* QEMU virt; only sets durations */
#define MS(n)		((n) * (TIMEBASE_HZ / 1000))
#define POLL_TICKS	MS(100)			/* give async effects 100 ms      */
#define POLL_SPINS	10000000UL		/* ... or this many loops, if time stalls */

#define SIP_SSIP	(1UL << 1)
#define SIP_STIP	(1UL << 5)
#define SIE_STIE	(1UL << 5)

/* ------------------------------------------------------------------------ */
/* SBI calling convention (ch. 3): a7 = EID, a6 = FID, a0-a5 = arguments,   */
/* returns a0 = error, a1 = value.                                          */
/* ------------------------------------------------------------------------ */

#define SBI_SUCCESS			0
#define SBI_ERR_NOT_SUPPORTED		-2
#define SBI_ERR_INVALID_PARAM		-3
#define SBI_ERR_ALREADY_AVAILABLE	-6

#define EXT_BASE	0x10
#define EXT_TIME	0x54494D45
#define EXT_IPI		0x735049
#define EXT_RFENCE	0x52464E43
#define EXT_HSM		0x48534D
#define EXT_SRST	0x53525354
#define EXT_DBCN	0x4442434E
#define EXT_PMU		0x504D55
#define EXT_SUSP	0x53555350
#define EXT_CPPC	0x43505043
#define EXT_BOGUS	0x12345678

struct sbiret {
	long error;
	long value;
};

static struct sbiret sbi_call(ulong eid, ulong fid, ulong arg0, ulong arg1,
			      ulong arg2, ulong arg3, ulong arg4)
{
	register ulong a0 asm("a0") = arg0;
	register ulong a1 asm("a1") = arg1;
	register ulong a2 asm("a2") = arg2;
	register ulong a3 asm("a3") = arg3;
	register ulong a4 asm("a4") = arg4;
	register ulong a6 asm("a6") = fid;
	register ulong a7 asm("a7") = eid;

	asm volatile("ecall"
		     : "+r"(a0), "+r"(a1)
		     : "r"(a2), "r"(a3), "r"(a4), "r"(a6), "r"(a7)
		     : "memory");
	return (struct sbiret){ .error = (long)a0, .value = (long)a1 };
}

#define sbi0(e, f)			sbi_call(e, f, 0, 0, 0, 0, 0)
#define sbi1(e, f, a)			sbi_call(e, f, a, 0, 0, 0, 0)
#define sbi2(e, f, a, b)		sbi_call(e, f, a, b, 0, 0, 0)
#define sbi3(e, f, a, b, c)		sbi_call(e, f, a, b, c, 0, 0)
#define sbi4(e, f, a, b, c, d)		sbi_call(e, f, a, b, c, d, 0)
#define sbi5(e, f, a, b, c, d, g)	sbi_call(e, f, a, b, c, d, g)

/* Legacy extensions (ch. 5): a7 = EID, result in a0 only. */
static long sbi_legacy(ulong eid, ulong arg0)
{
	register ulong a0 asm("a0") = arg0;
	register ulong a7 asm("a7") = eid;

	asm volatile("ecall" : "+r"(a0) : "r"(a7) : "a1", "memory");
	return (long)a0;
}

/* ------------------------------------------------------------------------ */
/* CSRs                                                                     */
/* ------------------------------------------------------------------------ */

#define csr_read(c) ({ ulong v_; asm volatile("csrr %0, " #c : "=r"(v_) :: "memory"); v_; })
#define csr_write(c, v)	asm volatile("csrw " #c ", %0" :: "r"((ulong)(v)) : "memory")
#define csr_set(c, v)	asm volatile("csrs " #c ", %0" :: "r"((ulong)(v)) : "memory")
#define csr_clear(c, v)	asm volatile("csrc " #c ", %0" :: "r"((ulong)(v)) : "memory")

static ulong rdtime(void)
{
	ulong t;

	asm volatile("rdtime %0" : "=r"(t));
	return t;
}

/* Wait (bounded by time AND by a loop count) for sip & bit to equal want. */
static int wait_sip(ulong bit, int want)
{
	ulong start = rdtime();

	for (ulong i = 0; i < POLL_SPINS; i++) {
		if (!!(csr_read(sip) & bit) == want)
			return 1;
		if (rdtime() - start > POLL_TICKS)
			break;
	}
	return !!(csr_read(sip) & bit) == want;
}

/* ------------------------------------------------------------------------ */
/* Reporting                                                                */
/* ------------------------------------------------------------------------ */

static int n_pass, n_fail;

/* PASS if ok; else "FAIL name: " followed by the got/expected text. */
static void check(const char *name, int ok, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		n_pass++;
		print("PASS %s\n", name);
		return;
	}
	n_fail++;
	print("FAIL %s: ", name);
	va_start(ap, fmt);
	vprint(fmt, ap);
	va_end(ap);
	print("\n");
}

/* The common case: an SBI call that should return just an error code. */
static void check_err(const char *name, struct sbiret r, long want)
{
	check(name, r.error == want, "got %ld expected %ld", r.error, want);
}

/* An SBI call that should succeed/fail and also return a given value. */
static void check_ret(const char *name, struct sbiret r, long err, long val)
{
	check(name, r.error == err && r.value == val,
	      "got error=%ld value=0x%lx expected error=%ld value=0x%lx",
	      r.error, r.value, err, val);
}

/* Power off through SRST (ch. 10.1); legacy shutdown (ch. 5.8) as backup. */
static void __attribute__((noreturn)) power_off(int failed)
{
	sbi2(EXT_SRST, 0, 0 /* shutdown */, failed ? 1 : 0);
	print("sbi-test: SRST system_reset returned, trying legacy shutdown\n");
	sbi_legacy(8, 0);
	for (;;)
		asm volatile("wfi");
}

/* ------------------------------------------------------------------------ */
/* Trap handling: record scause/stval, skip the faulting instruction.       */
/* ------------------------------------------------------------------------ */

static volatile struct {
	int armed;	/* a test expects a trap right now */
	int timer_armed;	/* a test expects a timer interrupt right now */
	int timer_irqs;	/* timer interrupts taken while timer_armed */
	int count;
	ulong scause, stval, sepc;
} trap;

void trap_handler(void);	/* called from start.S */
void trap_handler(void)
{
	ulong scause = csr_read(scause);
	ulong sepc = csr_read(sepc);
	ulong stval = csr_read(stval);

	/* An expected supervisor timer interrupt: count it, then clear it the
	 * SBI way (a deadline of -1) and return to the interrupted code. */
	if (scause == ((1UL << 63) | 5) && trap.timer_armed) {
		trap.timer_irqs++;
		sbi1(EXT_TIME, 0, -1UL);
		return;
	}

	/* Instruction fetch faults (0, 1, 12) cannot be skipped: sepc is bad. */
	if (!trap.armed || (long)scause < 0 ||
	    scause == 0 || scause == 1 || scause == 12) {
		n_fail++;
		print("FAIL unexpected_trap: got scause=0x%lx sepc=0x%lx "
		      "stval=0x%lx expected no trap\n", scause, sepc, stval);
		print("sbi-test: %d passed, %d failed\n", n_pass, n_fail);
		power_off(1);
	}
	trap.count++;
	trap.scause = scause;
	trap.stval = stval;
	trap.sepc = sepc;
	/* Instructions whose low two bits are 0b11 are 32 bits, others 16. */
	csr_write(sepc, sepc + ((*(volatile u16 *)sepc & 3) == 3 ? 4 : 2));
}

static void trap_arm(void)
{
	trap.count = 0;
	trap.scause = trap.stval = trap.sepc = 0;
	trap.armed = 1;
	asm volatile("" ::: "memory");
}

static void trap_disarm(void)
{
	asm volatile("" ::: "memory");
	trap.armed = 0;
}

/* Check that exactly one trap with the given scause (and stval) happened. */
static void check_trap(const char *name, ulong scause, int check_stval, ulong stval)
{
	check(name, trap.count == 1 && trap.scause == scause &&
		    (!check_stval || trap.stval == stval),
	      "got %d trap(s), scause=%lu stval=0x%lx expected 1 trap, scause=%lu stval=0x%lx",
	      trap.count, trap.scause, trap.stval, scause, stval);
}

/* ------------------------------------------------------------------------ */
/* The tests                                                                */
/* ------------------------------------------------------------------------ */

static ulong boot_hartid, boot_dtb;

/* Boot protocol (Linux boot-image-header.rst): a0 = hart id, a1 = DTB. */
static void test_boot(void)
{
	u32 magic = 0;

	check("boot.hartid", boot_hartid == 0, "got %lu expected 0", boot_hartid);
	if (boot_dtb >= RAM_BASE && boot_dtb < RAM_BASE + (1UL << 32)) {
		trap_arm();
		magic = *(volatile u32 *)boot_dtb;
		trap_disarm();
	}
	/* The FDT header's magic is 0xd00dfeed, stored big-endian. */
	check("boot.dtb_magic", magic == 0xedfe0dd0 && trap.count == 0,
	      "got 0x%x at 0x%lx expected 0xedfe0dd0 (LE view of 0xd00dfeed)",
	      magic, boot_dtb);
}

/*
 * Base extension, ch. 4.  get_spec_version (4.1) returns major in bits
 * 30:24 and minor in 23:0; get_impl_id (4.2) returns the implementation ID;
 * probe_extension (4.4) returns 0 for an absent extension, non-zero
 * (discv: 1) for a present one.
 */
static void test_base(void)
{
	static const struct {
		const char *name;
		ulong eid;
		long present;
	} probes[] = {
		{ "BASE", EXT_BASE, 1 },     { "TIME", EXT_TIME, 1 },
		{ "IPI", EXT_IPI, 1 },       { "RFENCE", EXT_RFENCE, 1 },
		{ "HSM", EXT_HSM, 1 },       { "SRST", EXT_SRST, 1 },
		{ "DBCN", EXT_DBCN, 1 },     { "PMU", EXT_PMU, 0 },
		{ "SUSP", EXT_SUSP, 0 },     { "CPPC", EXT_CPPC, 0 },
		{ "0x12345678", EXT_BOGUS, 0 },
	};
	char name[64];

	check_ret("base.get_spec_version", sbi0(EXT_BASE, 0), 0, 0x02000000);
	check_ret("base.get_impl_id", sbi0(EXT_BASE, 1), 0, 0x64697363);

	for (ulong i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		format(name, sizeof(name), "base.probe_extension(%s)", probes[i].name);
		check_ret(name, sbi1(EXT_BASE, 3, probes[i].eid), 0, probes[i].present);
	}
	/* The legacy extensions 0x00..0x08 (ch. 5) are probed by EID too. */
	for (ulong eid = 0; eid <= 8; eid++) {
		format(name, sizeof(name), "base.probe_extension(legacy_0x%lx)", eid);
		check_ret(name, sbi1(EXT_BASE, 3, eid), 0, 1);
	}
}

/*
 * Ch. 3 (Binary Encoding): an ECALL with an unsupported EID or FID must
 * return SBI_ERR_NOT_SUPPORTED.
 */
static void test_unsupported(void)
{
	check_err("sbi.unknown_extension", sbi0(EXT_BOGUS, 0), SBI_ERR_NOT_SUPPORTED);
	check_err("base.unknown_function", sbi0(EXT_BASE, 99), SBI_ERR_NOT_SUPPORTED);
	check_err("dbcn.unknown_function", sbi0(EXT_DBCN, 7), SBI_ERR_NOT_SUPPORTED);
	check_err("hsm.unknown_function", sbi0(EXT_HSM, 9), SBI_ERR_NOT_SUPPORTED);
}

/*
 * Waits (bounded) for a supervisor timer interrupt to be taken, with only
 * the timer enabled. Under QEMU 7.2 a VS-mode read of sip does not show the
 * STIP that an Sstc vstimecmp raises, though the interrupt is delivered: so
 * the timer tests watch for the interrupt itself.
 */
static int wait_timer_irq(void)
{
	ulong start = rdtime();

	trap.timer_irqs = 0;
	trap.timer_armed = 1;
	csr_set(sie, SIE_STIE);
	csr_set(sstatus, 2);		/* sstatus.SIE */
	for (ulong i = 0; i < POLL_SPINS && !trap.timer_irqs; i++)
		if (rdtime() - start > POLL_TICKS)
			break;
	csr_clear(sstatus, 2);
	csr_clear(sie, SIE_STIE);
	trap.timer_armed = 0;
	return trap.timer_irqs == 1;
}

/*
 * Legacy extensions, ch. 5.  console_getchar (5.3) returns the byte or -1
 * if none is waiting; set_timer (5.1) programs the timer like TIME does and
 * clears a pending timer interrupt.
 */
static void test_legacy(void)
{
	long c = sbi_legacy(2, 0);

	check("legacy.console_getchar", c == -1, "got %ld expected -1", c);

	sbi_legacy(0, 0);			/* a deadline in the past */
	check("legacy.set_timer_past_interrupts", wait_timer_irq(),
	      "got %d timer interrupts expected 1", trap.timer_irqs);
	sbi1(EXT_TIME, 0, -1UL);
	wait_sip(SIP_STIP, 0);
}

/*
 * Timer extension, ch. 6.1 set_timer(stime_value): programs the next timer
 * event and clears the pending timer interrupt bit.  A deadline in the past
 * makes STIP pending; "to clear the timer interrupt without scheduling the
 * next event" the supervisor sets it to (uint64_t)-1.
 */
static void test_time(void)
{
	check_err("time.set_timer(past)", sbi1(EXT_TIME, 0, 1), SBI_SUCCESS);
	check("time.past_interrupts", wait_timer_irq(),
	      "got %d timer interrupts expected 1", trap.timer_irqs);

	check_err("time.set_timer(-1)", sbi1(EXT_TIME, 0, -1UL), SBI_SUCCESS);
	check("time.infinite_clears_stip", wait_sip(SIP_STIP, 0),
	      "got sip=0x%lx expected STIP (0x20) clear", csr_read(sip));

	sbi1(EXT_TIME, 0, rdtime() + MS(1000));
	check("time.future_not_pending", !(csr_read(sip) & SIP_STIP),
	      "got sip=0x%lx expected STIP (0x20) clear", csr_read(sip));
	sbi1(EXT_TIME, 0, -1UL);
}

/*
 * IPI extension, ch. 7.1 send_ipi(hart_mask, hart_mask_base): raises a
 * supervisor software interrupt (SSIP) on each selected hart.  Per ch. 3.1,
 * hart_mask_base = -1 means "all harts"; a hart id that does not exist gives
 * SBI_ERR_INVALID_PARAM.
 */
static void test_ipi(void)
{
	check_err("ipi.send_ipi(self)", sbi2(EXT_IPI, 0, 1, 0), SBI_SUCCESS);
	check("ipi.self_sets_ssip", wait_sip(SIP_SSIP, 1),
	      "got sip=0x%lx expected SSIP (0x2) set", csr_read(sip));
	csr_clear(sip, SIP_SSIP);

	check_err("ipi.send_ipi(hart5)", sbi2(EXT_IPI, 0, 1, 5), SBI_ERR_INVALID_PARAM);

	check_err("ipi.send_ipi(all_harts)", sbi2(EXT_IPI, 0, 0, -1UL), SBI_SUCCESS);
	wait_sip(SIP_SSIP, 1);			/* it includes us: clear it */
	csr_clear(sip, SIP_SSIP);
}

/*
 * RFENCE extension, ch. 8.  remote_fence_i (8.1), remote_sfence_vma (8.2)
 * and remote_sfence_vma_asid (8.3) must succeed; the HFENCE functions
 * (8.4-8.7) return SBI_ERR_NOT_SUPPORTED when the target harts do not
 * implement the H extension, as a guest's harts do not.
 */
static void test_rfence(void)
{
	check_err("rfence.remote_fence_i", sbi2(EXT_RFENCE, 0, 1, 0), SBI_SUCCESS);
	check_err("rfence.remote_sfence_vma",
		  sbi4(EXT_RFENCE, 1, 1, 0, 0, -1UL), SBI_SUCCESS);
	check_err("rfence.remote_sfence_vma_asid",
		  sbi5(EXT_RFENCE, 2, 1, 0, 0, -1UL, 0), SBI_SUCCESS);
	check_err("rfence.remote_hfence_gvma_vmid",
		  sbi5(EXT_RFENCE, 3, 1, 0, 0, -1UL, 0), SBI_ERR_NOT_SUPPORTED);
	check_err("rfence.remote_hfence_gvma",
		  sbi4(EXT_RFENCE, 4, 1, 0, 0, -1UL), SBI_ERR_NOT_SUPPORTED);
	check_err("rfence.remote_hfence_vvma_asid",
		  sbi5(EXT_RFENCE, 5, 1, 0, 0, -1UL, 0), SBI_ERR_NOT_SUPPORTED);
	check_err("rfence.remote_hfence_vvma",
		  sbi4(EXT_RFENCE, 6, 1, 0, 0, -1UL), SBI_ERR_NOT_SUPPORTED);
	check_err("rfence.remote_fence_i(hart9)",
		  sbi2(EXT_RFENCE, 0, 1, 9), SBI_ERR_INVALID_PARAM);
}

extern char _start[];

/*
 * Hart State Management, ch. 9.  hart_get_status (9.3) returns 0 (STARTED)
 * for a running hart and SBI_ERR_INVALID_PARAM for an invalid hart id.
 * hart_start (9.1) on a started hart returns SBI_ERR_ALREADY_AVAILABLE and
 * on an invalid hart SBI_ERR_INVALID_PARAM.  hart_suspend (9.4) with type 0
 * (default retentive) returns 0 once an interrupt enabled in sie is pending,
 * even with sstatus.SIE = 0; reserved types give SBI_ERR_INVALID_PARAM.
 */
static void test_hsm(void)
{
	ulong deadline, now;
	struct sbiret r;

	check_ret("hsm.hart_get_status(0)", sbi1(EXT_HSM, 2, 0), 0, 0);
	check_err("hsm.hart_get_status(1)", sbi1(EXT_HSM, 2, 1), SBI_ERR_INVALID_PARAM);
	check_err("hsm.hart_get_status(1000)", sbi1(EXT_HSM, 2, 1000),
		  SBI_ERR_INVALID_PARAM);
	check_err("hsm.hart_start(0)", sbi3(EXT_HSM, 0, 0, (ulong)_start, 0),
		  SBI_ERR_ALREADY_AVAILABLE);
	check_err("hsm.hart_start(7)", sbi3(EXT_HSM, 0, 7, (ulong)_start, 0),
		  SBI_ERR_INVALID_PARAM);
	check_err("hsm.hart_suspend(reserved_type5)",
		  sbi3(EXT_HSM, 3, 5, (ulong)_start, 0), SBI_ERR_INVALID_PARAM);

	/* Arm a wake-up: timer enabled in sie, but no trap (sstatus.SIE = 0). */
	csr_set(sie, SIE_STIE);
	deadline = rdtime() + MS(10);
	sbi1(EXT_TIME, 0, deadline);
	r = sbi3(EXT_HSM, 3, 0, 0, 0);
	now = rdtime();
	check_err("hsm.hart_suspend(retentive)", r, SBI_SUCCESS);
	check("hsm.suspend_until_timer", r.error != 0 || now >= deadline,
	      "got resume at time 0x%lx expected >= 0x%lx", now, deadline);
	sbi1(EXT_TIME, 0, -1UL);
	wait_sip(SIP_STIP, 0);
	csr_clear(sie, SIE_STIE);
}

/*
 * Debug Console, ch. 12.  console_write (12.1) and console_read (12.2) take
 * a PHYSICAL address split in base_addr_lo/hi and return the number of
 * bytes moved; memory that is not accessible gives SBI_ERR_INVALID_PARAM.
 * console_write_byte (12.3) writes one byte.
 */
static void test_dbcn(void)
{
	static char msg[] = "# hello from DBCN console_write\n";
	static char in[16];
	ulong len = sizeof(msg) - 1, lo = (ulong)msg;
	const char *s = "# hello from DBCN console_write_byte\n";
	long err = 0;

	check_ret("dbcn.console_write", sbi3(EXT_DBCN, 0, len, lo, 0), 0, len);
	check_ret("dbcn.console_write(0_bytes)", sbi3(EXT_DBCN, 0, 0, lo, 0), 0, 0);
	check_err("dbcn.console_write(addr_0x1000)",
		  sbi3(EXT_DBCN, 0, len, 0x1000, 0), SBI_ERR_INVALID_PARAM);
	check_err("dbcn.console_write(addr_hi_1)",
		  sbi3(EXT_DBCN, 0, len, RAM_BASE, 1), SBI_ERR_INVALID_PARAM);
	check_err("dbcn.console_write(past_end_of_ram)",
		  sbi3(EXT_DBCN, 0, 1UL << 32, lo, 0), SBI_ERR_INVALID_PARAM);

	struct sbiret r = sbi3(EXT_DBCN, 1, sizeof(in), (ulong)in, 0);
	check("dbcn.console_read", r.error == 0 && (ulong)r.value <= sizeof(in),
	      "got error=%ld value=%ld expected error=0 value<=%lu",
	      r.error, r.value, sizeof(in));
	check_err("dbcn.console_read(addr_0x1000)",
		  sbi3(EXT_DBCN, 1, sizeof(in), 0x1000, 0), SBI_ERR_INVALID_PARAM);

	for (; *s; s++) {
		r = sbi1(EXT_DBCN, 2, (u8)*s);
		if (r.error)
			err = r.error;
	}
	check("dbcn.console_write_byte", err == 0, "got %ld expected 0", err);
}

/*
 * System Reset, ch. 10.1 system_reset(reset_type, reset_reason): reserved
 * types (0x3..0xEFFFFFFF) or reasons (0x2..0xDFFFFFFF) return
 * SBI_ERR_INVALID_PARAM -- and, crucially, do not reset.
 */
static void test_srst(void)
{
	check_err("srst.system_reset(type_0x10)", sbi2(EXT_SRST, 0, 0x10, 0),
		  SBI_ERR_INVALID_PARAM);
	check_err("srst.system_reset(reason_5)", sbi2(EXT_SRST, 0, 0, 5),
		  SBI_ERR_INVALID_PARAM);
}

/*
 * Not SBI: the exceptions a real machine raises (RISC-V Privileged
 * Architecture, Supervisor-Level ISA, scause codes).  The hypervisor must
 * reflect them into the guest exactly like hardware would: 2 = illegal
 * instruction, 5 = load access fault, 7 = store/AMO access fault, with
 * stval = the faulting address.  Hypervisor CSRs (hstatus = 0x600) do not
 * exist for a guest, which sees a machine without the H extension.
 */
static void test_traps(void)
{
	volatile ulong load_addr = 0, store_addr = 0x40000000;
	ulong v;

	trap_arm();
	asm volatile("ld %0, 0(%1)" : "=r"(v) : "r"(load_addr) : "memory");
	trap_disarm();
	check_trap("trap.load_access_fault(0x0)", 5, 1, 0);

	trap_arm();
	asm volatile("sd zero, 0(%0)" :: "r"(store_addr) : "memory");
	trap_disarm();
	check_trap("trap.store_access_fault(0x40000000)", 7, 1, 0x40000000);

	trap_arm();
	asm volatile(".2byte 0x0000" ::: "memory");	/* defined illegal */
	trap_disarm();
	check_trap("trap.illegal_instruction", 2, 0, 0);

	trap_arm();
	asm volatile("csrr %0, 0x600" : "=r"(v) :: "memory");	/* hstatus */
	trap_disarm();
	check_trap("trap.hstatus_is_illegal", 2, 0, 0);
	(void)v;
}

static void (*const tests[])(void) = {
	test_boot, test_base, test_unsupported, test_legacy, test_time,
	test_ipi, test_rfence, test_hsm, test_dbcn, test_srst, test_traps,
};

void main(ulong hartid, ulong dtb);	/* called from start.S */
void main(ulong hartid, ulong dtb)
{
	boot_hartid = hartid;
	boot_dtb = dtb;
	print("sbi-test: hart %lu, dtb 0x%lx\n", hartid, dtb);

	for (ulong i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		tests[i]();

	print("sbi-test: %d passed, %d failed\n", n_pass, n_fail);
	power_off(n_fail != 0);
}
