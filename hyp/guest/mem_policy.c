/*
 * The memory policy (guest/mem_policy.h).
 *
 * Each tick, per NUMA node (a guest's pages come from its home node, so
 * the node is where its balloon helps):
 *
 *   SOFT or worse: the node wants back what would bring its free pages
 *     to the HIGH threshold (6 %), less what balloons still have to
 *     give to reach the targets already set. idle_tax_reclaim shares
 *     that out, 1 MiB at a time, to the guests with the largest taxed
 *     size: an idle guest pays before a busy one (tau = 0.75). No guest
 *     is asked below 1.25 times its working set, nor below 16 MiB: the
 *     balloon takes what the guest does not use, and the pager (HARD)
 *     what is left to take.
 *   HIGH with more than 8 % free: half the excess goes back, shared out
 *     in proportion to the balloons; the 6-8 % band keeps inflation and
 *     deflation from chasing each other.
 *
 * A guest holds, for the tax, its RAM less its balloon; taking k pages
 * adds k to its balloon. The sampled working set does not see a guest
 * that is about to grow (one that just booted looks idle), and a balloon
 * that takes memory a guest's kernel cannot free makes it kill its own
 * processes (no DEFLATE_ON_OOM by default): so no guest is asked for more
 * than half of what it says it has available (its balloon statistics,
 * MemAvailable, asked for afresh each tick) beyond a 16 MiB margin, less
 * what its balloon has still to take.
 *
 * A guest's host-page target (vm->mem_target, for the LOW state's
 * blocking, core/pager.c) follows its balloon: its RAM less the balloon,
 * plus its G-stage tables' worth of slack.
 *
 * The tick runs on whichever hart first sees it due (a compare-and-swap
 * on the next due time; a tick that finds the last still running is
 * skipped, so the tables here have one user) and reads the balloons'
 * fields without their locks (the target is only ever written here and
 * by the monitor; a stale `actual` costs one tick).
 */
#include "arch/csr.h"
#include "core/pager.h"
#include "core/sched.h"
#include "core/vm_table.h"
#include "core/working_set.h"
#include "guest/guest.h"
#include "guest/mem_policy.h"
#include "host/console.h"
#include "lib/counters.h"
#include "mem/idle_tax.h"

#define HIGH_PERMILLE 60	/* ESX's high threshold: the goal of inflation */
#define DEFLATE_PERMILLE 80	/* deflate only above this */
#define STEP_PAGES 256		/* 1 MiB: the granule of the tax */
#define FLOOR_PAGES 4096	/* 16 MiB: no guest is ballooned below it */
#define TARGET_SLACK_PAGES 256	/* a guest's own G-stage tables, roughly */
#define MARGIN_PAGES 4096	/* 16 MiB a guest keeps available, at least */

static struct {
	uint64_t next_due;
	int ticking;		/* a tick is under way (one at a time, even if slow) */
	bool manual[MAX_VMS];
	uint64_t inflated[MAX_VMS], deflated[MAX_VMS];	/* pages added to, taken off targets */
	uint64_t ticks, inflates, deflates;
} policy;

static bool is_client(const struct vm *vm, unsigned node)
{
	return vm->home_node == node && vm_is_running(vm) && guest_of(vm)->has_balloon &&
	       !__atomic_load_n(&policy.manual[vm->id], __ATOMIC_RELAXED);
}

static void set_target(struct vm *vm, uint64_t balloon_pages)
{
	uint64_t ram = vm->ram_size >> PAGE_SHIFT;

	vballoon_set_target(&guest_of(vm)->balloon, (uint32_t)balloon_pages);
	__atomic_store_n(&vm->mem_target,
			 balloon_pages ? ram - balloon_pages + TARGET_SLACK_PAGES : 0,
			 __ATOMIC_RELAXED);
}

