build-wip/obj/hyp/core/vcpu_state.c.o: hyp/core/vcpu_state.c \
 hyp/lib/include/string.h hyp/arch/riscv_defs.h hyp/arch/sbi_defs.h \
 hyp/core/vcpu.h hyp/core/vcpu_context.h hyp/core/vm.h \
 hyp/g-stage/gstage.h hyp/mem/host_pages.h hyp/lib/spinlock.h \
 hyp/core/mmio.h
hyp/lib/include/string.h:
hyp/arch/riscv_defs.h:
hyp/arch/sbi_defs.h:
hyp/core/vcpu.h:
hyp/core/vcpu_context.h:
hyp/core/vm.h:
hyp/g-stage/gstage.h:
hyp/mem/host_pages.h:
hyp/lib/spinlock.h:
hyp/core/mmio.h:
