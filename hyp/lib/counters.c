#include "lib/counters.h"
#include "lib/format.h"

static void append(struct counters *c, const char *fmt, const char *name, const char *s,
		   uint64_t v)
{
	size_t at = c->len < c->size ? c->len : c->size;

	c->len += (size_t)format(c->buf + at, c->size - at, fmt, c->fields ? "," : "", name,
				 s ? s : "", v);
	c->fields++;
}

void counters_begin(struct counters *c, char *buf, size_t size)
{
	c->buf = buf;
	c->size = size;
	c->len = (size_t)format(buf, size, "{");
	c->fields = 0;
}

void counters_u64(struct counters *c, const char *name, uint64_t value)
{
	append(c, "%s\"%s\":%s%lu", name, "", value);
}

void counters_string(struct counters *c, const char *name, const char *value)
{
	append(c, "%s\"%s\":\"%s\"", name, value, 0);
}

void counters_raw(struct counters *c, const char *name, const char *json)
{
	append(c, "%s\"%s\":%s", name, json, 0);
}

size_t counters_end(struct counters *c)
{
	size_t at = c->len < c->size ? c->len : c->size;

	c->len += (size_t)format(c->buf + at, c->size - at, "}");
	return c->len < c->size ? c->len : c->size - 1;
}
