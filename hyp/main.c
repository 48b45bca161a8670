/*
 * The hypervisor's boot: from OpenSBI's jump into boot/entry.S to the
 * first guest instruction, and the end of the run.
 *
 *  1. read the host device tree (harts, RAM, NUMA nodes, reservations)
 *  2. parse the run's options from /chosen/bootargs
 *  3. describe host RAM in page owner records, keeping out everything
 *     already in use (firmware, this image, the DTB, the boot blobs)
 *  4. create the guests and run them
 *  5. print hvstat, end QEMU with 0 if every guest powered off cleanly
 */
#include <libfdt.h>
#include "guest/config.h"
#include "host/console.h"
#include "arch/csr.h"
#include "g-stage/gstage_fence.h"
#include "core/sched.h"
#include "mem/host_pages.h"
#include "core/vcpu_exit.h"
#include "guest/guest.h"
#include "monitor/hvstat.h"
#include "monitor/monitor.h"
#include "sbi/sbi.h"
#include "lib/format.h"
#include "core/working_set.h"
#include "guest/mem_policy.h"
#include "host/machine.h"
#include "host/irq.h"
#include "host/platform.h"
#include "host/virtio_blk.h"
#include "host/virtio_net.h"
#include "vdisk/vdisk.h"
#include "share/share.h"
#include "share/content_share.h"
#include "core/content_scan.h"
#include "core/guest_memory.h"
#include "core/pager.h"
#include "mem/swap.h"
#include <string.h>
#include "core/vm_table.h"

extern char _start[], _end[];
extern void secondary_entry(void);	/* boot/entry.S */

struct host_memory host_memory;
static struct platform platform;
static struct hyp_config config;
static uint64_t disk_map_bytes;		/* per guest, 0 without a base disk */
static uint64_t base_blocks;
static uint8_t *disk_maps;

#define SWAP_SERIAL "discv-swap"

/* NUMA nodes with RAM (before the page allocator knows them). */
static unsigned nnodes_of(void)
{
	unsigned n = 1;

	for (unsigned i = 0; i < platform.nmem; i++)
		if (platform.mem[i].node + 1 > n)
			n = platform.mem[i].node + 1;
	return n;
}

/* --- The pager's wiring: its disk, and the base disk's pages ---------- */

static struct host_blk *base_disk;
static uint64_t disk_refault_read_bytes;

static bool swap_disk_read(void *ctx, uint64_t slot, uint64_t pa, unsigned pages)
{
	return host_blk_read(ctx, slot * PAGE_SIZE, pa, pages * (uint32_t)PAGE_SIZE);
}

static bool swap_disk_write(void *ctx, uint64_t slot, uint64_t pa, unsigned pages)
{
	return host_blk_write(ctx, slot * PAGE_SIZE, pa, pages * (uint32_t)PAGE_SIZE);
}

/* A DISK page's next touch (guest_memory.h): the block's shared page. */
static uint64_t disk_page(uint64_t block, unsigned node, uint16_t vm)
{
	return share_base_block(base_disk, &disk_refault_read_bytes, block, node, vm);
}

static void disk_page_put(uint64_t block, unsigned node)
{
	share_put_base_block(block, node);
}

/* The swap space's own memory: its bitmap and its slots' hashes, each
 * in whole pages, then SWAP_CLUSTER pages of bounce buffer. */
static uint64_t swap_bitmap_pages_bytes(uint64_t swap_bytes)
{
	return (swap_bitmap_bytes(swap_bytes) + PAGE_SIZE - 1) & PAGE_MASK;
}

static uint64_t swap_hash_pages_bytes(uint64_t swap_bytes)
{
	return (swap_hash_bytes(swap_bytes) + PAGE_SIZE - 1) & PAGE_MASK;
}

static uint64_t swap_meta_bytes(uint64_t swap_bytes)
{
	if (!swap_bytes)
		return 0;
	return swap_bitmap_pages_bytes(swap_bytes) + swap_hash_pages_bytes(swap_bytes) +
	       SWAP_CLUSTER * PAGE_SIZE;
}

/* Swap on the disk with serial discv-swap, if QEMU has one (SWAP=), in
 * storage (swap_meta_bytes of it). */
static void pager_setup(struct host_blk *swap_disk, uint64_t swap_bytes, uint8_t *storage)
{
	struct swap_disk_ops ops = { swap_disk_read, swap_disk_write, swap_disk };
	uint64_t bitmap_bytes = swap_bitmap_pages_bytes(swap_bytes);
	uint64_t hash_bytes = swap_hash_pages_bytes(swap_bytes);
	struct guest_memory_pager hooks = { .reclaim = pager_reclaim,
					    .out_of_memory = vcpu_exit_stop_for_memory };

	if (swap_disk && host_blk_read_only(swap_disk))
		hyp_panic("the swap disk (serial %s) is read-only", SWAP_SERIAL);
	swap_init(&swap_space, storage ? swap_bytes : 0, (uint64_t *)storage,
		  storage ? (uint32_t *)(storage + bitmap_bytes) : NULL,
		  storage ? storage + bitmap_bytes + hash_bytes : NULL, &ops);
	base_disk = host_blk_find("discv-base");
	if (base_disk && config.share) {
		hooks.disk_page = disk_page;
		hooks.disk_page_put = disk_page_put;
	}
	guest_memory_set_pager(&hooks);
	pager_init(config.pager_random);
}

/* Places the frame table at the top of the highest RAM range. */
static void memory_init(const void *fdt)
{
	uint64_t lo = UINT64_MAX, hi = 0;

	for (unsigned i = 0; i < platform.nmem; i++) {
		if (platform.mem[i].base < lo)
			lo = platform.mem[i].base;
		if (platform.mem[i].base + platform.mem[i].size > hi)
			hi = platform.mem[i].base + platform.mem[i].size;
	}
	uint64_t table_bytes = host_pages_table_bytes(hi - lo);
	uint64_t table_pa = (hi - table_bytes) & PAGE_MASK;
	/* Below it, the guests' delta maps and the share table (contiguous,
	 * so set aside now). */
	uint64_t maps_pa = (table_pa - config.guests * disk_map_bytes) & PAGE_MASK;
	disk_maps = disk_map_bytes ? pa_to_ptr(maps_pa) : NULL;
	uint64_t share_bytes = disk_map_bytes ? share_storage_bytes(base_blocks, nnodes_of()) : 0;
	uint64_t share_pa = (maps_pa - share_bytes) & PAGE_MASK;
	/* Below that, content sharing's tables (if it is on). */
	uint64_t ram_pages = 0;
	for (unsigned i = 0; i < platform.nmem; i++)
		ram_pages += platform.mem[i].size >> PAGE_SHIFT;
	uint64_t content_bytes = config.content_share ? content_storage_bytes(ram_pages, nnodes_of()) : 0;
	uint64_t content_pa = (share_pa - content_bytes) & PAGE_MASK;
	/* Below that, the swap space's bitmap, hashes and bounce buffer (the
	 * pager's clustered writes need contiguous pages). */
	struct host_blk *swap_disk = host_blk_find(SWAP_SERIAL);
	uint64_t swap_bytes = swap_disk ? host_blk_capacity_bytes(swap_disk) : 0;
	uint64_t swap_meta = swap_meta_bytes(swap_bytes);
	uint64_t swap_pa = (content_pa - swap_meta) & PAGE_MASK;
	/* And below those, the VM table: one struct vm per guest. */
	uint64_t vms_bytes = config.guests * sizeof(struct vm);
	uint64_t vms_pa = (swap_pa - vms_bytes) & ~(uint64_t)(_Alignof(struct vm) - 1);

	host_pages_init(&host_memory, pa_to_ptr(table_pa), lo, (hi - lo) >> PAGE_SHIFT);
	for (unsigned i = 0; i < platform.nmem; i++)
		host_pages_add_ram(&host_memory, platform.mem[i].base,
				   platform.mem[i].base + platform.mem[i].size,
				   platform.mem[i].node);
	for (unsigned i = 0; i < platform.nreserved; i++)
		host_pages_reserve(&host_memory, platform.reserved[i].base,
				   platform.reserved[i].base + platform.reserved[i].size);
	host_pages_reserve(&host_memory, (uint64_t)_start, (uint64_t)_end);
	host_pages_reserve(&host_memory, (uint64_t)fdt, (uint64_t)fdt + fdt_totalsize(fdt));
	host_pages_reserve(&host_memory, config.kernel_pa, config.kernel_pa + config.kernel_size);
	host_pages_reserve(&host_memory, config.initrd_pa, config.initrd_pa + config.initrd_size);
	host_pages_reserve(&host_memory, vms_pa, hi);
	host_pages_finish(&host_memory);
	if (disk_map_bytes)
		memset(pa_to_ptr(share_pa), 0, share_bytes);
	share_init(&host_memory, disk_map_bytes ? pa_to_ptr(share_pa) : NULL, base_blocks,
		   host_memory.nnodes, config.share);
	memset(pa_to_ptr(content_pa), 0, content_bytes);
	memset(pa_to_ptr(vms_pa), 0, vms_bytes);
	vms_set_storage(pa_to_ptr(vms_pa), config.guests);
	if (!content_init(&host_memory, content_bytes ? pa_to_ptr(content_pa) : NULL, ram_pages,
			  config.content_share))
		hyp_panic("content sharing: no zero page");
	content_scan_init(config.content_share, config.scan_rate, config.scan_rate_vm);
	pager_setup(swap_disk, swap_bytes, swap_meta ? pa_to_ptr(swap_pa) : NULL);
}

