#include "host/console.h"
#include "core/guest_console.h"
#include "host/hart.h"
#include "lib/format.h"
#include "core/vm.h"

/* Emits the buffered text. A line that was partly flushed before (a
 * prompt, then the echo of what was typed) gets no second prefix. */
static void emit(struct vm *vm, int newline)
{
	struct guest_console *con = &vm->console;
	char out[GUEST_CONSOLE_LINE + VM_NAME_MAX + 8];
	size_t n = 0;

	/* A continued line goes on without a prefix, unless other output came
	 * in between: then the rest is no longer next to its beginning. */
	if (!con->continued || console_write_count() != con->writes_seen)
		n = (size_t)format(out, sizeof(out), "[%s] ", vm->name);
	for (unsigned i = 0; i < con->len; i++)
		out[n++] = con->line[i];
	if (newline)
		out[n++] = '\n';
	console_write(out, n);
	con->writes_seen = console_write_count();
	con->continued = !newline;
	con->len = 0;
}

/* Adds one byte to the line; the caller holds the console lock. */
static void put_locked(struct vm *vm, char c)
{
	struct guest_console *con = &vm->console;

	if (c == '\n') {
		/* The guest's tty sends "\r\n": keep the log free of '\r'. */
		if (con->len && con->line[con->len - 1] == '\r')
			con->len--;
		emit(vm, 1);
		return;
	}
	con->line[con->len++] = c;
	if (con->len == sizeof(con->line))
		emit(vm, 0);
}

void guest_console_putc(struct vm *vm, char c)
{
	spin_lock(&vm->console.lock);
	put_locked(vm, c);
	spin_unlock(&vm->console.lock);
}

void guest_console_write(struct vm *vm, const char *s, size_t n)
{
	spin_lock(&vm->console.lock);
	for (size_t i = 0; i < n; i++)
		put_locked(vm, s[i]);
	spin_unlock(&vm->console.lock);
}

void guest_console_flush(struct vm *vm)
{
	spin_lock(&vm->console.lock);
	if (vm->console.len)
		emit(vm, 0);
	spin_unlock(&vm->console.lock);
}

void guest_console_push_input(struct vm *vm, char c)
{
	struct guest_console *con = &vm->console;

	spin_lock(&con->lock);
	if (con->input_tail - con->input_head < GUEST_INPUT_BUF)	/* else dropped */
		con->input[con->input_tail++ % GUEST_INPUT_BUF] = c;
	spin_unlock(&con->lock);
}

int guest_console_getc(struct vm *vm)
{
	struct guest_console *con = &vm->console;
	int c = -1;

	/* The guest is polling for input: show it its unfinished line. */
	guest_console_flush(vm);
	if (this_hart()->index == 0)
		console_poll_input();	/* the boot hart reads the keyboard */
	spin_lock(&con->lock);
	if (con->input_head != con->input_tail)
		c = (unsigned char)con->input[con->input_head++ % GUEST_INPUT_BUF];
	spin_unlock(&con->lock);
	return c;
}
