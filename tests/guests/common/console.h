/*
 * The test guests' console: printf-style lines through the SBI legacy
 * console_putchar (SBI 2.0 section 5.2), formatted by the hypervisor's own
 * small vsnprintf (hyp/lib/format.c: %s %c %d %u %x %p, l and z, widths).
 */
#ifndef TEST_GUEST_CONSOLE_H
#define TEST_GUEST_CONSOLE_H

#include <stdarg.h>
#include "lib/format.h"

void print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vprint(const char *fmt, va_list ap);

#endif
