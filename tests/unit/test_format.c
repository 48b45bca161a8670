/*
 * hyp/lib/format.c: the hypervisor's small vsnprintf, compared with the
 * host C library's snprintf for every conversion it claims to support
 * (format.h), and for truncation at every buffer size.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "lib/format.h"
#include "unit.h"

/*
 * SAME(fmt, args...): format() and snprintf() must produce the same
 * string and return value, with a buffer large enough and then with every
 * smaller size (truncation), including 0 and 1.
 */
static void same_as_libc(int line, const char *fmt, const char *want, int want_len,
			 const char *got_full, int got_len)
{
	bool ok = unit_check_eq((uint64_t)got_len, (uint64_t)want_len, __FILE__, line,
				"format() length", "snprintf() length");

	ok = unit_check_str(got_full, want, __FILE__, line, "format()", "snprintf()") && ok;
	if (!ok)
		printf("    format \"%s\"\n", fmt);
}

#define SAME(...) do { \
		char want_[256], got_[256]; \
		int wn_ = snprintf(want_, sizeof(want_), __VA_ARGS__); \
		memset(got_, 0x7e, sizeof(got_)); \
		int gn_ = format(got_, sizeof(got_), __VA_ARGS__); \
		same_as_libc(__LINE__, FIRST_(__VA_ARGS__, 0), want_, wn_, got_, gn_); \
		for (size_t sz_ = 0; sz_ <= (size_t)wn_ + 1 && wn_ >= 0; sz_++) { \
			char t_[256], w_[256]; \
			memset(t_, 0x7e, sizeof(t_)); \
			memset(w_, 0x7e, sizeof(w_)); \
			int tn_ = format(t_, sz_, __VA_ARGS__); \
			snprintf(w_, sz_, __VA_ARGS__); \
			bool ok_ = CHECK_EQ(tn_, wn_); \
			ok_ = CHECK_MEM(t_, w_, sz_ + 1) && ok_; \
			if (!ok_) { \
				printf("    format \"%s\" truncated to size %zu\n", \
				       FIRST_(__VA_ARGS__, 0), sz_); \
				break; \
			} \
		} \
	} while (0)
#define FIRST_(a, ...) (a)

static void test_integers(void)
{
	SAME("%d", 0);
	SAME("%d", 42);
	SAME("%d", -42);
	SAME("%d", INT_MAX);
	SAME("%d", INT_MIN);
	SAME("%i", -7);
	SAME("%i", 123456789);
	SAME("%u", 0U);
	SAME("%u", 3000000000U);
	SAME("%u", UINT_MAX);
	SAME("%x", 0U);
	SAME("%x", 0xdeadbeefU);
	SAME("%X", 0xdeadbeefU);
	SAME("%x", UINT_MAX);
	SAME("%ld", 0L);
	SAME("%ld", -1L);
	SAME("%ld", LONG_MIN);
	SAME("%ld", LONG_MAX);
	SAME("%li", LONG_MIN + 1);
	SAME("%lu", ULONG_MAX);
	SAME("%lu", 1UL << 63);
	SAME("%lx", (unsigned long)UINT64_MAX);
	SAME("%lX", 0xabcdef0123456789UL);
	SAME("%lld", LLONG_MIN);
	SAME("%llu", ULLONG_MAX);
	SAME("%llx", 0x8000000000000000ULL);
	SAME("%zu", (size_t)0);
	SAME("%zu", SIZE_MAX);
	SAME("%zx", (size_t)0x1234);
	/* An int argument is an int, not 64 bits: the upper half of the
	 * register must not leak in. */
	SAME("%d %u %x", -1, 0xffffffffU, 0x80000000U);
}

static void test_widths_and_flags(void)
{
	SAME("[%5d]", 42);
	SAME("[%-5d]", 42);
	SAME("[%05d]", 42);
	SAME("[%5d]", -42);
	SAME("[%-5d]", -42);
	SAME("[%05d]", -42);
	SAME("[%03d]", -42);
	SAME("[%02d]", -42);
	SAME("[%020ld]", LONG_MIN);
	SAME("[%021ld]", LONG_MIN);
	SAME("[%25ld]", LONG_MIN);
	SAME("[%3d]", 12345);		/* width smaller than the number */
	SAME("[%1d]", 0);
	SAME("[%08x]", 0xbeefU);
	SAME("[%-8x]", 0xbeefU);
	SAME("[%8X]", 0xbeefU);
	SAME("[%016lx]", 0x1234UL);
	SAME("[%016lx]", (unsigned long)UINT64_MAX);
	SAME("[%010lu]", 12345UL);
	SAME("[%-10lu]", 12345UL);
	SAME("[%10s]", "abc");
	SAME("[%-10s]", "abc");
	SAME("[%2s]", "hello");
	SAME("[%5c]", 'z');
	SAME("[%-5c]", 'z');
	SAME("[%20zu]", SIZE_MAX);
	SAME("[%18p]", (void *)0x1234abcdUL);
	SAME("[%-18p]", (void *)0x1234abcdUL);
	SAME("[%100d]", 1);		/* wider than some truncation sizes */
}

