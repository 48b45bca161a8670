/*
 * hyp/vplic.c: the guest's virtual PLIC (PLIC spec 1.0.0). The register
 * map (priority, pending, enable, threshold, claim/complete) and what
 * each register keeps; the interrupt line of each context (priority 0
 * masks, threshold >= priority blocks, per-context enables); claim order
 * (highest priority, ties to the lowest id); completion as Linux 6.1 uses
 * it (level sources still asserted pend again; the enable bit is not
 * looked at; completions of unclaimed sources are ignored); vplic_update's
 * changed mask; sources and contexts out of range; and random operations
 * checked against the rules after every step.
 */
#include <string.h>
#include "vplic/vplic.h"
#include "unit.h"

/* Register offsets, spelled out as in the PLIC spec's memory map. */
static uint64_t prio(unsigned s) { return 0x0 + 4ULL * s; }
#define PENDING 0x1000
static uint64_t enable(unsigned ctx) { return 0x2000 + 0x80ULL * ctx; }
static uint64_t threshold(unsigned ctx) { return 0x200000 + 0x1000ULL * ctx; }
static uint64_t claimreg(unsigned ctx) { return 0x200004 + 0x1000ULL * ctx; }

static unsigned claim(struct vplic *p, unsigned ctx)
{
	return vplic_read(p, claimreg(ctx));
}

static void complete(struct vplic *p, unsigned ctx, uint32_t source)
{
	vplic_write(p, claimreg(ctx), source);
}

/* Source s: priority pr, enabled for context ctx, line asserted. */
static void setup(struct vplic *p, unsigned s, unsigned pr, unsigned ctx)
{
	vplic_write(p, prio(s), pr);
	vplic_write(p, enable(ctx), vplic_read(p, enable(ctx)) | 1U << s);
	vplic_set_level(p, s, true);
}

static void test_init(void)
{
	struct vplic p;

	memset(&p, 0xff, sizeof(p));
	vplic_init(&p, 2);
	CHECK_EQ(p.ncontexts, 2);
	CHECK_EQ(p.level, 0);
	CHECK_EQ(p.pending, 0);
	CHECK_EQ(p.claimed, 0);
	CHECK_EQ(p.output, 0);
	CHECK_EQ(p.claims, 0);
	CHECK_EQ(p.lock.locked, 0);
	for (unsigned s = 0; s < VPLIC_SOURCES; s++)
		CHECK_EQ(p.priority[s], 0);
	for (unsigned c = 0; c < VPLIC_MAX_CONTEXTS; c++) {
		CHECK_EQ(p.enable[c], 0);
		CHECK_EQ(p.threshold[c], 0);
	}
	CHECK_EQ(vplic_read(&p, PENDING), 0);
	CHECK_EQ(vplic_update(&p), 0);

	vplic_init(&p, 100);
	CHECK_EQ(p.ncontexts, VPLIC_MAX_CONTEXTS);
	vplic_init(&p, VPLIC_MAX_CONTEXTS + 1);
	CHECK_EQ(p.ncontexts, VPLIC_MAX_CONTEXTS);
	vplic_init(&p, VPLIC_MAX_CONTEXTS);
	CHECK_EQ(p.ncontexts, VPLIC_MAX_CONTEXTS);
	vplic_init(&p, 1);
	CHECK_EQ(p.ncontexts, 1);
}

static void test_priority(void)
{
	struct vplic p;

	vplic_init(&p, 2);
	for (unsigned s = 1; s < VPLIC_SOURCES; s++)
		vplic_write(&p, prio(s), s % 8);
	for (unsigned s = 1; s < VPLIC_SOURCES; s++)
		CHECK_EQ(vplic_read(&p, prio(s)), s % 8);
	/* WARL: 3 bits */
	vplic_write(&p, prio(5), 0xffffffff);
	CHECK_EQ(vplic_read(&p, prio(5)), VPLIC_PRIORITY_MAX);
	CHECK_EQ(VPLIC_PRIORITY_MAX, 7);
	vplic_write(&p, prio(5), 9);
	CHECK_EQ(vplic_read(&p, prio(5)), 1);
	vplic_write(&p, prio(5), 8);
	CHECK_EQ(vplic_read(&p, prio(5)), 0);
	/* source 0 does not exist */
	vplic_write(&p, prio(0), 3);
	CHECK_EQ(vplic_read(&p, prio(0)), 0);
	CHECK_EQ(p.priority[0], 0);
	/* sources past the last: read 0, writes change nothing */
	struct vplic before = p;
	for (unsigned s = VPLIC_SOURCES; s < 1024; s++) {
		vplic_write(&p, prio(s), 5);
		CHECK_EQ(vplic_read(&p, prio(s)), 0);
	}
	CHECK_MEM(&p, &before, sizeof(p));
}

static void test_enable(void)
{
	struct vplic p;

	vplic_init(&p, 3);
	vplic_write(&p, enable(0), 0xffffffff);
	CHECK_EQ(vplic_read(&p, enable(0)), 0xfffffffe);	/* bit 0: no source 0 */
	CHECK_EQ(vplic_read(&p, enable(1)), 0);
	vplic_write(&p, enable(1), 0x00000006);
	vplic_write(&p, enable(2), 0x80000001);
	CHECK_EQ(vplic_read(&p, enable(0)), 0xfffffffe);
	CHECK_EQ(vplic_read(&p, enable(1)), 0x00000006);
	CHECK_EQ(vplic_read(&p, enable(2)), 0x80000000);
	CHECK_EQ(p.enable[2], 0x80000000);
	vplic_write(&p, enable(0), 0);
	CHECK_EQ(vplic_read(&p, enable(0)), 0);

	/* Contexts past ncontexts (within the array and beyond it), and the
	 * enable words of sources 32 and up: read 0, writes change nothing. */
	vplic_write(&p, enable(0), 0x12345678);
	struct vplic before = p;
	for (unsigned c = 3; c < 40; c++) {
		vplic_write(&p, enable(c), 0xffffffff);
		CHECK_EQ(vplic_read(&p, enable(c)), 0);
	}
	for (unsigned w = 4; w < 0x80; w += 4) {
		vplic_write(&p, enable(0) + w, 0xffffffff);
		CHECK_EQ(vplic_read(&p, enable(0) + w), 0);
		CHECK_EQ(vplic_read(&p, enable(1) + w), 0);
	}
	vplic_write(&p, 0x1ffffc, 0xffffffff);	/* the last enable word */
	CHECK_EQ(vplic_read(&p, 0x1ffffc), 0);
	CHECK_MEM(&p, &before, sizeof(p));
	CHECK_EQ(vplic_read(&p, enable(0)), 0x12345678);
}

static void test_threshold(void)
{
	struct vplic p;

	vplic_init(&p, 2);
	vplic_write(&p, threshold(0), 3);
	vplic_write(&p, threshold(1), 7);
	CHECK_EQ(vplic_read(&p, threshold(0)), 3);
	CHECK_EQ(vplic_read(&p, threshold(1)), 7);
	vplic_write(&p, threshold(1), 0xffffffff);
	CHECK_EQ(vplic_read(&p, threshold(1)), 7);
	vplic_write(&p, threshold(0), 0);
	CHECK_EQ(vplic_read(&p, threshold(0)), 0);
	CHECK_EQ(vplic_read(&p, threshold(1)), 7);

	struct vplic before = p;
	for (unsigned c = 2; c < 16; c++) {
		vplic_write(&p, threshold(c), 5);
		CHECK_EQ(vplic_read(&p, threshold(c)), 0);
	}
	CHECK_MEM(&p, &before, sizeof(p));
}

/* Offsets between the registers read 0 and ignore writes; the pending
 * register is read-only. */
static void test_register_map(void)
{
	static const uint64_t holes[] = { 0x1004, 0x1008, 0x1ffc, 0x200008, 0x20000c,
					  0x200ffc, 0x201008, 0x201ffc, 0x5ffffc };
	struct vplic p;

	vplic_init(&p, 2);
	setup(&p, 3, 2, 1);
	vplic_write(&p, threshold(1), 1);
	CHECK_EQ(vplic_read(&p, 0x0c), 2);		/* priority of source 3 */
	CHECK_EQ(vplic_read(&p, 0x1000), 1U << 3);	/* pending */
	CHECK_EQ(vplic_read(&p, 0x2080), 1U << 3);	/* context 1's enables */
	CHECK_EQ(vplic_read(&p, 0x2000), 0);		/* context 0's */
	CHECK_EQ(vplic_read(&p, 0x201000), 1);		/* context 1's threshold */
	CHECK_EQ(vplic_read(&p, 0x200000), 0);		/* context 0's */
	vplic_update(&p);

	struct vplic before = p;
	/* pending: read-only */
	vplic_write(&p, PENDING, 0);
	vplic_write(&p, PENDING, 0xffffffff);
	CHECK_EQ(vplic_read(&p, PENDING), 1U << 3);
	CHECK_MEM(&p, &before, sizeof(p));
	for (size_t i = 0; i < sizeof(holes) / sizeof(holes[0]); i++) {
		vplic_write(&p, holes[i], 0xffffffff);
		vplic_write(&p, holes[i], 3);
		CHECK_EQ(vplic_read(&p, holes[i]), 0);
	}
	CHECK_MEM(&p, &before, sizeof(p));

	CHECK_EQ(vplic_read(&p, 0x201004), 3);		/* context 1's claim */
	CHECK_EQ(p.claimed, 1U << 3);
	vplic_write(&p, 0x201004, 3);			/* its complete */
	CHECK_EQ(p.claimed, 0);
	CHECK_EQ(vplic_read(&p, 0x200004), 0);		/* context 0 has none */
}

/* Linux masks a source by writing priority 0: it never interrupts, but
 * still shows in the pending register. */
static void test_priority_zero_masks(void)
{
	struct vplic p;

	vplic_init(&p, 2);
	setup(&p, 5, 0, 0);
	CHECK_EQ(vplic_read(&p, PENDING), 1U << 5);
	CHECK(!vplic_context_line(&p, 0));
	CHECK_EQ(vplic_update(&p), 0);
	CHECK_EQ(claim(&p, 0), 0);
	CHECK_EQ(vplic_read(&p, PENDING), 1U << 5);
	CHECK_EQ(p.claims, 0);

	vplic_write(&p, prio(5), 1);			/* unmask */
	CHECK(vplic_context_line(&p, 0));
	CHECK_EQ(vplic_update(&p), 1);
	CHECK_EQ(p.output, 1);
	vplic_write(&p, prio(5), 0);			/* mask again */
	CHECK(!vplic_context_line(&p, 0));
	CHECK_EQ(vplic_update(&p), 1);
	CHECK_EQ(p.output, 0);
	CHECK_EQ(vplic_read(&p, PENDING), 1U << 5);
}

static void test_line_per_context(void)
{
	struct vplic p;

	vplic_init(&p, 2);
	CHECK(!vplic_context_line(&p, 0));
	vplic_set_level(&p, 7, true);
	vplic_write(&p, prio(7), 1);
	CHECK(!vplic_context_line(&p, 0));		/* not enabled anywhere */
	CHECK(!vplic_context_line(&p, 1));
	vplic_write(&p, enable(0), 1U << 7);
	CHECK(vplic_context_line(&p, 0));
	CHECK(!vplic_context_line(&p, 1));
	vplic_write(&p, enable(1), 1U << 7);
	CHECK(vplic_context_line(&p, 1));
	vplic_write(&p, enable(0), 1U << 6);		/* another source only */
	CHECK(!vplic_context_line(&p, 0));
	CHECK(vplic_context_line(&p, 1));
	CHECK(!vplic_context_line(&p, 2));		/* no such context */
	CHECK(!vplic_context_line(&p, VPLIC_MAX_CONTEXTS));
	CHECK(!vplic_context_line(&p, 1000));
	CHECK_EQ(vplic_update(&p), 2);
	CHECK_EQ(p.output, 2);
}

/* The line is up only for a priority strictly above the threshold. */
static void test_threshold_blocks(void)
{
	struct vplic p;

	vplic_init(&p, 2);
	setup(&p, 4, 3, 0);
	setup(&p, 4, 3, 1);
	vplic_write(&p, threshold(0), 3);
	CHECK(!vplic_context_line(&p, 0));
	CHECK(vplic_context_line(&p, 1));
	CHECK_EQ(claim(&p, 0), 0);
	CHECK_EQ(vplic_read(&p, PENDING), 1U << 4);
	vplic_write(&p, threshold(0), 4);
	CHECK(!vplic_context_line(&p, 0));
	vplic_write(&p, threshold(0), 2);
	CHECK(vplic_context_line(&p, 0));
	vplic_write(&p, threshold(0), 7);
	vplic_write(&p, prio(4), 7);
	CHECK(!vplic_context_line(&p, 0));		/* 7 is not above 7 */
	CHECK(vplic_context_line(&p, 1));
	vplic_write(&p, threshold(0), 6);
	CHECK(vplic_context_line(&p, 0));
	CHECK_EQ(p.claims, 0);
}

