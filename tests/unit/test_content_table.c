/*
 * hyp/share/content_table.c: the page hash, the zero and page-table
 * tests, the set-associative table of merged pages and hints, and the
 * reverse map's pool.
 */
#include <stdlib.h>
#include <string.h>
#include "arch/riscv_defs.h"
#include "share/content_table.h"
#include "host_ram.h"
#include "unit.h"

static uint64_t page_words[PAGE_SIZE / 8] __attribute__((aligned(4096)));

static void fill_random(uint64_t *w, uint64_t seed)
{
	for (unsigned i = 0; i < PAGE_SIZE / 8; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		w[i] = seed ^ (seed >> 29);
	}
}

static void test_hash(void)
{
	static uint64_t a[512] __attribute__((aligned(4096))), b[512] __attribute__((aligned(4096)));
	unsigned flips_total = 0, trials = 0;

	fill_random(a, 1);
	memcpy(b, a, sizeof(a));
	CHECK_EQ(page_hash(a), page_hash(b));	/* equal bytes, equal hash */
	/* Every single-bit change, in every word (a sample of bits), changes
	 * the hash, and by about half its bits. */
	for (unsigned w = 0; w < 512; w++)
		for (unsigned bit = 0; bit < 64; bit += 7) {
			b[w] ^= 1ULL << bit;
			uint64_t d = page_hash(a) ^ page_hash(b);
			CHECK(d != 0);
			flips_total += (unsigned)__builtin_popcountll(d);
			trials++;
			b[w] ^= 1ULL << bit;
		}
	CHECK(flips_total > trials * 28 && flips_total < trials * 36);
	/* Swapping two words changes it (a sum of words would not). */
	b[3] = a[4];
	b[4] = a[3];
	CHECK(page_hash(a) != page_hash(b));
	/* The zero page has a hash like any other. */
	memset(b, 0, sizeof(b));
	CHECK(page_hash(b) != 0);
}

static void test_zero(void)
{
	memset(page_words, 0, sizeof(page_words));
	CHECK(content_page_is_zero(page_words));
	for (unsigned i = 0; i < PAGE_SIZE; i += 509) {
		((unsigned char *)page_words)[i] = 1;
		CHECK(!content_page_is_zero(page_words));
		((unsigned char *)page_words)[i] = 0;
	}
	((unsigned char *)page_words)[PAGE_SIZE - 1] = 0x80;	/* the very last byte */
	CHECK(!content_page_is_zero(page_words));
}

/* A Sv39 PTE for guest-physical page ppn with flags. */
static uint64_t pte(uint64_t ppn, uint64_t flags)
{
	return (ppn << 10) | flags;
}

static void test_page_table(void)
{
	uint64_t *w = page_words;

	memset(w, 0, PAGE_SIZE);
	CHECK(!content_page_is_page_table(w));	/* empty: the zero page, not a table */
	/* A kernel's leaf table: a few valid leaves (V R W X A D G). */
	w[0] = pte(0x80200, 0xef);
	w[1] = pte(0x80201, 0xef);
	w[511] = pte(0x87fff, 0xc7);
	CHECK(content_page_is_page_table(w));
	/* A directory entry (V only) pointing into RAM. */
	w[100] = pte(0x81234, 0x01);
	CHECK(content_page_is_page_table(w));
	/* Svpbmt's bits 62:61 and N (63) are not reserved bits 60:54. */
	w[7] = pte(0x80000, 0x01) | (1ULL << 62);
	CHECK(content_page_is_page_table(w));
	/* The highest guest-physical page Sv39x4 has is allowed ... */
	w[8] = pte((1ULL << 29) - 1, 0x01);
	CHECK(content_page_is_page_table(w));
	/* ... but one word that cannot be a PTE makes it data. */
	w[9] = pte(1ULL << 29, 0x01);			/* beyond 41 bits */
	CHECK(!content_page_is_page_table(w));
	w[9] = pte(0x80000, 0x01) | (1ULL << 54);	/* a reserved bit */
	CHECK(!content_page_is_page_table(w));
	w[9] = pte(0x80000, 0x00) | 2;			/* V clear, nonzero */
	CHECK(!content_page_is_page_table(w));
	/* Random data is not a table. */
	fill_random(w, 7);
	CHECK(!content_page_is_page_table(w));
	/* Text is not (ASCII words have bit 0 set half the time, and high
	 * bytes in the reserved bits). */
	memset(w, 'a', PAGE_SIZE);
	CHECK(!content_page_is_page_table(w));
}

