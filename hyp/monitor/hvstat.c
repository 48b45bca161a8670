#include "host/console.h"
#include "mem/host_pages.h"
#include "monitor/hvstat.h"
#include "lib/format.h"
#include "share/share.h"
#include "host/virtio_blk.h"
#include "core/vm.h"
#include "core/vm_table.h"

/* Appends to buf at *len, never past size. */
#define APPEND(...) do { \
	*len += (size_t)format(buf + (*len < size ? *len : size), \
			       *len < size ? size - *len : 0, __VA_ARGS__); \
} while (0)

static void exits_json(char *buf, size_t size, size_t *len, const struct vm *vm)
{
	uint64_t total = 0, by[EXIT_REASON_COUNT] = { 0 };

	for (unsigned i = 0; i < vm->nvcpus; i++) {
		total += vm->vcpu[i].exits;
		for (unsigned r = 0; r < EXIT_REASON_COUNT; r++)
			by[r] += vm->vcpu[i].exits_by_cause[r];
	}
	APPEND("\"exits\":%lu,\"exits_by_cause\":{", total);
	for (unsigned r = 0; r < EXIT_REASON_COUNT; r++)
		APPEND("%s\"%s\":%lu", r ? "," : "", exit_reason_name[r], by[r]);
	APPEND("}");
}

size_t hvstat_format_vm(char *buf, size_t size, const struct vm *vm)
{
	size_t n = 0, *len = &n;

	APPEND("{\"vm\":%u,\"name\":\"%s\",\"state\":\"%s\",\"vcpus\":%u,"
	       "\"mem_bytes\":%lu,\"pages_mapped\":%lu,\"node\":%u,"
	       "\"pages_local\":%lu,\"pages_remote\":%lu,",
	       vm->id, vm->name, vm_state_name[vm_get_state(vm)], vm->nvcpus, vm->ram_size,
	       vm->pages_mapped, vm->home_node, vm->pages_local, vm->pages_remote);
	exits_json(buf, size, len, vm);
	if (vm->has_disk)
		APPEND(",\"disk_read_bytes\":%lu,\"disk_host_read_bytes\":%lu,"
		       "\"disk_write_bytes\":%lu,\"disk_budget_yields\":%lu",
		       vm->disk.disk.read_bytes, vm->disk.disk.host_read_bytes,
		       vm->disk.disk.write_bytes, vm->disk.budget_yields);
	APPEND(",\"gstage_remote_fences\":%lu,\"spurious_faults\":%lu,"
	       "\"shared_drops_full\":%lu",
	       vm->gstage.remote_fences, vm->spurious_faults, vm->shared_drops_full);
	APPEND(",\"pages_shared\":%lu,\"pages_private\":%lu,\"cow_breaks\":%lu",
	       vm->pages_shared, vm->pages_mapped - vm->pages_shared, vm->cow_breaks);
	struct host_owner_report mem;
	host_pages_owner_report(vm->host, (uint16_t)vm->id, &mem);
	APPEND(",\"host_pages_charged\":%lu,\"host_pages_share\":%lu,"
	       "\"host_page_refusals\":%lu",
	       mem.pages, mem.share, mem.refusals);
	APPEND(",\"vplic_injections\":%lu}", vm->vplic.claims);
	return n;
}

size_t hvstat_format_total(char *buf, size_t size, const struct host_memory *hm)
{
	size_t n = 0, *len = &n;
	uint64_t total = host_pages_ram_count(hm), free = host_pages_free_count(hm);

	APPEND("{\"vm\":\"total\",\"host_pages_total\":%lu,\"host_pages_used\":%lu,"
	       "\"host_pages_free\":%lu,\"node_free_pages\":[",
	       total, total - free, free);
	for (unsigned n = 0; n < hm->nnodes; n++)
		APPEND("%s%lu", n ? "," : "", hm->node[n].free_pages);
	APPEND("]");
	if (vm_count && vms[0].has_disk) {
		uint64_t host_read = 0;
		for (unsigned i = 0; i < vm_count; i++)
			host_read += vms[i].disk.disk.host_read_bytes;
		APPEND(",\"disk_host_read_bytes\":%lu,\"host_disk_interrupts\":%lu", host_read,
		       host_blk_interrupts());
	}
	struct share_stats s;
	share_stats(&s);
	APPEND(",\"host_pages_shared\":%lu,\"host_pages_shared_disk\":%lu,"
	       "\"pages_saved_disk\":%lu,\"pages_saved_kernel\":%lu,"
	       "\"pages_replicated\":%lu,\"block_cache_hits\":%lu",
	       s.host_pages_shared, s.host_pages_shared_disk, s.pages_saved_disk,
	       s.pages_saved_kernel, s.pages_replicated, s.block_cache_hits);
	APPEND(",\"block_cache_pages\":%lu,\"block_cache_evictions\":%lu,"
	       "\"block_cache_busy_waits\":%lu,\"host_memory_reclaims\":%lu,"
	       "\"host_pages_reclaimed\":%lu}",
	       s.block_cache_pages, s.block_cache_evictions, s.block_cache_busy_waits,
	       hm->reclaim_calls, hm->reclaimed);
	return n;
}

extern struct host_memory host_memory;

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
	char line[2048] = PREFIX;
	const size_t off = sizeof(PREFIX) - 1;

	for (unsigned i = 0; i < vm_count; i++)
		print_line(line, sizeof(line),
			   hvstat_format_vm(line + off, sizeof(line) - off, &vms[i]));
	print_line(line, sizeof(line),
		   hvstat_format_total(line + off, sizeof(line) - off, &host_memory));
}
