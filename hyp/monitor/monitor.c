#include <string.h>
#include "host/console.h"
#include "arch/csr.h"
#include "core/guest_console.h"
#include "host/hart.h"
#include "monitor/hvstat.h"
#include "monitor/monitor.h"
#include "core/vm.h"
#include "core/vm_table.h"
#include "guest/guest.h"
#include "guest/mem_policy.h"

static unsigned focus;		/* the VM that gets keyboard input */
static bool in_monitor;
static char line[80];
static unsigned line_len;

static const char *const help_text =
	"  vms          every VM: state, vCPUs and their harts, home node, memory\n"
	"  console K    send keyboard input to guest K (and leave the monitor)\n"
	"  stats        print hvstat now\n"
	"  trace K      the last exits of each vCPU of guest K\n"
	"  stop K       stop guest K\n"
	"  reboot K     reboot guest K\n"
	"  balloon K M  set guest K's balloon target to M MiB (BALLOON=1; the policy keeps off)\n"
	"  balloon K auto  give guest K's balloon back to the memory policy\n"
	"  help         this list\n"
	"  (empty line) back to the guest console\n";

/* Parses " K" after a command; returns the VM or NULL (and says why). */
static struct vm *vm_arg(const char *arg)
{
	unsigned k = 0;
	bool digits = false;

	while (*arg == ' ')
		arg++;
	for (; *arg >= '0' && *arg <= '9'; arg++, digits = true)
		k = k * 10 + (unsigned)(*arg - '0');
	if (!digits || *arg || k >= vm_count) {
		console_printf("discv: no such guest (0..%u)\n", vm_count ? vm_count - 1 : 0);
		return NULL;
	}
	return &vms[k];
}

static void cmd_vms(void)
{
	console_printf("  id name     state    vcpus harts    node  mem_MiB  mapped  local  remote\n");
	for (unsigned i = 0; i < vm_count; i++) {
		struct vm *vm = &vms[i];
		char hartlist[32] = "";
		size_t n = 0;
		for (unsigned j = 0; j < vm->nvcpus && n + 4 < sizeof(hartlist); j++) {
			hartlist[n++] = j ? ',' : ' ';
			hartlist[n++] = (char)('0' + harts[vm->vcpu[j].hart].hartid);
			hartlist[n] = '\0';
		}
		console_printf("  %2u %-8s %-8s %5u %-8s %4u %8lu %7lu %6lu %7lu%s\n", vm->id,
			       vm->name, vm_state_name[vm_get_state(vm)], vm->nvcpus, hartlist + 1,
			       vm->home_node, vm->ram_size >> 20, vm->pages_mapped,
			       vm->pages_local, vm->pages_remote, i == focus ? "  <- console" : "");
	}
}

static void cmd_trace(struct vm *vm)
{
	uint64_t now = read_time();

	for (unsigned j = 0; j < vm->nvcpus; j++) {
		struct vcpu *v = &vm->vcpu[j];
		unsigned total = v->trace_next;
		unsigned count = total < VCPU_TRACE_LEN ? total : VCPU_TRACE_LEN;
		console_printf("  %s vcpu %u: %lu exits, the last %u (newest last; the last column is\n"
			       "  the SBI extension of an ecall, the guest-physical address of a\n"
			       "  G-stage fault, else stval):\n", vm->name, j, v->exits, count);
		for (unsigned k = total - count; k != total; k++) {
			const struct exit_record *r = &v->trace[k % VCPU_TRACE_LEN];
			console_printf("    %8lu us ago  %-24s pc %lx  %lx\n",
				       (now - r->time) / (timebase_hz / 1000000),
				       exit_reason_name[exit_reason_of(r->scause)], r->sepc, r->tval);
		}
	}
}

/* "K MIB": guest K's balloon target, set by hand (the policy keeps off
 * it); "K auto": the policy's again. */
