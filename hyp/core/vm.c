/*
 * The VMs of a run: creation and placement, the end of a VM's life
 * (power-off, failure, crash, hang, reboot) and the table the harts walk.
 */
#include <string.h>
#include "host/console.h"
#include "g-stage/gstage_fence.h"
#include "core/guest_console.h"
#include "core/guest_memory.h"
#include "core/sched.h"
#include "lib/format.h"
#include "core/placement.h"
#include "arch/sbi_defs.h"
#include "core/vm.h"
#include "core/vm_table.h"
#include "host/hart.h"

#define PAGE_WAIT_TICKS 200	/* 20 us at QEMU virt's 10 MHz: a swap read takes more */

struct vm *vms;
static unsigned vm_capacity;
unsigned vm_count;

static struct placement placement;

const char *const vm_state_name[] = {
	[VM_RUNNING] = "running",
	[VM_OFF] = "off",
	[VM_FAILED] = "failed",
	[VM_CRASHED] = "crashed",
	[VM_KILLED] = "killed",
	[VM_HUNG] = "hung",
	[VM_STOPPED] = "stopped",
};

/*
 * Puts a VM's devices and vCPUs in their power-on state and loads its
 * images. On a reboot it runs under life_lock with no vCPU of the VM
 * loaded, so no guest is in a device: each device's lock is taken (and
 * released) by its reset as at any device reset. Devices are reset in
 * the reverse order of their creation: the interrupt controller comes
 * first (the others need its lines), so it is reset last, after every
 * device has lowered its line. Without these resets a source the old
 * guest claimed and never completed (a panic in the disk's interrupt
 * handler) stays claimed, and the new guest never gets a disk interrupt
 * again.
 */
static bool vm_boot(struct vm *vm, const char **why)
{
	bool ok;

	/* Nobody else touches the vCPUs now: at creation no hart runs yet,
	 * at a reboot every vCPU is HALTED and none is loaded. */
	for (unsigned i = vm->ndevices; i-- > 0;)
		vm->device[i].reset(vm->device[i].dev);
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = &vm->vcpu[i];
		vcpu_reset(v, 0, 0);
		v->masked_ticks = 0;
		__atomic_store_n(&v->irq_inject, 0, __ATOMIC_RELEASE);	/* the last boot's */
		vcpu_set_power(v, VCPU_STOPPED);	/* secondaries wait for hart_start */
	}
	ok = vm->load(vm, why);
	vm->boots++;
	return ok;
}

void vms_set_storage(struct vm *array, unsigned capacity)
{
	vms = array;
	vm_capacity = capacity;
}

void vms_init(const struct host_memory *host)
{
	unsigned hart_node[MAX_HARTS];

	for (unsigned h = 0; h < nharts; h++)
		hart_node[h] = harts[h].node;
	placement_init(&placement, nharts, hart_node, host->nnodes);
}

struct vm *vm_create(struct host_memory *host, uint64_t ram_size, unsigned nvcpus, bool batch)
{
	struct vm *vm;
	unsigned hart_of[MAX_VCPUS_PER_VM];

	if (vm_count == vm_capacity)
		return NULL;
	vm = &vms[vm_count];
	vm->id = vm_count;
	format(vm->name, sizeof(vm->name), "guest%u", vm->id);
	vm->host = host;
	vm->ram_base = GUEST_RAM_BASE;
	vm->ram_size = ram_size;
	vm->nvcpus = nvcpus;
	vm->batch = batch;
	vm->state = VM_OFF;	/* until vm_start */
	vm->home_node = placement_place_vm(&placement, vm->nvcpus, hart_of);
	for (unsigned j = 0; j < vm->nvcpus; j++) {
		struct vcpu *v = &vm->vcpu[j];
		v->vm = vm;
		v->id = j;
		v->hart = (int)hart_of[j];
		v->last_hart = -1;
		if (!runqueue_add(&hart_sched[hart_of[j]].runqueue, v)) {
			log_info("%s: too many vCPUs on hart %u", vm->name, hart_of[j]);
			return NULL;
		}
	}
	guest_memory_init(vm);
	vm_count++;
	return vm;
}

bool vm_add_device(struct vm *vm, const struct vm_device *d)
{
	if (vm->ndevices == VM_MAX_DEVICES)
		return false;
	vm->device[vm->ndevices++] = *d;
	return true;
}

