build-wip/obj/hyp/core/vm.c.o: hyp/core/vm.c hyp/lib/include/string.h \
 hyp/host/console.h hyp/g-stage/gstage_fence.h hyp/core/guest_console.h \
 hyp/core/guest_memory.h hyp/core/sched.h hyp/core/runqueue.h \
 hyp/host/hart.h hyp/lib/format.h hyp/core/placement.h \
 hyp/arch/sbi_defs.h hyp/core/vm.h hyp/g-stage/gstage.h \
 hyp/mem/host_pages.h hyp/arch/riscv_defs.h hyp/lib/spinlock.h \
 hyp/core/mmio.h hyp/core/vcpu.h hyp/core/vcpu_context.h \
 hyp/core/vm_table.h
hyp/lib/include/string.h:
hyp/host/console.h:
hyp/g-stage/gstage_fence.h:
hyp/core/guest_console.h:
hyp/core/guest_memory.h:
hyp/core/sched.h:
hyp/core/runqueue.h:
hyp/host/hart.h:
hyp/lib/format.h:
hyp/core/placement.h:
hyp/arch/sbi_defs.h:
hyp/core/vm.h:
hyp/g-stage/gstage.h:
hyp/mem/host_pages.h:
hyp/arch/riscv_defs.h:
hyp/lib/spinlock.h:
hyp/core/mmio.h:
hyp/core/vcpu.h:
hyp/core/vcpu_context.h:
hyp/core/vm_table.h:
