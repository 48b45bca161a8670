build-wip/obj/hyp/guest/config.c.o: hyp/guest/config.c \
 hyp/lib/include/string.h hyp/guest/config.h hyp/lib/format.h \
 hyp/core/vm.h hyp/g-stage/gstage.h hyp/mem/host_pages.h \
 hyp/arch/riscv_defs.h hyp/lib/spinlock.h hyp/core/mmio.h hyp/core/vcpu.h \
 hyp/core/vcpu_context.h
hyp/lib/include/string.h:
hyp/guest/config.h:
hyp/lib/format.h:
hyp/core/vm.h:
hyp/g-stage/gstage.h:
hyp/mem/host_pages.h:
hyp/arch/riscv_defs.h:
hyp/lib/spinlock.h:
hyp/core/mmio.h:
hyp/core/vcpu.h:
hyp/core/vcpu_context.h:
