/*
 * hyp/mem/idle_tax.c: the working-set estimate (the first sample replaces
 * the all-active guess, a rise is seen at once, a fall slowly) and the
 * idle memory tax (the idle VM pays first; tau = 0 is plain
 * proportional-to-size; floors hold; the assigned total is exact), with a
 * randomized check of every answer against ESX's rule: no step was taken
 * from a client whose taxed size was below another's that had room.
 */
#include "mem/idle_tax.h"
#include "unit.h"

static void estimate_starts_all_active_and_follows(void)
{
	struct ws_estimate e = { 0 };

	CHECK_EQ(ws_estimate_permille(&e), 1000);	/* never sampled: no tax */
	ws_estimate_add(&e, 10, 100);
	CHECK_EQ(ws_estimate_permille(&e), 100);	/* the first sample replaces the guess */
	ws_estimate_add(&e, 80, 100);
	CHECK_EQ(ws_estimate_permille(&e), 800);	/* a rise counts at once (the last sample) */
	ws_estimate_add(&e, 0, 100);
	/* A fall is slow: fast = (450 + 0) / 2, slow = (187 * 7) / 8. */
	CHECK_EQ(e.fast, 225);
	CHECK(ws_estimate_permille(&e) >= 225);
	for (int i = 0; i < 20; i++)
		ws_estimate_add(&e, 0, 100);
	CHECK(ws_estimate_permille(&e) < 20);		/* ... but it falls */
	ws_estimate_add(&e, 5, 0);
	CHECK_EQ(e.last, 0);				/* nothing sampled: no division */
}

static void idle_vm_pays_first(void)
{
	/* Two VMs of 1000 pages: A works in 900 of them, B in 100. */
	struct tax_client c[2] = { { .held = 1000, .active = 900 }, { .held = 1000, .active = 100 } };

	CHECK_EQ(idle_tax_reclaim(c, 2, 400, 10, 75), 400);
	CHECK_EQ(c[0].take, 0);
	CHECK_EQ(c[1].take, 400);
	/* More than B's idle pages: B down to where its taxed size meets
	 * A's (A: 900 * 0.25 + 100 = 325; B: 100 * 0.25 + idle), then both. */
	CHECK_EQ(idle_tax_reclaim(c, 2, 1200, 1, 75), 1200);
	CHECK(c[1].take > c[0].take);
	CHECK_EQ(c[0].take + c[1].take, 1200);
}

static void no_tax_is_proportional(void)
{
	/* tau = 0: every page costs the same; the larger pays until equal. */
	struct tax_client c[2] = { { .held = 3000, .active = 3000 }, { .held = 1000, .active = 0 } };

	CHECK_EQ(idle_tax_reclaim(c, 2, 2000, 1, 0), 2000);
	CHECK_EQ(c[0].take, 2000);
	CHECK_EQ(c[1].take, 0);
	/* tau = 75: A's 3000 active pages weigh 3000 * 0.25 = 750 idle ones,
	 * B's 1000 idle pages weigh 1000. B pays alone until it is down to
	 * 750; then a page from A lowers A's weight by 0.25, one from B by 1,
	 * so A gives four pages for each of B's. */
	CHECK_EQ(idle_tax_reclaim(c, 2, 250, 1, 75), 250);
	CHECK_EQ(c[0].take, 0);
	CHECK_EQ(c[1].take, 250);
	CHECK_EQ(idle_tax_reclaim(c, 2, 500, 1, 75), 500);
	CHECK_EQ(c[0].take, 200);
	CHECK_EQ(c[1].take, 300);
}

static void floors_hold(void)
{
	struct tax_client c[2] = { { .held = 1000, .active = 0, .floor = 800 },
				   { .held = 500, .active = 500, .floor = 400 } };

	CHECK_EQ(idle_tax_reclaim(c, 2, 1000, 64, 75), 300);	/* all either can give */
	CHECK_EQ(c[0].take, 200);
	CHECK_EQ(c[1].take, 100);
	CHECK_EQ(idle_tax_reclaim(c, 0, 10, 1, 75), 0);	/* no clients */
	struct tax_client z = { .held = 10, .floor = 20 };	/* floor above what it holds */
	CHECK_EQ(idle_tax_reclaim(&z, 1, 5, 1, 75), 0);
	CHECK_EQ(z.take, 0);
	CHECK_EQ(idle_tax_reclaim(c, 2, 7, 0, 100), 7);	/* step 0 and tau 1 are clamped */
}

/* Replays the rule step by step for random clients (step 1): each page went
 * to a client whose taxed size, just before, was the largest of those with
 * room. Equivalent final check: no client with room left has a taxed size
 * above the payer's last size by more than one step's worth. */
static uint64_t taxed(uint64_t held, uint64_t active, unsigned tau)
{
	uint64_t a = active < held ? active : held;
	return a * (100 - tau) + (held - a) * 100;
}

static void random_against_the_rule(void)
{
	uint64_t rng = 12345;
	for (int round = 0; round < 2000; round++) {
		struct tax_client c[6];
		unsigned n = 1 + (unsigned)(rng % 6), tau = (unsigned)((rng >> 8) % 100);
		uint64_t total_room = 0;
		for (unsigned i = 0; i < n; i++) {
			rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
			c[i].held = (rng >> 33) % 500;
			c[i].active = (rng >> 20) % 600;
			c[i].floor = (rng >> 45) % 200;
			if (c[i].held > c[i].floor)
				total_room += c[i].held - c[i].floor;
		}
		uint64_t want = (rng >> 11) % 1500;
		uint64_t got = idle_tax_reclaim(c, n, want, 1, tau);
		CHECK_EQ(got, want < total_room ? want : total_room);
		uint64_t sum = 0;
		for (unsigned i = 0; i < n; i++) {
			sum += c[i].take;
			CHECK(c[i].take == 0 || c[i].held - c[i].take >= c[i].floor);
		}
		CHECK_EQ(sum, got);
		/* Every payer's size before its last page >= every other client
		 * with room's size now. */
		for (unsigned i = 0; i < n; i++) {
			if (!c[i].take)
				continue;
			uint64_t before = taxed(c[i].held - c[i].take + 1, c[i].active, tau);
			for (unsigned j = 0; j < n; j++)
				if (j != i && c[j].held > c[j].floor + c[j].take)
					CHECK(before >= taxed(c[j].held - c[j].take, c[j].active, tau));
		}
		rng ^= rng >> 17;
	}
}

int main(void)
{
	RUN(estimate_starts_all_active_and_follows);
	RUN(idle_vm_pays_first);
	RUN(no_tax_is_proportional);
	RUN(floors_hold);
	RUN(random_against_the_rule);
	return unit_report("test_idle_tax");
}
