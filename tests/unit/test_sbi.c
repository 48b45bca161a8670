/*
 * hyp/sbi/: the SBI dispatcher and every extension discv offers its
 * guests, with hyp/vcpu_state.c (HSM transitions, wake-up) and the real
 * guest memory (DBCN buffers), over the test doubles of fakes.c for the
 * arch and console hooks.
 *
 * Each test builds a VM of NV vCPUs (vCPU 0 running, the others stopped),
 * puts an ecall's registers in a vCPU and calls sbi_dispatch.
 */
#include <stdlib.h>
#include <string.h>
#include "fakes.h"
#include "core/guest_memory.h"
#include "host_ram.h"
#include "arch/riscv_defs.h"
#include "sbi/sbi.h"
#include "unit.h"
#include "fake_accesses.h"
#include "core/vcpu.h"
#include "core/vm.h"

#define NV 4
#define RAM_BASE 0x80000000UL
#define RAM_SIZE (8UL << 20)
#define RAM_END (RAM_BASE + RAM_SIZE)
#define A1_UNTOUCHED 0xa1a1a1a1a1a1a1a1UL
#define ALL_HARTS ((unsigned long)-1)

static struct test_ram ram;
static struct vm *vm;

static struct vm *setup(unsigned nvcpus)
{
	fake_reset();
	test_ram_init(&ram, 256, 2);
	vm = aligned_alloc(16384, sizeof(*vm));
	if (!vm)
		abort();
	memset(vm, 0, sizeof(*vm));
	vm->host = &ram.hm;
	vm->id = 2;
	vm->ram_base = RAM_BASE;
	vm->ram_size = RAM_SIZE;
	vm->nvcpus = nvcpus;
	guest_memory_init(vm);
	for (unsigned i = 0; i < nvcpus; i++) {
		vm->vcpu[i].vm = vm;
		vm->vcpu[i].id = i;
		vm->vcpu[i].last_hart = -1;
		vm->vcpu[i].power = VCPU_STOPPED;
	}
	vcpu_reset(&vm->vcpu[0], RAM_BASE + 0x200000, 0);
	vm->vcpu[0].power = VCPU_RUNNING;
	return vm;
}

static void teardown(void)
{
	guest_memory_release(vm);
	free(vm);
	vm = NULL;
	test_ram_destroy(&ram);
}

struct ret {
	long a0;
	uint64_t a1;
};

/*
 * Makes the SBI call (eid, fid, args) from v and returns a0/a1. Also
 * checks that the dispatcher wrote no register but a0 and a1 (and, for
 * the legacy EIDs 0..8, not a1 either), and left the pc to the caller.
 */
static struct ret sbi_call6(int line, struct vcpu *v, unsigned long eid, unsigned long fid,
			    unsigned long a0, unsigned long a1, unsigned long a2,
			    unsigned long a3, unsigned long a4, unsigned long a5)
{
	uint64_t *x = v->ctx.x;
	struct vcpu_context before;

	for (unsigned i = 1; i < 32; i++)
		x[i] = 0x1000 + i;	/* recognisable values in every register */
	x[REG_A0] = a0;
	x[REG_A1] = a1;
	x[REG_A2] = a2;
	x[REG_A3] = a3;
	x[REG_A4] = a4;
	x[REG_A5] = a5;
	x[REG_A6] = fid;
	x[REG_A7] = eid;
	before = v->ctx;
	sbi_dispatch(v);

	bool legacy = eid <= 8;
	for (unsigned i = 0; i < 32; i++) {
		if (i == REG_A0 || (i == REG_A1 && !legacy))
			continue;
		if (x[i] != before.x[i]) {
			unit_check_eq(x[i], before.x[i], __FILE__, line, "register after", "before");
			printf("    x%u changed by eid 0x%lx fid %lu\n", i, eid, fid);
		}
	}
	if (v->ctx.sepc != before.sepc)
		unit_check_eq(v->ctx.sepc, before.sepc, __FILE__, line, "sepc after", "before");
	return (struct ret){ (long)x[REG_A0], x[REG_A1] };
}
#define SBI(v, eid, fid, a0, a1, a2) sbi_call6(__LINE__, v, eid, fid, a0, a1, a2, 0, 0, 0)
#define SBI6(v, eid, fid, a0, a1, a2, a3, a4, a5) \
	sbi_call6(__LINE__, v, eid, fid, a0, a1, a2, a3, a4, a5)
/* Legacy calls: a1 is never written, so it must keep A1_UNTOUCHED. */
#define LEGACY(v, eid, a0) sbi_call6(__LINE__, v, eid, 0, a0, A1_UNTOUCHED, 0, 0, 0, 0)

/* The set of vCPU ids the IPI (or request) log names, checking they came
 * in increasing order and each once. */
static unsigned logged_ids(struct vcpu *const *log, unsigned n)
{
	unsigned mask = 0;
	int last = -1;

	for (unsigned i = 0; i < n && i < FAKE_LOG; i++) {
		CHECK(log[i]->vm == vm);
		CHECK((int)log[i]->id > last);
		last = (int)log[i]->id;
		mask |= 1U << log[i]->id;
	}
	return mask;
}

/* ---- BASE and the dispatcher -------------------------------------------- */

static void test_base(void)
{
	struct vcpu *v = &setup(NV)->vcpu[0];
	struct ret r;

	r = SBI(v, SBI_EXT_BASE, SBI_BASE_GET_SPEC_VERSION, 0, 0, 0);
	CHECK_EQ(r.a0, SBI_SUCCESS);
	CHECK_EQ(r.a1, 0x02000000);	/* SBI 2.0 */
	r = SBI(v, SBI_EXT_BASE, SBI_BASE_GET_IMPL_ID, 0, 0, 0);
	CHECK_EQ(r.a0, 0);
	CHECK_EQ(r.a1, 0x64697363);
	r = SBI(v, SBI_EXT_BASE, SBI_BASE_GET_IMPL_VERSION, 0, 0, 0);
	CHECK_EQ(r.a0, 0);
	CHECK_EQ(r.a1, SBI_IMPL_VERSION_DISCV);
	for (unsigned long fid = SBI_BASE_GET_MVENDORID; fid <= SBI_BASE_GET_MIMPID; fid++) {
		r = SBI(v, SBI_EXT_BASE, fid, 0, 0x5555, 0);
		CHECK_EQ(r.a0, 0);
		CHECK_EQ(r.a1, 0);
	}

	/* probe_extension: 1 for each extension offered, 0 for the rest. */
	static const unsigned long offered[] = {
		0, 1, 2, 3, 4, 5, 6, 7, 8,	/* legacy */
		SBI_EXT_BASE, SBI_EXT_TIME, SBI_EXT_IPI, SBI_EXT_RFENCE, SBI_EXT_HSM,
		SBI_EXT_SRST, SBI_EXT_DBCN,
	};
	static const unsigned long absent[] = {
		9, 0xf, 0x11, 0x504D55 /* PMU */, 0x53555350 /* SUSP */,
		0x43505043 /* CPPC */, 0x4E41434C /* NACL */, 0x535441 /* STA */,
		0x08000000, 0x0A000000, 0x0FFFFFFF, 0xFFFFFFFF, ALL_HARTS,
		SBI_EXT_TIME + 1, SBI_EXT_DBCN - 1,
	};
	for (unsigned i = 0; i < sizeof(offered) / sizeof(offered[0]); i++) {
		r = SBI(v, SBI_EXT_BASE, SBI_BASE_PROBE_EXT, offered[i], 0, 0);
		CHECK_EQ(r.a0, 0);
		if (!CHECK_EQ(r.a1, 1))
			printf("    probing 0x%lx\n", offered[i]);
		CHECK(sbi_find_extension(offered[i]) != NULL);
	}
	for (unsigned i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
		r = SBI(v, SBI_EXT_BASE, SBI_BASE_PROBE_EXT, absent[i], 0x77, 0);
		CHECK_EQ(r.a0, 0);
		if (!CHECK_EQ(r.a1, 0))
			printf("    probing 0x%lx\n", absent[i]);
		CHECK(sbi_find_extension(absent[i]) == NULL);
	}

	/* Unknown function ids. */
	r = SBI(v, SBI_EXT_BASE, 7, 0, 0, 0);
	CHECK_EQ(r.a0, SBI_ERR_NOT_SUPPORTED);
	r = SBI(v, SBI_EXT_BASE, ALL_HARTS, 0, 0, 0);
	CHECK_EQ(r.a0, SBI_ERR_NOT_SUPPORTED);
	teardown();
}

static void test_unknown_extension(void)
{
	struct vcpu *v = &setup(NV)->vcpu[0];
	static const unsigned long eids[] = { 9, 0x11, 0x504D55, 0x0A000000, ALL_HARTS };

	for (unsigned i = 0; i < sizeof(eids) / sizeof(eids[0]); i++) {
		struct ret r = SBI(v, eids[i], 0, 1, A1_UNTOUCHED, 3);
		CHECK_EQ(r.a0, SBI_ERR_NOT_SUPPORTED);
		CHECK_EQ(r.a1, 0);	/* as written: a1 = 0 */
	}
	/* No hook was called for any of them. */
	CHECK_EQ(fake.timer_calls + fake.ipi_calls + fake.request_calls +
		 fake.reset_calls + fake.putc_calls + fake.write_calls + fake.getc_calls, 0);
	teardown();
}

/* ---- legacy (v0.1) ------------------------------------------------------- */

static void test_legacy(void)
{
	struct vcpu *v = &setup(NV)->vcpu[1];
	struct ret r;

	v->power = VCPU_RUNNING;
	r = LEGACY(v, SBI_EXT_0_1_SET_TIMER, 0x123456789abUL);
	CHECK_EQ(r.a0, 0);
	CHECK_EQ(r.a1, A1_UNTOUCHED);
	CHECK_EQ(fake.timer_calls, 1);
	CHECK(fake.timer_vcpu == v);
	CHECK_EQ(fake.timer_deadline, 0x123456789abUL);

	r = LEGACY(v, SBI_EXT_0_1_CONSOLE_PUTCHAR, 'X');
	CHECK_EQ(r.a0, 0);
	CHECK_EQ(r.a1, A1_UNTOUCHED);
	CHECK_EQ(fake.putc_calls, 1);
	CHECK(fake.console_vm == vm);
	CHECK_EQ(fake.out_len, 1);
	CHECK_EQ(fake.out[0], 'X');

	r = LEGACY(v, SBI_EXT_0_1_CONSOLE_GETCHAR, 0);
	CHECK_EQ(r.a0, -1);		/* nothing typed */
	CHECK_EQ(r.a1, A1_UNTOUCHED);
	fake_console_input("q\xe9", 2);
	r = LEGACY(v, SBI_EXT_0_1_CONSOLE_GETCHAR, 0);
	CHECK_EQ(r.a0, 'q');
	r = LEGACY(v, SBI_EXT_0_1_CONSOLE_GETCHAR, 0);
	CHECK_EQ(r.a0, 0xe9);		/* a byte, not a negative char */
	CHECK_EQ(r.a1, A1_UNTOUCHED);

	r = LEGACY(v, SBI_EXT_0_1_CLEAR_IPI, 0);
	CHECK_EQ(r.a0, 0);
	CHECK_EQ(fake.clear_ipi_calls, 1);
	CHECK(fake.clear_ipi_vcpu == v);

	/* send_ipi with mask pointer 0: every hart, nothing read. */
	r = LEGACY(v, SBI_EXT_0_1_SEND_IPI, 0);
	CHECK_EQ(r.a0, 0);
	CHECK_EQ(r.a1, A1_UNTOUCHED);
	CHECK_EQ(fake.read_calls, 0);
	CHECK_EQ(fake.ipi_calls, NV);
	CHECK_EQ(logged_ids(fake.ipi_target, fake.ipi_calls), 0xf);

	/* A mask in guest memory (a guest-virtual address). */
	fake.ipi_calls = 0;
	fake.guest_u64 = 0xa;
	r = LEGACY(v, SBI_EXT_0_1_SEND_IPI, 0xffffffff80001000UL);
	CHECK_EQ(r.a0, 0);
	CHECK_EQ(fake.read_calls, 1);
	CHECK_EQ(fake.read_gva, 0xffffffff80001000UL);
	CHECK_EQ(logged_ids(fake.ipi_target, fake.ipi_calls), 0xa);
	/* The mask cannot be read: invalid address, nobody interrupted. */
	fake.ipi_calls = 0;
	fake.guest_u64_fault = true;
	r = LEGACY(v, SBI_EXT_0_1_SEND_IPI, 0x1000);
	CHECK_EQ(r.a0, SBI_ERR_INVALID_ADDRESS);
	CHECK_EQ(r.a1, A1_UNTOUCHED);
	CHECK_EQ(fake.ipi_calls, 0);
	fake.guest_u64_fault = false;
	/* A hart that does not exist: invalid, nobody interrupted. */
	fake.guest_u64 = 1UL << NV | 1;
	r = LEGACY(v, SBI_EXT_0_1_SEND_IPI, 0x1000);
	CHECK_EQ(r.a0, SBI_ERR_INVALID_PARAM);
	CHECK_EQ(fake.ipi_calls, 0);

	/* Remote fences become requests. */
	r = LEGACY(v, SBI_EXT_0_1_REMOTE_FENCE_I, 0);
	CHECK_EQ(r.a0, 0);
	CHECK_EQ(fake.request_calls, NV);
	CHECK_EQ(logged_ids(fake.request_target, fake.request_calls), 0xf);
	for (unsigned i = 0; i < NV; i++)
		CHECK_EQ(fake.request_bits[i], VCPU_REQ_FENCE_I);
	for (unsigned long eid = SBI_EXT_0_1_REMOTE_SFENCE_VMA;
	     eid <= SBI_EXT_0_1_REMOTE_SFENCE_VMA_ASID; eid++) {
		fake.request_calls = 0;
		fake.guest_u64 = 0x6;
		r = LEGACY(v, eid, 0x2000);
		CHECK_EQ(r.a0, 0);
		CHECK_EQ(r.a1, A1_UNTOUCHED);
		CHECK_EQ(fake.request_calls, 2);
		CHECK_EQ(logged_ids(fake.request_target, fake.request_calls), 0x6);
		CHECK_EQ(fake.request_bits[0], VCPU_REQ_FLUSH_VS_TLB);
		CHECK_EQ(fake.request_bits[1], VCPU_REQ_FLUSH_VS_TLB);
	}

	r = LEGACY(v, SBI_EXT_0_1_SHUTDOWN, 0);
	CHECK_EQ(r.a0, 0);
	CHECK_EQ(r.a1, A1_UNTOUCHED);
	CHECK_EQ(fake.reset_calls, 1);
	CHECK(fake.reset_vm == vm);
	CHECK_EQ(fake.reset_type, SBI_SRST_TYPE_SHUTDOWN);
	CHECK_EQ(fake.reset_reason, SBI_SRST_REASON_NONE);
	teardown();
}

/* ---- TIME, IPI, RFENCE ---------------------------------------------------- */

static void test_time(void)
{
	struct vcpu *v = &setup(NV)->vcpu[0];
	struct ret r;

	r = SBI(v, SBI_EXT_TIME, SBI_TIME_SET_TIMER, 0xfedcba9876543210UL, 0, 0);
	CHECK_EQ(r.a0, 0);
	CHECK_EQ(r.a1, 0);
	CHECK_EQ(fake.timer_calls, 1);
	CHECK(fake.timer_vcpu == v);
	CHECK_EQ(fake.timer_deadline, 0xfedcba9876543210UL);
	r = SBI(v, SBI_EXT_TIME, SBI_TIME_SET_TIMER, UINT64_MAX, 0, 0);	/* "no timer" */
	CHECK_EQ(r.a0, 0);
	CHECK_EQ(fake.timer_deadline, UINT64_MAX);
	r = SBI(v, SBI_EXT_TIME, 1, 5, 0, 0);
	CHECK_EQ(r.a0, SBI_ERR_NOT_SUPPORTED);
	CHECK_EQ(fake.timer_calls, 2);
	teardown();
}

/* An IPI call: returns a0 and sets *ids to the set of vCPUs interrupted. */
static long ipi(struct vcpu *v, unsigned long mask, unsigned long base, unsigned *ids)
{
	struct ret r;

	fake.ipi_calls = 0;
	r = SBI(v, SBI_EXT_IPI, SBI_IPI_SEND_IPI, mask, base, 0);
	CHECK_EQ(r.a1, 0);
	*ids = logged_ids(fake.ipi_target, fake.ipi_calls);
	return r.a0;
}

static void test_ipi(void)
{
	struct vcpu *v = &setup(NV)->vcpu[0];
	unsigned ids;

	CHECK_EQ(ipi(v, 0, ALL_HARTS, &ids), 0);	/* base -1: all, mask ignored */
	CHECK_EQ(ids, 0xf);
	CHECK_EQ(ipi(v, 0x8000, ALL_HARTS, &ids), 0);
	CHECK_EQ(ids, 0xf);
	CHECK_EQ(ipi(v, 0x5, 0, &ids), 0);
	CHECK_EQ(ids, 0x5);
	CHECK_EQ(ipi(v, 0x3, 1, &ids), 0);
	CHECK_EQ(ids, 0x6);
	CHECK_EQ(ipi(v, 0x1, 3, &ids), 0);
	CHECK_EQ(ids, 0x8);
	CHECK_EQ(ipi(v, 0x1, 0, &ids), 0);	/* the caller itself */
	CHECK_EQ(ids, 0x1);
	CHECK_EQ(ipi(v, 0, 0, &ids), 0);	/* empty mask: success, nobody */
	CHECK_EQ(fake.ipi_calls, 0);
	CHECK_EQ(ipi(v, 0, 1000, &ids), 0);	/* empty mask, any base */
	CHECK_EQ(fake.ipi_calls, 0);

	/* Any selected hart beyond the VM: -3 and nobody interrupted. */
	CHECK_EQ(ipi(v, 1UL << NV, 0, &ids), SBI_ERR_INVALID_PARAM);
	CHECK_EQ(fake.ipi_calls, 0);
	CHECK_EQ(ipi(v, 1UL << NV | 0x1, 0, &ids), SBI_ERR_INVALID_PARAM);
	CHECK_EQ(fake.ipi_calls, 0);
	CHECK_EQ(ipi(v, 0x1, NV, &ids), SBI_ERR_INVALID_PARAM);
	CHECK_EQ(ipi(v, 0x3, NV - 1, &ids), SBI_ERR_INVALID_PARAM);
	CHECK_EQ(fake.ipi_calls, 0);
	CHECK_EQ(ipi(v, 1UL << 63, 0, &ids), SBI_ERR_INVALID_PARAM);
	CHECK_EQ(ipi(v, ~0UL, 0, &ids), SBI_ERR_INVALID_PARAM);
	CHECK_EQ(fake.ipi_calls, 0);
	/* base + bit overflowing: never wraps around to hart 0. */
	CHECK_EQ(ipi(v, 0x2, ALL_HARTS - 1, &ids), SBI_ERR_INVALID_PARAM);
	CHECK_EQ(ipi(v, 0x4, ALL_HARTS - 1, &ids), SBI_ERR_INVALID_PARAM);
	CHECK_EQ(ipi(v, 1UL << 63, 1UL << 63, &ids), SBI_ERR_INVALID_PARAM);
	CHECK_EQ(ipi(v, 0x1, ALL_HARTS - 1, &ids), SBI_ERR_INVALID_PARAM);
	CHECK_EQ(fake.ipi_calls, 0);

	struct ret r = SBI(v, SBI_EXT_IPI, 1, 1, 0, 0);
	CHECK_EQ(r.a0, SBI_ERR_NOT_SUPPORTED);
	CHECK_EQ(fake.ipi_calls, 0);
	teardown();

	/* A full VM: base -1 reaches all 8 vCPUs; bit 7 is the last valid. */
	v = &setup(MAX_VCPUS_PER_VM)->vcpu[0];
	CHECK_EQ(ipi(v, 0, ALL_HARTS, &ids), 0);
	CHECK_EQ(ids, 0xff);
	CHECK_EQ(ipi(v, 0x80, 0, &ids), 0);
	CHECK_EQ(ids, 0x80);
	CHECK_EQ(ipi(v, 0x100, 0, &ids), SBI_ERR_INVALID_PARAM);
	teardown();

	/* A single-vCPU VM. */
	v = &setup(1)->vcpu[0];
	CHECK_EQ(ipi(v, 0, ALL_HARTS, &ids), 0);
	CHECK_EQ(ids, 0x1);
	CHECK_EQ(ipi(v, 0x2, 0, &ids), SBI_ERR_INVALID_PARAM);
	teardown();
}

static void test_rfence(void)
{
	struct vcpu *v = &setup(NV)->vcpu[0];
	struct ret r;

	r = SBI(v, SBI_EXT_RFENCE, SBI_RFENCE_REMOTE_FENCE_I, 0x3, 0, 0);
	CHECK_EQ(r.a0, 0);
	CHECK_EQ(r.a1, 0);
	CHECK_EQ(fake.request_calls, 2);
	CHECK_EQ(logged_ids(fake.request_target, fake.request_calls), 0x3);
	CHECK_EQ(fake.request_bits[0], VCPU_REQ_FENCE_I);
	CHECK_EQ(fake.request_bits[1], VCPU_REQ_FENCE_I);

	fake.request_calls = 0;
	r = SBI6(v, SBI_EXT_RFENCE, SBI_RFENCE_REMOTE_SFENCE_VMA, 0x1, 2, 0x80000000, 0x1000, 0, 0);
	CHECK_EQ(r.a0, 0);
	CHECK_EQ(fake.request_calls, 1);
	CHECK(fake.request_target[0] == &vm->vcpu[2]);
	CHECK_EQ(fake.request_bits[0], VCPU_REQ_FLUSH_VS_TLB);

	fake.request_calls = 0;
	r = SBI6(v, SBI_EXT_RFENCE, SBI_RFENCE_REMOTE_SFENCE_VMA_ASID, 0, ALL_HARTS, 0, ~0UL, 5, 0);
	CHECK_EQ(r.a0, 0);
	CHECK_EQ(fake.request_calls, NV);
	CHECK_EQ(logged_ids(fake.request_target, fake.request_calls), 0xf);
	for (unsigned i = 0; i < NV; i++)
		CHECK_EQ(fake.request_bits[i], VCPU_REQ_FLUSH_VS_TLB);

	/* Invalid harts: -3, no request anywhere. */
	fake.request_calls = 0;
	r = SBI(v, SBI_EXT_RFENCE, SBI_RFENCE_REMOTE_FENCE_I, 0x11, 0, 0);
	CHECK_EQ(r.a0, SBI_ERR_INVALID_PARAM);
	r = SBI6(v, SBI_EXT_RFENCE, SBI_RFENCE_REMOTE_SFENCE_VMA, 0x1, NV, 0, 0x1000, 0, 0);
	CHECK_EQ(r.a0, SBI_ERR_INVALID_PARAM);
	CHECK_EQ(fake.request_calls, 0);

	/* The hfence functions (3..6) and beyond are not offered. */
	for (unsigned long fid = 3; fid <= 7; fid++) {
		r = SBI6(v, SBI_EXT_RFENCE, fid, 0, ALL_HARTS, 0, 0x1000, 1, 0);
		CHECK_EQ(r.a0, SBI_ERR_NOT_SUPPORTED);
	}
	CHECK_EQ(fake.request_calls, 0);
	teardown();
}

/* ---- HSM ------------------------------------------------------------------ */

static long hart_status(struct vcpu *v, unsigned long hart)
{
	struct ret r = SBI(v, SBI_EXT_HSM, SBI_HSM_HART_GET_STATUS, hart, 0, 0);

	return r.a0 ? r.a0 : (long)r.a1;
}

static void test_hsm_start_stop_status(void)
{
	struct vcpu *v = &setup(NV)->vcpu[0], *t = &vm->vcpu[1];
	const uint64_t entry = RAM_BASE + 0x200000;
	struct ret r;

	/* Dirty the target, as if it had run before. */
	memset(&t->ctx, 0x33, sizeof(t->ctx));
	memset(&t->csrs, 0x33, sizeof(t->csrs));
	t->resume_non_retentive = true;

	CHECK_EQ(hart_status(v, 0), SBI_HSM_STATE_STARTED);
	CHECK_EQ(hart_status(v, 1), SBI_HSM_STATE_STOPPED);

	r = SBI(v, SBI_EXT_HSM, SBI_HSM_HART_START, 1, entry, 0xfeedf00d);
	CHECK_EQ(r.a0, 0);
	CHECK_EQ(r.a1, 0);
	CHECK_EQ(t->power, VCPU_RUNNING);
	CHECK_EQ(t->ctx.sepc, entry);
	CHECK_EQ(t->ctx.x[REG_A0], 1);		/* its hart id */
	CHECK_EQ(t->ctx.x[REG_A1], 0xfeedf00d);	/* opaque */
	CHECK_EQ(t->ctx.x[REG_SP], 0);
	CHECK_EQ(t->ctx.x[REG_A2], 0);
	CHECK_EQ(t->ctx.sstatus & SSTATUS_SPP, SSTATUS_SPP);	/* to S-mode... */
	CHECK_EQ(t->ctx.sstatus & SSTATUS_SIE, 0);
	CHECK_EQ(t->ctx.hstatus & HSTATUS_SPV, HSTATUS_SPV);	/* ...virtualised */
	CHECK_EQ(t->csrs.vsatp, 0);				/* translation off */
	CHECK_EQ(t->csrs.vsstatus, 0);				/* interrupts off */
	CHECK_EQ(t->csrs.vsie, 0);
	CHECK_EQ(t->csrs.hvip, 0);
	CHECK_EQ(t->csrs.vstimecmp, UINT64_MAX);		/* no timer */
	CHECK(!t->resume_non_retentive);
	CHECK_EQ(t->requests & (VCPU_REQ_FENCE_I | VCPU_REQ_FLUSH_VS_TLB),
		 VCPU_REQ_FENCE_I | VCPU_REQ_FLUSH_VS_TLB);
	CHECK_EQ(hart_status(v, 1), SBI_HSM_STATE_STARTED);

	/* Started already: -6, nothing changes. */
	t->ctx.sepc = 0x1234;
	r = SBI(v, SBI_EXT_HSM, SBI_HSM_HART_START, 1, entry, 0);
	CHECK_EQ(r.a0, SBI_ERR_ALREADY_AVAILABLE);
	CHECK_EQ(t->ctx.sepc, 0x1234);
	r = SBI(v, SBI_EXT_HSM, SBI_HSM_HART_START, 0, entry, 0);	/* the caller */
	CHECK_EQ(r.a0, SBI_ERR_ALREADY_AVAILABLE);
	vm->vcpu[3].power = VCPU_WAITING;
	r = SBI(v, SBI_EXT_HSM, SBI_HSM_HART_START, 3, entry, 0);
	CHECK_EQ(r.a0, SBI_ERR_ALREADY_AVAILABLE);
	vm->vcpu[3].power = VCPU_STOPPED;

	/* No such hart. */
	r = SBI(v, SBI_EXT_HSM, SBI_HSM_HART_START, NV, entry, 0);
	CHECK_EQ(r.a0, SBI_ERR_INVALID_PARAM);
	r = SBI(v, SBI_EXT_HSM, SBI_HSM_HART_START, ALL_HARTS, entry, 0);
	CHECK_EQ(r.a0, SBI_ERR_INVALID_PARAM);
	CHECK_EQ(hart_status(v, NV), SBI_ERR_INVALID_PARAM);
	CHECK_EQ(hart_status(v, ALL_HARTS), SBI_ERR_INVALID_PARAM);

	/* Start address outside RAM (4 bytes must fit): -5, still stopped. */
	static const unsigned long bad_addr[] = { 0, RAM_BASE - 4, RAM_BASE - 2, RAM_END,
						  RAM_END - 3, RAM_END - 1, ALL_HARTS };
	for (unsigned i = 0; i < sizeof(bad_addr) / sizeof(bad_addr[0]); i++) {
		r = SBI(v, SBI_EXT_HSM, SBI_HSM_HART_START, 2, bad_addr[i], 0);
		if (!CHECK_EQ(r.a0, SBI_ERR_INVALID_ADDRESS))
			printf("    start address 0x%lx\n", bad_addr[i]);
		CHECK_EQ(vm->vcpu[2].power, VCPU_STOPPED);
	}
	r = SBI(v, SBI_EXT_HSM, SBI_HSM_HART_START, 2, RAM_END - 4, 7);
	CHECK_EQ(r.a0, 0);
	CHECK_EQ(vm->vcpu[2].ctx.sepc, RAM_END - 4);
	CHECK_EQ(vm->vcpu[2].ctx.x[REG_A0], 2);
	CHECK_EQ(vm->vcpu[2].ctx.x[REG_A1], 7);
	/* The caller's own state is untouched by starting others. */
	CHECK_EQ(v->power, VCPU_RUNNING);

	/* Status of a WFI-waiting vCPU: still "started". */
	vm->vcpu[2].power = VCPU_WAITING;
	CHECK_EQ(hart_status(v, 2), SBI_HSM_STATE_STARTED);
	vm->vcpu[2].power = VCPU_SUSPENDED;	/* HSM-suspended */
	CHECK_EQ(hart_status(v, 2), SBI_HSM_STATE_SUSPENDED);
	vm->vcpu[2].power = VCPU_STARTING;	/* a start under way */
	CHECK_EQ(hart_status(v, 2), SBI_HSM_STATE_START_PENDING);
	vm->vcpu[2].power = VCPU_HALTED;	/* its VM reboots */
	CHECK_EQ(hart_status(v, 2), SBI_HSM_STATE_STOPPED);

	/* Stop: STOP_PENDING until its hart has saved it (vcpu_end_run),
	 * then STOPPED; it can be started only then. */
	r = SBI(t, SBI_EXT_HSM, SBI_HSM_HART_STOP, 0, 0, 0);
	CHECK_EQ(r.a0, 0);
	CHECK_EQ(t->power, VCPU_STOPPING);
	CHECK_EQ(hart_status(v, 1), SBI_HSM_STATE_STOP_PENDING);
	r = SBI(v, SBI_EXT_HSM, SBI_HSM_HART_START, 1, entry + 0x100, 9);
	CHECK_EQ(r.a0, SBI_ERR_ALREADY_AVAILABLE);
	vcpu_end_run(t);
	CHECK_EQ(t->power, VCPU_STOPPED);
	CHECK_EQ(hart_status(v, 1), SBI_HSM_STATE_STOPPED);
	r = SBI(v, SBI_EXT_HSM, SBI_HSM_HART_START, 1, entry + 0x100, 9);
	CHECK_EQ(r.a0, 0);
	CHECK_EQ(t->ctx.sepc, entry + 0x100);
	CHECK_EQ(t->ctx.x[REG_A1], 9);

	r = SBI(v, SBI_EXT_HSM, 4, 0, 0, 0);
	CHECK_EQ(r.a0, SBI_ERR_NOT_SUPPORTED);
	teardown();
}

static void test_hsm_suspend(void)
{
	struct vcpu *v = &setup(NV)->vcpu[1], *other = &vm->vcpu[0];
	const uint64_t resume = RAM_BASE + 0x300000;
	struct ret r;

	vcpu_reset(v, RAM_BASE, 0);
	v->power = VCPU_RUNNING;

	/* Reserved types: -3. Platform-specific types: -2. State unchanged. */
	static const unsigned long reserved[] = { 1, 0x0FFFFFFF, 0x80000001, 0x8FFFFFFF,
						  0x100000000UL, ALL_HARTS };
	static const unsigned long platform[] = { 0x10000000, 0x7FFFFFFF, 0x90000000,
						  0xFFFFFFFF };
	for (unsigned i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		r = SBI(v, SBI_EXT_HSM, SBI_HSM_HART_SUSPEND, reserved[i], resume, 0);
		if (!CHECK_EQ(r.a0, SBI_ERR_INVALID_PARAM))
			printf("    suspend type 0x%lx\n", reserved[i]);
	}
	for (unsigned i = 0; i < sizeof(platform) / sizeof(platform[0]); i++) {
		r = SBI(v, SBI_EXT_HSM, SBI_HSM_HART_SUSPEND, platform[i], resume, 0);
		if (!CHECK_EQ(r.a0, SBI_ERR_NOT_SUPPORTED))
			printf("    suspend type 0x%lx\n", platform[i]);
	}
	/* Non-retentive with a resume address outside RAM: -5. */
	r = SBI(v, SBI_EXT_HSM, SBI_HSM_HART_SUSPEND, SBI_HSM_SUSPEND_NON_RETENTIVE_DEFAULT,
		RAM_END, 0);
	CHECK_EQ(r.a0, SBI_ERR_INVALID_ADDRESS);
	r = SBI(v, SBI_EXT_HSM, SBI_HSM_HART_SUSPEND, SBI_HSM_SUSPEND_NON_RETENTIVE_DEFAULT,
		0x1000, 0);
	CHECK_EQ(r.a0, SBI_ERR_INVALID_ADDRESS);
	CHECK_EQ(v->power, VCPU_RUNNING);
	CHECK_EQ(hart_status(other, 1), SBI_HSM_STATE_STARTED);

	/* Retentive: waits, reported as suspended. */
	r = SBI(v, SBI_EXT_HSM, SBI_HSM_HART_SUSPEND, SBI_HSM_SUSPEND_RETENTIVE_DEFAULT,
		resume, 0x55);
	CHECK_EQ(r.a0, 0);
	CHECK_EQ(v->power, VCPU_SUSPENDED);
	CHECK(!v->resume_non_retentive);
	CHECK_EQ(hart_status(other, 1), SBI_HSM_STATE_SUSPENDED);

	/* Non-retentive: the resume address and opaque are kept for later. */
	v->power = VCPU_RUNNING;
	r = SBI(v, SBI_EXT_HSM, SBI_HSM_HART_SUSPEND, SBI_HSM_SUSPEND_NON_RETENTIVE_DEFAULT,
		resume, 0xabcdef);
	CHECK_EQ(r.a0, 0);
	CHECK_EQ(v->power, VCPU_SUSPENDED);
	CHECK(v->resume_non_retentive);
	CHECK_EQ(v->resume_addr, resume);
	CHECK_EQ(v->resume_opaque, 0xabcdef);
	CHECK_EQ(hart_status(other, 1), SBI_HSM_STATE_SUSPENDED);
	teardown();
}

/* ---- interrupts pending and waking up --------------------------------- */

#define VSIE_SSIE (1UL << 1)	/* the guest's sie bits, one below hvip's */
#define VSIE_STIE (1UL << 5)
#define VSIE_SEIE (1UL << 9)

static void test_interrupt_pending(void)
{
	struct vcpu_csrs c = { .vstimecmp = UINT64_MAX };

	CHECK(!vcpu_csrs_interrupt_pending(&c, 0));
	CHECK(!vcpu_csrs_interrupt_pending(&c, UINT64_MAX - 1));
	/* Software: hvip.VSSIP (bit 2) enabled by vsie.SSIE (bit 1). */
	c.hvip = HVIP_VSSIP;
	CHECK(!vcpu_csrs_interrupt_pending(&c, 0));
	c.vsie = VSIE_SSIE;
	CHECK(vcpu_csrs_interrupt_pending(&c, 0));
	c.vsie = HVIP_VSSIP;	/* the hvip bit position in vsie enables nothing */
	CHECK(!vcpu_csrs_interrupt_pending(&c, 0));
	c.vsie = VSIE_STIE | VSIE_SEIE;	/* other sources enabled only */
	CHECK(!vcpu_csrs_interrupt_pending(&c, 0));

	/* Timer: pending from now >= vstimecmp, enabled by vsie.STIE (bit 5). */
	c.hvip = 0;
	c.vstimecmp = 1000;
	c.vsie = VSIE_STIE;
	CHECK(!vcpu_csrs_interrupt_pending(&c, 999));
	CHECK(vcpu_csrs_interrupt_pending(&c, 1000));
	CHECK(vcpu_csrs_interrupt_pending(&c, 1001));
	c.vsie = VSIE_SSIE | VSIE_SEIE;
	CHECK(!vcpu_csrs_interrupt_pending(&c, 5000));
	c.vsie = HVIP_VSTIP;	/* bit 6 of vsie is not STIE */
	CHECK(!vcpu_csrs_interrupt_pending(&c, 5000));
	c.vsie = VSIE_STIE;
	c.vstimecmp = UINT64_MAX;
	c.hvip = HVIP_VSTIP;	/* injected timer bit */
	CHECK(vcpu_csrs_interrupt_pending(&c, 0));
	c.hvip = 1UL << 5;	/* hvip bit 5 (S-level timer) is not the guest's */
	CHECK(!vcpu_csrs_interrupt_pending(&c, 0));
	c.vstimecmp = 0;
	CHECK(vcpu_csrs_interrupt_pending(&c, 0));	/* deadline 0: at once */

	/* External: hvip.VSEIP (bit 10) by vsie.SEIE (bit 9). */
	c = (struct vcpu_csrs){ .vstimecmp = UINT64_MAX, .hvip = HVIP_VSEIP };
	CHECK(!vcpu_csrs_interrupt_pending(&c, 0));
	c.vsie = VSIE_SEIE;
	CHECK(vcpu_csrs_interrupt_pending(&c, 0));
}

static void test_wake(void)
{
	struct vcpu *v = &setup(NV)->vcpu[1];

	vcpu_reset(v, RAM_BASE, 0);
	/* Running: runnable; stopped: never woken by interrupts. */
	v->power = VCPU_RUNNING;
	CHECK(vcpu_wake_if_pending(v, 0));
	CHECK_EQ(v->power, VCPU_RUNNING);
	v->power = VCPU_STOPPED;
	v->csrs.vsie = VSIE_SSIE;
	v->irq_inject = HVIP_VSSIP;
	CHECK(!vcpu_wake_if_pending(v, 0));
	CHECK_EQ(v->power, VCPU_STOPPED);

	/* WFI: wakes on an enabled pending interrupt, registers untouched. */
	v->power = VCPU_WAITING;
	v->irq_inject = 0;
	v->ctx.sepc = 0x80001234;
	v->ctx.x[REG_A0] = 77;
	CHECK(!vcpu_wake_if_pending(v, 0));
	CHECK_EQ(v->power, VCPU_WAITING);
	v->irq_inject = HVIP_VSSIP;	/* an IPI, not yet in hvip */
	v->csrs.vsie = 0;
	CHECK(!vcpu_wake_if_pending(v, 0));	/* not enabled */
	v->csrs.vsie = VSIE_SSIE;
	CHECK(vcpu_wake_if_pending(v, 0));
	CHECK_EQ(v->power, VCPU_RUNNING);
	CHECK_EQ(v->ctx.sepc, 0x80001234);
	CHECK_EQ(v->ctx.x[REG_A0], 77);
	CHECK_EQ(v->irq_inject, HVIP_VSSIP);	/* still to be delivered */

	/* WFI with a timer. */
	v->power = VCPU_WAITING;
	v->irq_inject = 0;
	v->csrs.vsie = VSIE_STIE;
	v->csrs.vstimecmp = 5000;
	CHECK(!vcpu_wake_if_pending(v, 4999));
	CHECK_EQ(v->power, VCPU_WAITING);
	CHECK(vcpu_wake_if_pending(v, 5000));
	CHECK_EQ(v->power, VCPU_RUNNING);

	/* Retentive suspend: resumes after the ecall with a0 = 0. */
	v->csrs.vstimecmp = UINT64_MAX;
	struct ret r = SBI(v, SBI_EXT_HSM, SBI_HSM_HART_SUSPEND,
			   SBI_HSM_SUSPEND_RETENTIVE_DEFAULT, 0, 0);
	CHECK_EQ(r.a0, 0);
	uint64_t pc = v->ctx.sepc, a5 = v->ctx.x[REG_A5];
	CHECK(!vcpu_wake_if_pending(v, 1000000));
	v->csrs.hvip = HVIP_VSSIP;	/* pending already when it suspended */
	v->csrs.vsie = VSIE_SSIE;
	CHECK(vcpu_wake_if_pending(v, 0));
	CHECK_EQ(v->power, VCPU_RUNNING);
	CHECK(vcpu_begin_run(v));
	vcpu_end_run(v);
	CHECK_EQ(v->ctx.sepc, pc);
	CHECK_EQ(v->ctx.x[REG_A0], 0);
	CHECK_EQ(v->ctx.x[REG_A5], a5);
	CHECK_EQ(v->csrs.hvip, HVIP_VSSIP);
	teardown();
}

static void test_wake_non_retentive(void)
{
	struct vcpu *v = &setup(NV)->vcpu[3];
	const uint64_t resume = RAM_BASE + 0x400000;

	vcpu_reset(v, RAM_BASE, 0);
	v->power = VCPU_RUNNING;
	struct ret r = SBI(v, SBI_EXT_HSM, SBI_HSM_HART_SUSPEND,
			   SBI_HSM_SUSPEND_NON_RETENTIVE_DEFAULT, resume, 0x0badcafe);
	CHECK_EQ(r.a0, 0);
	/* The guest's state while it sleeps (saved by vcpu_put). */
	v->ctx.sepc = 0x80005554;
	v->ctx.x[REG_SP] = 0x12345;
	v->ctx.x[5] = 0x777;	/* t0 */
	v->csrs.vsatp = 0x8000000000012345UL;
	v->csrs.vsstatus = SSTATUS_SIE;
	v->csrs.vsie = VSIE_SSIE | VSIE_STIE;
	v->csrs.vstimecmp = 1u << 30;
	CHECK(!vcpu_wake_if_pending(v, 0));
	CHECK_EQ(v->power, VCPU_SUSPENDED);

	/* An IPI arrives (not loaded: raised through irq_inject). Its hart
	 * wakes it, then loads it: the resume's reset happens then. */
	v->irq_inject = HVIP_VSSIP;
	CHECK(vcpu_wake_if_pending(v, 0));
	CHECK_EQ(v->power, VCPU_RUNNING);
	CHECK(vcpu_begin_run(v));
	vcpu_end_run(v);
	/* Resumes like a hart_start: at the resume address, a0 = hart id,
	 * a1 = opaque, the rest of the state reset... */
	CHECK_EQ(v->ctx.sepc, resume);
	CHECK_EQ(v->ctx.x[REG_A0], 3);
	CHECK_EQ(v->ctx.x[REG_A1], 0x0badcafe);
	CHECK_EQ(v->ctx.x[REG_SP], 0);
	CHECK_EQ(v->ctx.x[5], 0);
	CHECK_EQ(v->csrs.vsatp, 0);
	CHECK_EQ(v->csrs.vsstatus, 0);
	/* ...but keeping the enabled interrupts, the timer, and the pending
	 * interrupt that woke it (else the guest loses that IPI). */
	CHECK_EQ(v->csrs.vsie, VSIE_SSIE | VSIE_STIE);
	CHECK_EQ(v->csrs.vstimecmp, 1u << 30);
	CHECK_EQ((v->csrs.hvip | v->irq_inject) & HVIP_VSSIP, HVIP_VSSIP);
	CHECK(vcpu_csrs_interrupt_pending(&(struct vcpu_csrs){
		.vsie = v->csrs.vsie, .vstimecmp = v->csrs.vstimecmp,
		.hvip = v->csrs.hvip | v->irq_inject }, 0));

	/* Woken by the timer instead: the timer still fires afterwards. */
	v->power = VCPU_RUNNING;
	r = SBI(v, SBI_EXT_HSM, SBI_HSM_HART_SUSPEND,
		SBI_HSM_SUSPEND_NON_RETENTIVE_DEFAULT, resume, 1);
	CHECK_EQ(r.a0, 0);
	v->irq_inject = 0;
	v->csrs.hvip = 0;
	v->csrs.vsie = VSIE_STIE;
	v->csrs.vstimecmp = 100;
	CHECK(vcpu_wake_if_pending(v, 100));
	CHECK(vcpu_begin_run(v));
	vcpu_end_run(v);
	CHECK_EQ(v->ctx.sepc, resume);
	CHECK_EQ(v->ctx.x[REG_A1], 1);
	CHECK(vcpu_csrs_interrupt_pending(&v->csrs, 100));
	teardown();
}

/* ---- SRST ----------------------------------------------------------------- */

static void test_srst(void)
{
	struct vcpu *v = &setup(NV)->vcpu[0];
	struct ret r;
	static const unsigned long ok[][2] = {
		{ 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 }, { 2, 0 }, { 2, 1 },
		{ 0, 0xE0000000 }, { 1, 0xEFFFFFFF }, { 2, 0xF0000000 }, { 0, 0xFFFFFFFF },
	};
	static const unsigned long reserved[][2] = {
		{ 3, 0 }, { 0x10, 0 }, { 0xEFFFFFFF, 0 }, { 0x100000000UL, 0 }, { ALL_HARTS, 0 },
		{ 0, 2 }, { 1, 0xDFFFFFFF }, { 2, 0x100000000UL }, { 0, ALL_HARTS },
	};
	static const unsigned long vendor[][2] = {
		{ 0xF0000000, 0 }, { 0xFFFFFFFF, 0 }, { 0xF0000001, 1 },
		{ 0xF0000000, 2 },	/* a vendor type wins over a reserved reason */
	};

	for (unsigned i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		fake.reset_calls = 0;
		r = SBI(v, SBI_EXT_SRST, SBI_SRST_SYSTEM_RESET, ok[i][0], ok[i][1], 0);
		if (!CHECK_EQ(r.a0, 0))
			printf("    type 0x%lx reason 0x%lx\n", ok[i][0], ok[i][1]);
		CHECK_EQ(fake.reset_calls, 1);
		CHECK(fake.reset_vm == vm);
		CHECK_EQ(fake.reset_type, ok[i][0]);
		CHECK_EQ(fake.reset_reason, ok[i][1]);
	}
	fake.reset_calls = 0;
	for (unsigned i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		r = SBI(v, SBI_EXT_SRST, SBI_SRST_SYSTEM_RESET, reserved[i][0], reserved[i][1], 0);
		if (!CHECK_EQ(r.a0, SBI_ERR_INVALID_PARAM))
			printf("    type 0x%lx reason 0x%lx\n", reserved[i][0], reserved[i][1]);
	}
	for (unsigned i = 0; i < sizeof(vendor) / sizeof(vendor[0]); i++) {
		r = SBI(v, SBI_EXT_SRST, SBI_SRST_SYSTEM_RESET, vendor[i][0], vendor[i][1], 0);
		if (!CHECK_EQ(r.a0, SBI_ERR_NOT_SUPPORTED))
			printf("    type 0x%lx reason 0x%lx\n", vendor[i][0], vendor[i][1]);
	}
	r = SBI(v, SBI_EXT_SRST, 1, 0, 0, 0);
	CHECK_EQ(r.a0, SBI_ERR_NOT_SUPPORTED);
	CHECK_EQ(fake.reset_calls, 0);
	teardown();
}

