/*
 * hvstat's lines. Each mechanism hands over its counters through one
 * interface (lib/counters.h): a VM's devices through the VM's device list
 * (vm_device.counters), the host-wide mechanisms through their
 * *_counters functions. This file only decides which lines exist.
 */
#include "core/pager.h"
#include "mem/swap.h"
#include "core/vm.h"
#include "core/vm_table.h"
#include "guest/guest.h"
#include "guest/mem_policy.h"
#include "host/console.h"
#include "host/virtio_blk.h"
#include "lib/counters.h"
#include "mem/host_pages.h"
#include "monitor/hvstat.h"
#include "share/share.h"
#include "share/content_share.h"
#include "vnet/uplink.h"

static const struct host_memory *host;

void hvstat_init(const struct host_memory *hm)
{
	host = hm;
}

static void exits_counters(struct counters *c, const struct vm *vm)
{
	uint64_t total = 0, by[EXIT_REASON_COUNT] = { 0 };
	struct counters by_cause;
	char json[64 * EXIT_REASON_COUNT];

	for (unsigned i = 0; i < vm->nvcpus; i++) {
		total += vm->vcpu[i].exits;
		for (unsigned r = 0; r < EXIT_REASON_COUNT; r++)
			by[r] += vm->vcpu[i].exits_by_cause[r];
	}
	counters_u64(c, "exits", total);
	counters_begin(&by_cause, json, sizeof(json));
	for (unsigned r = 0; r < EXIT_REASON_COUNT; r++)
		counters_u64(&by_cause, exit_reason_name[r], by[r]);
	counters_end(&by_cause);
	counters_raw(c, "exits_by_cause", json);
}

size_t hvstat_format_vm(char *buf, size_t size, const struct vm *vm)
{
	struct counters c;
	struct host_owner_report mem;

	counters_begin(&c, buf, size);
	counters_u64(&c, "vm", vm->id);
	counters_string(&c, "name", vm->name);
	counters_string(&c, "state", vm_state_name[vm_get_state(vm)]);
	counters_u64(&c, "vcpus", vm->nvcpus);
	counters_u64(&c, "mem_bytes", vm->ram_size);
	counters_u64(&c, "pages_mapped", vm->pages_mapped);
	counters_u64(&c, "node", vm->home_node);
	counters_u64(&c, "pages_local", vm->pages_local);
	counters_u64(&c, "pages_remote", vm->pages_remote);
	exits_counters(&c, vm);
	counters_u64(&c, "gstage_remote_fences", vm->gstage.remote_fences);
	counters_u64(&c, "spurious_faults", vm->spurious_faults);
	counters_u64(&c, "shared_drops_full", vm->shared_drops_full);
	counters_u64(&c, "pages_shared", vm->pages_shared);
	counters_u64(&c, "pages_private", vm->pages_mapped - vm->pages_shared);
	counters_u64(&c, "cow_breaks", vm->cow_breaks);
	counters_u64(&c, "cow_kept", vm->cow_kept);
	counters_u64(&c, "pages_zero", vm->pages_zero);
	counters_u64(&c, "pages_content_shared", vm->pages_content_shared);
	counters_u64(&c, "zero_merges", vm->zero_merges);
	counters_u64(&c, "content_merges", vm->content_merges);
	counters_u64(&c, "content_cow_breaks", vm->content_cow_breaks);
	counters_u64(&c, "scan_pages", vm->scan_pages);
	counters_u64(&c, "pages_swapped", vm->pages_swapped);
	working_set_counters(vm, &c);
	counters_u64(&c, "mem_target_pages", vm->mem_target);
	counters_u64(&c, "low_blocks", vm->low_blocks);
	mem_policy_vm_counters(vm, &c);
	counters_u64(&c, "pages_disk", vm->pages_disk);
	counters_u64(&c, "swap_outs", vm->swap_outs);
	counters_u64(&c, "swap_ins", vm->swap_ins);
	counters_u64(&c, "disk_drops", vm->disk_drops);
	counters_u64(&c, "disk_refaults", vm->disk_refaults);
	counters_u64(&c, "pager_zero", vm->pager_zero);
	counters_u64(&c, "swap_discards", vm->swap_discards);
	counters_u64(&c, "double_paging_reads", vm->double_paging_reads);
	counters_u64(&c, "double_paging_avoided", vm->double_paging_avoided);
	counters_u64(&c, "stale_reads_avoided", vm->stale_reads_avoided);
	counters_u64(&c, "pv_remaps", vm->pv_remaps);
	counters_u64(&c, "pv_remap_fallbacks", vm->pv_remap_fallbacks);
	host_pages_owner_report(vm->host, (uint16_t)vm->id, &mem);
	counters_u64(&c, "host_pages_charged", mem.pages);
	counters_u64(&c, "host_pages_share", mem.share);
	counters_u64(&c, "host_page_refusals", mem.refusals);
	for (unsigned i = 0; i < vm->ndevices; i++)
		if (vm->device[i].counters)
			vm->device[i].counters(vm->device[i].dev, &c);
	return counters_end(&c);
}

size_t hvstat_format_total(char *buf, size_t size, const struct host_memory *hm)
{
	struct counters c;
	uint64_t disk_bytes;

	counters_begin(&c, buf, size);
	counters_string(&c, "vm", "total");
	host_pages_counters(hm, &c);
	counters_u64(&c, "access_waits", vm_access_waits());
	if (guests_disk_host_read_bytes(&disk_bytes)) {
		counters_u64(&c, "disk_host_read_bytes", disk_bytes);
		counters_u64(&c, "host_disk_interrupts", host_blk_interrupts());
	}
	share_counters(&c);
	content_counters(&c);
	swap_counters(&swap_space, &c);
	pager_counters(&c);
	mem_policy_counters(&c);
	uplink_counters(&c);
	return counters_end(&c);
}

#define PREFIX "hvstat: "

/* Writes one whole line at once, so lines from other harts cannot cut in. */
static void print_line(char *line, size_t size, size_t json_len)
{
	size_t n = sizeof(PREFIX) - 1 + json_len;

	if (n > size - 2)
		n = size - 2;
	line[n++] = '\n';
	console_write(line, n);
}

void hvstat_print(void)
{
	char line[4096] = PREFIX;	/* a VM line with every device is ~1.6 KiB */
	const size_t off = sizeof(PREFIX) - 1;

	for (unsigned i = 0; i < vm_count; i++)
		print_line(line, sizeof(line),
			   hvstat_format_vm(line + off, sizeof(line) - off, &vms[i]));
	if (host)
		print_line(line, sizeof(line),
			   hvstat_format_total(line + off, sizeof(line) - off, host));
}
