build-wip/obj/hyp/core/guest_console.c.o: hyp/core/guest_console.c \
 hyp/host/console.h hyp/core/guest_console.h hyp/host/hart.h \
 hyp/lib/format.h hyp/core/vm.h hyp/g-stage/gstage.h hyp/mem/host_pages.h \
 hyp/arch/riscv_defs.h hyp/lib/spinlock.h hyp/core/mmio.h hyp/core/vcpu.h \
 hyp/core/vcpu_context.h
hyp/host/console.h:
hyp/core/guest_console.h:
hyp/host/hart.h:
hyp/lib/format.h:
hyp/core/vm.h:
hyp/g-stage/gstage.h:
hyp/mem/host_pages.h:
hyp/arch/riscv_defs.h:
hyp/lib/spinlock.h:
hyp/core/mmio.h:
hyp/core/vcpu.h:
hyp/core/vcpu_context.h:
