#include <string.h>
#include "arch/csr.h"
#include "balloon/vballoon.h"
#include "core/guest_memory.h"
#include "core/vm.h"
#include "host/console.h"
#include "host/hart.h"
#include "lib/counters.h"
#include "lib/format.h"
#include "virtio/guest_mem.h"

/* Feature bits (5.5.3). */
#define BALLOON_F_MUST_TELL_HOST (1ULL << 0)
#define BALLOON_F_STATS_VQ (1ULL << 1)
#define BALLOON_F_DEFLATE_ON_OOM (1ULL << 2)
#define BALLOON_F_REPORTING (1ULL << 5)
#define DEVICE_FEATURES (BALLOON_F_MUST_TELL_HOST | BALLOON_F_STATS_VQ | BALLOON_F_REPORTING)

#define VIRTIO_ID_BALLOON 5
#define QUEUE_INFLATE 0
#define QUEUE_DEFLATE 1
#define BUDGET_CHAINS 8			/* chains per serve: 8 x 256 pages at most */
#define STATS_PERIOD_TICKS (timebase_hz)	/* fresh statistics at most once a second */
#define BITS_PER_PAGE (PAGE_SIZE * 8)

static struct vballoon *vballoon_of(struct virtio_device *d)
{
	return (struct vballoon *)d;	/* virtio is the first member */
}

/* The role of queue q under the features the driver took (see vballoon.h). */
enum role { ROLE_INFLATE, ROLE_DEFLATE, ROLE_STATS, ROLE_REPORT, ROLE_NONE };

static enum role role_of(const struct virtio_device *d, unsigned q)
{
	bool stats = virtio_mmio_has_feature(d, BALLOON_F_STATS_VQ);
	bool report = virtio_mmio_has_feature(d, BALLOON_F_REPORTING);

	if (q == QUEUE_INFLATE)
		return ROLE_INFLATE;
	if (q == QUEUE_DEFLATE)
		return ROLE_DEFLATE;
	if (q == 2 && stats)
		return ROLE_STATS;
	if (report && q == (stats ? 3u : 2u))
		return ROLE_REPORT;
	return ROLE_NONE;
}

/* --- The bitmap of pages in the balloon ------------------------------ */

static uint64_t *bit_word(const struct vballoon *b, uint64_t index, uint64_t *mask)
{
	uint64_t page = index / BITS_PER_PAGE, bit = index % BITS_PER_PAGE;

	if (page >= VBALLOON_BITMAP_PAGES || !b->ballooned[page])
		return NULL;
	*mask = 1ULL << (bit % 64);
	return &b->ballooned[page][bit / 64];
}

/* --- Inflate, deflate, report: one page at a time -------------------- */

struct walk {
	struct vballoon *b;
	struct retired_pages *retired;
	enum role role;
	unsigned q;			/* the queue being served */
	bool broken;
};

/* The guest gives page gpa back: unmapped now, freed after the fence. A
 * full retired list is fenced (and freed) on the way. */
static void give_back(struct walk *w, uint64_t gpa)
{
	struct virtio_device *d = &w->b->virtio;

	for (;;) {
		switch (guest_memory_discard(d->vm, gpa, w->retired)) {
		case DISCARD_DONE:
			w->b->pages_freed++;
			return;
		case DISCARD_UNMAPPED:
		case DISCARD_NOT_RAM:
			return;
		case DISCARD_RETRY:
			virtio_mmio_fence(d, w->retired);	/* frees them; lock released around it */
			if (virtio_mmio_was_reset(d, w->q)) {
				w->broken = true;
				return;
			}
			continue;
		}
	}
}

static bool take_pfn(void *arg, uint32_t pfn)
{
	struct walk *w = arg;
	struct vballoon *b = w->b;
	struct vm *vm = b->virtio.vm;
	uint64_t gpa = (uint64_t)pfn << PAGE_SHIFT, mask;
	uint64_t *word;

	if (w->broken)
		return false;
	if (!guest_memory_contains(vm, gpa, PAGE_SIZE) || vm_device_uses_page(vm, gpa) ||
	    !(word = bit_word(b, (gpa - vm->ram_base) >> PAGE_SHIFT, &mask))) {
		b->bad_pfns++;	/* not its RAM, or a device's own ring page */
		return true;
	}
	if (w->role == ROLE_INFLATE) {
		if (*word & mask) {
			b->repeated_pfns++;
			return true;
		}
		*word |= mask;
		b->pages++;
		b->inflated++;
		give_back(w, gpa);
	} else {
		if (!(*word & mask)) {
			b->deflate_unknown++;
			return true;
		}
		*word &= ~mask;
		b->pages--;
		b->deflated++;
		/* Nothing to map: the guest's next touch is a first touch. */
	}
	return true;
}

