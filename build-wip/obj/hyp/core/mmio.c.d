build-wip/obj/hyp/core/mmio.c.o: hyp/core/mmio.c hyp/core/insn.h \
 hyp/core/mmio.h hyp/core/vcpu.h hyp/core/vcpu_context.h \
 hyp/core/vcpu_exit.h hyp/core/vm.h hyp/g-stage/gstage.h \
 hyp/mem/host_pages.h hyp/arch/riscv_defs.h hyp/lib/spinlock.h
hyp/core/insn.h:
hyp/core/mmio.h:
hyp/core/vcpu.h:
hyp/core/vcpu_context.h:
hyp/core/vcpu_exit.h:
hyp/core/vm.h:
hyp/g-stage/gstage.h:
hyp/mem/host_pages.h:
hyp/arch/riscv_defs.h:
hyp/lib/spinlock.h:
