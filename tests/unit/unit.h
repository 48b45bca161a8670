/*
 * A tiny test harness for the host unit tests: no framework, one header.
 *
 *   RUN(test_fn);                 runs a test, naming it in failure lines
 *   CHECK(cond);                  fails if cond is false
 *   CHECK_EQ(a, b);               compares as 64-bit integers, prints both
 *   CHECK_STR(a, b);              compares C strings, prints both (escaped)
 *   CHECK_MEM(a, b, n);           compares n bytes, prints the first difference
 *   return unit_report("test_x"); the summary line and the exit status
 *
 * A failed check prints "file:line: [test] ..." and the run goes on, so one
 * run shows every failure. The summary line is what tests/unit/run.sh
 * shows for a passing binary.
 */
#ifndef DISCV_UNIT_H
#define DISCV_UNIT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((unused)) static unsigned long unit_checks, unit_failures;
__attribute__((unused)) static const char *unit_test_name = "";

/* Unbuffered stdout: failure lines printed before a sanitizer aborts the
 * run are not lost, and they interleave with its report in order. */
__attribute__((constructor)) static void unit_init(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
}

__attribute__((unused)) static void unit_fail_head(const char *file, int line)
{
	unit_failures++;
	printf("%s:%d: [%s] ", file, line, unit_test_name);
}

__attribute__((unused)) static bool unit_check(bool ok, const char *file, int line,
					       const char *expr)
{
	unit_checks++;
	if (!ok) {
		unit_fail_head(file, line);
		printf("CHECK(%s) failed\n", expr);
	}
	return ok;
}

__attribute__((unused)) static bool unit_check_eq(uint64_t a, uint64_t b, const char *file,
						  int line, const char *ea, const char *eb)
{
	unit_checks++;
	if (a != b) {
		unit_fail_head(file, line);
		printf("CHECK_EQ(%s, %s) failed: 0x%llx (%lld) != 0x%llx (%lld)\n", ea, eb,
		       (unsigned long long)a, (long long)a, (unsigned long long)b, (long long)b);
	}
	return a == b;
}

/* Prints at most 200 bytes of s, with non-printable bytes as \xNN. */
__attribute__((unused)) static void unit_print_escaped(const char *s, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n && i < 200; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c >= 0x20 && c < 0x7f)
			putchar(c);
		else
			printf("\\x%02x", c);
	}
	putchar('"');
	if (n > 200)
		printf("... (%zu bytes)", n);
}

__attribute__((unused)) static bool unit_check_str(const char *a, const char *b,
						   const char *file, int line,
						   const char *ea, const char *eb)
{
	bool ok = a && b && strcmp(a, b) == 0;

	unit_checks++;
	if (!ok) {
		unit_fail_head(file, line);
		printf("CHECK_STR(%s, %s) failed:\n    got:      ", ea, eb);
		if (a)
			unit_print_escaped(a, strlen(a));
		else
			printf("NULL");
		printf("\n    expected: ");
		if (b)
			unit_print_escaped(b, strlen(b));
		else
			printf("NULL");
		printf("\n");
	}
	return ok;
}

__attribute__((unused)) static bool unit_check_mem(const void *a, const void *b, size_t n,
						   const char *file, int line,
						   const char *ea, const char *eb)
{
	const unsigned char *pa = a, *pb = b;
	size_t i = 0;

	unit_checks++;
	while (i < n && pa[i] == pb[i])
		i++;
	if (i < n) {
		unit_fail_head(file, line);
		printf("CHECK_MEM(%s, %s, %zu) failed: first difference at byte %zu: "
		       "0x%02x != 0x%02x\n", ea, eb, n, i, pa[i], pb[i]);
	}
	return i == n;
}

#define CHECK(cond) unit_check(!!(cond), __FILE__, __LINE__, #cond)
#define CHECK_EQ(a, b) \
	unit_check_eq((uint64_t)(a), (uint64_t)(b), __FILE__, __LINE__, #a, #b)
#define CHECK_STR(a, b) unit_check_str((a), (b), __FILE__, __LINE__, #a, #b)
#define CHECK_MEM(a, b, n) unit_check_mem((a), (b), (n), __FILE__, __LINE__, #a, #b)

#define RUN(fn) do { unit_test_name = #fn; fn(); } while (0)

/* Prints the summary line; returns main's exit status. */
__attribute__((unused)) static int unit_report(const char *binary)
{
	if (unit_failures) {
		printf("unit: %s: %lu of %lu checks FAILED\n", binary, unit_failures,
		       unit_checks);
		return 1;
	}
	printf("unit: %s: %lu checks passed\n", binary, unit_checks);
	return 0;
}

/*
 * Replaying an interleaving: hyp/spinlock.h (built with
 * -DDISCV_UNIT_INTERLEAVE) calls unit_after_unlock at every lock release.
 * A test sets unit_unlock_hook to run one step of "another hart" at the
 * next release, the point where a real hart could slip in. The hook runs
 * once (it is cleared before it is called, so its own lock releases do
 * not recurse).
 */
struct spinlock;
static void (*unit_unlock_hook)(struct spinlock *l);
void unit_after_unlock(struct spinlock *l);
void unit_after_unlock(struct spinlock *l)
{
	void (*hook)(struct spinlock *) = unit_unlock_hook;

	if (hook) {
		unit_unlock_hook = NULL;
		hook(l);
	}
}

/*
 * The same for a G-stage leaf: hyp/g-stage/gstage.c calls
 * unit_before_leaf_store between its read of a leaf and its store, where a
 * page-table walker on another hart could set the A bit. A test sets
 * unit_leaf_store_hook to play that walker once.
 */
static void (*unit_leaf_store_hook)(uint64_t *slot);
void unit_before_leaf_store(uint64_t *slot);
void unit_before_leaf_store(uint64_t *slot)
{
	void (*hook)(uint64_t *) = unit_leaf_store_hook;

	if (hook) {
		unit_leaf_store_hook = NULL;
		hook(slot);
	}
}

/* A small deterministic PRNG (xorshift64*) for the randomized tests. */
__attribute__((unused)) static uint64_t unit_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* The seed: UNIT_SEED from the environment, else a fixed one. */
__attribute__((unused)) static uint64_t unit_seed(void)
{
	const char *s = getenv("UNIT_SEED");
	uint64_t seed = s ? strtoull(s, NULL, 0) : 0x5eed0fd15c7ULL;

	return seed ? seed : 1;
}

#endif
