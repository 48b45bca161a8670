/*
 * G-stage page tables: the guest-physical to host-physical layer.
 *
 * The hypervisor's lever: it can change where any guest page lives at any
 * time without the guest knowing. This file (with gstage_fence.c) is the
 * only code in discv that reads or writes G-stage entries.
 *
 * Format: Sv39x4 (priv spec 8.5.1). A guest-physical address has 41 bits;
 * the root table is widened by 2 bits to 2048 entries (16 KiB, 16 KiB
 * aligned) indexed by GPA[40:30]; the two lower levels are ordinary Sv39
 * tables of 512 entries indexed by GPA[29:21] and GPA[20:12].
 *
 *   PTE: | 63..54 reserved | 53..10 PPN | 9..8 RSW | D A G U X W R V |
 *
 * Every guest access is checked as a U-mode access in G-stage
 * translation (priv spec 8.5.1), so leaves carry U. Leaves are created
 * with A and D set: QEMU sets them in hardware anyway, and a hypervisor
 * that relies on A/D faults would take one per first access.
 *
 * Pure code: page-table pages are reached through pa_to_ptr(); the remote
 * fence is a callback (the VM layer's IPI-and-wait), so the unit tests
 * replay the protocol with a fake one.
 *
 * Changing a leaf of a table that may be live on other harts
 * (docs/concurrency.md, "Changing a G-stage leaf"). Every verb below goes
 * through one function, set_leaf() in gstage.c, which sorts the change:
 *
 *  - CREATE (empty slot to a leaf) and UPGRADE (same page, more
 *    permissions): no remote fence. A hart may still use the old invalid
 *    or narrower entry (priv spec 4.2.1: "either the new or old
 *    permissions will be used"), which can only cause a spurious
 *    guest-page fault; the faulting hart fences that address itself.
 *  - Anything else (unmap, fewer permissions, another host page) leaves
 *    translations that other harts may still use: the change gets a
 *    generation number, and nothing may rely on it - free or reuse the old
 *    host page, write into it for someone else, tell the guest (a used
 *    ring entry, an interrupt) that the new contents are there - until
 *    gstage_sync() has fenced that generation on every hart.
 *
 * The new entry is stored with release ordering, after everything the
 * caller wrote into the page it points to (zeroes, a copy): a walker on
 * another hart that sees the entry sees the contents (priv spec 4.2.1,
 * and RVWMO: the page-table walker's reads are not ordered by the data
 * writes otherwise).
 */
#ifndef DISCV_GSTAGE_H
#define DISCV_GSTAGE_H

#include <stdbool.h>
#include <stdint.h>

#ifdef DISCV_UNIT_INTERLEAVE
/* Host unit tests replay a page-table walker's A update on another hart
 * between set_leaf's read of a leaf and its store (tests/unit/unit.h). */
void unit_before_leaf_store(uint64_t *slot);
#endif

#define GSTAGE_ROOT_ENTRIES 2048
#define GSTAGE_ROOT_BYTES (GSTAGE_ROOT_ENTRIES * 8)
#define GSTAGE_GPA_BITS 41

#define PTE_V (1UL << 0)
#define PTE_R (1UL << 1)
#define PTE_W (1UL << 2)
#define PTE_X (1UL << 3)
#define PTE_U (1UL << 4)
#define PTE_G (1UL << 5)
#define PTE_A (1UL << 6)
#define PTE_D (1UL << 7)
#define PTE_PPN_SHIFT 10

/* Permissions of a guest page. */
enum gstage_perm {
	GSTAGE_READ = PTE_R,
	GSTAGE_WRITE = PTE_W,
	GSTAGE_EXEC = PTE_X,
	GSTAGE_RWX = PTE_R | PTE_W | PTE_X,
	GSTAGE_RX = PTE_R | PTE_X,
};

/* Where table pages come from: returns the PA of a zeroed page, or 0. */
typedef uint64_t (*gstage_alloc_fn)(void *ctx);
typedef void (*gstage_free_fn)(void *ctx, uint64_t pa);
/* Fences the table's VMID on every hart that may cache it and returns
 * when each has done so (or will before it next runs the guest). Called
 * with no lock held. */
typedef void (*gstage_remote_fence_fn)(void *ctx);

struct gstage {
	uint64_t *root;		/* GSTAGE_ROOT_ENTRIES entries, 16 KiB aligned */
	uint16_t vmid;
	gstage_alloc_fn alloc_table;
	gstage_free_fn free_table;
	gstage_remote_fence_fn remote_fence;
	void *ctx;
	uint64_t table_pages;	/* lower-level table pages in use */
	uint64_t leaves;	/* leaf entries in use */
	/* Fence generations (atomic): `changed` counts the changes that need
	 * a remote fence; every change numbered <= `fenced` has had one. */
	uint64_t changed;
	uint64_t fenced;
	uint64_t remote_fences;	/* fences gstage_sync asked for (hvstat) */
};

/* What a leaf was before a change, and what the change still owes. */
struct gstage_old {
	bool valid;		/* a leaf was there */
	uint64_t hpa;		/* ... pointing to this page */
	unsigned perms;		/* ... with these permissions */
	uint64_t fence_gen;	/* 0: nothing owed; else wait for gstage_fenced() */
};

