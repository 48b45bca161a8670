/*
 * Starting secondary harts (smp.h) with SBI HSM hart_start
 * (SBI 2.0 section 9.1, EID 0x48534D).
 */
#include "smp.h"

#define EXT_HSM			0x48534D
#define HSM_HART_START		0
#define HSM_HART_STOP		1
#define HSM_HART_GET_STATUS	2
#define HSM_HART_SUSPEND	3

void smp_entry(void);
void smp_secondary_main(unsigned long hartid, unsigned long opaque);

struct start_slot {
	smp_fn *fn;
	unsigned long arg;
};

/* slots[caller][target]: see smp_start. */
static struct start_slot slots[SMP_MAX_HARTS][SMP_MAX_HARTS];

static long hsm(unsigned long fid, unsigned long a0, unsigned long a1, unsigned long a2,
		long *value)
{
	register unsigned long r0 __asm__("a0") = a0;
	register unsigned long r1 __asm__("a1") = a1;
	register unsigned long r2 __asm__("a2") = a2;
	register unsigned long r6 __asm__("a6") = fid;
	register unsigned long r7 __asm__("a7") = EXT_HSM;

	__asm__ volatile("ecall" : "+r"(r0), "+r"(r1) : "r"(r2), "r"(r6), "r"(r7) : "memory");
	if (value)
		*value = (long)r1;
	return (long)r0;
}

long smp_start(unsigned long hartid, smp_fn *fn, unsigned long arg)
{
	unsigned long self = smp_hartid();

	if (hartid >= SMP_MAX_HARTS || self >= SMP_MAX_HARTS)
		return -3;	/* SBI_ERR_INVALID_PARAM: no stack for it */
	struct start_slot *slot = &slots[self][hartid];
	slot->fn = fn;
	slot->arg = arg;
	smp_mb();	/* the slot before the start (the ecall orders it too) */
	return hsm(HSM_HART_START, hartid, (unsigned long)smp_entry, (unsigned long)slot, 0);
}

void smp_secondary_main(unsigned long hartid, unsigned long opaque)
{
	const struct start_slot *slot = (const struct start_slot *)opaque;
	smp_fn *fn = smp_load_acquire(&slot->fn);
	unsigned long arg = slot->arg;

	fn(hartid, arg);
	smp_stop_self();
}

long smp_stop_self(void)
{
	return hsm(HSM_HART_STOP, 0, 0, 0, 0);
}

long smp_hart_status(unsigned long hartid)
{
	long value;
	long err = hsm(HSM_HART_GET_STATUS, hartid, 0, 0, &value);

	return err ? err : value;
}

long smp_suspend_retentive(void)
{
	return hsm(HSM_HART_SUSPEND, 0 /* default retentive */, 0, 0, 0);
}
