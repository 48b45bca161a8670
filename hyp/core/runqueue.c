#include <stddef.h>
#include "core/runqueue.h"
#include "core/vcpu.h"
#include "core/vm.h"

bool runqueue_add(struct runqueue *rq, struct vcpu *v)
{
	if (rq->n == RUNQUEUE_MAX)
		return false;
	rq->vcpu[rq->n++] = v;
	return true;
}

struct vcpu *runqueue_pick(struct runqueue *rq, uint64_t now, unsigned *runnable)
{
	struct vcpu *chosen = NULL;
	unsigned last = rq->cursor;	/* rq->cursor moves when one is chosen */

	*runnable = 0;
	for (unsigned step = 1; step <= rq->n; step++) {
		unsigned i = (last + step) % rq->n;
		struct vcpu *v = rq->vcpu[i];
		if (!vm_is_running(v->vm) || !vcpu_wake_if_pending(v, now))
			continue;
		(*runnable)++;
		if (!chosen) {
			chosen = v;
			rq->cursor = i;
		}
	}
	return chosen;
}

uint64_t runqueue_next_deadline(const struct runqueue *rq)
{
	uint64_t deadline = UINT64_MAX;

	for (unsigned i = 0; i < rq->n; i++) {
		const struct vcpu *v = rq->vcpu[i];
		enum vcpu_power p = vcpu_power(v);
		if (vm_is_running(v->vm) && (p == VCPU_WAITING || p == VCPU_SUSPENDED) &&
		    v->csrs.vstimecmp < deadline)
			deadline = v->csrs.vstimecmp;
	}
	return deadline;
}
