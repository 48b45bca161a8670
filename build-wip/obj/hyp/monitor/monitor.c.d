build-wip/obj/hyp/monitor/monitor.c.o: hyp/monitor/monitor.c \
 hyp/lib/include/string.h hyp/host/console.h hyp/arch/csr.h \
 hyp/arch/riscv_defs.h hyp/core/guest_console.h hyp/host/hart.h \
 hyp/monitor/hvstat.h hyp/monitor/monitor.h hyp/core/vm.h \
 hyp/g-stage/gstage.h hyp/mem/host_pages.h hyp/lib/spinlock.h \
 hyp/core/mmio.h hyp/core/vcpu.h hyp/core/vcpu_context.h \
 hyp/core/vm_table.h
hyp/lib/include/string.h:
hyp/host/console.h:
hyp/arch/csr.h:
hyp/arch/riscv_defs.h:
hyp/core/guest_console.h:
hyp/host/hart.h:
hyp/monitor/hvstat.h:
hyp/monitor/monitor.h:
hyp/core/vm.h:
hyp/g-stage/gstage.h:
hyp/mem/host_pages.h:
hyp/lib/spinlock.h:
hyp/core/mmio.h:
hyp/core/vcpu.h:
hyp/core/vcpu_context.h:
hyp/core/vm_table.h:
