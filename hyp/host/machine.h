/*
 * Ending the emulated machine with an exit status QEMU passes on.
 */
#ifndef DISCV_MACHINE_H
#define DISCV_MACHINE_H

#include <stdint.h>

enum machine_exit_code {
	MACHINE_EXIT_OK = 0,
	MACHINE_EXIT_GUEST_FAILED = 1,	/* a guest failed, crashed or was stopped */
	MACHINE_EXIT_HYP_PANIC = 2,	/* a hypervisor invariant broke */
	MACHINE_EXIT_BAD_CONFIG = 3,	/* bad options: nothing was started */
};

/* Records the physical address of QEMU's "sifive,test" finisher (from the
 * host device tree); 0 if there is none. */
void machine_set_finisher(uint64_t pa);

/* Ends the machine: QEMU exits with `code`. Never returns. */
void machine_exit(enum machine_exit_code code) __attribute__((noreturn));

#endif
