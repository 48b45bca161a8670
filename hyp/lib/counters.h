/*
 * The one interface through which every mechanism hands its counters to
 * hvstat (hyp/monitor/hvstat.c): it appends named values to a JSON
 * object being written. A mechanism exports a function that takes a
 * `struct counters *` and calls counters_u64() for each of its fields;
 * it never formats JSON itself and never names hvstat.
 */
#ifndef DISCV_COUNTERS_H
#define DISCV_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

struct counters {
	char *buf;
	size_t size;
	size_t len;		/* may run past size: the output is cut, never overrun */
	unsigned fields;	/* written so far (for the commas) */
};

void counters_begin(struct counters *c, char *buf, size_t size);
void counters_u64(struct counters *c, const char *name, uint64_t value);
void counters_string(struct counters *c, const char *name, const char *value);
/* A value already formatted as JSON (an array, an object). */
void counters_raw(struct counters *c, const char *name, const char *json);
/* Closes the object; returns its length (at most size - 1). */
size_t counters_end(struct counters *c);

#endif
