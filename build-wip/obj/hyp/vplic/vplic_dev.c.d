build-wip/obj/hyp/vplic/vplic_dev.c.o: hyp/vplic/vplic_dev.c \
 hyp/core/vcpu.h hyp/core/vcpu_context.h hyp/core/vm.h \
 hyp/g-stage/gstage.h hyp/mem/host_pages.h hyp/arch/riscv_defs.h \
 hyp/lib/spinlock.h hyp/core/mmio.h hyp/lib/counters.h hyp/vplic/vplic.h \
 hyp/vplic/vplic_dev.h hyp/core/irq_line.h
hyp/core/vcpu.h:
hyp/core/vcpu_context.h:
hyp/core/vm.h:
hyp/g-stage/gstage.h:
hyp/mem/host_pages.h:
hyp/arch/riscv_defs.h:
hyp/lib/spinlock.h:
hyp/core/mmio.h:
hyp/lib/counters.h:
hyp/vplic/vplic.h:
hyp/vplic/vplic_dev.h:
hyp/core/irq_line.h:
