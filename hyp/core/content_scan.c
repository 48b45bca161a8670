/*
 * The content scanner (ESX's, Waldspurger OSDI 2002 section 4.1; Linux's
 * ksmd): in idle hart time (or, on a machine with no idle hart, one batch
 * between slices), under rate caps, look at the guests' private pages one
 * batch at a time and merge those found equal to another page.
 *
 * A batch is up to SCAN_BATCH private pages of one VM, taken from where
 * its cursor stands (a sweep in guest-physical order, wrapping). Each
 * page goes through, in order:
 *
 *   1. zero?             -> merge into its node's zero page
 *   2. a page table?     -> skip, never merged (content_table.h says why)
 *   3. its 64-bit hash, looked up in its node's table (content_find):
 *        a merged page   -> merge into it
 *        another's hint  -> make that page a merged page (promote), then
 *                           merge into it
 *        nothing         -> the page is left as a hint, not protected
 *
 * Then, for the whole batch at once: write-protect every page with a
 * target (and each hint's page in its own VM), one fence per VM, promote
 * the hints, compare and remap each page (guest_memory_merge), one fence,
 * free the pages replaced. The protocol per page is guest_memory.h's; the
 * reasons it is safe are docs/concurrency.md's ("Content sharing").
 *
 * The caps are token budgets, in pages, topped up every 10 ms: one in all
 * and one per VM; a batch starts only when both hold a full batch, so a
 * small rate means fewer batches, never batches too small to be worth
 * their fences. Idle harts spend the budget first; a hart with vCPUs to
 * run does one batch between slices, and only if no hart has done one
 * for 2.5 ms (256 idle guests keep every hart busy enough that idle time
 * alone would not spend the budget).
 *
 * One hart scans at a time (a trylock: an idle hart that finds it taken
 * just sleeps). The scanner holds no spinlock while it fences, so a hart
 * it waits for is never waiting for it.
 */
#include <string.h>
#include "arch/csr.h"
#include "core/content_scan.h"
#include "core/guest_memory.h"
#include "core/vm.h"
#include "core/vm_table.h"
#include "host/hart.h"
#include "lib/spinlock.h"
#include "share/content_share.h"
#include "share/content_table.h"

#define SCAN_BATCH RETIRED_MAX		/* every page of a batch may be replaced */
#define SCAN_LOOKUPS 2048		/* guest pages looked up per batch at most */
#define SCAN_PERIOD_DIV 100		/* tokens come every 10 ms */

static struct {
	struct spinlock lock;
	bool enabled;
	uint64_t rate_total, rate_vm;	/* pages per second */
	uint64_t tokens;		/* the total budget, in pages */
	uint64_t last_refill;		/* time of the last refill */
	unsigned next_vm;		/* round robin */
	uint64_t last_batch;		/* when the last batch ended (read without the lock) */
} scan;

void content_scan_init(bool enabled, uint64_t rate_total, uint64_t rate_vm)
{
	scan.enabled = enabled && content_enabled();
	scan.rate_total = rate_total;
	scan.rate_vm = rate_vm;
}

/* What one page of a batch is, and what it will be merged into. */
struct candidate {
	uint64_t gpa, hpa, hash;
	uint64_t target;		/* the zero page or a merged page (pinned), 0: none yet */
	struct vm *hint_vm;		/* MATCH_HINT: the hinted page's VM, gpa, page */
	uint64_t hint_gpa, hint_hpa;
	bool protected;			/* step 1 done on it */
	bool pinned;			/* target is a merged page pinned for us */
};

/* The VM and gpa of the private page behind a hint, from its owner
 * record (read without the allocator's lock: whatever it says is checked
 * again under that VM's lock before anything is done). */
static struct vm *hint_owner(struct host_memory *hm, uint64_t pa, uint64_t *gpa)
{
	const struct host_page *p = host_page_of(hm, pa);
	uint16_t id = p ? __atomic_load_n(&p->vm, __ATOMIC_RELAXED) : HOST_PAGE_NO_VM;

	if (!p || p->origin != PAGE_GUEST_PRIVATE || id >= vm_count)
		return NULL;
	*gpa = __atomic_load_n(&p->gpa, __ATOMIC_RELAXED);
	return &vms[id];
}

/* Steps 1-3 of the file comment for one page, without the VM's lock. */
static void classify(struct vm *vm, struct candidate *c)
{
	const void *page = pa_to_ptr(c->hpa);
	unsigned node = host_page_of(vm->host, c->hpa)->node;
	uint64_t match;

	if (content_page_is_zero(page)) {
		c->target = content_zero_page(node);
		return;
	}
	if (content_page_is_page_table(page)) {
		content_count_page_table();
		return;
	}
	c->hash = page_hash(page);
	switch (content_find(node, c->hash, c->hpa, &match)) {
	case MATCH_SHARED:
		c->target = match;
		c->pinned = true;
		break;
	case MATCH_HINT:
		c->hint_vm = hint_owner(vm->host, match, &c->hint_gpa);
		c->hint_hpa = match;
		if (c->hint_vm && !vm_is_running(c->hint_vm))
			c->hint_vm = NULL;
		break;
	case MATCH_NONE:
		break;
	}
}

static void scan_batch(struct vm *vm, unsigned budget)
{
	struct scan_item items[SCAN_BATCH];
	struct candidate cand[SCAN_BATCH];
	struct retired_pages retired;
	unsigned n, ncand = 0;

	if (budget > SCAN_BATCH)
		budget = SCAN_BATCH;
	n = guest_memory_scan(vm, &vm->scan_cursor, items, budget, SCAN_LOOKUPS);
	for (unsigned i = 0; i < n; i++) {
		if (items[i].merged) {
			content_audit(items[i].hpa);
			content_put(items[i].hpa);	/* the scan's pin */
			continue;
		}
		/* A device's own pages (its rings) are never remapped. */
		if (vm_device_uses_page(vm, items[i].gpa))
			continue;
		cand[ncand] = (struct candidate){ .gpa = items[i].gpa, .hpa = items[i].hpa };
		classify(vm, &cand[ncand]);
		ncand++;
	}
	vm->scan_pages += n;

	/* Step 1 for every page with a target or a hint, and the hints'
	 * pages in their VMs; then the fences. */
	bool any = false;
	for (unsigned i = 0; i < ncand; i++) {
		struct candidate *c = &cand[i];
		if (!c->target && !c->hint_vm)
			continue;
		c->protected = guest_memory_write_protect(vm, c->gpa, c->hpa);
		any |= c->protected;
		if (c->hint_vm && !guest_memory_write_protect(c->hint_vm, c->hint_gpa, c->hint_hpa))
			c->hint_vm = NULL;
	}
	if (!any)
		goto unpin;
	guest_memory_sync(vm);
	for (unsigned i = 0; i < ncand; i++)
		if (cand[i].hint_vm && cand[i].hint_vm != vm)
			guest_memory_sync(cand[i].hint_vm);

	/* Promote each matched hint (its page read-only and fenced now). */
	for (unsigned i = 0; i < ncand; i++) {
		struct candidate *c = &cand[i];
		if (!c->hint_vm)
			continue;
		if (c->protected &&
		    guest_memory_promote(c->hint_vm, c->hint_gpa, c->hint_hpa, c->hash)) {
			c->target = c->hint_hpa;
			c->pinned = true;
		} else {
			guest_memory_unprotect(c->hint_vm, c->hint_gpa, c->hint_hpa);
		}
	}

	/* Step 2: compare and remap. */
	retired_init(&retired);
	for (unsigned i = 0; i < ncand; i++) {
		struct candidate *c = &cand[i];
		if (!c->protected)
			continue;
		if (!c->target) {
			guest_memory_unprotect(vm, c->gpa, c->hpa);
			continue;
		}
		if (guest_memory_merge(vm, c->gpa, c->hpa, c->target, &retired) == MERGE_DIFFERENT)
			content_count_false_match();
	}
	/* Step 3: one fence, then the replaced pages are freed. */
	guest_memory_free_retired(vm, &retired);
unpin:
	for (unsigned i = 0; i < ncand; i++)
		if (cand[i].pinned)
			content_put(cand[i].target);
}