void vm_kick_devices(struct vm *vm)
{
	__atomic_store_n(&vm->devices_kicked, 1, __ATOMIC_SEQ_CST);
	vcpu_request(&vm->vcpu[0], 0);	/* an empty request: just out of the guest */
}

bool vm_device_uses_page(const struct vm *vm, uint64_t gpa)
{
	for (unsigned i = 0; i < vm->ndevices; i++)
		if (vm->device[i].uses_page && vm->device[i].uses_page(vm->device[i].dev, gpa))
			return true;
	return false;
}

void vm_serve_kicked_devices(struct vm *vm)
{
	if (!__atomic_load_n(&vm->devices_kicked, __ATOMIC_ACQUIRE) ||
	    !__atomic_exchange_n(&vm->devices_kicked, 0, __ATOMIC_SEQ_CST))
		return;
	for (unsigned i = 0; i < vm->ndevices; i++)
		if (vm->device[i].kicked)
			vm->device[i].kicked(vm->device[i].dev);
}

void vm_set_interrupt_controller(struct vm *vm, const void *controller,
				 bool (*line)(const void *controller, unsigned vcpu_id))
{
	vm->interrupt_controller = controller;
	vm->external_line = line;
}

bool vm_start(struct vm *vm, const char **why)
{
	if (!vm_boot(vm, why))
		return false;
	__atomic_store_n(&vm->state, VM_RUNNING, __ATOMIC_RELEASE);
	return true;
}

bool vm_any_running(void)
{
	for (unsigned i = 0; i < vm_count; i++)
		if (vm_is_running(&vms[i]))
			return true;
	return false;
}

void vm_flush_gstage(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++)
		vcpu_request(&vm->vcpu[i], VCPU_REQ_FLUSH_GSTAGE);
}

void vm_wait_for_page(void)
{
	vcpu_ack_own_requests();
	hart_pause(PAGE_WAIT_TICKS);
	vcpu_ack_own_requests();
}

/* Each hart's accesses to guest pages by host address: the count of
 * those opened and closed, odd while one is open. Only its hart writes a
 * count; a waiter reads every other. One cache line each. */
static struct {
	uint64_t count;
} __attribute__((aligned(64))) accesses[MAX_HARTS];
static uint64_t access_waits;	/* waits that found an access open */

void vm_access_begin(void)
{
	uint64_t *c = &accesses[this_hart()->index].count;

	if (*c & 1)
		hyp_panic("guest page access opened inside another");
	/* Relaxed: the VM's lock, taken next for the lookup, publishes it
	 * to any change made after the lookup (its release orders it). */
	__atomic_store_n(c, *c + 1, __ATOMIC_RELAXED);
}

void vm_access_end(void)
{
	uint64_t *c = &accesses[this_hart()->index].count;

	/* Release: the access's bytes are there before a waiter goes on. */
	__atomic_store_n(c, *c + 1, __ATOMIC_RELEASE);
}

void vm_wait_for_accesses(void)
{
	unsigned self = this_hart()->index;

	for (unsigned i = 0; i < nharts; i++) {
		uint64_t seen = __atomic_load_n(&accesses[i].count, __ATOMIC_ACQUIRE);
		if (!(seen & 1))
			continue;
		if (i == self)
			hyp_panic("a fence inside this hart's own guest page access");
		__atomic_add_fetch(&access_waits, 1, __ATOMIC_RELAXED);
		/* An open access is a lookup and a copy of one page at most:
		 * it ends without waiting for anything, this hart included. */
		while (__atomic_load_n(&accesses[i].count, __ATOMIC_ACQUIRE) == seen)
			__asm__ volatile("nop");
	}
}

uint64_t vm_access_waits(void)
{
	return __atomic_load_n(&access_waits, __ATOMIC_RELAXED);
}

/* Makes every hart that runs one of vm's vCPUs leave the guest soon. */
static void kick_vcpus(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++)
		vcpu_request(&vm->vcpu[i], 0);
}

void vm_stop(struct vm *vm, enum vm_state state, const char *why)
{
	enum vm_state running = VM_RUNNING;

	/* The first stop wins, whichever hart it comes from. */
	if (!__atomic_compare_exchange_n(&vm->state, &running, state, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return;
	guest_console_flush(vm);
	log_info("%s %s: %s", vm->name, vm_state_name[state], why);
	kick_vcpus(vm);
}

void vm_system_reset(struct vm *vm, unsigned long type, unsigned long reason)
{
	if (type == SBI_SRST_TYPE_SHUTDOWN) {
		if (reason == SBI_SRST_REASON_SYSTEM_FAILURE)
			vm_stop(vm, VM_FAILED, "shut down reporting a system failure");
		else
			vm_stop(vm, VM_OFF, "powered off");
	} else if (vm->batch) {
		/* Guests boot with panic=-1, so a panic arrives as a reboot. */
		vm_stop(vm, VM_CRASHED,
			"asked to reboot before its batch command finished (a kernel panic)");
	} else {
		vm_request_reboot(vm);
	}
}

static bool any_vcpu_loaded(const struct vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++)
		if (__atomic_load_n(&vm->vcpu[i].loaded, __ATOMIC_SEQ_CST))
			return true;
	return false;
}

/*
 * A reboot: every page of the VM goes back to the allocator and the VM
 * boots again from its images on freshly zeroed pages. It happens with
 * every vCPU HALTED and none loaded (on the hart that puts the VM's last
 * loaded vCPU), so no hart is running the VM when its pages are freed,
 * and none can start to until vm_boot leaves HALTED; each vCPU flushes
 * the VM's VMID when next loaded (last_hart = -1), so no stale G-stage
 * translation survives.
 */
static void reboot(struct vm *vm)
{
	const char *why = NULL;

	guest_console_flush(vm);
	/* Devices first: another VM's hart may be in one (a frame from the
	 * network switch being written into its receive buffer). A reset
	 * waits for it (the device lock) and stops the queues, so nothing is
	 * written into the VM's pages once they are freed. vm_boot resets
	 * them again, as at the first boot. */
	for (unsigned i = vm->ndevices; i-- > 0;)
		vm->device[i].reset(vm->device[i].dev);
	guest_memory_release(vm);
	gstage_fence_vmid(vm->gstage.vmid);
	for (unsigned i = 0; i < vm->nvcpus; i++)
		vm->vcpu[i].last_hart = -1;
	log_info("%s rebooting", vm->name);
	if (!vm_boot(vm, &why))
		vm_stop(vm, VM_KILLED, why);
	kick_vcpus(vm);
}

/*
 * Halts every vCPU (vcpus_halt: HALTED wins over any WFI, suspend, stop,
 * start or wake-up in flight, and nothing but the reboot leaves it), then
 * reboots at once if none is loaded; otherwise the hart that puts the
 * last loaded one reboots (vm_after_run). A hart about to run a vCPU
 * marks it loaded, then re-reads its power (vcpu_begin_run); here the
 * vCPUs are halted, then `loaded` is read: with a full fence on both
 * sides, at least one of the two sees the other. A second request while
 * one is pending (another vCPU's SRST) changes nothing.
 */
void vm_request_reboot(struct vm *vm)
{
	spin_lock(&vm->life_lock);
	if (!vm->reboot_pending) {
		vm->reboot_pending = true;
		if (!vcpus_halt(vm->vcpu, vm->nvcpus)) {
			vm->reboot_pending = false;
			reboot(vm);
		}
	}
	spin_unlock(&vm->life_lock);
	kick_vcpus(vm);
}

void vm_after_run(struct vm *vm)
{
	bool alive = false;

	spin_lock(&vm->life_lock);
	if (vm->reboot_pending) {
		if (!any_vcpu_loaded(vm)) {
			vm->reboot_pending = false;
			reboot(vm);
		}
		spin_unlock(&vm->life_lock);
		return;
	}
	/* A STOPPING vCPU is not counted dead yet: its hart calls us again
	 * once it is STOPPED. */
	for (unsigned i = 0; i < vm->nvcpus; i++)
		alive |= vcpu_power(&vm->vcpu[i]) != VCPU_STOPPED;
	spin_unlock(&vm->life_lock);
	/* Nothing can start a vCPU of this VM again (SBI HSM only lets a
	 * running vCPU start another): the VM is dead. */
	if (!alive)
		vm_stop(vm, VM_KILLED, "every vCPU stopped itself (SBI HSM hart_stop)");
}