/* A reporting chain: every page wholly inside a buffer is given back. */
static void take_report(struct walk *w, const struct virtq_chain *chain)
{
	struct vm *vm = w->b->virtio.vm;

	for (unsigned i = 0; i < chain->nbufs && !w->broken; i++) {
		uint64_t start = (chain->buf[i].gpa + PAGE_SIZE - 1) & PAGE_MASK;
		uint64_t end = (chain->buf[i].gpa + chain->buf[i].len) & PAGE_MASK;
		if (!guest_memory_contains(vm, chain->buf[i].gpa, chain->buf[i].len)) {
			w->b->bad_pfns++;
			continue;
		}
		for (uint64_t gpa = start; gpa < end && !w->broken; gpa += PAGE_SIZE) {
			if (vm_device_uses_page(vm, gpa))
				continue;
			w->b->reported_pages++;
			give_back(w, gpa);
		}
	}
}

/* Asks for fresh statistics (5.5.6.3): the held buffer goes back used,
 * and the driver refills and resubmits it. */
static void ask_stats(struct vballoon *b, struct retired_pages *retired)
{
	struct virtio_device *d = &b->virtio;
	struct virtio_used u = { .head = b->stats_head, .len = 0 };

	if (!b->stats_held || !virtio_mmio_has_feature(d, BALLOON_F_STATS_VQ))
		return;
	b->stats_held = false;
	b->stats_asked = read_time();
	virtio_mmio_complete(d, 2, &u, 1, retired);
}

static bool serve(struct virtio_device *d, unsigned q)
{
	struct vballoon *b = vballoon_of(d);
	const struct guest_mem_ops mem = virtio_guest_memory(d->vm);
	struct retired_pages retired;
	struct virtio_used done[BUDGET_CHAINS];
	struct walk w = { .b = b, .retired = &retired, .role = role_of(d, q), .q = q };
	unsigned n = 0;
	bool more = false;

	retired_init(&retired);
	if (w.role == ROLE_NONE)
		return false;	/* a queue the features do not give a role: ignored */
	while (d->queue[q].vq.ready && virtio_mmio_usable(d) && !w.broken) {
		struct virtq_chain chain;
		int got, err = BALLOON_OK;
		if (n == BUDGET_CHAINS) {
			more = true;
			break;
		}
		got = virtq_pop(&d->queue[q].vq, &mem, &chain);
		if (got < 0) {
			virtio_mmio_needs_reset(d, virtq_error_name(got));
			break;
		}
		if (got == 0)
			break;
		switch (w.role) {
		case ROLE_INFLATE:
		case ROLE_DEFLATE:
			err = balloon_parse_pfns(&chain, &mem, take_pfn, &w);
			break;
		case ROLE_REPORT:
			err = balloon_parse_report(&chain);
			if (err == BALLOON_OK)
				take_report(&w, &chain);
			break;
		case ROLE_STATS:
			memset(&b->stats.valid, 0, sizeof(b->stats.valid));
			err = balloon_parse_stats(&chain, &mem, &b->stats);
			if (err == BALLOON_OK) {
				/* Kept: given back when we want fresh figures. A second
				 * buffer while one is held is the driver's error. */
				if (b->stats_held) {
					virtio_mmio_needs_reset(d, "a second statistics buffer");
					return false;
				}
				b->stats_held = true;
				b->stats_head = chain.head;
				b->stats_updates++;
				continue;
			}
			break;
		case ROLE_NONE:
			break;
		}
		if (err != BALLOON_OK) {
			virtio_mmio_needs_reset(d, "malformed balloon buffer");
			break;
		}
		if (virtio_mmio_was_reset(d, q))
			return false;
		done[n].head = chain.head;
		done[n].len = 0;
		n++;
	}
	/* Inflate: unmapped, fenced, freed - and only then acknowledged. */
	bool ok = virtio_mmio_complete(d, q, done, n, &retired);
	if (ok && w.role != ROLE_STATS && read_time() - b->stats_asked > STATS_PERIOD_TICKS)
		ask_stats(b, &retired);
	return ok && more;
}

/* The configuration space (5.5.4): le32 num_pages, le32 actual, then the
 * hinting and poison words, which discv does not offer (read as 0). */
static uint32_t config_read(struct virtio_device *d, uint64_t off, unsigned width)
{
	struct vballoon *b = vballoon_of(d);
	uint32_t cfg[4] = { b->target_pages, b->actual_pages, 0, 0 };
	uint32_t v = 0;

	if (off + width <= sizeof(cfg))
		memcpy(&v, (const char *)cfg + off, width);
	return v;
}

static void config_write(struct virtio_device *d, uint64_t off, unsigned width, uint32_t v)
{
	if (off == 4 && width == 4)
		vballoon_of(d)->actual_pages = v;
}

static void reset(struct virtio_device *d)
{
	struct vballoon *b = vballoon_of(d);

	for (unsigned i = 0; i < VBALLOON_BITMAP_PAGES; i++)
		if (b->ballooned[i])
			memset(b->ballooned[i], 0, PAGE_SIZE);
	b->pages = 0;
	b->actual_pages = 0;
	b->stats_held = false;
}