static void test_claim_order(void)
{
	struct vplic p;

	vplic_init(&p, 2);
	setup(&p, 2, 1, 0);
	setup(&p, 9, 3, 0);
	setup(&p, 20, 5, 0);
	setup(&p, 4, 5, 0);
	setup(&p, 6, 5, 0);
	setup(&p, 31, 7, 1);		/* other context only */
	setup(&p, 12, 0, 0);		/* masked */
	CHECK_EQ(vplic_update(&p), 3);
	CHECK_EQ(claim(&p, 0), 4);	/* priority 5: 4, 6, 20 tie, lowest first */
	CHECK_EQ(vplic_read(&p, PENDING), 1U << 2 | 1U << 6 | 1U << 9 | 1U << 12 | 1U << 20 |
					  1U << 31);
	CHECK_EQ(claim(&p, 0), 6);
	CHECK_EQ(claim(&p, 0), 20);
	CHECK_EQ(claim(&p, 0), 9);
	CHECK_EQ(claim(&p, 0), 2);
	CHECK_EQ(claim(&p, 0), 0);	/* 12 is masked, 31 is not ours */
	CHECK_EQ(claim(&p, 0), 0);
	CHECK_EQ(vplic_read(&p, PENDING), 1U << 12 | 1U << 31);
	CHECK_EQ(p.claimed, 1U << 2 | 1U << 4 | 1U << 6 | 1U << 9 | 1U << 20);
	CHECK_EQ(p.claims, 5);
	CHECK(!vplic_context_line(&p, 0));
	CHECK(vplic_context_line(&p, 1));
	CHECK_EQ(vplic_update(&p), 1);
	CHECK_EQ(p.output, 2);
	CHECK_EQ(claim(&p, 1), 31);
	CHECK_EQ(claim(&p, 1), 0);
	CHECK_EQ(p.claims, 6);
	/* a context that does not exist claims nothing */
	struct vplic before = p;
	CHECK_EQ(claim(&p, 2), 0);
	CHECK_EQ(claim(&p, 7), 0);
	CHECK_MEM(&p, &before, sizeof(p));

	/* Claims respect the threshold too (as QEMU's PLIC). */
	vplic_init(&p, 1);
	setup(&p, 3, 2, 0);
	setup(&p, 8, 4, 0);
	vplic_write(&p, threshold(0), 2);
	CHECK_EQ(claim(&p, 0), 8);
	CHECK_EQ(claim(&p, 0), 0);
	CHECK_EQ(vplic_read(&p, PENDING), 1U << 3);
	vplic_write(&p, threshold(0), 1);
	CHECK_EQ(claim(&p, 0), 3);

	/* A higher priority arriving later is claimed first. */
	vplic_init(&p, 1);
	setup(&p, 1, 1, 0);
	setup(&p, 30, 2, 0);
	CHECK_EQ(claim(&p, 0), 30);
	setup(&p, 17, 6, 0);
	CHECK_EQ(claim(&p, 0), 17);
	CHECK_EQ(claim(&p, 0), 1);
}

/* Claim, complete: a level source still asserted pends again at once. */
static void test_complete_still_asserted(void)
{
	struct vplic p;

	vplic_init(&p, 1);
	setup(&p, 3, 1, 0);
	CHECK_EQ(vplic_update(&p), 1);
	CHECK_EQ(claim(&p, 0), 3);
	CHECK_EQ(vplic_read(&p, PENDING), 0);
	CHECK(!vplic_context_line(&p, 0));
	CHECK_EQ(vplic_update(&p), 1);
	CHECK_EQ(p.output, 0);
	complete(&p, 0, 3);
	CHECK_EQ(p.claimed, 0);
	CHECK_EQ(vplic_read(&p, PENDING), 1U << 3);
	CHECK(vplic_context_line(&p, 0));
	CHECK_EQ(vplic_update(&p), 1);
	CHECK_EQ(p.output, 1);
	CHECK_EQ(claim(&p, 0), 3);
	CHECK_EQ(p.claims, 2);
}

/* The handler made the device drop its line: complete does not re-pend. */
static void test_complete_after_deassert(void)
{
	struct vplic p;

	vplic_init(&p, 1);
	setup(&p, 3, 1, 0);
	CHECK_EQ(claim(&p, 0), 3);
	vplic_set_level(&p, 3, false);
	complete(&p, 0, 3);
	CHECK_EQ(p.claimed, 0);
	CHECK_EQ(vplic_read(&p, PENDING), 0);
	CHECK(!vplic_context_line(&p, 0));
	CHECK_EQ(claim(&p, 0), 0);
	/* the next assertion interrupts again */
	vplic_set_level(&p, 3, true);
	CHECK(vplic_context_line(&p, 0));
	CHECK_EQ(claim(&p, 0), 3);
}

/* Linux 6.1 completes without checking the enable bit. */
static void test_complete_disabled(void)
{
	struct vplic p;

	vplic_init(&p, 2);
	setup(&p, 3, 1, 0);
	CHECK_EQ(claim(&p, 0), 3);
	vplic_write(&p, enable(0), 0);
	complete(&p, 0, 3);
	CHECK_EQ(p.claimed, 0);
	CHECK_EQ(vplic_read(&p, PENDING), 1U << 3);	/* still asserted */
	CHECK(!vplic_context_line(&p, 0));		/* but disabled */
	vplic_write(&p, enable(0), 1U << 3);
	CHECK(vplic_context_line(&p, 0));
	/* completed through another context than the claiming one */
	CHECK_EQ(claim(&p, 0), 3);
	complete(&p, 1, 3);
	CHECK_EQ(p.claimed, 0);
	CHECK_EQ(vplic_read(&p, PENDING), 1U << 3);
}

/* A completion of a source not claimed (or not existing) is ignored. */
static void test_complete_unclaimed(void)
{
	static const uint32_t bogus[] = { 0, 32, 33, 63, 64, 100, 0x80000000u, 0xffffffffu };
	struct vplic p;

	vplic_init(&p, 2);
	setup(&p, 3, 1, 0);
	setup(&p, 5, 1, 0);
	CHECK_EQ(claim(&p, 0), 3);
	vplic_set_level(&p, 5, false);
	vplic_set_level(&p, 5, true);
	struct vplic before = p;
	complete(&p, 0, 5);		/* pending, not claimed */
	complete(&p, 0, 7);		/* idle */
	for (size_t i = 0; i < sizeof(bogus) / sizeof(bogus[0]); i++) {
		complete(&p, 0, bogus[i]);
		complete(&p, 1, bogus[i]);
	}
	complete(&p, 2, 3);		/* no such context */
	complete(&p, 7, 3);
	CHECK_MEM(&p, &before, sizeof(p));
	CHECK_EQ(p.claimed, 1U << 3);
	complete(&p, 0, 3);
	CHECK_EQ(p.claimed, 0);
	complete(&p, 0, 3);		/* twice: the second is ignored */
	CHECK_EQ(p.claimed, 0);
	CHECK_EQ(vplic_read(&p, PENDING), 1U << 3 | 1U << 5);
}

/* A source in service does not pend again until its completion. */
static void test_assert_while_claimed(void)
{
	struct vplic p;

	vplic_init(&p, 1);
	setup(&p, 3, 1, 0);
	CHECK_EQ(claim(&p, 0), 3);
	vplic_set_level(&p, 3, false);
	vplic_set_level(&p, 3, true);
	vplic_set_level(&p, 3, true);
	CHECK_EQ(vplic_read(&p, PENDING), 0);
	CHECK(!vplic_context_line(&p, 0));
	CHECK_EQ(claim(&p, 0), 0);
	complete(&p, 0, 3);
	CHECK_EQ(vplic_read(&p, PENDING), 1U << 3);
	CHECK(vplic_context_line(&p, 0));

	/* asserted, dropped and asserted again while in service, then
	 * dropped before the completion: nothing left */
	CHECK_EQ(claim(&p, 0), 3);
	vplic_set_level(&p, 3, false);
	vplic_set_level(&p, 3, true);
	vplic_set_level(&p, 3, false);
	complete(&p, 0, 3);
	CHECK_EQ(vplic_read(&p, PENDING), 0);
	CHECK(!vplic_context_line(&p, 0));
}