#define ENTRIES 64	/* 8 buckets of 8 */

static struct content_entry storage[ENTRIES];

static void fresh(struct content_table *t)
{
	memset(storage, 0, sizeof(storage));
	content_table_init(t, storage, ENTRIES);
	CHECK_EQ(content_table_bytes(ENTRIES), sizeof(storage));
	CHECK_EQ(t->nbuckets, ENTRIES / CONTENT_BUCKET_SLOTS);
}

/* A hash that lands in bucket b (the table uses bits 32 and up). */
static uint64_t in_bucket(unsigned b, unsigned k)
{
	return ((uint64_t)b << 32) | (k + 1);
}

static void test_table_find_insert(void)
{
	struct content_table t;
	struct content_entry *e;

	fresh(&t);
	CHECK(content_table_find(&t, 42, 0x1000) == NULL);
	CHECK(content_table_insert(&t, 42, 0x1000, CONTENT_HINT));
	CHECK_EQ(t.hints, 1);
	/* The page itself finds no match in its own hint ... */
	CHECK(content_table_find(&t, 42, 0x1000) == NULL);
	/* ... another page does. */
	e = content_table_find(&t, 42, 0x2000);
	CHECK(e && e->kind == CONTENT_HINT && e->pa == 0x1000);
	/* A SHARED entry with the same hash wins over the hint. */
	CHECK(content_table_insert(&t, 42, 0x3000, CONTENT_SHARED));
	e = content_table_find(&t, 42, 0x2000);
	CHECK(e && e->kind == CONTENT_SHARED && e->pa == 0x3000);
	/* ... even for the hinted page itself. */
	e = content_table_find(&t, 42, 0x1000);
	CHECK(e && e->pa == 0x3000);
	/* A page has one entry per bucket: inserting it again replaces it. */
	CHECK(content_table_insert(&t, 42, 0x1000, CONTENT_HINT));
	CHECK_EQ(t.hints, 1);
	CHECK(content_table_find_page(&t, 42, 0x3000, CONTENT_SHARED) != NULL);
	CHECK(content_table_find_page(&t, 42, 0x3000, CONTENT_HINT) == NULL);
	CHECK(content_table_find_page(&t, 43, 0x3000, CONTENT_SHARED) == NULL);
	/* Another hash, even in the same bucket, matches nothing. */
	CHECK(content_table_find(&t, 42 + 1, 0x2000) == NULL);
	content_table_remove(&t, content_table_find_page(&t, 42, 0x3000, CONTENT_SHARED));
	CHECK_EQ(t.shared, 0);
	e = content_table_find(&t, 42, 0x2000);
	CHECK(e && e->kind == CONTENT_HINT);
}

static void test_table_full_bucket(void)
{
	struct content_table t;

	fresh(&t);
	/* Eight hints fill bucket 3; a ninth entry replaces the oldest. */
	for (unsigned k = 0; k < CONTENT_BUCKET_SLOTS; k++)
		CHECK(content_table_insert(&t, in_bucket(3, k), 0x10000 + k * 0x1000, CONTENT_HINT));
	CHECK_EQ(t.hints, CONTENT_BUCKET_SLOTS);
	CHECK(content_table_insert(&t, in_bucket(3, 100), 0x90000, CONTENT_SHARED));
	CHECK_EQ(t.hints_replaced, 1);
	CHECK(content_table_find(&t, in_bucket(3, 0), 1) == NULL);	/* the oldest went */
	CHECK(content_table_find(&t, in_bucket(3, 1), 1) != NULL);
	/* Other buckets are untouched. */
	CHECK(content_table_insert(&t, in_bucket(4, 0), 0x5000, CONTENT_HINT));
	/* Fill bucket 3 with SHARED entries: hints go one by one, then the
	 * bucket refuses. */
	for (unsigned k = 1; k < CONTENT_BUCKET_SLOTS; k++)
		CHECK(content_table_insert(&t, in_bucket(3, 200 + k), 0xa0000 + k * 0x1000,
					   CONTENT_SHARED));
	CHECK_EQ(t.shared, CONTENT_BUCKET_SLOTS);
	CHECK(!content_table_insert(&t, in_bucket(3, 300), 0xf0000, CONTENT_HINT));
	CHECK(!content_table_insert(&t, in_bucket(3, 301), 0xf1000, CONTENT_SHARED));
	CHECK_EQ(t.full_refusals, 2);
	/* remove_page finds a page under any hash. */
	CHECK_EQ(content_table_remove_page(&t, 0xa0000 + 0x1000), 1);
	CHECK_EQ(content_table_remove_page(&t, 0x123000), 0);
	CHECK(content_table_insert(&t, in_bucket(3, 301), 0xf1000, CONTENT_SHARED));
}

