#include <string.h>
#include "g-stage/gstage.h"
#include "arch/riscv_defs.h"

#define LEVELS 3
#define PTE_PERMS (PTE_R | PTE_W | PTE_X)

/* Index of gpa in the table at `level` (2 = root, 0 = leaf level). */
static unsigned pte_index(uint64_t gpa, int level)
{
	unsigned shift = PAGE_SHIFT + 9 * (unsigned)level;
	uint64_t mask = level == LEVELS - 1 ? GSTAGE_ROOT_ENTRIES - 1 : 511;

	return (unsigned)((gpa >> shift) & mask);
}

static uint64_t *pte_table(uint64_t pte)
{
	return pa_to_ptr((pte >> PTE_PPN_SHIFT) << PAGE_SHIFT);
}

static uint64_t make_pte(uint64_t pa, uint64_t flags)
{
	return ((pa >> PAGE_SHIFT) << PTE_PPN_SHIFT) | flags;
}

static bool is_leaf(uint64_t pte)
{
	return (pte & PTE_V) && (pte & PTE_PERMS);
}

void gstage_init(struct gstage *gs, uint64_t *root, uint16_t vmid,
		 gstage_alloc_fn alloc_table, gstage_free_fn free_table,
		 gstage_remote_fence_fn remote_fence, void *ctx)
{
	*gs = (struct gstage){
		.root = root,
		.vmid = vmid,
		.alloc_table = alloc_table,
		.free_table = free_table,
		.remote_fence = remote_fence,
		.ctx = ctx,
	};
}

/*
 * Publishes a page-table entry. The release store orders every earlier
 * write of this hart (the zeroes of a new table or page, a copy) before
 * the entry, so a walker on another hart that finds the entry also finds
 * what it points to (RVWMO; on RISC-V GCC emits `fence rw,w` + `sd`).
 */
static void publish_pte(uint64_t *slot, uint64_t pte)
{
	__atomic_store_n(slot, pte, __ATOMIC_RELEASE);
}

static bool gpa_valid(uint64_t gpa)
{
	return (gpa >> GSTAGE_GPA_BITS) == 0 && (gpa & ~PAGE_MASK) == 0;
}

/*
 * Returns the leaf-level PTE slot for gpa, creating the intermediate tables
 * if `create`. NULL if gpa is unmapped (and !create) or allocation failed.
 * discv maps only 4 KiB leaves, so a valid non-leaf PTE always points to
 * the next table down.
 */
static uint64_t *walk(const struct gstage *gs, uint64_t gpa, bool create, bool *no_memory)
{
	uint64_t *table = gs->root;

	for (int level = LEVELS - 1; level > 0; level--) {
		uint64_t *pte = &table[pte_index(gpa, level)];
		if (!(*pte & PTE_V)) {
			if (!create)
				return NULL;
			uint64_t pa = gs->alloc_table(gs->ctx);
			if (!pa) {
				*no_memory = true;
				return NULL;
			}
			((struct gstage *)gs)->table_pages++;
			publish_pte(pte, make_pte(pa, PTE_V));	/* non-leaf: V only */
		} else if (is_leaf(*pte)) {
			return NULL;	/* superpage: never created by discv */
		}
		table = pte_table(*pte);
	}
	return &table[pte_index(gpa, 0)];
}

static bool perms_valid(unsigned perms)
{
	/* W without R is reserved (priv spec 4.3.1). */
	return (perms & PTE_PERMS) && !(perms & ~PTE_PERMS) && (perms & (PTE_R | PTE_W)) != PTE_W;
}

/*
 * The one function that changes a leaf (see gstage.h). new_pte == 0
 * removes it. Sorts the change, numbers it if it owes a remote fence, and
 * publishes the new entry. The caller holds the lock that serializes
 * changes of this table (the VM's lock); the page-table walkers of the
 * other harts do not take it: they set A in a live leaf whenever the guest
 * uses its page (QEMU, with a compare-and-swap). So the entry is replaced
 * with a compare-and-swap too, and a change that keeps the page keeps the
 * walker's A bit, however late it came: a plain store of a value read
 * earlier would lose it, and the pager's clock would take the page for
 * unused.
 */
static void set_leaf(struct gstage *gs, uint64_t *slot, uint64_t new_pte, struct gstage_old *old)
{
	uint64_t old_pte = __atomic_load_n(slot, __ATOMIC_RELAXED), pte;
	bool same_page;

	do {
		same_page = (old_pte >> PTE_PPN_SHIFT) == (new_pte >> PTE_PPN_SHIFT);
		pte = new_pte;
		if ((old_pte & PTE_V) && (new_pte & PTE_V) && same_page)
			pte = (pte & ~(uint64_t)PTE_A) | (old_pte & PTE_A);
#ifdef DISCV_UNIT_INTERLEAVE
		unit_before_leaf_store(slot);	/* a walker may set A here */
#endif
		/* Release: published after the page's contents (gstage.h). */
	} while (!__atomic_compare_exchange_n(slot, &old_pte, pte, false, __ATOMIC_RELEASE,
					      __ATOMIC_RELAXED));

	unsigned old_perms = (unsigned)(old_pte & PTE_PERMS), new_perms = (unsigned)(pte & PTE_PERMS);
	*old = (struct gstage_old){ 0 };
	if (old_pte & PTE_V) {
		old->valid = true;
		old->hpa = (old_pte >> PTE_PPN_SHIFT) << PAGE_SHIFT;
		old->perms = old_perms;
	}
	if ((old_pte & PTE_V) && !(pte & PTE_V))
		gs->leaves--;
	else if (!(old_pte & PTE_V) && (pte & PTE_V))
		gs->leaves++;
	/* Only creating a leaf, or widening one in place, is safe without a
	 * fence: every other change leaves a stale translation usable.
	 * Numbered after it is published: a gstage_sync() that reads this
	 * number (gstage_changed, acquire) also sees the new entry, so its
	 * fence cannot run ahead of the store it covers. */
	if ((old_pte & PTE_V) &&
	    !((pte & PTE_V) && same_page && (new_perms & old_perms) == old_perms))
		old->fence_gen = __atomic_add_fetch(&gs->changed, 1, __ATOMIC_ACQ_REL);
}

int gstage_map(struct gstage *gs, uint64_t gpa, uint64_t hpa, unsigned perms)
{
	bool no_memory = false;
	struct gstage_old old;

	if (!gpa_valid(gpa) || (hpa & ~PAGE_MASK) || (hpa >> 56) || !perms_valid(perms))
		return -1;
	uint64_t *pte = walk(gs, gpa, true, &no_memory);
	if (!pte)
		return no_memory ? -2 : -1;
	if (*pte & PTE_V)
		return -3;
	set_leaf(gs, pte, make_pte(hpa, PTE_V | PTE_U | PTE_A | PTE_D | perms), &old);
	return 0;
}

int gstage_remap(struct gstage *gs, uint64_t gpa, uint64_t hpa, unsigned perms,
		 struct gstage_old *old)
{
	bool no_memory = false;

	*old = (struct gstage_old){ 0 };
	if (!gpa_valid(gpa) || (hpa & ~PAGE_MASK) || (hpa >> 56) || !perms_valid(perms))
		return -1;
	uint64_t *pte = walk(gs, gpa, true, &no_memory);
	if (!pte)
		return no_memory ? -2 : -1;
	set_leaf(gs, pte, make_pte(hpa, PTE_V | PTE_U | PTE_A | PTE_D | perms), old);
	return 0;
}

bool gstage_lookup(const struct gstage *gs, uint64_t gpa, uint64_t *hpa, unsigned *perms)
{
	bool no_memory = false;
	uint64_t *pte;

	if (!gpa_valid(gpa & PAGE_MASK))
		return false;
	pte = walk(gs, gpa & PAGE_MASK, false, &no_memory);
	if (!pte || !(*pte & PTE_V))
		return false;
	if (hpa)
		*hpa = (*pte >> PTE_PPN_SHIFT) << PAGE_SHIFT;
	if (perms)
		*perms = (unsigned)(*pte & PTE_PERMS);
	return true;
}

bool gstage_unmap(struct gstage *gs, uint64_t gpa, uint64_t *old_hpa)
{
	bool no_memory = false;
	struct gstage_old old;
	uint64_t *pte;

	if (!gpa_valid(gpa))
		return false;
	pte = walk(gs, gpa, false, &no_memory);
	if (!pte || !(*pte & PTE_V))
		return false;
	set_leaf(gs, pte, 0, &old);
	if (old_hpa)
		*old_hpa = old.hpa;
	return true;
}

bool gstage_protect(struct gstage *gs, uint64_t gpa, unsigned perms)
{
	bool no_memory = false;
	struct gstage_old old;
	uint64_t *pte;

	if (!gpa_valid(gpa) || !perms_valid(perms))
		return false;
	pte = walk(gs, gpa, false, &no_memory);
	if (!pte || !(*pte & PTE_V))
		return false;
	set_leaf(gs, pte, (*pte & ~(uint64_t)PTE_PERMS) | perms, &old);
	return true;
}

uint64_t gstage_changed(const struct gstage *gs)
{
	return __atomic_load_n(&gs->changed, __ATOMIC_ACQUIRE);
}

bool gstage_fenced(const struct gstage *gs, uint64_t gen)
{
	return __atomic_load_n(&gs->fenced, __ATOMIC_ACQUIRE) >= gen;
}

