/*
 * Each guest's console: what the guest writes through SBI is cut into
 * lines, and every line goes to the host console prefixed with the guest's
 * name ("[guest0] ..."), so many guests can share one terminal and a test
 * can tell who printed what.
 */
#ifndef DISCV_GUEST_CONSOLE_H
#define DISCV_GUEST_CONSOLE_H

#include <stddef.h>

struct vm;

void guest_console_putc(struct vm *vm, char c);
void guest_console_write(struct vm *vm, const char *s, size_t n);

/* Prints what is buffered of an unfinished line (a shell prompt). */
void guest_console_flush(struct vm *vm);

/* The next byte of keyboard input for this guest, or -1. */
int guest_console_getc(struct vm *vm);

/* Queues a byte typed for this guest (monitor.c routes the keyboard). */
void guest_console_push_input(struct vm *vm, char c);

#endif
