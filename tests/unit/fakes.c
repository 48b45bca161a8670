/* Test doubles for the arch and console hooks: see fakes.h. */
#include <string.h>
#include "fakes.h"
#include "core/guest_console.h"
#include "core/vcpu.h"
#include "core/vm.h"

struct fake_state fake;

void fake_reset(void)
{
	memset(&fake, 0, sizeof(fake));
}

void fake_console_input(const char *s, size_t n)
{
	if (n > sizeof(fake.in) - fake.in_len)
		n = sizeof(fake.in) - fake.in_len;
	memcpy(fake.in + fake.in_len, s, n);
	fake.in_len += n;
}

void vcpu_set_timer(struct vcpu *v, uint64_t deadline)
{
	fake.timer_calls++;
	fake.timer_vcpu = v;
	fake.timer_deadline = deadline;
}

void vcpu_raise_ipi(struct vcpu *target)
{
	if (fake.ipi_calls < FAKE_LOG)
		fake.ipi_target[fake.ipi_calls] = target;
	fake.ipi_calls++;
}

void vcpu_clear_ipi(struct vcpu *v)
{
	fake.clear_ipi_calls++;
	fake.clear_ipi_vcpu = v;
}

void vcpu_request(struct vcpu *target, unsigned requests)
{
	if (fake.request_calls < FAKE_LOG) {
		fake.request_target[fake.request_calls] = target;
		fake.request_bits[fake.request_calls] = requests;
	}
	fake.request_calls++;
}

bool vcpu_read_guest_u64(struct vcpu *v, uint64_t gva, uint64_t *value)
{
	(void)v;
	fake.read_calls++;
	fake.read_gva = gva;
	if (fake.guest_u64_fault)
		return false;
	*value = fake.guest_u64;
	return true;
}

void vm_system_reset(struct vm *vm, unsigned long type, unsigned long reason)
{
	fake.reset_calls++;
	fake.reset_vm = vm;
	fake.reset_type = type;
	fake.reset_reason = reason;
}

void guest_console_putc(struct vm *vm, char c)
{
	fake.putc_calls++;
	fake.console_vm = vm;
	if (fake.out_len < sizeof(fake.out))
		fake.out[fake.out_len++] = c;
}

void guest_console_write(struct vm *vm, const char *s, size_t n)
{
	fake.write_calls++;
	fake.console_vm = vm;
	for (size_t i = 0; i < n && fake.out_len < sizeof(fake.out); i++)
		fake.out[fake.out_len++] = s[i];
}

int guest_console_getc(struct vm *vm)
{
	fake.getc_calls++;
	fake.console_vm = vm;
	if (fake.in_pos >= fake.in_len)
		return -1;
	return (unsigned char)fake.in[fake.in_pos++];
}

void vm_wait_for_page(void)
{
}

bool vm_device_uses_page(const struct vm *vm, uint64_t gpa)
{
	(void)vm;
	return fake.device_page && (gpa & ~0xfffUL) == fake.device_page;
}

void vm_flush_gstage(struct vm *vm)
{
	(void)vm;
	fake.flush_calls++;
}