/* --- The reverse map ------------------------------------------------- */

static unsigned pages_given, pages_limit;
static void *given[64];

static uint64_t grow_page(void *ctx)
{
	(void)ctx;
	if (pages_given == pages_limit)
		return 0;
	void *p = aligned_alloc(PAGE_SIZE, PAGE_SIZE);
	memset(p, 0, PAGE_SIZE);
	given[pages_given++] = p;
	return ptr_to_pa(p);
}

static void free_given(void)
{
	while (pages_given)
		free(given[--pages_given]);
}

struct seen { unsigned n; uint16_t vm[8]; uint64_t gpa[8]; };

static void record(void *arg, uint16_t vm, uint64_t gpa)
{
	struct seen *s = arg;

	if (s->n < 8) {
		s->vm[s->n] = vm;
		s->gpa[s->n] = gpa;
	}
	s->n++;
}

static void test_rmap(void)
{
	static struct rmap_pool pool;
	uint32_t a = RMAP_NONE, b = RMAP_NONE;
	struct seen s = { 0 };

	pages_limit = 2;
	rmap_init(&pool, grow_page, NULL);
	CHECK_EQ(rmap_count(&pool, a), 0);
	CHECK(!rmap_remove(&pool, &a, 1, 0x80000000));
	CHECK(rmap_add(&pool, &a, 1, 0x80001000));
	CHECK(rmap_add(&pool, &a, 2, 0x80001000));
	CHECK(rmap_add(&pool, &a, 2, 0x80005000));	/* one VM, two places */
	CHECK(rmap_add(&pool, &b, 1, 0x80009000));
	CHECK_EQ(rmap_count(&pool, a), 3);
	CHECK_EQ(rmap_count(&pool, b), 1);
	CHECK(rmap_head_is(&pool, a, 2, 0x80005000));	/* newest first */
	CHECK(!rmap_head_is(&pool, a, 1, 0x80001000));
	rmap_for_each(&pool, a, record, &s);
	CHECK_EQ(s.n, 3);
	CHECK_EQ(s.vm[2], 1);
	CHECK_EQ(s.gpa[2], 0x80001000);
	CHECK(a != RMAP_NONE && pool.used == 4);
	/* Remove from the middle, the head, the tail. */
	CHECK(rmap_remove(&pool, &a, 2, 0x80001000));
	CHECK(!rmap_remove(&pool, &a, 2, 0x80001000));	/* only once */
	CHECK(!rmap_remove(&pool, &a, 3, 0x80005000));	/* another VM: not there */
	CHECK(rmap_remove(&pool, &a, 2, 0x80005000));
	CHECK(rmap_head_is(&pool, a, 1, 0x80001000));
	CHECK(rmap_remove(&pool, &a, 1, 0x80001000));
	CHECK_EQ(a, RMAP_NONE);
	CHECK_EQ(pool.used, 1);
	CHECK_EQ(rmap_count(&pool, b), 1);
	/* Entries come back and are reused: the pool does not grow. */
	for (unsigned i = 0; i < 100; i++) {
		CHECK(rmap_add(&pool, &a, 7, 0x80000000 + i * 4096ULL));
		CHECK(rmap_remove(&pool, &a, 7, 0x80000000 + i * 4096ULL));
	}
	CHECK_EQ(pages_given, 1);
	/* Two pages of entries (one less: index 0 is RMAP_NONE), then no more. */
	unsigned added = 0;
	while (rmap_add(&pool, &a, 9, 0x80000000 + added * 4096ULL))
		added++;
	CHECK_EQ(added + 1, 2 * RMAP_PER_PAGE - 1);
	CHECK_EQ(pages_given, 2);
	CHECK_EQ(rmap_count(&pool, a), added);
	CHECK_EQ(rmap_count(&pool, b), 1);	/* untouched by all that */
	free_given();
}

int main(void)
{
	RUN(test_hash);
	RUN(test_zero);
	RUN(test_page_table);
	RUN(test_table_find_insert);
	RUN(test_table_full_bucket);
	RUN(test_rmap);
	return unit_report("test_content_table");
}
