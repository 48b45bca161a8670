/*
 * The VMs of a run: creation, the end of a VM's life (power-off, failure,
 * crash, reboot) and the table the scheduler walks.
 */
#include <string.h>
#include "config.h"
#include "console.h"
#include "g-stage/gstage_fence.h"
#include "guest_boot.h"
#include "guest_console.h"
#include "guest_memory.h"
#include "lib/format.h"
#include "sbi/sbi_defs.h"
#include "vm.h"
#include "vm_table.h"

struct vm vms[MAX_VMS];
unsigned vm_count;

static const struct hyp_config *boot_config;
static uint64_t boot_timebase_hz;

const char *const vm_state_name[] = {
	[VM_RUNNING] = "running",
	[VM_OFF] = "off",
	[VM_FAILED] = "failed",
	[VM_CRASHED] = "crashed",
	[VM_KILLED] = "killed",
};

/* Puts a VM's vCPUs in their power-on state and loads its images. */
static bool vm_boot(struct vm *vm, const char **why)
{
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpu[i];
		vcpu_reset(v, 0, 0);
		v->power = VCPU_STOPPED;	/* secondaries wait for HSM hart_start */
	}
	return guest_boot_load(vm, boot_config, boot_timebase_hz, why);
}

bool vms_create(const struct hyp_config *cfg, struct host_memory *host)
{
	boot_config = cfg;
	for (unsigned i = 0; i < cfg->guests; i++) {
		struct vm *vm = &vms[i];
		const char *why = NULL;

		vm->id = i;
		format(vm->name, sizeof(vm->name), "guest%u", i);
		vm->host = host;
		vm->home_node = host->nnodes ? i % host->nnodes : 0;
		vm->ram_base = GUEST_RAM_BASE;
		vm->ram_size = cfg->guest_mem;
		vm->nvcpus = cfg->vcpus;
		for (unsigned j = 0; j < vm->nvcpus; j++) {
			vm->vcpu[j].vm = vm;
			vm->vcpu[j].id = j;
			vm->vcpu[j].hart = 0;	/* capability 1: all on the boot hart */
			vm->vcpu[j].last_hart = -1;
		}
		guest_memory_init(vm);
		vm_count = i + 1;
		if (!vm_boot(vm, &why)) {
			log_info("%s: cannot boot: %s", vm->name, why);
			return false;
		}
		vm->state = VM_RUNNING;
	}
	return true;
}

void vm_set_timebase(uint64_t hz)
{
	boot_timebase_hz = hz;
}

bool vm_any_running(void)
{
	for (unsigned i = 0; i < vm_count; i++)
		if (vm_is_running(&vms[i]))
			return true;
	return false;
}

void vm_stop(struct vm *vm, enum vm_state state, const char *why)
{
	if (vm->state != VM_RUNNING)
		return;
	guest_console_flush(vm);
	vm->state = state;
	log_info("%s %s: %s", vm->name, vm_state_name[state], why);
}

void vm_system_reset(struct vm *vm, unsigned long type, unsigned long reason)
{
	if (type == SBI_SRST_TYPE_SHUTDOWN) {
		if (reason == SBI_SRST_REASON_SYSTEM_FAILURE)
			vm_stop(vm, VM_FAILED, "shut down reporting a system failure");
		else
			vm_stop(vm, VM_OFF, "powered off");
	} else if (boot_config->batch) {
		/* Guests boot with panic=-1, so a panic arrives as a reboot. */
		vm_stop(vm, VM_CRASHED,
			"asked to reboot before its batch command finished (a kernel panic)");
	} else {
		vm->reboot_pending = true;
		for (unsigned i = 0; i < vm->nvcpus; i++)
			vm->vcpu[i].power = VCPU_STOPPED;
	}
}

/*
 * A reboot: every page of the VM goes back to the allocator and the VM
 * boots again from its images on freshly zeroed pages. Runs after the
 * requesting vCPU was put; with all vCPUs on this hart (capability 1) none
 * of the VM's vCPUs is loaded anywhere, so the local fence suffices.
 */
void vm_after_run(struct vm *vm)
{
	const char *why = NULL;
	bool alive = false;

	for (unsigned i = 0; i < vm->nvcpus; i++)
		alive |= vm->vcpu[i].power != VCPU_STOPPED;
	if (!alive && !vm->reboot_pending) {
		/* Nothing can start a vCPU of this VM again (SBI HSM only lets a
		 * running vCPU start another): the VM is dead. */
		vm_stop(vm, VM_KILLED, "every vCPU stopped itself (SBI HSM hart_stop)");
		return;
	}
	if (!vm->reboot_pending)
		return;
	vm->reboot_pending = false;
	guest_console_flush(vm);
	guest_memory_release(vm);
	gstage_fence_vmid(vm->gstage.vmid);
	log_info("%s rebooting", vm->name);
	if (!vm_boot(vm, &why))
		vm_stop(vm, VM_KILLED, why);
	for (unsigned i = 0; i < vm->nvcpus; i++)
		vm->vcpu[i].last_hart = -1;
}
