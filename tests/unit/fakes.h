/*
 * Test doubles for the arch hooks the SBI handlers call (hyp/vcpu.h,
 * hyp/vm.h, hyp/guest_console.h): each records its calls in `fake` so a
 * test can assert what was asked of the machine. fake_reset() clears
 * everything between tests.
 */
#ifndef DISCV_UNIT_FAKES_H
#define DISCV_UNIT_FAKES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vcpu;
struct vm;

#define FAKE_LOG 64
#define FAKE_CONSOLE 16384

struct fake_state {
	/* vcpu_set_timer */
	unsigned timer_calls;
	struct vcpu *timer_vcpu;
	uint64_t timer_deadline;
	/* vcpu_raise_ipi: targets in call order */
	unsigned ipi_calls;
	struct vcpu *ipi_target[FAKE_LOG];
	/* vcpu_clear_ipi */
	unsigned clear_ipi_calls;
	struct vcpu *clear_ipi_vcpu;
	/* vcpu_request: targets and bits in call order */
	unsigned request_calls;
	struct vcpu *request_target[FAKE_LOG];
	unsigned request_bits[FAKE_LOG];
	/* vcpu_read_guest_u64: answers with guest_u64 unless guest_u64_fault */
	unsigned read_calls;
	uint64_t read_gva;
	uint64_t guest_u64;
	bool guest_u64_fault;
	/* vm_flush_gstage (the G-stage's remote fence) */
	unsigned flush_calls;
	/* vm_device_uses_page: a page a device's rings are in (0: none) */
	uint64_t device_page;
	/* vm_system_reset */
	unsigned reset_calls;
	struct vm *reset_vm;
	unsigned long reset_type, reset_reason;
	/* guest console output: every byte, from putc and write, in order */
	unsigned putc_calls, write_calls;
	struct vm *console_vm;
	size_t out_len;
	char out[FAKE_CONSOLE];
	/* guest console input: getc returns in[in_pos++] until in_len */
	unsigned getc_calls;
	size_t in_len, in_pos;
	char in[FAKE_CONSOLE];
};

extern struct fake_state fake;

void fake_reset(void);
/* Queues keyboard input for guest_console_getc. */
void fake_console_input(const char *s, size_t n);

#endif
