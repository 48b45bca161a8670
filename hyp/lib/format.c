#include <stdint.h>
#include "lib/format.h"

struct out {
	char *buf;
	size_t size;
	size_t len;	/* characters produced so far, even past size */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_padded(struct out *o, const char *s, size_t n, int width,
		       int left, char pad)
{
	int fill = width > (int)n ? width - (int)n : 0;

	if (!left)
		while (fill-- > 0)
			put(o, pad);
	for (size_t i = 0; i < n; i++)
		put(o, s[i]);
	if (left)
		while (fill-- > 0)
			put(o, ' ');
}

/* Writes the digits of v in base into the end of tmp; returns the start. */
static char *digits(char *end, uint64_t v, unsigned base, int upper)
{
	const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	*--end = '\0';
	do {
		*--end = set[v % base];
		v /= base;
	} while (v);
	return end;
}

int format_v(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };
	char tmp[24];

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		int left = 0, width = 0, lng = 0;
		char pad = ' ';
		for (; *fmt == '-' || *fmt == '0'; fmt++) {
			if (*fmt == '-')
				left = 1;
			else
				pad = '0';
		}
		for (; *fmt >= '0' && *fmt <= '9'; fmt++)
			width = width * 10 + (*fmt - '0');
		for (; *fmt == 'l' || *fmt == 'z'; fmt++)
			lng = 1;	/* long, long long and size_t are 64-bit here */
		if (left)
			pad = ' ';

		uint64_t u;
		int64_t s;
		char *p;
		switch (*fmt) {
		case 'd':
		case 'i':
			s = lng ? va_arg(ap, long long) : va_arg(ap, int);
			u = s < 0 ? -(uint64_t)s : (uint64_t)s;
			p = digits(tmp + sizeof(tmp), u, 10, 0);
			if (s < 0 && pad == '0') {
				put(&o, '-');	/* the sign goes before the zeros */
				if (width > 0)
					width--;
			} else if (s < 0) {
				*--p = '-';
			}
			put_padded(&o, p, (size_t)(tmp + sizeof(tmp) - 1 - p), width, left, pad);
			break;
		case 'u':
		case 'x':
		case 'X':
			u = lng ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned int);
			p = digits(tmp + sizeof(tmp), u, *fmt == 'u' ? 10 : 16, *fmt == 'X');
			put_padded(&o, p, (size_t)(tmp + sizeof(tmp) - 1 - p), width, left, pad);
			break;
		case 'p':
			u = (uintptr_t)va_arg(ap, void *);
			p = digits(tmp + sizeof(tmp), u, 16, 0);
			*--p = 'x';
			*--p = '0';
			put_padded(&o, p, (size_t)(tmp + sizeof(tmp) - 1 - p), width, left, pad);
			break;
		case 'c':
			tmp[0] = (char)va_arg(ap, int);
			put_padded(&o, tmp, 1, width, left, ' ');
			break;
		case 's':
			p = va_arg(ap, char *);
			if (!p)
				p = "(null)";
			size_t n = 0;
			while (p[n])
				n++;
			put_padded(&o, p, n, width, left, ' ');
			break;
		case '%':
			put(&o, '%');
			break;
		case '\0':
			fmt--;	/* a lone '%' at the end: stop at the NUL */
			break;
		default:	/* unknown conversion: print it as written */
			put(&o, '%');
			put(&o, *fmt);
			break;
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int format(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = format_v(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
