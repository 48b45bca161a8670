build-wip/obj/hyp/core/vcpu.c.o: hyp/core/vcpu.c hyp/arch/csr.h \
 hyp/arch/riscv_defs.h hyp/g-stage/gstage_fence.h hyp/core/sched.h \
 hyp/core/runqueue.h hyp/host/hart.h hyp/core/vcpu.h \
 hyp/core/vcpu_context.h hyp/core/vcpu_exit.h hyp/core/vm.h \
 hyp/g-stage/gstage.h hyp/mem/host_pages.h hyp/lib/spinlock.h \
 hyp/core/mmio.h hyp/core/vm_table.h
hyp/arch/csr.h:
hyp/arch/riscv_defs.h:
hyp/g-stage/gstage_fence.h:
hyp/core/sched.h:
hyp/core/runqueue.h:
hyp/host/hart.h:
hyp/core/vcpu.h:
hyp/core/vcpu_context.h:
hyp/core/vcpu_exit.h:
hyp/core/vm.h:
hyp/g-stage/gstage.h:
hyp/mem/host_pages.h:
hyp/lib/spinlock.h:
hyp/core/mmio.h:
hyp/core/vm_table.h:
