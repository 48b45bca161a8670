#include "console.h"
#include "smp.h"

/* One line at a time when several harts print. */
static struct smp_lock console_lock;

/* Legacy console_putchar: a7 = EID 1, a0 = the byte. */
static void putchar_sbi(char c)
{
	register unsigned long a0 __asm__("a0") = (unsigned char)c;
	register unsigned long a7 __asm__("a7") = 1;

	__asm__ volatile("ecall" : "+r"(a0) : "r"(a7) : "memory", "a1");
}

void vprint(const char *fmt, va_list ap)
{
	char line[512];
	int n = format_v(line, sizeof(line), fmt, ap);

	if (n > (int)sizeof(line) - 1)
		n = sizeof(line) - 1;
	smp_lock(&console_lock);
	for (int i = 0; i < n; i++)
		putchar_sbi(line[i]);
	smp_unlock(&console_lock);
}

void print(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint(fmt, ap);
	va_end(ap);
}