/* Dropping the line clears pending (level-triggered). */
static void test_deassert_clears_pending(void)
{
	struct vplic p;

	vplic_init(&p, 1);
	setup(&p, 3, 1, 0);
	setup(&p, 4, 1, 0);
	vplic_set_level(&p, 3, true);			/* again: no change */
	CHECK_EQ(vplic_read(&p, PENDING), 1U << 3 | 1U << 4);
	vplic_set_level(&p, 3, false);
	CHECK_EQ(vplic_read(&p, PENDING), 1U << 4);
	CHECK(vplic_context_line(&p, 0));
	vplic_set_level(&p, 4, false);
	CHECK_EQ(vplic_read(&p, PENDING), 0);
	CHECK(!vplic_context_line(&p, 0));
	CHECK_EQ(claim(&p, 0), 0);
	vplic_set_level(&p, 4, false);
	CHECK_EQ(vplic_read(&p, PENDING), 0);
	CHECK_EQ(p.level, 0);
}

/* vplic_update: the contexts whose line changed since the last call. */
static void test_update(void)
{
	struct vplic p;

	vplic_init(&p, 3);
	CHECK_EQ(vplic_update(&p), 0);
	vplic_write(&p, prio(1), 1);
	vplic_write(&p, enable(0), 1U << 1);
	vplic_write(&p, enable(2), 1U << 1);
	vplic_set_level(&p, 1, true);
	CHECK_EQ(vplic_update(&p), 5);
	CHECK_EQ(p.output, 5);
	CHECK_EQ(vplic_update(&p), 0);			/* no change since */
	CHECK_EQ(p.output, 5);
	setup(&p, 2, 1, 1);
	CHECK_EQ(vplic_update(&p), 2);
	CHECK_EQ(p.output, 7);
	CHECK_EQ(claim(&p, 2), 1);			/* both 0 and 2 lose source 1 */
	CHECK_EQ(vplic_update(&p), 5);
	CHECK_EQ(p.output, 2);
	vplic_write(&p, threshold(1), 1);
	vplic_set_level(&p, 1, false);
	complete(&p, 0, 1);
	CHECK_EQ(vplic_update(&p), 2);
	CHECK_EQ(p.output, 0);
	vplic_write(&p, threshold(1), 0);
	vplic_write(&p, threshold(0), 5);
	CHECK_EQ(vplic_update(&p), 2);
	CHECK_EQ(p.output, 2);
	/* the lines agree with vplic_context_line */
	for (unsigned c = 0; c < 3; c++)
		CHECK_EQ(vplic_context_line(&p, c), (p.output >> c) & 1);
	/* one context: at most bit 0 */
	vplic_init(&p, 1);
	setup(&p, 9, 7, 0);
	CHECK_EQ(vplic_update(&p), 1);
	CHECK_EQ(p.output, 1);
}

/* The claims counter: successful claims only (hvstat's vplic_injections). */
static void test_claims_counter(void)
{
	struct vplic p;

	vplic_init(&p, 2);
	CHECK_EQ(claim(&p, 0), 0);
	CHECK_EQ(p.claims, 0);
	setup(&p, 3, 1, 0);
	for (unsigned i = 1; i <= 10; i++) {
		CHECK_EQ(claim(&p, 0), 3);
		CHECK_EQ(claim(&p, 0), 0);
		CHECK_EQ(claim(&p, 1), 0);
		complete(&p, 0, 3);
		CHECK_EQ(p.claims, i);
	}
}

/* Sources 0 and >= VPLIC_SOURCES do not exist: ignored everywhere. */
static void test_sources_out_of_range(void)
{
	static const unsigned bad[] = { 0, VPLIC_SOURCES, VPLIC_SOURCES + 1, 63, 64, 1000,
					0xffffffffu };
	struct vplic p;

	vplic_init(&p, 2);
	vplic_write(&p, enable(0), 0xffffffff);
	vplic_write(&p, prio(VPLIC_SOURCES - 1), 1);
	struct vplic before = p;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		vplic_set_level(&p, bad[i], true);
		CHECK_MEM(&p, &before, sizeof(p));
		vplic_set_level(&p, bad[i], false);
		complete(&p, 0, bad[i]);
		if (bad[i] < 1024) {
			vplic_write(&p, prio(bad[i]), 7);
			CHECK_EQ(vplic_read(&p, prio(bad[i])), 0);
		}
	}
	CHECK_MEM(&p, &before, sizeof(p));
	CHECK_EQ(vplic_read(&p, PENDING), 0);
	CHECK(!vplic_context_line(&p, 0));
	/* the last source works */
	vplic_set_level(&p, VPLIC_SOURCES - 1, true);
	CHECK_EQ(vplic_read(&p, PENDING), 1U << (VPLIC_SOURCES - 1));
	CHECK_EQ(claim(&p, 0), VPLIC_SOURCES - 1);
	complete(&p, 0, VPLIC_SOURCES - 1);
	CHECK_EQ(p.claimed, 0);
}

