/*
 * Why a guest stopped running, and what the hypervisor does about it.
 */
#ifndef DISCV_VCPU_EXIT_H
#define DISCV_VCPU_EXIT_H

#include <stdbool.h>
#include <stdint.h>
#include "core/guest_memory.h"

struct vcpu;

/* The trap CSRs as they were when the guest exited. */
struct trap_info {
	uint64_t scause, stval, htval, htinst;
};

/* vcpu.c: load/save a vCPU on this hart, and run it until its next exit. */
void vcpu_load(struct vcpu *v);
void vcpu_put(struct vcpu *v);
void vcpu_enter(struct vcpu *v, struct trap_info *t);
void vcpu_inject_exception(struct vcpu *v, uint64_t cause, uint64_t tval);
bool vcpu_fetch_insn(struct vcpu *v, uint32_t *insn);

/* The guest's ecall (VS-mode environment call): the SBI layer above core
 * (hyp/sbi/) registers the function that performs it, with v's sepc
 * already past the ecall. Until one is registered, ecalls return
 * SBI_ERR_NOT_SUPPORTED. */
void vcpu_exit_set_ecall_handler(void (*handler)(struct vcpu *v));

/* vcpu_exit.c: handles one exit of v (loaded on this hart). */
void vcpu_handle_exit(struct vcpu *v, const struct trap_info *t);

/*
 * A page of the VM could not be had (TOUCH_NO_MEMORY: its share used up,
 * the host short, and the pager found nothing) or read back from swap
 * (TOUCH_SWAP_FAILED): the VM is stopped, with a message that says how
 * much it holds against its share and what the pager found. The guest
 * fault path calls it; so does guest memory for a device's access
 * (guest_memory_pager.out_of_memory), whose guest must not go on with
 * a failed DMA as if the disk had failed.
 */
struct vm;
void vcpu_exit_stop_for_memory(struct vm *vm, enum touch_result why);

#endif
