#include "host/firmware.h"
#include "host/machine.h"

static volatile uint32_t *finisher;

void machine_set_finisher(uint64_t pa)
{
	finisher = (volatile uint32_t *)(uintptr_t)pa;
}

/*
 * QEMU's sifive_test device ends QEMU when written: 0x5555 exits with
 * status 0, 0x3333 with the status held in bits 31:16. OpenSBI 1.1's SRST
 * only ever writes the 16-bit codes, so QEMU would always exit 0; the
 * hypervisor writes the device itself to carry the real status out.
 */
void machine_exit(enum machine_exit_code code)
{
	if (finisher) {
		if (code == MACHINE_EXIT_OK)
			*finisher = 0x5555;
		else
			*finisher = ((uint32_t)code << 16) | 0x3333;
	}
	firmware_shutdown();
}