/* A Linux-like flow: two vCPUs, two devices, handlers that ack the device. */
static void test_linux_flow(void)
{
	struct vplic p;

	vplic_init(&p, 2);
	/* plic_irq_enable on both harts' contexts, unmask with priority 1 */
	for (unsigned c = 0; c < 2; c++) {
		vplic_write(&p, threshold(c), 0);
		vplic_write(&p, enable(c), 1U << 1 | 1U << 8);
	}
	vplic_write(&p, prio(1), 1);
	vplic_write(&p, prio(8), 1);
	vplic_set_level(&p, 8, true);			/* virtio-blk */
	vplic_set_level(&p, 1, true);			/* another device */
	CHECK_EQ(vplic_update(&p), 3);
	/* hart 1 takes the first, hart 0 the second */
	CHECK_EQ(claim(&p, 1), 1);
	CHECK_EQ(claim(&p, 0), 8);
	CHECK_EQ(claim(&p, 0), 0);
	CHECK_EQ(vplic_update(&p), 3);
	CHECK_EQ(p.output, 0);
	vplic_set_level(&p, 8, false);			/* the handler acks the device */
	complete(&p, 0, 8);
	complete(&p, 1, 1);				/* its device still asserts */
	CHECK_EQ(vplic_update(&p), 3);
	CHECK_EQ(p.output, 3);
	CHECK_EQ(claim(&p, 0), 1);
	vplic_set_level(&p, 1, false);
	complete(&p, 0, 1);
	CHECK_EQ(vplic_update(&p), 3);
	CHECK_EQ(p.output, 0);
	CHECK_EQ(p.claims, 3);
	CHECK_EQ(p.claimed, 0);
	CHECK_EQ(p.pending, 0);
}

/* Independent of the code: the source ctx should get now, 0 if none. */
static unsigned expected_claim(const struct vplic *p, unsigned ctx)
{
	unsigned best = 0, best_pr = p->threshold[ctx];

	for (unsigned s = 1; s < VPLIC_SOURCES; s++)
		if ((p->pending >> s & 1) && (p->enable[ctx] >> s & 1) &&
		    p->priority[s] > best_pr) {
			best = s;
			best_pr = p->priority[s];
		}
	return best;
}

/* Random operations; after each, the invariants, every line, and the
 * update mask. */
static void test_random(void)
{
	uint64_t seed = unit_seed(), r = seed;
	struct vplic p;
	uint32_t out = 0, level = 0, claimed = 0;
	unsigned bad = 0;

	vplic_init(&p, 4);
	for (unsigned step = 0; step < 20000 && bad < 5; step++) {
		uint64_t x = unit_rand(&r);
		unsigned s = 1 + (x >> 8) % (VPLIC_SOURCES - 1), c = (x >> 16) % 5;
		uint32_t pending_before = p.pending;
		bool ok = true;

		switch (x % 8) {
		case 0:
		case 1:
			vplic_set_level(&p, s, !(x & 0x100000));
			if (x & 0x100000)
				level &= ~(1U << s);
			else
				level |= 1U << s;
			break;
		case 2:
			vplic_write(&p, prio(s), (x >> 24) % 3);	/* 0, 1, 2 */
			break;
		case 3:
			vplic_write(&p, enable(c), (uint32_t)(x >> 32));
			break;
		case 4:
			vplic_write(&p, threshold(c), (x >> 24) % 3);
			break;
		case 5:
		case 6: {
			unsigned want = c < 4 ? expected_claim(&p, c) : 0;
			unsigned got = claim(&p, c);

			ok = CHECK_EQ(got, want) && ok;
			if (got)
				claimed |= 1U << got;
			break;
		}
		case 7:
			if (claimed && (x & 0x100000)) {
				/* complete a claimed one: pends again if asserted */
				while (!(claimed >> s & 1))
					s = s % (VPLIC_SOURCES - 1) + 1;
				complete(&p, c, s);
				if (c < 4) {
					claimed &= ~(1U << s);
					ok = CHECK_EQ(p.pending, pending_before |
							  (level & 1U << s)) && ok;
				}
			} else {
				complete(&p, c, s);
				if (c < 4)
					claimed &= ~(1U << s);
			}
			break;
		}
		uint32_t lines = 0;
		for (unsigned k = 0; k < 4; k++)
			if (expected_claim(&p, k))
				lines |= 1U << k;
		ok = CHECK_EQ(p.level, level) && ok;
		ok = CHECK_EQ(p.claimed, claimed) && ok;
		ok = CHECK_EQ(p.pending, level & ~claimed) && ok;
		ok = CHECK_EQ(p.pending & 1, 0) && ok;
		for (unsigned k = 0; k < 4; k++)
			ok = CHECK_EQ(vplic_context_line(&p, k), (lines >> k) & 1) && ok;
		ok = CHECK_EQ(vplic_update(&p), lines ^ out) && ok;
		ok = CHECK_EQ(p.output, lines) && ok;
		out = lines;
		if (!ok) {
			printf("    step %u (op %u, source %u, context %u), UNIT_SEED=0x%llx\n",
			       step, (unsigned)(x % 8), s, c, (unsigned long long)seed);
			bad++;
		}
	}
	CHECK(p.claims > 500);	/* the run did claim and complete */
}

