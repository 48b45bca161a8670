/*
 * hvstat: the hypervisor's counters, one JSON object per line, prefixed
 * "hvstat: ". One line per VM and one total line. Printed on every
 * shutdown (and by the monitor's `stats`, capability 2). Field names are
 * stable once published: tests and benchmarks parse them.
 */
#ifndef DISCV_HVSTAT_H
#define DISCV_HVSTAT_H

#include <stddef.h>

struct vm;
struct host_memory;

/* Formats the VM's line (without the prefix) into buf; returns length. */
size_t hvstat_format_vm(char *buf, size_t size, const struct vm *vm);
size_t hvstat_format_total(char *buf, size_t size, const struct host_memory *hm);

/* The host memory the total line describes (main.c, once it exists). */
void hvstat_init(const struct host_memory *hm);

/* Prints every VM's line and the total line to the console. */
void hvstat_print(void);

#endif
