/*
 * A virtual machine: its guest-physical memory (G-stage table), its vCPUs,
 * its console, its life-cycle state and its counters.
 */
#ifndef DISCV_VM_H
#define DISCV_VM_H

#include <stdbool.h>
#include <stdint.h>
#include "g-stage/gstage.h"
#include "mem/host_pages.h"
#include "core/mmio.h"
#include "lib/spinlock.h"
#include "core/vcpu.h"
#include "core/working_set.h"

#define MAX_VMS 256
#define MAX_VCPUS_PER_VM 8
#define VM_NAME_MAX 16
#define DEFERRED_DROPS_MAX 256
#define GUEST_CONSOLE_LINE 256

/* Where guest RAM starts (the rest of the guest-physical map, the
 * devices', is hyp/guest/guest.h's). */
#define GUEST_RAM_BASE 0x80000000UL

#define VM_MAX_DEVICES 8

struct counters;

/* A device of the VM, as core sees it. */
struct vm_device {
	void *dev;
	/* Puts the device in its power-on state (every boot, reboot). */
	void (*reset)(void *dev);
	/* Appends its counters to the VM's hvstat line (may be NULL). */
	void (*counters)(const void *dev, struct counters *c);
	/* Work it left for the VM's next exit (vm_kick_devices; may be NULL). */
	void (*kicked)(void *dev);
	/* True if the device itself uses guest page gpa (its rings): no
	 * guest call may remap it (may be NULL). */
	bool (*uses_page)(const void *dev, uint64_t gpa);
};

enum vm_state {
	VM_RUNNING,
	VM_OFF,		/* the guest powered off (SRST shutdown, no failure) */
	VM_FAILED,	/* the guest shut down reporting a system failure */
	VM_CRASHED,	/* the guest asked to reboot in batch mode: it panicked */
	VM_KILLED,	/* the hypervisor stopped it (a fault it cannot survive) */
	VM_HUNG,	/* a vCPU kept its timer interrupt masked for 10 s: a hard lockup */
	VM_STOPPED,	/* stopped from the monitor */
};

extern const char *const vm_state_name[];

#define GUEST_INPUT_BUF 256

struct guest_console {
	struct spinlock lock;	/* the VM's vCPUs may print from several harts */
	char line[GUEST_CONSOLE_LINE];
	unsigned len;
	bool continued;		/* part of the current line was already printed */
	unsigned long writes_seen;	/* console_write_count() after our last write */
	/* Keyboard input for this guest (when it has the console focus). */
	char input[GUEST_INPUT_BUF];
	unsigned input_head, input_tail;
};

struct vm {
	/* Sv39x4 root table: 16 KiB, 16 KiB aligned (priv spec 8.5.1). */
	uint64_t gstage_root[GSTAGE_ROOT_ENTRIES] __attribute__((aligned(16384)));
	struct gstage gstage;
	struct spinlock life_lock;	/* stop, reboot: taken before `lock` */
	struct spinlock lock;		/* guards the G-stage and page records */
	struct host_memory *host;

	unsigned id;
	char name[VM_NAME_MAX];
	enum vm_state state;
	bool reboot_pending;		/* the guest asked to reboot (interactive) */
	unsigned boots;			/* boots so far: 0 while the first is loaded */
	unsigned home_node;		/* NUMA node its pages come from */

	uint64_t ram_base, ram_size;	/* guest-physical RAM */

	unsigned nvcpus;
	struct vcpu vcpu[MAX_VCPUS_PER_VM];

	struct guest_console console;

	/* Emulated devices, which live above core (hyp/guest/ assembles
	 * them): the register windows that trap (mmio.c), each device's reset
	 * and counters, and how to read a vCPU's external interrupt line
	 * from the VM's interrupt controller. */
	struct mmio_region mmio[MAX_MMIO_REGIONS];
	unsigned nmmio;
	struct vm_device device[VM_MAX_DEVICES];
	unsigned ndevices;
	int devices_kicked;		/* a device has work for the next exit (atomic) */
	bool (*external_line)(const void *controller, unsigned vcpu_id);
	const void *interrupt_controller;

	/* Loads the guest's images and device tree at every boot: set by
	 * whoever created the VM (hyp/guest/). */
	bool (*load)(struct vm *vm, const char **why);
	bool batch;			/* a reboot request means a crash (panic=-1) */

	/* Counters (hvstat). */
	uint64_t pages_mapped;		/* guest RAM pages backed by host pages */
	uint64_t pages_local;		/* ... from its home node */
	uint64_t pages_remote;		/* ... from another node (home node full) */
	uint64_t pages_shared;		/* ... that are shared pages, read-only */
	uint64_t cow_breaks;		/* writes to shared pages that made a private copy */
	uint64_t pv_remaps;		/* paravirtual copies done as remaps (sbi/sbi_discv.c) */
	uint64_t pv_remap_fallbacks;	/* ... refused: the guest copied instead */
	uint64_t cow_kept;		/* writes to network-shared pages no one else mapped
					 * any more: made private in place, no copy */
	uint64_t spurious_faults;	/* guest-page faults on pages already mapped as needed */
	uint64_t pages_zero;		/* ... mapped to a node's zero page (content sharing) */
	uint64_t pages_content_shared;	/* ... mapped to merged pages (content sharing) */
	uint64_t zero_merges;		/* private pages found zero and replaced by the zero page */
	uint64_t content_merges;	/* private pages merged into an equal merged page */
	uint64_t content_cow_breaks;	/* writes to a zero or merged page (a copy, or taken back) */
	uint64_t scan_pages;		/* pages the content scanner looked at */
	uint64_t scan_cursor;		/* where its next look starts (content_scan.c) */
	uint64_t scan_tokens;		/* its per-VM rate budget, in pages */
	/* The pager (core/pager.c) and the page states it leaves behind. */
	uint64_t pages_swapped;		/* pages whose contents are in a swap slot */
	uint64_t pages_disk;		/* pages left as "equal to base block b" */
	uint64_t swap_outs, swap_ins;	/* pages written to swap / read back */
	uint64_t disk_drops;		/* disk-shared mappings dropped by the pager */
	uint64_t disk_refaults;		/* ... and mapped again on a touch */
	uint64_t pager_zero;		/* victims found zero: shared, not swapped */
	uint64_t swap_discards;		/* swapped pages the guest gave back (balloon,
					 * free page report): slot dropped unread */
	uint64_t double_paging_reads;	/* swapped pages read back only to go to the
					 * guest's disk (must stay 0) */
	uint64_t double_paging_avoided;	/* ... written from the slot instead */
	uint64_t stale_reads_avoided;	/* swapped pages a DMA read overwrote whole:
					 * slot dropped unread */
	uint64_t pager_hand;		/* the clock hand: next gpa to look at */
	struct working_set working_set;	/* its sampled working set (under `lock`) */
	uint64_t mem_target;		/* host pages the policy allows it (0: no target) */
	uint64_t low_blocks;		/* faults held in the LOW state to page out its own */

	/* Shared pages this VM stopped mapping, whose mapping count drops
	 * only once that change is fenced on every hart (guest_memory.c);
	 * under `lock` (count is read without it, atomically). */
	struct deferred_drops {
		unsigned count;
		struct { uint64_t pa, fence_gen; } drop[DEFERRED_DROPS_MAX];
	} shared_drops;
	uint64_t shared_drops_full;	/* changes refused until a fence: the list was full */
};

static inline enum vm_state vm_get_state(const struct vm *vm)
{
	return __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE);
}

static inline bool vm_is_running(const struct vm *vm)
{
	return vm_get_state(vm) == VM_RUNNING;
}

/* Flushes the VM's G-stage translations on every hart that may hold
 * them; returns when every loaded vCPU has fenced (the others fence before
 * they next run). After it, a page unmapped from the VM may be reused. */
void vm_flush_gstage(struct vm *vm);

/*
 * Waits a little for a page whose IO another hart does (the pager's BUSY
 * state), with no lock held: this hart acknowledges its own vCPU's
 * requests meanwhile, as in a synchronous fence, so that the hart doing
 * the IO is never kept waiting for it. Call only with no host address
 * of guest memory held (docs/concurrency.md).
 */
void vm_wait_for_page(void);

/*
 * The hypervisor's own accesses to guest pages by host address (a
 * device's DMA, an SBI call's copy: guest_memory_touch* to
 * guest_memory_touch_end). A hart opens one before it looks the page up
 * and closes it when its load or store is done; it never waits, fences or
 * opens another in between. A G-stage fence covers only the VM's vCPUs,
 * and the hart that writes a frame into a receiver's buffer runs the
 * sender's vCPU (or none: the uplink): so every fence that lets a page be
 * taken from a VM (merged, swapped out, remapped, freed) also waits, with
 * vm_wait_for_accesses, until each access that was open on another hart
 * when it began has closed (docs/concurrency.md, "Host addresses handed
 * out").
 */
void vm_access_begin(void);
void vm_access_end(void);
void vm_wait_for_accesses(void);
uint64_t vm_access_waits(void);	/* hvstat access_waits: waits that found one open */

/* Adds a device; false if the VM has VM_MAX_DEVICES already. */
bool vm_add_device(struct vm *vm, const struct vm_device *d);

/*
 * Device work that no vCPU of the VM is waiting in an exit for (a queue
 * served on another device's behalf ran out of budget): the VM's next
 * exit, on any of its vCPUs, calls every device's `kicked` - with no lock
 * held, a bounded amount of work each time. vCPU 0 is kicked out of the
 * guest if it runs; otherwise the next exit of any comes soon enough (the
 * slice timer, the guest's own timer).
 */
void vm_kick_devices(struct vm *vm);

/* True if a device of the VM uses the guest page holding gpa itself. */
bool vm_device_uses_page(const struct vm *vm, uint64_t gpa);
void vm_serve_kicked_devices(struct vm *vm);

/* The VM's interrupt controller says how to read vCPU vcpu_id's external
 * interrupt line (hvip.VSEIP follows it at every entry). */
void vm_set_interrupt_controller(struct vm *vm, const void *controller,
				 bool (*line)(const void *controller, unsigned vcpu_id));

/* SBI SRST (or legacy shutdown) from the guest: power off or reboot. */
void vm_system_reset(struct vm *vm, unsigned long type, unsigned long reason);

/* Stops the VM with a final state; prints why. Idempotent: the first
 * stop wins. */
void vm_stop(struct vm *vm, enum vm_state state, const char *why);

#endif
