build-wip/obj/hyp/sbi/sbi_hsm.c.o: hyp/sbi/sbi_hsm.c \
 hyp/core/guest_memory.h hyp/sbi/sbi.h hyp/arch/sbi_defs.h \
 hyp/core/vcpu.h hyp/core/vcpu_context.h hyp/core/vm.h \
 hyp/g-stage/gstage.h hyp/mem/host_pages.h hyp/arch/riscv_defs.h \
 hyp/lib/spinlock.h hyp/core/mmio.h
hyp/core/guest_memory.h:
hyp/sbi/sbi.h:
hyp/arch/sbi_defs.h:
hyp/core/vcpu.h:
hyp/core/vcpu_context.h:
hyp/core/vm.h:
hyp/g-stage/gstage.h:
hyp/mem/host_pages.h:
hyp/arch/riscv_defs.h:
hyp/lib/spinlock.h:
hyp/core/mmio.h:
