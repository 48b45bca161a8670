/*
 * SMP for the test guests: starting secondary harts with SBI HSM
 * (SBI 2.0 chapter 9), each on its own stack, and the few atomics and
 * barriers their tests need.
 *
 * A secondary hart starts in smp_entry (smp.S) with a0 = its hart id and
 * a1 = the opaque value of hart_start, here a pointer to the start slot
 * that names the function to run. When that function returns, the hart
 * stops itself (HSM hart_stop) and can be started again.
 *
 * Every hart, the boot hart included, keeps its hart id in tp
 * (smp_hartid()).
 */
#ifndef TEST_GUEST_SMP_H
#define TEST_GUEST_SMP_H

#define SMP_MAX_HARTS	8
#define SMP_STACK_SIZE	8192

/* HSM states (SBI 2.0 table 9.1). */
#define HSM_STARTED		0
#define HSM_STOPPED		1
#define HSM_START_PENDING	2
#define HSM_STOP_PENDING	3
#define HSM_SUSPENDED		4
#define HSM_SUSPEND_PENDING	5
#define HSM_RESUME_PENDING	6

#ifndef __ASSEMBLER__

typedef void smp_fn(unsigned long hartid, unsigned long arg);

/*
 * Starts hart `hartid` running fn(hartid, arg) on its own stack. Returns
 * the SBI error of hart_start: 0, or e.g. -6 (SBI_ERR_ALREADY_AVAILABLE)
 * if the hart is not stopped. Each (caller, target) pair has its own start
 * slot, so two harts starting the same target at once do not overwrite
 * each other's function; a caller must not start the same target again
 * before it has seen it stop.
 */
long smp_start(unsigned long hartid, smp_fn *fn, unsigned long arg);

/* HSM calls on the calling hart or on another: hart_stop (returns only on
 * an error), hart_get_status (a state above, or a negative SBI error), and
 * a default retentive suspend (returns when an interrupt enabled in sie
 * is pending, like WFI; SBI 2.0 9.4). */
long smp_stop_self(void);
long smp_hart_status(unsigned long hartid);
long smp_suspend_retentive(void);

static inline unsigned long smp_hartid(void)
{
	unsigned long id;

	__asm__ volatile("mv %0, tp" : "=r"(id));
	return id;
}

/* A full barrier (fence rw, rw), and acquire/release accesses. */
#define smp_mb()			__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define smp_load_acquire(p)		__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define smp_store_release(p, v)		__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define smp_fetch_add(p, v)		__atomic_fetch_add((p), (v), __ATOMIC_SEQ_CST)
#define smp_fetch_or(p, v)		__atomic_fetch_or((p), (v), __ATOMIC_SEQ_CST)
#define smp_exchange(p, v)		__atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
/* Compare-and-swap: true if *p was `old` and is now `new`. */
#define smp_cas(p, old, new)	({ __typeof__(*(p)) _o = (old); \
	__atomic_compare_exchange_n((p), &_o, (new), 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); })

/* A spin lock for the test guests (amoswap.w.aq / sw with release). */
struct smp_lock {
	int locked;
};

static inline void smp_lock(struct smp_lock *l)
{
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
			;
}

static inline void smp_unlock(struct smp_lock *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

#endif /* __ASSEMBLER__ */
#endif
