/*
 * A small vsnprintf: %d %i %u %x %X %c %s %p %% with the l, ll, z
 * length modifiers, a field width and the '0' and '-' flags.
 * Pure code: compiled unchanged into the host unit tests.
 */
#ifndef DISCV_FORMAT_H
#define DISCV_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

/* Formats into buf (always NUL-terminated when size > 0). Returns the
 * length the full output would have, like C99 vsnprintf. */
int format_v(char *buf, size_t size, const char *fmt, va_list ap);
int format(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