/* ---- DBCN ----------------------------------------------------------------- */

static void test_dbcn_write(void)
{
	struct vcpu *v = &setup(NV)->vcpu[0];
	static const char msg[] = "hello, \xe2\x9c\x93 world\n\t'\"$(x)\"\x01";
	const size_t n = sizeof(msg) - 1;
	const uint64_t gpa = RAM_BASE + PAGE_SIZE - 7;	/* crosses a page */
	struct ret r;

	CHECK(guest_copy_to(vm, gpa, msg, n));
	r = SBI(v, SBI_EXT_DBCN, SBI_DBCN_CONSOLE_WRITE, n, gpa, 0);
	CHECK_EQ(r.a0, 0);
	CHECK_EQ(r.a1, n);
	CHECK_EQ(fake.out_len, n);
	CHECK_MEM(fake.out, msg, n);
	CHECK(fake.console_vm == vm);
	CHECK_EQ(fake.putc_calls, 0);

	/* Length 0: nothing written, success. */
	fake.out_len = 0;
	r = SBI(v, SBI_EXT_DBCN, SBI_DBCN_CONSOLE_WRITE, 0, gpa, 0);
	CHECK_EQ(r.a0, 0);
	CHECK_EQ(r.a1, 0);
	CHECK_EQ(fake.out_len, 0);

	/* Up to the last byte of RAM. */
	CHECK(guest_copy_to(vm, RAM_END - 5, "tail!", 5));
	r = SBI(v, SBI_EXT_DBCN, SBI_DBCN_CONSOLE_WRITE, 5, RAM_END - 5, 0);
	CHECK_EQ(r.a0, 0);
	CHECK_EQ(r.a1, 5);
	CHECK_EQ(fake.out_len, 5);
	CHECK_MEM(fake.out, "tail!", 5);

	/* Bad buffers: -3 and nothing written. */
	fake.out_len = 0;
	unsigned writes = fake.write_calls;
	static const unsigned long bad[][3] = {	/* len, lo, hi */
		{ 5, RAM_BASE, 1 },		/* hi != 0 */
		{ 1, RAM_BASE, ALL_HARTS },
		{ 6, RAM_END - 5, 0 },		/* crosses the end */
		{ 1, RAM_END, 0 },
		{ 4, 0x1000, 0 },		/* not RAM */
		{ 4, RAM_BASE - 2, 0 },
		{ ALL_HARTS, RAM_BASE, 0 },	/* wraps */
		{ 2, ALL_HARTS, 0 },
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = SBI(v, SBI_EXT_DBCN, SBI_DBCN_CONSOLE_WRITE, bad[i][0], bad[i][1], bad[i][2]);
		if (!CHECK_EQ(r.a0, SBI_ERR_INVALID_PARAM))
			printf("    len 0x%lx lo 0x%lx hi 0x%lx\n", bad[i][0], bad[i][1], bad[i][2]);
		CHECK_EQ(r.a1, 0);
	}
	CHECK_EQ(fake.out_len, 0);
	CHECK_EQ(fake.write_calls, writes);

	/* A long write is partial: at most 4096 bytes per call, and a1 says
	 * how many. */
	static char big[5000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	CHECK(guest_copy_to(vm, RAM_BASE + 0x10000, big, sizeof(big)));
	r = SBI(v, SBI_EXT_DBCN, SBI_DBCN_CONSOLE_WRITE, sizeof(big), RAM_BASE + 0x10000, 0);
	CHECK_EQ(r.a0, 0);
	CHECK_EQ(r.a1, 4096);
	CHECK_EQ(fake.out_len, 4096);
	CHECK_MEM(fake.out, big, 4096);

	/* write_byte: the low 8 bits of a0. */
	fake.out_len = 0;
	r = SBI(v, SBI_EXT_DBCN, SBI_DBCN_CONSOLE_WRITE_BYTE, 0x15a, 0, 0);
	CHECK_EQ(r.a0, 0);
	CHECK_EQ(r.a1, 0);
	CHECK_EQ(fake.putc_calls, 1);
	CHECK_EQ(fake.out_len, 1);
	CHECK_EQ(fake.out[0], 'Z');

	r = SBI(v, SBI_EXT_DBCN, 3, 0, 0, 0);
	CHECK_EQ(r.a0, SBI_ERR_NOT_SUPPORTED);
	teardown();
}

static void test_dbcn_read(void)
{
	struct vcpu *v = &setup(NV)->vcpu[0];
	const uint64_t gpa = RAM_BASE + 2 * PAGE_SIZE - 2;	/* crosses a page */
	char buf[300];
	struct ret r;

	CHECK(guest_copy_to(vm, gpa, "..........", 10));
	/* Nothing typed: 0 bytes, memory unchanged. */
	r = SBI(v, SBI_EXT_DBCN, SBI_DBCN_CONSOLE_READ, 10, gpa, 0);
	CHECK_EQ(r.a0, 0);
	CHECK_EQ(r.a1, 0);
	CHECK(guest_copy_from(vm, buf, gpa, 10));
	CHECK_MEM(buf, "..........", 10);

	/* Typed input lands in guest RAM. */
	fake_console_input("abc", 3);
	r = SBI(v, SBI_EXT_DBCN, SBI_DBCN_CONSOLE_READ, 10, gpa, 0);
	CHECK_EQ(r.a0, 0);
	CHECK_EQ(r.a1, 3);
	CHECK(guest_copy_from(vm, buf, gpa, 10));
	CHECK_MEM(buf, "abc.......", 10);
	CHECK(fake.console_vm == vm);

	/* No more than len bytes; the rest stays queued. */
	fake_console_input("xyz", 3);
	r = SBI(v, SBI_EXT_DBCN, SBI_DBCN_CONSOLE_READ, 2, gpa, 0);
	CHECK_EQ(r.a0, 0);
	CHECK_EQ(r.a1, 2);
	CHECK(guest_copy_from(vm, buf, gpa, 4));
	CHECK_MEM(buf, "xyc.", 4);
	CHECK_EQ(fake.in_len - fake.in_pos, 1);

	/* Bad buffers: -3, and no input consumed. */
	unsigned getcs = fake.getc_calls;
	r = SBI(v, SBI_EXT_DBCN, SBI_DBCN_CONSOLE_READ, 4, gpa, 1);
	CHECK_EQ(r.a0, SBI_ERR_INVALID_PARAM);
	r = SBI(v, SBI_EXT_DBCN, SBI_DBCN_CONSOLE_READ, 4, RAM_END - 3, 0);
	CHECK_EQ(r.a0, SBI_ERR_INVALID_PARAM);
	r = SBI(v, SBI_EXT_DBCN, SBI_DBCN_CONSOLE_READ, 4, 0, 0);
	CHECK_EQ(r.a0, SBI_ERR_INVALID_PARAM);
	CHECK_EQ(r.a1, 0);
	CHECK_EQ(fake.getc_calls, getcs);
	CHECK_EQ(fake.in_len - fake.in_pos, 1);
	r = SBI(v, SBI_EXT_DBCN, SBI_DBCN_CONSOLE_READ, 1, gpa, 0);
	CHECK_EQ(r.a1, 1);
	CHECK(guest_copy_from(vm, buf, gpa, 1));
	CHECK_EQ(buf[0], 'z');

	/* A read is partial: at most 256 bytes per call. */
	char in[300];
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (char)(i * 7 + 1);
	fake_console_input(in, sizeof(in));
	r = SBI(v, SBI_EXT_DBCN, SBI_DBCN_CONSOLE_READ, sizeof(in), RAM_BASE + 0x20000, 0);
	CHECK_EQ(r.a0, 0);
	CHECK_EQ(r.a1, 256);
	CHECK(guest_copy_from(vm, buf, RAM_BASE + 0x20000, 256));
	CHECK_MEM(buf, in, 256);
	r = SBI(v, SBI_EXT_DBCN, SBI_DBCN_CONSOLE_READ, sizeof(in), RAM_BASE + 0x20000, 0);
	CHECK_EQ(r.a1, sizeof(in) - 256);
	CHECK(guest_copy_from(vm, buf, RAM_BASE + 0x20000, sizeof(in) - 256));
	CHECK_MEM(buf, in + 256, sizeof(in) - 256);

	/* A zero-length read at the end of RAM reads nothing. */
	fake_console_input("q", 1);
	r = SBI(v, SBI_EXT_DBCN, SBI_DBCN_CONSOLE_READ, 0, RAM_END, 0);
	CHECK_EQ(r.a0, 0);
	CHECK_EQ(r.a1, 0);
	CHECK_EQ(fake.in_len - fake.in_pos, 1);
	teardown();
}

/*
 * discv's extension: REMAP_PAGE(dst, src) leaves dst holding src's
 * contents as one host page, read-only in both, copied on the next
 * write; anything it refuses leaves dst as it was. PV_COPY=0 hides it.
 */
static void test_discv_remap(void)
{
	struct vcpu *v = &setup(NV)->vcpu[0];
	const uint64_t src = RAM_BASE + 0x10000, dst = RAM_BASE + 0x30000;
	char a[PAGE_SIZE], b[PAGE_SIZE], got[PAGE_SIZE];
	uint64_t hs = 0, hd = 0;
	unsigned perms = 0;
	struct ret r;

	memset(a, 'S', sizeof(a));
	memset(b, 'd', sizeof(b));
	CHECK(guest_copy_to(vm, src, a, sizeof(a)));
	CHECK(guest_copy_to(vm, dst, b, sizeof(b)));
	r = SBI(v, SBI_EXT_BASE, SBI_BASE_PROBE_EXT, SBI_EXT_DISCV, 0, 0);
	CHECK_EQ(r.a1, 1);
	r = SBI(v, SBI_EXT_DISCV, SBI_DISCV_REMAP_PAGE, dst, src, 0);
	CHECK_EQ(r.a0, SBI_SUCCESS);
	CHECK_EQ(vm->pv_remaps, 1);
	CHECK(gstage_lookup(&vm->gstage, src, &hs, &perms) && !(perms & GSTAGE_WRITE));
	CHECK(gstage_lookup(&vm->gstage, dst, &hd, &perms) && !(perms & GSTAGE_WRITE));
	CHECK_EQ(hs, hd);
	CHECK(guest_copy_from(vm, got, dst, sizeof(got)));
	CHECK_MEM(got, a, sizeof(a));
	/* A write to either copies: the other keeps the data. */
	CHECK(guest_copy_to(vm, dst, "X", 1));
	CHECK(guest_copy_from(vm, got, src, sizeof(got)));
	CHECK_MEM(got, a, sizeof(a));
	/* Refusals: dst unchanged each time. */
	static const struct { uint64_t dst, src; long error; } bad[] = {
		{ RAM_BASE + 0x30008, RAM_BASE + 0x10000, SBI_ERR_INVALID_PARAM },	/* misaligned */
		{ RAM_BASE + 0x30000, RAM_BASE + 0x10800, SBI_ERR_INVALID_PARAM },
		{ RAM_BASE + 0x30000, RAM_BASE + 0x30000, SBI_ERR_INVALID_PARAM },	/* the same page */
		{ RAM_END, RAM_BASE + 0x10000, SBI_ERR_INVALID_ADDRESS },		/* not its RAM */
		{ RAM_BASE + 0x30000, RAM_BASE - PAGE_SIZE, SBI_ERR_INVALID_ADDRESS },
		{ RAM_BASE + 0x30000, 0x10000000, SBI_ERR_INVALID_ADDRESS },
		{ RAM_BASE + 0x30000, ~0xfffUL, SBI_ERR_INVALID_ADDRESS },
		{ RAM_BASE + 0x30000, RAM_BASE + 0x50000, SBI_ERR_FAILED },		/* src never touched */
		{ RAM_BASE + 0x30000, RAM_BASE + 0x70000, SBI_ERR_DENIED },		/* a device's rings */
		{ RAM_BASE + 0x70000, RAM_BASE + 0x10000, SBI_ERR_DENIED },
	};
	CHECK(guest_copy_to(vm, RAM_BASE + 0x70000, "ring", 4));
	fake.device_page = RAM_BASE + 0x70000;
	CHECK(guest_copy_from(vm, b, dst, sizeof(b)));
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = SBI(v, SBI_EXT_DISCV, SBI_DISCV_REMAP_PAGE, bad[i].dst, bad[i].src, 0);
		if (!CHECK_EQ(r.a0, bad[i].error))
			printf("    dst 0x%lx src 0x%lx\n", (unsigned long)bad[i].dst, (unsigned long)bad[i].src);
		CHECK(guest_copy_from(vm, got, dst, sizeof(got)));
		CHECK_MEM(got, b, sizeof(b));
	}
	CHECK_EQ(vm->pv_remap_fallbacks, sizeof(bad) / sizeof(bad[0]));
	r = SBI(v, SBI_EXT_DISCV, 1, dst, src, 0);	/* an unknown function */
	CHECK_EQ(r.a0, SBI_ERR_NOT_SUPPORTED);
	/* PV_COPY=0: absent. */
	sbi_discv_set_enabled(false);
	r = SBI(v, SBI_EXT_BASE, SBI_BASE_PROBE_EXT, SBI_EXT_DISCV, 0, 0);
	CHECK_EQ(r.a1, 0);
	r = SBI(v, SBI_EXT_DISCV, SBI_DISCV_REMAP_PAGE, dst, src, 0);
	CHECK_EQ(r.a0, SBI_ERR_NOT_SUPPORTED);
	sbi_discv_set_enabled(true);
	fake.device_page = 0;
	teardown();
}

int main(void)
{
	RUN(test_base);
	RUN(test_unknown_extension);
	RUN(test_legacy);
	RUN(test_time);
	RUN(test_ipi);
	RUN(test_rfence);
	RUN(test_hsm_start_stop_status);
	RUN(test_hsm_suspend);
	RUN(test_interrupt_pending);
	RUN(test_wake);
	RUN(test_wake_non_retentive);
	RUN(test_srst);
	RUN(test_dbcn_write);
	RUN(test_dbcn_read);
	RUN(test_discv_remap);
	return unit_report("test_sbi");
}
