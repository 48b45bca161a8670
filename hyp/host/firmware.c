#include "host/firmware.h"
#include "arch/sbi_defs.h"

/* An SBI call: a7 = extension, a6 = function, a0..a5 arguments; the
 * firmware returns the error in a0 and the value in a1 (SBI 2.0 ch. 3). */
struct sbiret firmware_ecall(unsigned long eid, unsigned long fid,
			     unsigned long a0, unsigned long a1, unsigned long a2)
{
	register unsigned long r_a0 __asm__("a0") = a0;
	register unsigned long r_a1 __asm__("a1") = a1;
	register unsigned long r_a2 __asm__("a2") = a2;
	register unsigned long r_a6 __asm__("a6") = fid;
	register unsigned long r_a7 __asm__("a7") = eid;

	__asm__ volatile("ecall"
			 : "+r"(r_a0), "+r"(r_a1)
			 : "r"(r_a2), "r"(r_a6), "r"(r_a7)
			 : "memory");
	return (struct sbiret){ (long)r_a0, (long)r_a1 };
}

/* OpenSBI 1.1 has no DBCN: the legacy console calls are its console. */
void firmware_putchar(char c)
{
	firmware_ecall(SBI_EXT_0_1_CONSOLE_PUTCHAR, 0, (unsigned char)c, 0, 0);
}

int firmware_getchar(void)
{
	return (int)firmware_ecall(SBI_EXT_0_1_CONSOLE_GETCHAR, 0, 0, 0, 0).error;
}

void firmware_set_timer(uint64_t deadline)
{
	firmware_ecall(SBI_EXT_TIME, SBI_TIME_SET_TIMER, deadline, 0, 0);
}

long firmware_hart_start(unsigned long hartid, unsigned long addr, unsigned long opaque)
{
	return firmware_ecall(SBI_EXT_HSM, SBI_HSM_HART_START, hartid, addr, opaque).error;
}

long firmware_send_ipi(unsigned long hart_mask, unsigned long hart_mask_base)
{
	return firmware_ecall(SBI_EXT_IPI, SBI_IPI_SEND_IPI, hart_mask, hart_mask_base, 0).error;
}

void firmware_shutdown(void)
{
	firmware_ecall(SBI_EXT_SRST, SBI_SRST_SYSTEM_RESET, SBI_SRST_TYPE_SHUTDOWN,
		       SBI_SRST_REASON_NONE, 0);
	for (;;)
		__asm__ volatile("wfi");
}