static void cmd_balloon(const char *arg)
{
	char k[8];
	unsigned n = 0;
	uint64_t mib = 0;
	bool digits = false;

	while (*arg == ' ')
		arg++;
	while (*arg && *arg != ' ' && n + 1 < sizeof(k))
		k[n++] = *arg++;
	k[n] = '\0';
	while (*arg == ' ')
		arg++;
	if (!strcmp(arg, "auto")) {
		struct vm *vm = vm_arg(k);
		if (vm && !guest_of(vm)->has_balloon)
			console_printf("discv: %s has no balloon (BALLOON=1)\n", vm->name);
		else if (vm) {
			mem_policy_set_manual(vm, false);
			console_printf("discv: %s: balloon target set by the memory policy\n",
				       vm->name);
		}
		return;
	}
	for (; *arg >= '0' && *arg <= '9' && mib < (1ULL << 32); arg++, digits = true)
		mib = mib * 10 + (uint64_t)(*arg - '0');
	struct vm *vm = vm_arg(k);
	if (!vm)
		return;
	if (!digits || *arg || mib > vm->ram_size >> 20) {
		console_printf("discv: balloon K MIB, MIB at most %lu (guest %u's RAM)\n",
			       vm->ram_size >> 20, vm->id);
		return;
	}
	if (!guests_set_balloon(vm, (uint32_t)(mib << (20 - PAGE_SHIFT)))) {
		console_printf("discv: %s has no balloon (BALLOON=1)\n", vm->name);
		return;
	}
	mem_policy_set_manual(vm, true);
	console_printf("discv: %s: balloon target %lu MiB\n", vm->name, mib);
}

void monitor_command(const char *cmd)
{
	while (*cmd == ' ')
		cmd++;
	if (!strcmp(cmd, "help")) {
		console_printf("%s", help_text);
	} else if (!strcmp(cmd, "vms")) {
		cmd_vms();
	} else if (!strcmp(cmd, "stats")) {
		hvstat_print();
	} else if (!strncmp(cmd, "console", 7) && (cmd[7] == ' ' || !cmd[7])) {
		struct vm *vm = vm_arg(cmd + 7);
		if (vm) {
			focus = vm->id;
			in_monitor = false;
			console_printf("discv: console input now goes to %s\n", vm->name);
		}
	} else if (!strncmp(cmd, "trace", 5) && (cmd[5] == ' ' || !cmd[5])) {
		struct vm *vm = vm_arg(cmd + 5);
		if (vm)
			cmd_trace(vm);
	} else if (!strncmp(cmd, "stop", 4) && (cmd[4] == ' ' || !cmd[4])) {
		struct vm *vm = vm_arg(cmd + 4);
		if (vm && vm_is_running(vm))
			vm_stop(vm, VM_STOPPED, "stopped from the monitor");
		else if (vm)
			console_printf("discv: %s is not running\n", vm->name);
	} else if (!strncmp(cmd, "balloon", 7) && cmd[7] == ' ') {
		cmd_balloon(cmd + 7);
	} else if (!strncmp(cmd, "reboot", 6) && (cmd[6] == ' ' || !cmd[6])) {
		struct vm *vm = vm_arg(cmd + 6);
		if (vm && vm_is_running(vm))
			vm_request_reboot(vm);
		else if (vm)
			console_printf("discv: %s is not running\n", vm->name);
	} else {
		console_printf("discv: unknown command '%s' (help lists them)\n", cmd);
	}
}

/* One key typed at the monitor prompt: edit the line, run it on Enter. */
static void monitor_key(char c)
{
	if (c == '\r' || c == '\n') {
		console_printf("\n");
		line[line_len] = '\0';
		line_len = 0;
		if (!line[0]) {
			in_monitor = false;
			console_printf("discv: back to %s\n", vms[focus].name);
			return;
		}
		monitor_command(line);
		if (in_monitor)
			console_printf("discv> ");
	} else if (c == 0x7f || c == '\b') {
		if (line_len) {
			line_len--;
			console_printf("\b \b");
		}
	} else if (c >= ' ' && line_len + 1 < sizeof(line)) {
		line[line_len++] = c;
		console_printf("%c", c);
	}
}

/* The host console's input handler: every byte typed. */
static void monitor_input(char c)
{
	if (in_monitor) {
		monitor_key(c);
	} else if (c == MONITOR_ESCAPE) {
		in_monitor = true;
		line_len = 0;
		console_printf("\ndiscv monitor: help lists the commands, an empty line "
			       "returns to %s\ndiscv> ", vm_count ? vms[focus].name : "-");
	} else if (focus < vm_count) {
		guest_console_push_input(&vms[focus], c);
	}
}

void monitor_init(void)
{
	console_set_input_handler(monitor_input);
}
