/*
 * All VMs of this run, and their creation from the boot configuration.
 */
#ifndef DISCV_VM_TABLE_H
#define DISCV_VM_TABLE_H

#include <stdbool.h>
#include "core/vm.h"

struct hyp_config;

extern struct vm vms[MAX_VMS];
extern unsigned vm_count;

/* Creates and boots the configured VMs. Returns false (having printed
 * why) if one could not be created. */
#include <stdint.h>

/* disk_maps: if not NULL, cfg->guests * disk_map_bytes of contiguous
 * memory for the guests' delta maps: each guest gets a virtio-blk disk. */
bool vms_create(const struct hyp_config *cfg, struct host_memory *host, uint8_t *disk_maps,
		uint64_t disk_map_bytes);

bool vm_any_running(void);

/* The timebase guests are told about (host /cpus timebase-frequency). */
void vm_set_timebase(uint64_t hz);

/* Stops every vCPU of vm and reboots it once none is loaded on any hart. */
void vm_request_reboot(struct vm *vm);

/* Called on the hart that ran one of vm's vCPUs, after vcpu_put: carries
 * out a reboot the guest requested while it ran. */
void vm_after_run(struct vm *vm);

#endif