/* One line per NUMA node: its harts, RAM and interrupt controllers. */
static void print_topology(void)
{
	for (unsigned n = 0; n < host_memory.nnodes; n++) {
		char line[160];
		size_t len = (size_t)format(line, sizeof(line), "node %u: harts", n);
		for (unsigned h = 0; h < nharts; h++)
			if (harts[h].node == n)
				len += (size_t)format(line + len, sizeof(line) - len, " %lu",
						      harts[h].hartid);
		len += (size_t)format(line + len, sizeof(line) - len, ", %lu MiB",
				      (host_memory.node[n].total_pages * PAGE_SIZE) >> 20);
		for (unsigned i = 0; i < platform.nplic; i++)
			if (platform.plic[i].node == n)
				len += (size_t)format(line + len, sizeof(line) - len, ", PLIC %lx",
						      platform.plic[i].base);
		for (unsigned i = 0; i < platform.naplic; i++)
			if (platform.aplic[i].node == n && platform.aplic[i].harts)
				len += (size_t)format(line + len, sizeof(line) - len, ", APLIC %lx",
						      platform.aplic[i].base);
		for (unsigned i = 0; i < platform.nclint; i++)
			if (platform.clint[i].node == n)
				format(line + len, sizeof(line) - len, ", CLINT %lx",
				       platform.clint[i].base);
		log_info("%s", line);
	}
}

static enum machine_exit_code exit_code(void)
{
	for (unsigned i = 0; i < vm_count; i++)
		if (vms[i].state != VM_OFF)
			return MACHINE_EXIT_GUEST_FAILED;
	return MACHINE_EXIT_OK;
}

void hyp_main(unsigned long boot_hartid, const void *fdt)
{
	const char *why;
	char err[128];

	harts[0].hartid = boot_hartid;
	hart_init(&harts[0]);
	harts[0].started = 1;
	if (!platform_from_fdt(&platform, fdt, &why))
		hyp_panic("host device tree: %s", why);
	machine_set_finisher(platform.finisher_pa);

	/* harts[0] is the boot hart (whichever won OpenSBI's lottery), the
	 * others follow in device-tree order. */
	harts[0].hartid = boot_hartid;
	nharts = 1;
	for (unsigned i = 0; i < platform.nharts; i++) {
		struct hart *h = platform.hartid[i] == boot_hartid ? &harts[0] : &harts[nharts++];
		h->index = (unsigned)(h - harts);
		h->hartid = platform.hartid[i];
		h->node = platform.hart_node[i];
	}

	if (!config_parse(&config, platform.bootargs, err, sizeof(err))) {
		log_info("configuration error: %s", err);
		machine_exit(MACHINE_EXIT_BAD_CONFIG);
	}
	host_blk_probe(fdt);
	host_net_probe(fdt);	/* the switch's uplink, if QEMU has a card */
	disk_map_bytes = (vdisk_map_bytes() + PAGE_SIZE - 1) & PAGE_MASK;
	base_blocks = vdisk_base_blocks();
	memory_init(fdt);
	hvstat_init(&host_memory);
	log_info("hypervisor on hart %lu (%u harts), %lu MiB host RAM in %u node(s), "
		 "%lu MiB free", boot_hartid, nharts,
		 (host_pages_ram_count(&host_memory) * PAGE_SIZE) >> 20, host_memory.nnodes,
		 (host_pages_free_count(&host_memory) * PAGE_SIZE) >> 20);
	print_topology();
	host_irq_wire(&platform);	/* what the drivers registered while probing */
	host_irq_enable_this_hart();	/* the boot hart's share; the others at start */
	log_info("%u guest(s), %u vCPU(s) and %lu MiB each%s", config.guests, config.vcpus,
		 config.guest_mem >> 20, config.batch ? ", batch mode" : "");
	log_info("G-stage: %u VMID bits%s", gstage_vmid_bits(),
		 gstage_vmids_distinct(config.guests) ? ""
		 : ": fewer VMIDs than guests, the G-stage TLB is flushed at every vCPU switch");

	timebase_hz = platform.timebase_hz;
	/* Each guest's share of host memory (host_pages.h): what is free now,
	 * less the kernel image's shared pages and some slack, split evenly,
	 * at most its RAM and G-stage tables. */
	_Static_assert(MAX_VMS <= HOST_PAGES_MAX_OWNERS, "every VM is a page owner");
	host_pages_set_shares(&host_memory, config.guests,
			      (config.guest_mem >> PAGE_SHIFT) + (config.guest_mem >> 20) + 64,
			      host_memory.nnodes * (config.kernel_size >> PAGE_SHIFT) + 1024);
	if (!guests_create(&config, &host_memory, disk_maps, disk_map_bytes)) {
		hvstat_print();
		machine_exit(MACHINE_EXIT_BAD_CONFIG);
	}
	vcpu_exit_set_ecall_handler(sbi_dispatch);
	sbi_discv_set_enabled(config.pv_copy);
	monitor_init();
	working_set_init((uint64_t)config.ws_period * timebase_hz);
	mem_policy_init();	/* a sched poll: before the other harts run */
	harts_start_secondaries((unsigned long)secondary_entry);
	sched_run();

	enum machine_exit_code code = exit_code();
	for (unsigned i = 0; i < vm_count; i++)
		if (vms[i].state != VM_OFF)
			log_info("%s did not finish: %s", vms[i].name, vm_state_name[vms[i].state]);
	hvstat_print();
	log_info("all guests stopped: exit status %d", code);
	machine_exit(code);
}
