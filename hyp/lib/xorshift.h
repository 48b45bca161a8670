/*
 * xorshift64 (Marsaglia, "Xorshift RNGs", 2003): a fast pseudo-random
 * sequence, enough to spread the pager's random victims and the
 * working-set samples; never for anything a guest could exploit.
 */
#ifndef DISCV_XORSHIFT_H
#define DISCV_XORSHIFT_H

#include <stdint.h>

/* The next number of the sequence in *state (which must not be 0). */
static inline uint64_t xorshift64(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

#endif