bool gstage_sync(struct gstage *gs)
{
	/* Every change numbered <= target was published before we read it. */
	uint64_t target = gstage_changed(gs), done;

	if (gstage_fenced(gs, target))
		return false;
	gs->remote_fence(gs->ctx);
	__atomic_add_fetch(&gs->remote_fences, 1, __ATOMIC_RELAXED);
	/* fenced = max(fenced, target): another hart's fence may have gone
	 * further meanwhile; never move it back. */
	done = __atomic_load_n(&gs->fenced, __ATOMIC_ACQUIRE);
	while (done < target &&
	       !__atomic_compare_exchange_n(&gs->fenced, &done, target, false,
					    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		;
	return true;
}

uint64_t gstage_marker(const struct gstage *gs, uint64_t gpa)
{
	bool no_memory = false;
	uint64_t *pte;

	if (!gpa_valid(gpa & PAGE_MASK))
		return 0;
	pte = walk(gs, gpa & PAGE_MASK, false, &no_memory);
	return pte && !(*pte & PTE_V) ? *pte : 0;
}

int gstage_set_marker(struct gstage *gs, uint64_t gpa, uint64_t marker, struct gstage_old *old)
{
	bool no_memory = false;
	uint64_t *pte;

	*old = (struct gstage_old){ 0 };
	if (!gpa_valid(gpa) || (marker & PTE_V))
		return -1;
	/* Clearing a marker where no table exists: nothing to do. */
	pte = walk(gs, gpa, marker != 0, &no_memory);
	if (!pte)
		return marker ? (no_memory ? -2 : -1) : 0;
	set_leaf(gs, pte, marker, old);
	return 0;
}

bool gstage_test_clear_accessed(struct gstage *gs, uint64_t gpa)
{
	bool no_memory = false;
	uint64_t *pte, v;

	if (!gpa_valid(gpa))
		return false;
	pte = walk(gs, gpa, false, &no_memory);
	if (!pte)
		return false;
	v = __atomic_load_n(pte, __ATOMIC_ACQUIRE);
	while (is_leaf(v) && (v & PTE_A))
		if (__atomic_compare_exchange_n(pte, &v, v & ~(uint64_t)PTE_A, false,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return true;
	return false;
}

static void markers_in(const uint64_t *table, int level, uint64_t base,
		       void (*fn)(void *, uint64_t, uint64_t), void *arg)
{
	unsigned entries = level == LEVELS - 1 ? GSTAGE_ROOT_ENTRIES : 512;

	for (unsigned i = 0; i < entries; i++) {
		uint64_t pte = table[i];
		uint64_t gpa = base + ((uint64_t)i << (PAGE_SHIFT + 9 * level));
		if (level == 0 && pte && !(pte & PTE_V))
			fn(arg, gpa, pte);
		else if (level > 0 && (pte & PTE_V) && !is_leaf(pte))
			markers_in(pte_table(pte), level - 1, gpa, fn, arg);
	}
}

void gstage_for_each_marker(const struct gstage *gs,
			    void (*fn)(void *arg, uint64_t gpa, uint64_t marker), void *arg)
{
	markers_in(gs->root, LEVELS - 1, 0, fn, arg);
}

static void for_each_in(const uint64_t *table, int level, uint64_t base,
			void (*fn)(void *, uint64_t, uint64_t, unsigned), void *arg)
{
	unsigned entries = level == LEVELS - 1 ? GSTAGE_ROOT_ENTRIES : 512;

	for (unsigned i = 0; i < entries; i++) {
		uint64_t pte = table[i];
		uint64_t gpa = base + ((uint64_t)i << (PAGE_SHIFT + 9 * level));
		if (!(pte & PTE_V))
			continue;
		if (level == 0)
			fn(arg, gpa, (pte >> PTE_PPN_SHIFT) << PAGE_SHIFT,
			   (unsigned)(pte & PTE_PERMS));
		else if (!is_leaf(pte))
			for_each_in(pte_table(pte), level - 1, gpa, fn, arg);
	}
}

void gstage_for_each(const struct gstage *gs,
		     void (*fn)(void *arg, uint64_t gpa, uint64_t hpa, unsigned perms),
		     void *arg)
{
	for_each_in(gs->root, LEVELS - 1, 0, fn, arg);
}

static void clear_table(struct gstage *gs, uint64_t *table, int level)
{
	unsigned entries = level == LEVELS - 1 ? GSTAGE_ROOT_ENTRIES : 512;

	for (unsigned i = 0; i < entries; i++) {
		uint64_t pte = table[i];
		if (!(pte & PTE_V)) {
			table[i] = 0;	/* a marker, or empty */
			continue;
		}
		if (level > 0 && !is_leaf(pte)) {
			clear_table(gs, pte_table(pte), level - 1);
			gs->free_table(gs->ctx, (pte >> PTE_PPN_SHIFT) << PAGE_SHIFT);
			gs->table_pages--;
		} else {
			gs->leaves--;
		}
		table[i] = 0;	/* the caller fences: the VM is not running */
	}
}

void gstage_clear(struct gstage *gs)
{
	clear_table(gs, gs->root, LEVELS - 1);
}

uint64_t gstage_hgatp(const struct gstage *gs)
{
	return HGATP_MODE_SV39X4 | ((uint64_t)gs->vmid << HGATP_VMID_SHIFT) |
	       (ptr_to_pa(gs->root) >> PAGE_SHIFT);
}
