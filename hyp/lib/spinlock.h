/*
 * A test-and-set spinlock. Every lock in discv is taken with interrupts
 * off (the hypervisor never enables interrupts in HS-mode), so a holder is
 * never interrupted by code that wants the same lock. Uses GCC atomics, so
 * it also compiles natively for the unit tests.
 */
#ifndef DISCV_SPINLOCK_H
#define DISCV_SPINLOCK_H

#include <stdbool.h>

struct spinlock {
	int locked;
};

static inline void spin_lock(struct spinlock *l)
{
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
			;
}

#ifdef DISCV_UNIT_INTERLEAVE
/* Host unit tests replay interleavings: each lock release is a point where
 * "another hart" may run a step (tests/unit/unit.h, unit_unlock_hook). */
void unit_after_unlock(struct spinlock *l);
#endif

static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
#ifdef DISCV_UNIT_INTERLEAVE
	unit_after_unlock(l);
#endif
}

/* Takes the lock if it is free; true if taken. */
static inline bool spin_trylock(struct spinlock *l)
{
	return !__atomic_exchange_n(&l->locked, 1, __ATOMIC_SEQ_CST);
}

#endif
