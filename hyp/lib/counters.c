#include <stdarg.h>
#include "lib/counters.h"
#include "lib/format.h"

/* Appends formatted text; once the text has run past the buffer, only
 * its length still grows (format writes nothing into no room). */
static void put(struct counters *c, const char *fmt, ...)
{
	size_t at = c->len < c->size ? c->len : c->size;
	va_list ap;

	va_start(ap, fmt);
	c->len += (size_t)format_v(c->buf + at, c->size - at, fmt, ap);
	va_end(ap);
}

/* Starts a field: the comma before it, then "name":. */
static void field(struct counters *c, const char *name)
{
	put(c, "%s\"%s\":", c->fields++ ? "," : "", name);
}

void counters_begin(struct counters *c, char *buf, size_t size)
{
	c->buf = buf;
	c->size = size;
	c->len = 0;
	c->fields = 0;
	put(c, "{");
}

void counters_u64(struct counters *c, const char *name, uint64_t value)
{
	field(c, name);
	put(c, "%lu", value);
}

void counters_string(struct counters *c, const char *name, const char *value)
{
	field(c, name);
	put(c, "\"%s\"", value);
}

void counters_raw(struct counters *c, const char *name, const char *json)
{
	field(c, name);
	put(c, "%s", json);
}

size_t counters_end(struct counters *c)
{
	put(c, "}");
	return c->len < c->size ? c->len : c->size - 1;
}
