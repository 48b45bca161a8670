build-wip/obj/hyp/core/guest_memory.c.o: hyp/core/guest_memory.c \
 hyp/lib/include/string.h hyp/core/guest_memory.h hyp/core/vm.h \
 hyp/g-stage/gstage.h hyp/mem/host_pages.h hyp/arch/riscv_defs.h \
 hyp/lib/spinlock.h hyp/core/mmio.h hyp/core/vcpu.h \
 hyp/core/vcpu_context.h
hyp/lib/include/string.h:
hyp/core/guest_memory.h:
hyp/core/vm.h:
hyp/g-stage/gstage.h:
hyp/mem/host_pages.h:
hyp/arch/riscv_defs.h:
hyp/lib/spinlock.h:
hyp/core/mmio.h:
hyp/core/vcpu.h:
hyp/core/vcpu_context.h:
