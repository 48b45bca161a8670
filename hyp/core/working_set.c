/*
 * Working-set sampling (core/working_set.h; ESX, Waldspurger OSDI 2002
 * section 5.3).
 *
 * The sample lives in the VM and is read and written under vm->lock: the
 * pager's clock notes touches into it while it holds that lock, and the
 * policy's tick ends a period under it. The fence that makes cleared A
 * bits count (a hart whose TLB still holds a sampled page's entry would
 * not set A again) is taken after the lock is dropped, before the period
 * starts counting: docs/concurrency.md, "Working-set sampling".
 */
#include "core/vm.h"
#include "core/working_set.h"
#include "lib/counters.h"
#include "lib/xorshift.h"

static uint64_t period_ticks;	/* 0: sampling is off */

void working_set_init(uint64_t period)
{
	period_ticks = period;
}

/* The sample, sorted so that the clock's note is a binary search. */
static void sort_sample(uint64_t *s, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		uint64_t x = s[i];
		unsigned j = i;
		for (; j > 0 && s[j - 1] > x; j--)
			s[j] = s[j - 1];
		s[j] = x;
	}
}

static int sample_index(const struct working_set *ws, uint64_t gpa)
{
	unsigned lo = 0, hi = WS_SAMPLE_PAGES;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (ws->sample[mid] < gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < WS_SAMPLE_PAGES && ws->sample[lo] == gpa ? (int)lo : -1;
}

/* Under vm->lock: counts the last sample's touches, draws a new one and
 * clears its A bits. */
static unsigned end_and_begin_locked(struct vm *vm, struct working_set *ws)
{
	unsigned touched = 0;
	uint64_t pages = vm->ram_size >> PAGE_SHIFT;
	bool was = false;

	for (unsigned i = 0; ws->sampling && i < WS_SAMPLE_PAGES; i++) {
		/* A page drawn twice sits beside itself: its A bit is read once. */
		if (i == 0 || ws->sample[i] != ws->sample[i - 1])
			was = ws->touched[i] ||
			      gstage_test_clear_accessed(&vm->gstage, ws->sample[i]);
		touched += was;
	}
	for (unsigned i = 0; i < WS_SAMPLE_PAGES; i++)
		ws->sample[i] = vm->ram_base + ((xorshift64(&ws->rng) % pages) << PAGE_SHIFT);
	sort_sample(ws->sample, WS_SAMPLE_PAGES);
	for (unsigned i = 0; i < WS_SAMPLE_PAGES; i++) {
		ws->touched[i] = false;
		gstage_test_clear_accessed(&vm->gstage, ws->sample[i]);
	}
	return touched;
}

bool working_set_tick(struct vm *vm, uint64_t now)
{
	struct working_set *ws = &vm->working_set;
	bool began = false, ended = false;

	if (!period_ticks || now < __atomic_load_n(&ws->period_end, __ATOMIC_ACQUIRE))
		return false;
	spin_lock(&vm->lock);
	if (now >= ws->period_end) {
		if (!ws->rng)
			ws->rng = 0x9e3779b97f4a7c15ULL * (vm->id + 1);	/* a seed per VM */
		bool had_period = ws->sampling;
		unsigned touched = end_and_begin_locked(vm, ws);
		if (had_period) {
			ws_estimate_add(&ws->estimate, touched, WS_SAMPLE_PAGES);
			ws->last_touched = touched;
			ended = true;
		}
		ws->sampling = began = true;
		__atomic_store_n(&ws->period_end, now + period_ticks, __ATOMIC_RELEASE);
	}
	spin_unlock(&vm->lock);
	/* The new sample's A bits count from here: no hart may still cache
	 * an entry whose A it would not set again. */
	if (began)
		vm_flush_gstage(vm);
	return ended;
}

unsigned working_set_permille(const struct vm *vm)
{
	return ws_estimate_permille(&vm->working_set.estimate);
}

void working_set_note_cleared(struct vm *vm, uint64_t gpa)
{
	struct working_set *ws = &vm->working_set;

	if (!ws->sampling)
		return;
	int i = sample_index(ws, gpa);
	if (i < 0)
		return;
	/* Duplicates in a sample sit side by side: mark them all. */
	while (i > 0 && ws->sample[i - 1] == gpa)
		i--;
	for (; i < WS_SAMPLE_PAGES && ws->sample[i] == gpa; i++)
		ws->touched[i] = true;
}

void working_set_counters(const struct vm *vm, struct counters *c)
{
	counters_u64(c, "ws_permille", working_set_permille(vm));
	counters_u64(c, "ws_periods", vm->working_set.estimate.periods);
	counters_u64(c, "ws_last_touched", vm->working_set.last_touched);
}
