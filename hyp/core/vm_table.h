/*
 * All VMs of this run: their table, their creation and their life cycle.
 */
#ifndef DISCV_VM_TABLE_H
#define DISCV_VM_TABLE_H

#include <stdbool.h>
#include "core/vm.h"

struct host_memory;

/* The VMs, vms[0 .. vm_count - 1]. The array is the run's: its size
 * is set at boot for the guests configured (each VM is ~48 KiB: 256 of
 * them in a static array would cost 12 MiB whatever the run). */
extern struct vm *vms;
extern unsigned vm_count;

/* Gives the VM table its storage: capacity VMs, zeroed, 16 KiB aligned. */
void vms_set_storage(struct vm *array, unsigned capacity);

/* Prepares NUMA placement over the harts and host memory nodes. */
void vms_init(const struct host_memory *host);

/* Creates the next VM: places its vCPUs on harts and its memory on a
 * node, with an empty G-stage, no devices and no images (the caller adds
 * them and sets vm->load). NULL (having printed why) if it cannot. */
struct vm *vm_create(struct host_memory *host, uint64_t ram_size, unsigned nvcpus, bool batch);

/* The VM's first boot: resets its devices, loads it (vm->load) and
 * marks it running. False with *why set if it cannot boot. */
bool vm_start(struct vm *vm, const char **why);

bool vm_any_running(void);

/* Stops every vCPU of vm and reboots it once none is loaded on any hart. */
void vm_request_reboot(struct vm *vm);

/* Called on the hart that ran one of vm's vCPUs, after vcpu_put: carries
 * out a reboot the guest requested while it ran. */
void vm_after_run(struct vm *vm);

#endif
