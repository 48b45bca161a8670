/*
 * The pager (ESX's, Waldspurger OSDI 2002 sections 3 and 6; the Disco
 * lecture's "double paging" is why it is built as it is).
 *
 * When a page cannot be had (guest_memory's reclaim hook) or free memory
 * falls into the HARD state (an idle hart, pager_background), the pager
 * takes one VM's pages, a cluster at a time:
 *
 *   1. victims: from the VM's clock hand, its private pages not used
 *      since the hand last passed (the G-stage accessed bits, which QEMU
 *      sets itself; gstage_test_clear_accessed; the VM fenced before
 *      the hand comes back, or a hart that caches an entry would never
 *      set its A again), or, with
 *      PAGER_POLICY=random, the private pages that follow a random
 *      guest address (ESX: random victims do not fight the guest's own
 *      LRU). Disk-shared mappings met on the way are dropped at once: a
 *      clean copy of a base block needs no IO (DISK state);
 *   2. slots: a run of consecutive swap slots (mem/swap.h), so the
 *      cluster is one write and the pages stay neighbours on disk;
 *   3. each victim unmapped (BUSY), then one fence for the VM: nobody can
 *      change them now;
 *   4. share before swap: a victim that is zero gets the zero page and
 *      no slot;
 *   5. the rest written, run by run, then SWAPPED and freed.
 *
 * One hart pages at a time (the pager lock). The holder keeps it across
 * its fence and its IO, so nobody may wait for it without acknowledging
 * fences: a hart that finds it taken waits for the holder in
 * vm_wait_for_page (which acknowledges its own), and then takes whatever
 * the holder freed. No vm->lock, nor the swap bitmap's lock, is held across a
 * fence or a disk request.
 */
#include "core/guest_memory.h"
#include "core/pager.h"
#include "core/vm.h"
#include "core/vm_table.h"
#include "lib/counters.h"
#include "lib/format.h"
#include "lib/spinlock.h"
#include "lib/xorshift.h"
#include "mem/host_pages.h"
#include "mem/swap.h"
#include "share/content_share.h"
#include "share/content_table.h"

#define LOOKUPS_PER_PICK (64 * SWAP_CLUSTER)	/* guest pages looked at per cluster at most */

static struct {
	struct spinlock lock;
	bool random;
	uint64_t rng;
	enum mem_state state[MAX_MEM_NODES];	/* per node, from its own free pages */
	enum mem_state host_state;		/* from the whole host's */
	uint64_t freed_total;	/* pages freed by the pager so far (atomic) */
	const char *why_nothing;
	/* counters */
	uint64_t runs, clusters, found_nothing, background_runs, clock_fences;
} pg = { .rng = 0x9e3779b97f4a7c15ULL };

void pager_init(bool random_policy)
{
	pg.random = random_policy;
}

/* How far vm is over its share, in pages (negative: under). */
static int64_t over_share(struct vm *vm)
{
	struct host_owner_report r;

	host_pages_owner_report(vm->host, (uint16_t)vm->id, &r);
	if (!r.share)
		return (int64_t)r.pages;
	return (int64_t)r.pages - (int64_t)r.share;
}

#define ANY_NODE UINT32_MAX

/* The VM that pays when a node (or, ANY_NODE, the host) is short: of the
 * running VMs homed there that have pages to give, the one furthest over
 * its share. */
static struct vm *choose_victim_vm(unsigned node)
{
	struct vm *best = NULL;
	int64_t best_over = INT64_MIN;

	for (unsigned i = 0; i < vm_count; i++) {
		struct vm *vm = &vms[i];
		if (!vm_is_running(vm) || vm->pages_mapped == vm->pages_shared ||
		    (node != ANY_NODE && vm->home_node != node))
			continue;
		int64_t o = over_share(vm);
		if (o > best_over) {
			best_over = o;
			best = vm;
		}
	}
	return best;
}

/* The clock's fence: A bits it cleared count from here on (a hart that
 * still caches a page's entry would not set A again). Not under any
 * vm->lock: it waits for every vCPU of the VM. */
static void fence_cleared_accessed(struct vm *vm)
{
	vm_flush_gstage(vm);
	pg.clock_fences++;
}

/* Pages out one cluster of vm; returns the host pages freed. */
static uint64_t page_out_cluster(struct vm *vm)
{
	struct pager_victim v[SWAP_CLUSTER];
	unsigned n = 0, cleared, got;
	uint64_t lookups = 0, limit = 2 * (vm->ram_size >> PAGE_SHIFT) + LOOKUPS_PER_PICK;
	uint64_t first = 0, freed = 0, fake_slot = 1ULL << 40;
	bool written[SWAP_CLUSTER] = { false };

	/* Two turns of the clock at most: the first may only clear A bits.
	 * Those count once every hart of the VM has dropped its cached
	 * entries: fenced after an empty pick, before the hand comes back;
	 * when victims are found, step 3's fence does it. */
	while (n == 0 && lookups < limit) {
		uint64_t start = vm->ram_base +
				 ((xorshift64(&pg.rng) % (vm->ram_size >> PAGE_SHIFT)) << PAGE_SHIFT);
		n = guest_memory_pick_victims(vm, !pg.random, start, v, SWAP_CLUSTER,
					      LOOKUPS_PER_PICK, &cleared);
		lookups += LOOKUPS_PER_PICK;
		if (!n && cleared)
			fence_cleared_accessed(vm);
	}
	if (!n)
		return 0;
	got = swap_alloc(&swap_space, n, &first);
	if (!got)
		first = fake_slot;	/* swap full: only zero victims can go */
	/* A victim without a slot of its own is left for the next cluster. */
	if (got && got < n)
		n = got;
	unsigned begun = 0;
	bool ok[SWAP_CLUSTER];
	for (unsigned i = 0; i < n; i++) {
		ok[i] = guest_memory_swap_begin(vm, v[i].gpa, v[i].hpa, first + i);
		begun += ok[i];
	}
	if (begun)
		guest_memory_sync(vm);	/* step 3: no vCPU can change them now */
	else if (cleared)
		fence_cleared_accessed(vm);
	/* Step 5, run by run of consecutive victims that need a slot: all of
	 * them, or, with a zero page to share (content sharing on), the
	 * non-zero ones. */
	bool share_zero = content_enabled();
	for (unsigned i = 0; i < n && got;) {
		if (!ok[i] || (share_zero && content_page_is_zero(pa_to_ptr(v[i].hpa)))) {
			i++;
			continue;
		}
		unsigned j = i;
		uint64_t pa[SWAP_CLUSTER];
		while (j < n && ok[j] && !(share_zero && content_page_is_zero(pa_to_ptr(v[j].hpa)))) {
			pa[j - i] = v[j].hpa;
			j++;
		}
		bool w = swap_write(&swap_space, first + i, pa, j - i);
		for (unsigned k = i; k < j; k++)
			written[k] = w;
		i = j;
	}
	for (unsigned i = 0; i < n; i++) {
		enum swap_end e = ok[i] ? guest_memory_swap_end(vm, v[i].gpa, v[i].hpa, first + i,
								  written[i])
					: SWAP_END_KEPT;
		if (e != SWAP_END_KEPT)
			freed++;
		if (got && e != SWAP_END_SWAPPED)
			swap_free(&swap_space, first + i);	/* its slot went unused */
	}
	pg.clusters++;
	return freed;
}

/* Pages out about `want` pages of `from` (NULL: of the VM that
 * choose_victim_vm names for `node`), one hart at a time. */
static uint64_t reclaim(struct vm *from, unsigned node, uint64_t want)
{
	uint64_t freed = 0;

	while (!spin_trylock(&pg.lock)) {
		/* Another hart pages: wait for it, then take what it freed. */
		uint64_t before = __atomic_load_n(&pg.freed_total, __ATOMIC_ACQUIRE);
		while (__atomic_load_n(&pg.lock.locked, __ATOMIC_ACQUIRE))
			vm_wait_for_page();
		uint64_t after = __atomic_load_n(&pg.freed_total, __ATOMIC_ACQUIRE);
		if (after > before)
			return after - before;
	}
	pg.runs++;
	if (!from)
		from = choose_victim_vm(node);
	for (unsigned tries = 0; from && freed < want && tries < 4; tries++) {
		uint64_t f = page_out_cluster(from);
		freed += f;
		if (!f)
			break;
	}
	if (!freed) {
		pg.found_nothing++;
		pg.why_nothing = swap_space.nslots == 0 ? "no swap (SWAP=0)"
				 : swap_space.used == swap_space.nslots ? "swap full"
				 : "no page to swap";
	}
	__atomic_add_fetch(&pg.freed_total, freed, __ATOMIC_ACQ_REL);
	spin_unlock(&pg.lock);
	return freed;
}

uint64_t pager_reclaim(struct vm *vm, uint64_t want)
{
	/* A VM over its share pays itself; else the one furthest over. */
	return reclaim(vm && over_share(vm) >= 0 ? vm : NULL, ANY_NODE, want);
}

/* The state of a node's free memory, with hysteresis: a state is left
 * upward only once free memory is past the threshold of the state above
 * (ESX section 6.2, whose high/soft/hard/low are 6/4/2/1 %). */
static enum mem_state next_state(enum mem_state s, uint64_t free, uint64_t total)
{
	static const unsigned permille[] = { 60, 40, 20, 10 };	/* high, soft, hard, low */
	uint64_t f = free * 1000 / (total ? total : 1);

	if (f < permille[MEM_LOW])
		s = MEM_LOW;
	else if (f < permille[MEM_HARD] && s < MEM_HARD)
		s = MEM_HARD;
	else if (f < permille[MEM_SOFT] && s < MEM_SOFT)
		s = MEM_SOFT;
	while (s > MEM_HIGH && f >= permille[s - 1])
		s--;
	return s;
}

/*
 * A node's state is the lesser of its own and the host's: a node that is
 * short while another has room is not a reason to page out or balloon
 * (its guests' next pages come from the other node, remote but in RAM:
 * mem/host_pages.c), and when the host is short, the nodes that are
 * short themselves are the ones whose guests pay.
 */
enum mem_state pager_update_mem_state(void)
{
	struct host_memory *hm = vm_count ? vms[0].host : NULL;

	if (!hm)
		return MEM_HIGH;
	/* Read without the allocator's lock: a state a page late is as
	 * good, and every hart computes the same from the counts. */
	uint64_t all_free = 0, all_total = 0;
	for (unsigned n = 0; n < hm->nnodes; n++) {
		uint64_t free = __atomic_load_n(&hm->node[n].free_pages, __ATOMIC_RELAXED);
		enum mem_state s = next_state(__atomic_load_n(&pg.state[n], __ATOMIC_RELAXED), free,
					      hm->node[n].total_pages);
		__atomic_store_n(&pg.state[n], s, __ATOMIC_RELAXED);
		all_free += free;
		all_total += hm->node[n].total_pages;
	}
	enum mem_state h = next_state(__atomic_load_n(&pg.host_state, __ATOMIC_RELAXED), all_free,
				      all_total);
	__atomic_store_n(&pg.host_state, h, __ATOMIC_RELAXED);
	return h;
}

enum mem_state pager_node_state(unsigned node)
{
	if (node >= MAX_MEM_NODES)
		return MEM_HIGH;
	enum mem_state own = __atomic_load_n(&pg.state[node], __ATOMIC_RELAXED);
	enum mem_state host = __atomic_load_n(&pg.host_state, __ATOMIC_RELAXED);
	return own < host ? own : host;
}

void pager_background(void)
{
	if (pager_update_mem_state() < MEM_HARD || !swap_space.nslots)
		return;
	struct host_memory *hm = vms[0].host;
	for (unsigned n = 0; n < hm->nnodes; n++)
		if (pager_node_state(n) >= MEM_HARD) {
			pg.background_runs++;
			reclaim(NULL, n, SWAP_CLUSTER);
		}
}

void pager_admit(struct vm *vm)
{
	uint64_t target = __atomic_load_n(&vm->mem_target, __ATOMIC_RELAXED);

	if (!target || pager_node_state(vm->home_node) != MEM_LOW || !swap_space.nslots)
		return;
	struct host_owner_report r;
	host_pages_owner_report(vm->host, (uint16_t)vm->id, &r);
	if (r.pages <= target)
		return;
	/* LOW: a VM over its target waits while its own pages go out, so
	 * that the VMs within theirs keep running (ESX section 6.2). */
	__atomic_add_fetch(&vm->low_blocks, 1, __ATOMIC_RELAXED);
	reclaim(vm, vm->home_node, SWAP_CLUSTER);
}

const char *pager_why_nothing(void)
{
	return pg.why_nothing ? pg.why_nothing : "nothing to reclaim";
}

void pager_counters(struct counters *c)
{
	static const char *const names[] = { "high", "soft", "hard", "low" };
	struct host_memory *hm = vm_count ? vms[0].host : NULL;
	unsigned nodes = hm ? hm->nnodes : 1;

	counters_string(c, "mem_state", names[pg.host_state]);	/* the host's */
	for (unsigned n = 0; n < nodes; n++) {
		char key[24];
		format(key, sizeof(key), "mem_state_node%u", n);
		counters_string(c, key, names[pager_node_state(n)]);
	}
	counters_string(c, "pager_policy", pg.random ? "random" : "clock");
	counters_u64(c, "pager_runs", pg.runs);
	counters_u64(c, "pager_clusters", pg.clusters);
	counters_u64(c, "pager_background_runs", pg.background_runs);
	counters_u64(c, "pager_found_nothing", pg.found_nothing);
	counters_u64(c, "pager_clock_fences", pg.clock_fences);
	counters_u64(c, "pager_pages_freed", pg.freed_total);
}