static void test_strings_and_misc(void)
{
	char buf[64];

	SAME("%s", "hello");
	SAME("%s", "");
	SAME("%s|%s", "a", "bc");
	SAME("%c", 'A');
	SAME("%c%c%c", 'x', 'y', 'z');
	SAME("%%");
	SAME("100%% sure");
	SAME("%p", (void *)0x1234abcdUL);
	SAME("%p", (void *)UINTPTR_MAX);
	SAME("plain text, no conversions");
	SAME("a=%d b=%s c=%x d=%c e=%lu f=%%\n", -5, "str", 255U, 'q', 99UL);
	SAME("discv: vm%u: %s (%lx..%lx)", 3U, "guest0", 0x80000000UL, 0x88000000UL);

	/* NULL %p: "0x0" here (glibc prints "(nil)"). */
	CHECK_EQ(format(buf, sizeof(buf), "%p", (void *)NULL), 3);
	CHECK_STR(buf, "0x0");
}

/* Formats the compiler cannot check (unknown conversions, a lone '%'):
 * through format_v, without the printf attribute. */
static int fmt_unchecked(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = format_v(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

static void test_odd_formats(void)
{
	char buf[32];

	/* NULL %s prints (null), as glibc does (gcc rejects a literal NULL %s
	 * at compile time, hence unchecked). */
	CHECK_EQ(fmt_unchecked(buf, sizeof(buf), "[%s]", (char *)NULL), 8);
	CHECK_STR(buf, "[(null)]");
	CHECK_EQ(fmt_unchecked(buf, sizeof(buf), "[%8s]", (char *)NULL), 10);
	CHECK_STR(buf, "[  (null)]");
	CHECK_EQ(fmt_unchecked(buf, sizeof(buf), "[%-7s]", (char *)NULL), 9);
	CHECK_STR(buf, "[(null) ]");
	/* '-' wins over '0', in either order (gcc warns on both for printf). */
	CHECK_EQ(fmt_unchecked(buf, sizeof(buf), "[%-05d]", 42), 7);
	CHECK_STR(buf, "[42   ]");
	CHECK_EQ(fmt_unchecked(buf, sizeof(buf), "[%0-5d]", -4), 7);
	CHECK_STR(buf, "[-4   ]");

	CHECK_EQ(fmt_unchecked(buf, sizeof(buf), "abc%"), 3);	/* lone % at the end */
	CHECK_STR(buf, "abc");
	CHECK_EQ(fmt_unchecked(buf, sizeof(buf), "%q%d", 5), 3);	/* unknown: as written */
	CHECK_STR(buf, "%q5");
	CHECK_EQ(fmt_unchecked(buf, sizeof(buf), "%lld", -1LL), 2);
	CHECK_STR(buf, "-1");
}

static void test_truncation(void)
{
	char buf[16];

	/* The return value is the full length; the buffer is terminated. */
	memset(buf, 'x', sizeof(buf));
	CHECK_EQ(format(buf, 5, "%s", "hello world"), 11);
	CHECK_STR(buf, "hell");
	CHECK_EQ(buf[5], 'x');	/* nothing written past size */

	memset(buf, 'x', sizeof(buf));
	CHECK_EQ(format(buf, 1, "%d", 12345), 5);
	CHECK_EQ(buf[0], '\0');
	CHECK_EQ(buf[1], 'x');

	memset(buf, 'x', sizeof(buf));
	CHECK_EQ(format(buf, 0, "%s", "abc"), 3);	/* size 0: nothing written */
	CHECK_EQ(buf[0], 'x');
	CHECK_EQ(format(NULL, 0, "%d-%s", 42, "abc"), 6);	/* C99: NULL with size 0 */

	memset(buf, 'x', sizeof(buf));
	CHECK_EQ(format(buf, 4, "%d", -12345), 6);
	CHECK_STR(buf, "-12");
	CHECK_EQ(format(buf, 5, "%05d", 7), 5);
	CHECK_STR(buf, "0000");
	CHECK_EQ(format(buf, 3, "%05d", -7), 5);
	CHECK_STR(buf, "-0");
	CHECK_EQ(format(buf, 3, "[%-6s]", "ab"), 8);
	CHECK_STR(buf, "[a");
	/* Exactly fitting: no truncation. */
	CHECK_EQ(format(buf, 6, "%s", "hello"), 5);
	CHECK_STR(buf, "hello");
	CHECK_EQ(format(buf, 5, "%s", "hello"), 5);
	CHECK_STR(buf, "hell");
}

int main(void)
{
	RUN(test_integers);
	RUN(test_widths_and_flags);
	RUN(test_strings_and_misc);
	RUN(test_odd_formats);
	RUN(test_truncation);
	return unit_report("test_format");
}