/* A budget of `rate` pages per second, topped up for `elapsed` ticks:
 * it saves up to one period's worth, or one whole batch if that is more
 * (a VM with a small share of the rate gets full batches less often,
 * not tiny batches that would cost their fences for a few pages). */
static uint64_t top_up(uint64_t tokens, uint64_t rate, uint64_t elapsed, uint64_t period)
{
	uint64_t cap = rate * period / timebase_hz;

	if (cap < SCAN_BATCH)
		cap = SCAN_BATCH;
	tokens += rate * elapsed / timebase_hz;
	return tokens < cap ? tokens : cap;
}

/* Adds the tokens earned since the last refill, at most ten periods'
 * worth at once: an idle spell earns no burst beyond the caps. */
static void refill(uint64_t now)
{
	uint64_t period = timebase_hz / SCAN_PERIOD_DIV;
	uint64_t elapsed = now - scan.last_refill;

	if (elapsed < period)
		return;
	if (elapsed > 10 * period)
		elapsed = 10 * period;
	scan.last_refill = now;
	scan.tokens = top_up(scan.tokens, scan.rate_total, elapsed, period);
	for (unsigned i = 0; i < vm_count; i++)
		vms[i].scan_tokens = top_up(vms[i].scan_tokens, scan.rate_vm, elapsed, period);
}

uint64_t content_scan(bool idle)
{
	uint64_t start = read_time(), period = timebase_hz / SCAN_PERIOD_DIV;
	unsigned batches = 0;

	if (!scan.enabled)
		return UINT64_MAX;
	/* A busy hart scans only if no hart has for a quarter period: idle
	 * harts spend the budget first when there are any, and busy ones
	 * share it out one batch at a time. */
	if (!idle && start - __atomic_load_n(&scan.last_batch, __ATOMIC_RELAXED) < period / 4)
		return UINT64_MAX;
	if (!spin_trylock(&scan.lock))
		return UINT64_MAX;
	refill(start);
	/* One batch per VM per turn, round robin, while both budgets last
	 * and no vCPU waits for this hart (a pending interrupt ends it); a
	 * busy hart does one batch at most. */
	for (unsigned tried = 0; scan.tokens >= SCAN_BATCH && tried < vm_count && (idle || !batches) &&
	     !(csr_read(CSR_SIP) & (SIP_STIP | SIP_SSIP | SIP_SEIP)); tried++) {
		struct vm *vm = &vms[scan.next_vm];
		scan.next_vm = (scan.next_vm + 1) % vm_count;
		if (!vm_is_running(vm) || vm->scan_tokens < SCAN_BATCH)
			continue;	/* full batches only: see top_up */
		uint64_t budget = vm->scan_tokens < scan.tokens ? vm->scan_tokens : scan.tokens;
		uint64_t before = vm->scan_pages;
		scan_batch(vm, (unsigned)budget);
		batches++;
		__atomic_store_n(&scan.last_batch, read_time(), __ATOMIC_RELAXED);
		uint64_t used = vm->scan_pages - before;
		if (!used)
			used = 1;	/* a VM with nothing mapped still costs its walk */
		vm->scan_tokens -= used < vm->scan_tokens ? used : vm->scan_tokens;
		scan.tokens -= used < scan.tokens ? used : scan.tokens;
		tried = 0;
	}
	uint64_t end = read_time();
	content_count_scan_ticks(end - start);
	uint64_t next = scan.last_refill + period;
	spin_unlock(&scan.lock);
	return next;
}
