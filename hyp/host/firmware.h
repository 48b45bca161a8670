/*
 * Calls from the hypervisor (HS-mode) down to the SBI firmware below it,
 * OpenSBI 1.1 in M-mode. Only the calls discv needs.
 */
#ifndef DISCV_FIRMWARE_H
#define DISCV_FIRMWARE_H

#include <stdint.h>

struct sbiret {
	long error;
	long value;
};

struct sbiret firmware_ecall(unsigned long eid, unsigned long fid,
			     unsigned long a0, unsigned long a1, unsigned long a2);

void firmware_putchar(char c);
/* Returns the next console input byte, or -1 if none is waiting. */
int firmware_getchar(void);
/* Arms the hart's supervisor timer for an absolute `time` value. */
void firmware_set_timer(uint64_t deadline);
/* Starts a parked hart at a physical address with a1 = opaque. */
long firmware_hart_start(unsigned long hartid, unsigned long addr, unsigned long opaque);
/* Sends a supervisor software interrupt to the harts in the mask. */
long firmware_send_ipi(unsigned long hart_mask, unsigned long hart_mask_base);
/* Powers the machine off. Does not return. */
void firmware_shutdown(void) __attribute__((noreturn));

#endif
