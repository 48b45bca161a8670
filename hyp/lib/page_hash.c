#include "lib/page_hash.h"

#define WORDS (PAGE_HASH_BYTES / sizeof(uint64_t))

static inline uint64_t rotl(uint64_t x, unsigned r)
{
	return (x << r) | (x >> (64 - r));
}

uint64_t page_hash(const void *page)
{
	const uint64_t *w = page;
	/* Two lanes, so the multiplies of neighbouring words overlap; the
	 * constants are the 64-bit golden ratio and two odd mixers. */
	uint64_t a = 0x9e3779b97f4a7c15ULL, b = 0xc2b2ae3d27d4eb4fULL;

	for (unsigned i = 0; i < WORDS; i += 2) {
		a = rotl(a ^ (w[i] * 0x87c37b91114253d5ULL), 31) * 0x9e3779b97f4a7c15ULL;
		b = rotl(b ^ (w[i + 1] * 0x4cf5ad432745937fULL), 29) * 0xc2b2ae3d27d4eb4fULL;
	}
	/* splitmix64's finaliser on the joined lanes. */
	uint64_t h = a ^ rotl(b, 17);
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	return h ^ (h >> 31);
}