static void inflate(unsigned node, uint64_t want)
{
	static struct tax_client c[MAX_VMS];	/* one hart ticks at a time */
	static struct vm *who[MAX_VMS];
	unsigned n = 0;
	uint64_t pending = 0;

	for (unsigned i = 0; i < vm_count; i++) {
		struct vm *vm = &vms[i];
		if (!is_client(vm, node))
			continue;
		const struct vballoon *b = &guest_of(vm)->balloon;
		uint64_t ram = vm->ram_size >> PAGE_SHIFT;
		uint64_t target = __atomic_load_n(&b->target_pages, __ATOMIC_RELAXED);
		uint64_t actual = __atomic_load_n(&b->actual_pages, __ATOMIC_RELAXED);
		uint64_t active = ram * working_set_permille(vm) / 1000;
		uint64_t floor = active + active / 4, available;
		if (floor < FLOOR_PAGES)
			floor = FLOOR_PAGES;
		if (target > ram)
			target = ram;
		uint64_t held = ram - target, to_come = target > actual ? target - actual : 0;
		pending += to_come;
		if (vballoon_available_pages(&guest_of(vm)->balloon, &available)) {
			uint64_t spare = available > MARGIN_PAGES + to_come
					 ? (available - MARGIN_PAGES - to_come) / 2 : 0;
			if (held > spare && held - spare > floor)
				floor = held - spare;
		}
		c[n] = (struct tax_client){ .held = held, .active = active,
					    .floor = floor < held ? floor : held };
		who[n++] = vm;
	}
	if (!n || want <= pending)
		return;
	if (!idle_tax_reclaim(c, n, want - pending, STEP_PAGES, IDLE_TAX_PERCENT))
		return;
	for (unsigned i = 0; i < n; i++)
		if (c[i].take) {
			uint64_t balloon = (who[i]->ram_size >> PAGE_SHIFT) - c[i].held;
			set_target(who[i], balloon + c[i].take);
			policy.inflated[who[i]->id] += c[i].take;
			policy.inflates++;
		}
}

static void deflate(unsigned node, uint64_t give)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < vm_count; i++)
		if (is_client(&vms[i], node))
			total += guest_of(&vms[i])->balloon.target_pages;
	if (!total)
		return;
	for (unsigned i = 0; i < vm_count; i++) {
		struct vm *vm = &vms[i];
		if (!is_client(vm, node))
			continue;
		uint64_t target = guest_of(vm)->balloon.target_pages;
		uint64_t back = give >= total ? target : target * give / total;
		if (!back && target)
			back = target < STEP_PAGES ? target : STEP_PAGES;
		if (!back)
			continue;
		set_target(vm, target - back);
		policy.deflated[vm->id] += back;
		policy.deflates++;
	}
}

static void tick(uint64_t now)
{
	struct host_memory *hm = vms[0].host;

	policy.ticks++;
	for (unsigned i = 0; i < vm_count; i++)
		if (vm_is_running(&vms[i])) {
			working_set_tick(&vms[i], now);
			if (guest_of(&vms[i])->has_balloon)
				vballoon_refresh_stats(&guest_of(&vms[i])->balloon);
		}
	pager_update_mem_state();
	for (unsigned node = 0; node < hm->nnodes; node++) {
		uint64_t total = hm->node[node].total_pages;
		uint64_t free = __atomic_load_n(&hm->node[node].free_pages, __ATOMIC_RELAXED);
		uint64_t goal = total * HIGH_PERMILLE / 1000;
		uint64_t plenty = total * DEFLATE_PERMILLE / 1000;
		if (pager_node_state(node) >= MEM_SOFT && free < goal)
			inflate(node, goal - free);
		else if (pager_node_state(node) == MEM_HIGH && free > plenty)
			deflate(node, (free - plenty) / 2);
	}
}

static void poll(void)
{
	uint64_t now = read_time();
	uint64_t due = __atomic_load_n(&policy.next_due, __ATOMIC_ACQUIRE);

	if (now < due || !vm_count)
		return;
	if (!__atomic_compare_exchange_n(&policy.next_due, &due, now + timebase_hz, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;	/* another hart took this tick */
	if (__atomic_exchange_n(&policy.ticking, 1, __ATOMIC_ACQUIRE))
		return;	/* the last tick still runs: this one is skipped */
	tick(now);
	__atomic_store_n(&policy.ticking, 0, __ATOMIC_RELEASE);
}

void mem_policy_init(void)
{
	policy.next_due = read_time() + timebase_hz;
	if (!sched_add_poll(poll))
		log_info("memory policy: no room for its tick; balloons stay where the monitor sets them");
}

void mem_policy_set_manual(struct vm *vm, bool manual)
{
	__atomic_store_n(&policy.manual[vm->id], manual, __ATOMIC_RELAXED);
	if (manual)
		__atomic_store_n(&vm->mem_target, 0, __ATOMIC_RELAXED);
}

void mem_policy_counters(struct counters *c)
{
	counters_u64(c, "policy_ticks", policy.ticks);
	counters_u64(c, "policy_inflates", policy.inflates);
	counters_u64(c, "policy_deflates", policy.deflates);
}

void mem_policy_vm_counters(const struct vm *vm, struct counters *c)
{
	counters_u64(c, "policy_manual", policy.manual[vm->id]);
	counters_u64(c, "policy_inflated_pages", policy.inflated[vm->id]);
	counters_u64(c, "policy_deflated_pages", policy.deflated[vm->id]);
}