static const struct virtio_device_ops vballoon_ops = {
	.name = "virtio-balloon",
	.device_id = VIRTIO_ID_BALLOON,
	.features = DEVICE_FEATURES,
	.nqueues = 4,			/* inflate, deflate, stats, reporting (at most) */
	.queue_num_max = 64,		/* reporting needs 32 (Linux: -ENOSPC below) */
	.config_read = config_read,
	.config_write = config_write,
	.queue_serve = serve,
	.reset = reset,
};

bool vballoon_init(struct vballoon *b, struct vm *vm, uint64_t base, const struct irq_line *irq,
		   bool deflate_on_oom, const char **why)
{
	uint64_t pages = vm->ram_size >> PAGE_SHIFT;

	memset(b, 0, sizeof(*b));
	if (pages > (uint64_t)VBALLOON_BITMAP_PAGES * BITS_PER_PAGE) {
		*why = "guest RAM larger than the balloon's bitmap";
		return false;
	}
	for (uint64_t i = 0; i * BITS_PER_PAGE < pages; i++) {
		uint64_t pa = host_page_alloc(vm->host, vm->home_node, PAGE_HYPERVISOR,
					      (uint16_t)vm->id, 0);
		if (!pa) {
			*why = "no memory for the balloon's bitmap";
			return false;
		}
		b->ballooned[i] = pa_to_ptr(pa);
	}
	/* DEFLATE_ON_OOM (5.5.6.1), if asked: the guest's inflated pages stay
	 * in its MemTotal, and its OOM path first deflates (1 MiB per
	 * notification) before it kills. */
	b->ops = vballoon_ops;
	if (deflate_on_oom)
		b->ops.features |= BALLOON_F_DEFLATE_ON_OOM;
	if (!virtio_mmio_init(&b->virtio, vm, base, irq, &b->ops)) {
		*why = "no room for its registers";
		return false;
	}
	return true;
}

void vballoon_reset(struct vballoon *b)
{
	virtio_mmio_reset(&b->virtio);
}

void vballoon_refresh_stats(struct vballoon *b)
{
	struct retired_pages retired;

	retired_init(&retired);
	spin_lock(&b->virtio.lock);
	if (read_time() - b->stats_asked > STATS_PERIOD_TICKS)
		ask_stats(b, &retired);
	spin_unlock(&b->virtio.lock);
}

bool vballoon_available_pages(struct vballoon *b, uint64_t *pages)
{
	bool ok;

	spin_lock(&b->virtio.lock);
	ok = b->stats.valid[BALLOON_STAT_AVAILABLE];
	*pages = b->stats.value[BALLOON_STAT_AVAILABLE] >> PAGE_SHIFT;
	spin_unlock(&b->virtio.lock);
	return ok;
}

void vballoon_set_target(struct vballoon *b, uint32_t pages)
{
	spin_lock(&b->virtio.lock);
	b->target_pages = pages;
	virtio_mmio_config_changed(&b->virtio);
	spin_unlock(&b->virtio.lock);
}

void vballoon_counters(const void *dev, struct counters *c)
{
	const struct vballoon *b = dev;
	struct vm *vm = b->virtio.vm;
	uint64_t touched = 0;
	char json[40 * BALLOON_STAT_TAGS];
	struct counters stats;

	/* Pages in the balloon that are mapped again: the guest touched them
	 * (each got a zeroed page). */
	for (uint64_t i = 0; i < vm->ram_size >> PAGE_SHIFT; i++) {
		uint64_t mask, *word = bit_word(b, i, &mask);
		if (word && (*word & mask) &&
		    guest_memory_is_mapped(vm, vm->ram_base + (i << PAGE_SHIFT)))
			touched++;
	}
	counters_u64(c, "balloon_target_pages", b->target_pages);
	counters_u64(c, "balloon_pages", b->pages);
	counters_u64(c, "balloon_actual_pages", b->actual_pages);
	counters_u64(c, "balloon_inflated", b->inflated);
	counters_u64(c, "balloon_deflated", b->deflated);
	counters_u64(c, "balloon_touched", touched);
	counters_u64(c, "reported_pages", b->reported_pages);
	counters_u64(c, "balloon_pages_freed", b->pages_freed);
	counters_u64(c, "balloon_bad_pfns", b->bad_pfns);
	counters_u64(c, "balloon_repeated_pfns", b->repeated_pfns);
	counters_u64(c, "balloon_deflate_unknown", b->deflate_unknown);
	counters_u64(c, "balloon_stats_updates", b->stats_updates);
	counters_begin(&stats, json, sizeof(json));
	for (unsigned t = 0; t < BALLOON_STAT_TAGS; t++)
		if (b->stats.valid[t])
			counters_u64(&stats, balloon_stat_name[t], b->stats.value[t]);
	counters_end(&stats);
	counters_raw(c, "balloon_stats", json);
}