/*
 * A reboot in the middle of the disk's interrupt handler (issue 7, defect
 * 9): the old guest claimed source 1 and never completed it. Kept as it
 * was, the vPLIC never offers source 1 again, whatever the new guest and
 * the device do; after vplic_reset it behaves as at power-on.
 */
static void test_reboot_reset(void)
{
	struct vplic p, stuck;

	vplic_init(&p, 2);
	setup(&p, 1, 1, 0);
	setup(&p, 3, 2, 1);
	vplic_write(&p, threshold(1), 1);
	CHECK_EQ(claim(&p, 0), 1);	/* the handler runs... and the guest panics */
	CHECK_EQ(p.claims, 1);
	vplic_set_level(&p, 1, false);	/* the device's reset lowers its line */
	vplic_update(&p);
	stuck = p;

	/* Without a reset: the new guest sets the source up, the device
	 * asserts it, and nothing is ever pending. */
	setup(&stuck, 1, 1, 0);
	CHECK(!vplic_context_line(&stuck, 0));
	CHECK_EQ(claim(&stuck, 0), 0);

	vplic_reset(&p);
	CHECK_EQ(p.ncontexts, 2);
	CHECK_EQ(p.claims, 1);	/* the VM's counter survives */
	CHECK_EQ(p.level | p.pending | p.claimed | p.output, 0);
	for (unsigned src = 0; src < VPLIC_SOURCES; src++)
		CHECK_EQ(vplic_read(&p, prio(src)), 0);
	for (unsigned c = 0; c < 2; c++) {
		CHECK_EQ(vplic_read(&p, enable(c)), 0);
		CHECK_EQ(vplic_read(&p, threshold(c)), 0);
		CHECK(!vplic_context_line(&p, c));
	}
	CHECK_EQ(vplic_update(&p), 0);	/* every line was reported down already */
	/* The new guest's first disk interrupt arrives and completes. */
	setup(&p, 1, 1, 0);
	CHECK(vplic_context_line(&p, 0));
	CHECK_EQ(vplic_update(&p), 1);
	CHECK_EQ(claim(&p, 0), 1);
	vplic_set_level(&p, 1, false);
	complete(&p, 0, 1);
	CHECK_EQ(p.claimed, 0);
	CHECK_EQ(claim(&p, 0), 0);
	CHECK_EQ(p.claims, 2);
	/* A line still up at the reset (a device not reset first) is down
	 * after it, and pends again only when the device asserts it anew. */
	vplic_set_level(&p, 1, true);
	vplic_reset(&p);
	CHECK_EQ(p.level, 0);
	CHECK(!vplic_context_line(&p, 0));
}

int main(void)
{
	RUN(test_init);
	RUN(test_reboot_reset);
	RUN(test_priority);
	RUN(test_enable);
	RUN(test_threshold);
	RUN(test_register_map);
	RUN(test_priority_zero_masks);
	RUN(test_line_per_context);
	RUN(test_threshold_blocks);
	RUN(test_claim_order);
	RUN(test_complete_still_asserted);
	RUN(test_complete_after_deassert);
	RUN(test_complete_disabled);
	RUN(test_complete_unclaimed);
	RUN(test_assert_while_claimed);
	RUN(test_deassert_clears_pending);
	RUN(test_update);
	RUN(test_claims_counter);
	RUN(test_sources_out_of_range);
	RUN(test_linux_flow);
	RUN(test_random);
	return unit_report("test_vplic");
}
