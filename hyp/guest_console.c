#include "console.h"
#include "guest_console.h"
#include "lib/format.h"
#include "vm.h"

/* Emits the buffered text. A line that was partly flushed before (a
 * prompt, then the echo of what was typed) gets no second prefix. */
static void emit(struct vm *vm, int newline)
{
	struct guest_console *con = &vm->console;
	char out[GUEST_CONSOLE_LINE + VM_NAME_MAX + 8];
	size_t n = 0;

	if (!con->continued)
		n = (size_t)format(out, sizeof(out), "[%s] ", vm->name);
	for (unsigned i = 0; i < con->len; i++)
		out[n++] = con->line[i];
	if (newline)
		out[n++] = '\n';
	console_write(out, n);
	con->continued = !newline;
	con->len = 0;
}

void guest_console_putc(struct vm *vm, char c)
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

void guest_console_write(struct vm *vm, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		guest_console_putc(vm, s[i]);
}

void guest_console_flush(struct vm *vm)
{
	if (vm->console.len)
		emit(vm, 0);
}

int guest_console_getc(struct vm *vm)
{
	/* The guest is polling for input: show it its unfinished line. */
	guest_console_flush(vm);
	if (vm->id != 0)
		return -1;	/* one keyboard: it belongs to the first guest */
	return console_getchar();
}
