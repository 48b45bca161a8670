/*
 * SBI Debug Console (SBI 2.0 chapter 12). Buffers are given by guest-
 * physical address (lo = low XLEN bits, hi = the bits above XLEN, so hi
 * must be 0 on RV64) and checked against the VM's RAM before any access.
 * Output goes through the VM's console (line-prefixed like the rest).
 */
#include "host/console.h"
#include "core/guest_console.h"
#include "core/guest_memory.h"
#include "sbi/sbi.h"
#include "core/vcpu.h"
#include "core/vm.h"

#define DBCN_MAX_PER_CALL 4096	/* a partial write is allowed (SBI 12.1) */

static bool buffer_valid(struct vm *vm, unsigned long len, unsigned long lo,
			 unsigned long hi)
{
	return hi == 0 && guest_memory_contains(vm, lo, len);
}

static void dbcn_handle(struct vcpu *v, unsigned long eid, unsigned long fid,
			const unsigned long *args, struct sbi_ret *ret)
{
	struct vm *vm = v->vm;
	unsigned long len = args[0];
	char chunk[256];

	(void)eid;
	ret->error = SBI_SUCCESS;
	ret->value = 0;
	switch (fid) {
	case SBI_DBCN_CONSOLE_WRITE:
		if (!buffer_valid(vm, len, args[1], args[2])) {
			ret->error = SBI_ERR_INVALID_PARAM;
			break;
		}
		if (len > DBCN_MAX_PER_CALL)
			len = DBCN_MAX_PER_CALL;
		while (ret->value < len) {
			unsigned long n = len - ret->value;
			if (n > sizeof(chunk))
				n = sizeof(chunk);
			if (!guest_copy_from(vm, chunk, args[1] + ret->value, n)) {
				ret->error = SBI_ERR_FAILED;
				break;
			}
			guest_console_write(vm, chunk, n);
			ret->value += n;
		}
		break;
	case SBI_DBCN_CONSOLE_READ:
		if (!buffer_valid(vm, len, args[1], args[2])) {
			ret->error = SBI_ERR_INVALID_PARAM;
			break;
		}
		while (ret->value < len && ret->value < sizeof(chunk)) {
			int c = guest_console_getc(vm);
			if (c < 0)
				break;
			chunk[ret->value++] = (char)c;
		}
		if (ret->value && !guest_copy_to(vm, args[1], chunk, ret->value))
			ret->error = SBI_ERR_FAILED;
		break;
	case SBI_DBCN_CONSOLE_WRITE_BYTE:
		guest_console_putc(vm, (char)(args[0] & 0xff));
		break;
	default:
		ret->error = SBI_ERR_NOT_SUPPORTED;
		break;
	}
}

const struct sbi_extension sbi_ext_dbcn = {
	.name = "dbcn",
	.eid_min = SBI_EXT_DBCN,
	.eid_max = SBI_EXT_DBCN,
	.handle = dbcn_handle,
};