/* Starts an empty table; root must be zeroed, 16 KiB aligned storage. */
void gstage_init(struct gstage *gs, uint64_t *root, uint16_t vmid,
		 gstage_alloc_fn alloc_table, gstage_free_fn free_table,
		 gstage_remote_fence_fn remote_fence, void *ctx);

/* Maps the 4 KiB page at gpa to hpa with perms (GSTAGE_READ/WRITE/EXEC).
 * Allocates intermediate tables as needed. Returns 0, -1 if gpa is out of
 * the 41-bit space or misaligned, -2 if a table page could not be
 * allocated, -3 if gpa is already mapped (unmap it first). */
int gstage_map(struct gstage *gs, uint64_t gpa, uint64_t hpa, unsigned perms);

/* Looks gpa up. Returns true with the page's hpa and perms if mapped. */
bool gstage_lookup(const struct gstage *gs, uint64_t gpa, uint64_t *hpa, unsigned *perms);

/* Points gpa at hpa with perms, whatever was there (the verb of
 * copy-on-write and of sharing). Returns 0 or gstage_map's errors (never
 * -3); *old says what was there and what fence the change owes. */
int gstage_remap(struct gstage *gs, uint64_t gpa, uint64_t hpa, unsigned perms,
		 struct gstage_old *old);

/* Removes the mapping of gpa. Returns true and the old hpa if one existed.
 * The old page may be reused only once gstage_sync() returned. */
bool gstage_unmap(struct gstage *gs, uint64_t gpa, uint64_t *old_hpa);

/* Changes the perms of an existing mapping (write-protect: GSTAGE_RX).
 * Returns false if gpa is not mapped. Fewer permissions owe a fence, as
 * unmap does; more do not. */
bool gstage_protect(struct gstage *gs, uint64_t gpa, unsigned perms);

/* The generation of the latest change that owes a remote fence. */
uint64_t gstage_changed(const struct gstage *gs);

/* True if every change up to generation gen has been fenced everywhere. */
bool gstage_fenced(const struct gstage *gs, uint64_t gen);

/*
 * Pays what the changes so far owe: if any is not fenced yet, calls the
 * remote fence and then records every change it covers as fenced. Must be
 * called with no lock held (the harts it waits for may be spinning on
 * one). Returns true if it fenced. Harts may call it concurrently: each
 * returns only once the changes made before its call are fenced.
 */
bool gstage_sync(struct gstage *gs);

/*
 * Markers: what the leaf slot of an unmapped page remembers about it (the
 * pager: "swapped to slot n", "equal to base block b", "IO in flight").
 * A marker is an invalid entry: V = 0, and the hardware ignores every
 * other bit of an invalid PTE (priv spec 4.3.1: "all other bits in the
 * PTE are don't-cares and may be used freely by software"), so a marker
 * can never be walked. Its meaning is the caller's; gstage only requires
 * bit 0 (V) clear and the value nonzero. Replacing a valid leaf by a
 * marker is an unmap (it owes a fence, in *old); a marker replaced by a
 * leaf is a create.
 */
/* The marker of gpa's slot, or 0 (mapped, empty, or no table). */
uint64_t gstage_marker(const struct gstage *gs, uint64_t gpa);

/* Puts `marker` (nonzero, V clear; 0: none) in gpa's slot, whatever was
 * there. Returns 0, or gstage_map's errors (-1, -2). */
int gstage_set_marker(struct gstage *gs, uint64_t gpa, uint64_t marker, struct gstage_old *old);

/* Calls fn for every marker, in GPA order. */
void gstage_for_each_marker(const struct gstage *gs,
			    void (*fn)(void *arg, uint64_t gpa, uint64_t marker), void *arg);

/*
 * The accessed bit of a leaf, for the pager's clock. QEMU 7.2 sets A (and
 * D) in G-stage leaves itself, with a compare-and-swap, whenever it fills
 * its TLB from one (it never faults for them), and it empties its TLB at
 * every world switch: a page the guest used in a slice has A set again.
 * This clears A with a compare-and-swap too (a plain store could undo a
 * D that QEMU set in between) and returns whether it was set. Clearing A
 * owes no fence: a hart still caching the entry merely leaves A clear a
 * little longer, which makes the page look older than it is - the
 * clock's usual approximation (Linux does the same on x86). False if gpa
 * is not mapped.
 */
bool gstage_test_clear_accessed(struct gstage *gs, uint64_t gpa);

/* Calls fn for every mapped page, in GPA order. */
void gstage_for_each(const struct gstage *gs,
		     void (*fn)(void *arg, uint64_t gpa, uint64_t hpa, unsigned perms),
		     void *arg);

/* Removes every mapping and frees every lower-level table page; the root
 * stays, empty. Leaf pages are the caller's (walk them first). */
void gstage_clear(struct gstage *gs);

/* The hgatp value that selects this table (priv spec 8.2.10). */
uint64_t gstage_hgatp(const struct gstage *gs);

#endif
