build-wip/obj/hyp/core/runqueue.c.o: hyp/core/runqueue.c \
 hyp/core/runqueue.h hyp/core/vcpu.h hyp/core/vcpu_context.h \
 hyp/core/vm.h hyp/g-stage/gstage.h hyp/mem/host_pages.h \
 hyp/arch/riscv_defs.h hyp/lib/spinlock.h hyp/core/mmio.h
hyp/core/runqueue.h:
hyp/core/vcpu.h:
hyp/core/vcpu_context.h:
hyp/core/vm.h:
hyp/g-stage/gstage.h:
hyp/mem/host_pages.h:
hyp/arch/riscv_defs.h:
hyp/lib/spinlock.h:
hyp/core/mmio.h:
