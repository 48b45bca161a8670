/*
 * The hypervisor's accesses to guest pages by host address (core/vm.c's
 * vm_access_begin/end and vm_wait_for_accesses), faked for one thread
 * that plays every hart. Accesses never nest. A wait that finds one open
 * runs access_finish_step, the other hart's load or store and its
 * guest_memory_touch_end, once; with no step set, the open access is the
 * waiter's own (a fence inside an access), and that is a failure.
 * Include from one file of a test binary, after unit.h and
 * core/guest_memory.h.
 */
#ifndef DISCV_UNIT_FAKE_ACCESSES_H
#define DISCV_UNIT_FAKE_ACCESSES_H

static unsigned accesses_open, access_waits_seen;
static void (*access_finish_step)(void);

/* Runs the other hart's step now, once, if no wait has run it. */
static void run_access_finish_step(void)
{
	void (*step)(void) = access_finish_step;

	access_finish_step = NULL;
	if (step)
		step();
}

void vm_access_begin(void)
{
	CHECK_EQ(accesses_open, 0);	/* never nested */
	accesses_open++;
}

void vm_access_end(void)
{
	CHECK_EQ(accesses_open, 1);
	accesses_open--;
}

void vm_wait_for_accesses(void)
{
	if (!accesses_open)
		return;
	access_waits_seen++;
	CHECK(access_finish_step != NULL);	/* else: a fence inside our own access */
	run_access_finish_step();
	CHECK_EQ(accesses_open, 0);
}

uint64_t vm_access_waits(void)
{
	return access_waits_seen;
}

/* A device's touch whose access ends at once: the tests then read or
 * write the page as the device's own step (guest_memory.h's rule holds:
 * no fence comes between). */
static enum touch_result ended_at_once(enum touch_result r)
{
	if (r == TOUCH_OK)
		guest_memory_touch_end();
	return r;
}

__attribute__((unused)) static enum touch_result device_touch(struct vm *vm, uint64_t gpa,
							       uint64_t *hpa)
{
	return ended_at_once(guest_memory_touch(vm, gpa, hpa));
}

__attribute__((unused)) static enum touch_result device_touch_writable(struct vm *vm, uint64_t gpa,
									uint64_t *hpa)
{
	return ended_at_once(guest_memory_touch_writable(vm, gpa, hpa));
}

#endif
