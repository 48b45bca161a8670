/*
 * The host console: where the hypervisor's own messages, every guest's
 * console lines and the hvstat lines go. Output is serialised by a lock so
 * lines from different harts never interleave mid-line.
 */
#ifndef DISCV_CONSOLE_H
#define DISCV_CONSOLE_H

#include <stddef.h>

/* Writes n bytes to the host console, atomically with respect to other
 * console_write calls. */
void console_write(const char *s, size_t n);

/* How many writes the console has had: tells a guest line that was cut
 * by someone else's output that it needs its prefix again. */
unsigned long console_write_count(void);

/* Returns the next byte typed on the host console, or -1. */
int console_getchar(void);

/* The keyboard's reader registers here (the monitor, hyp/monitor/): the
 * host layer does not know who routes the keys. */
void console_set_input_handler(void (*handler)(char c));

/* Reads every byte waiting on the host console and hands each to the
 * handler. Called by the boot hart only (its run loop, and a guest of it
 * polling its SBI console), so the handler never runs on two harts. */
void console_poll_input(void);

/* printf to the host console, no prefix. */
void console_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A hypervisor message: "discv: " + text + newline. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* An invariant broke: prints "discv: PANIC: ..." and exits QEMU with a
 * failure status. Never returns. Guests cannot reach this (their faults are
 * contained); a panic is a hypervisor bug. */
void hyp_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
