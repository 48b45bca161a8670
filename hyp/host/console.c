#include <stdarg.h>
#include "host/console.h"
#include "host/firmware.h"
#include "lib/format.h"
#include "host/machine.h"
#include "lib/spinlock.h"

static struct spinlock console_lock;
static unsigned long writes;

void console_write(const char *s, size_t n)
{
	spin_lock(&console_lock);
	for (size_t i = 0; i < n; i++)
		firmware_putchar(s[i]);
	writes++;
	spin_unlock(&console_lock);
}

unsigned long console_write_count(void)
{
	return __atomic_load_n(&writes, __ATOMIC_RELAXED);
}

int console_getchar(void)
{
	return firmware_getchar();
}

static void (*input_handler)(char c);

void console_set_input_handler(void (*handler)(char c))
{
	input_handler = handler;
}

void console_poll_input(void)
{
	int c;

	while (input_handler && (c = console_getchar()) >= 0)
		input_handler((char)c);
}

static void console_vprintf(const char *prefix, const char *fmt, va_list ap,
			    const char *suffix)
{
	char line[512];
	size_t len = 0;

	len += (size_t)format(line, sizeof(line), "%s", prefix);
	len += (size_t)format_v(line + len, sizeof(line) - len, fmt, ap);
	if (len >= sizeof(line))
		len = sizeof(line) - 1;
	len += (size_t)format(line + len, sizeof(line) - len, "%s", suffix);
	if (len >= sizeof(line))
		len = sizeof(line) - 1;
	console_write(line, len);
}

void console_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	console_vprintf("", fmt, ap, "");
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	console_vprintf("discv: ", fmt, ap, "\n");
	va_end(ap);
}

void hyp_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	console_vprintf("discv: PANIC: ", fmt, ap, "\n");
	va_end(ap);
	machine_exit(MACHINE_EXIT_HYP_PANIC);
}
