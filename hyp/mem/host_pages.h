/*
 * Host page frames: one owner record per 4 KiB page of host RAM, and the
 * allocator built on them.
 *
 * This is discv's single source of truth about host memory (ROADMAP: "one
 * owner of host pages"). Every page is in exactly one state, its origin:
 * reserved (firmware, the hypervisor image, the DTB, boot blobs, holes),
 * free, or allocated for a purpose, and allocated pages say which VM owns
 * them and where it maps them. Sharing, copy-on-write, the pager and the
 * balloon (later capabilities) all change pages through these records.
 *
 * Free pages are kept on one list per NUMA node, linked through the records
 * (not through the free pages themselves, so a stray write into a free page
 * cannot corrupt the allocator). Every page is zeroed when allocated, so no
 * data crosses from one guest to another.
 *
 * Pure code: no CSR access. Host physical addresses are used directly as
 * pointers (the hypervisor runs with translation off), which also holds in
 * the native unit tests, where "host RAM" is an ordinary buffer.
 */
#ifndef DISCV_HOST_PAGES_H
#define DISCV_HOST_PAGES_H

#include <stdbool.h>
#include <stdint.h>
#include "arch/riscv_defs.h"
#include "lib/spinlock.h"

#define MAX_MEM_NODES 4
#define HOST_PAGE_NO_VM 0xffff
#define HOST_PAGE_NO_NODE 0xff

enum page_origin {
	PAGE_FREE = 0,
	PAGE_RESERVED,		/* never allocated: firmware, images, holes */
	PAGE_HYPERVISOR,	/* the hypervisor's own run-time data */
	PAGE_GSTAGE_TABLE,	/* a page of some VM's G-stage page table */
	PAGE_GUEST_PRIVATE,	/* guest RAM: one VM maps it at one GPA */
	PAGE_SHARED_DISK,	/* a base-disk block, mapped read-only by any VMs (share/) */
	PAGE_SHARED_KERNEL,	/* a page of the guest kernel image, likewise */
	PAGE_SHARED_NET,	/* guest RAM handed to other VMs by the network (vnet/):
				 * read-only in all, freed when the last one unmaps it */
	PAGE_SHARED_ZERO,	/* a node's one zero page, read-only in every VM that has
				 * a zero page there; never freed (share/content_share.c) */
	PAGE_SHARED_CONTENT,	/* guest pages found equal by content and merged into
				 * one, read-only in all; freed with its last mapping */
	PAGE_ORIGIN_COUNT
};

struct host_page {
	uint8_t origin;		/* enum page_origin */
	uint8_t node;		/* NUMA node of the page, HOST_PAGE_NO_NODE in holes */
	uint16_t vm;		/* owner VM id, HOST_PAGE_NO_VM if none */
	uint32_t mappings;	/* G-stage mappings of the page */
	union {
		uint64_t gpa;		/* PAGE_GUEST_PRIVATE: where the owner maps it */
		uint64_t block;		/* PAGE_SHARED_DISK, _KERNEL: the disk block or image page */
		uint32_t rmap;		/* PAGE_SHARED_CONTENT: its reverse map's first entry
					 * (share/content_table.h) */
		uint64_t next_free;	/* PAGE_FREE: frame index of the next free page */
	};
};

struct mem_node {
	uint64_t free_head;	/* frame index of the first free page, or FRAME_NONE */
	uint64_t total_pages;	/* RAM pages of this node, reserved ones included */
	uint64_t free_pages;
};

/*
 * Per-VM accounting ("owners": VM ids below HOST_PAGES_MAX_OWNERS). Guests
 * are admitted by first touch, so their RAM sizes may add up to more than
 * the host has: 64 guests of 128 MiB "fit" in 2 GiB only because each
 * touches little. When the host runs out, the guest that must stop is the
 * one that took more than its part, never a bystander. So each owner has
 * a share (its fair part of the host pages guests can have, set at boot
 * by host_pages_set_shares) and is charged every page allocated for it:
 * its private pages, its G-stage tables, and the shared block-cache pages
 * it filled (first reader pays, as Linux's memory cgroups charge page
 * cache). The shares that owners do not use yet are held in reserve for
 * them: an allocation for an owner already at or over its share is
 * refused unless more pages are free than the other owners' unused shares
 * (before refusing, the reclaim hook is asked to give pages back: the
 * block cache evicts). So an owner within its share always gets its page,
 * and a refusal always lands on an owner over its share.
 */
#define HOST_PAGES_MAX_OWNERS 256

struct host_owner {
	uint64_t pages;		/* pages allocated for it and not yet freed */
	uint64_t share;		/* its share; 0: no share, no reserve (never refused) */
	uint64_t refusals;	/* allocations refused because it was over its share */
};

/* Why an owner's allocation was refused (host_pages_owner_report). */
struct host_owner_report {
	uint64_t pages, share, refusals;
	uint64_t free;			/* free pages in the host */
	uint64_t reserved_for_others;	/* the other owners' unused shares */
};

/*
 * The reclaim hook: asked to give back about `want` pages (by
 * host_page_free) when an allocation would fail or be refused; for an
 * allocation refused because its VM is over its share, only pages charged
 * to that VM (`only_of`; else HOST_PAGE_NO_VM: any), since evicting
 * another VM's page adds one to that VM's reserve and helps nobody. Called
 * without the allocator's lock; returns how many pages it freed. The layer
 * above registers it (the block cache, hyp/share/), so this layer never
 * calls upward by name.
 */
typedef uint64_t (*host_reclaim_fn)(void *ctx, uint64_t want, uint16_t only_of);

struct host_memory {
	struct spinlock lock;
	struct host_page *frames;
	uint64_t base;		/* physical address of frame 0 */
	uint64_t nframes;
	struct mem_node node[MAX_MEM_NODES];
	unsigned nnodes;
	uint64_t used_by_origin[PAGE_ORIGIN_COUNT];
	struct host_owner owner[HOST_PAGES_MAX_OWNERS];
	uint64_t reserved;	/* sum over owners of max(0, share - pages) */
	host_reclaim_fn reclaim;
	void *reclaim_ctx;
	uint64_t reclaim_calls;	/* times the hook was asked (hvstat) */
	uint64_t reclaimed;	/* pages it gave back */
};

#define FRAME_NONE UINT64_MAX

/* Bytes of frame table needed to describe [base, base + bytes). */
uint64_t host_pages_table_bytes(uint64_t bytes);

/* Starts describing [base, base + nframes pages) with `table` (nframes
 * records, caller-provided). Every frame starts as a reserved hole. */
void host_pages_init(struct host_memory *hm, struct host_page *table,
		     uint64_t base, uint64_t nframes);

/* Declares [start, end) as RAM of NUMA node `node`. Page-aligned inward. */
void host_pages_add_ram(struct host_memory *hm, uint64_t start, uint64_t end, unsigned node);

/* Marks [start, end) reserved; rounds outward to whole pages. Call after
 * host_pages_add_ram and before host_pages_finish. */
void host_pages_reserve(struct host_memory *hm, uint64_t start, uint64_t end);

/* Puts every RAM page that is not reserved on its node's free list, lowest
 * address first. */
void host_pages_finish(struct host_memory *hm);

/* Allocates one zeroed page, from `node` if it has one, else from the
 * next node in numbering order that has one (wrapping; capability 2
 * orders them by the distance map). Records origin, owner vm and gpa,
 * and charges the page to owner vm (if it is one). Returns its physical
 * address, or 0 when host memory is exhausted or the allocation is
 * refused because vm is over its share (see above; the reclaim hook is
 * tried first, so do not call this with a lock the hook takes). */
uint64_t host_page_alloc(struct host_memory *hm, unsigned node,
			 enum page_origin origin, uint16_t vm, uint64_t gpa);

/* Returns an allocated page to its node's free list. Panics (via the
 * caller's check) are not its job: it returns false if pa is not an
 * allocated page, and changes nothing. */
bool host_page_free(struct host_memory *hm, uint64_t pa);

/* Gives each of owners 0..n-1 an equal share of the pages free now, less
 * `margin` pages kept for the hypervisor and unowned pages (the kernel
 * image's shared pages), and at most `cap` pages each (an owner's RAM and
 * G-stage tables: a share beyond what it can ever use would only keep
 * pages from the others). Call before any page is allocated for them. */
void host_pages_set_shares(struct host_memory *hm, unsigned n, uint64_t cap, uint64_t margin);

/* Registers the reclaim hook (one; NULL to remove it). */
void host_pages_set_reclaim(struct host_memory *hm, host_reclaim_fn fn, void *ctx);

/* The accounting of owner vm, for the message that says why it stopped. */
void host_pages_owner_report(struct host_memory *hm, uint16_t vm, struct host_owner_report *r);

/* Forgets owner vm's share (a VM that stopped: its unused share is no
 * longer reserved; its pages stay charged until freed). */
void host_pages_drop_share(struct host_memory *hm, uint16_t vm);

/* Changes an allocated page's purpose in place, its charge moving to
 * owner vm: a guest's private page that the network shares
 * (PAGE_SHARED_NET), or such a page that its last mapper takes back as
 * private (gpa: where it maps it). False if pa is not an allocated page. */
bool host_page_change_origin(struct host_memory *hm, uint64_t pa, enum page_origin origin,
			     uint16_t vm, uint64_t gpa);

/* The record of the page holding pa, or NULL if pa is outside the table. */
struct host_page *host_page_of(struct host_memory *hm, uint64_t pa);

uint64_t host_pages_free_count(const struct host_memory *hm);
uint64_t host_pages_ram_count(const struct host_memory *hm);

/*
 * A shared page's `mappings` is changed under the lock of whichever VM
 * maps or unmaps it, so two VMs may change it at once: these are atomic.
 * The block cache evicts a page when it reads 0 (hyp/share/): a lost
 * increment would free a page still mapped. Drop a mapping only once no
 * hart can still use the translation (after the fence).
 */
static inline void host_page_map_get(struct host_page *p)
{
	__atomic_fetch_add(&p->mappings, 1, __ATOMIC_ACQ_REL);
}

/* Drops one mapping; never below 0. Returns the mappings left: the one
 * caller that sees 0 is the one that may free the page. */
static inline uint32_t host_page_map_put(struct host_page *p)
{
	uint32_t n = __atomic_load_n(&p->mappings, __ATOMIC_ACQUIRE);

	while (n && !__atomic_compare_exchange_n(&p->mappings, &n, n - 1, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		;
	return n ? n - 1 : 0;
}


struct counters;
/* The host memory fields of hvstat's total line (lib/counters.h). */
void host_pages_counters(const struct host_memory *hm, struct counters *c);

#endif
