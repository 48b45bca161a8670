build-wip/obj/hyp/monitor/monitor.c.o: hyp/monitor/monitor.c \
 hyp/lib/include/string.h hyp/host/console.h hyp/arch/csr.h \
 hyp/arch/riscv_defs.h hyp/core/guest_console.h hyp/core/hart.h \
 hyp/core/runqueue.h hyp/monitor/hvstat.h hyp/monitor/monitor.h \
 hyp/core/vm.h hyp/g-stage/gstage.h hyp/mem/host_pages.h \
 hyp/lib/spinlock.h hyp/core/mmio.h hyp/core/vcpu.h \
 hyp/core/vcpu_context.h hyp/vdisk/vblk.h hyp/core/guest_memory.h \
 hyp/vdisk/blk_request.h hyp/virtio/virtq.h hyp/vdisk/vdisk.h \
 hyp/vdisk/overlay.h hyp/vplic/vplic.h hyp/core/vm_table.h
hyp/lib/include/string.h:
hyp/host/console.h:
hyp/arch/csr.h:
hyp/arch/riscv_defs.h:
hyp/core/guest_console.h:
hyp/core/hart.h:
hyp/core/runqueue.h:
hyp/monitor/hvstat.h:
hyp/monitor/monitor.h:
hyp/core/vm.h:
hyp/g-stage/gstage.h:
hyp/mem/host_pages.h:
hyp/lib/spinlock.h:
hyp/core/mmio.h:
hyp/core/vcpu.h:
hyp/core/vcpu_context.h:
hyp/vdisk/vblk.h:
hyp/core/guest_memory.h:
hyp/vdisk/blk_request.h:
hyp/virtio/virtq.h:
hyp/vdisk/vdisk.h:
hyp/vdisk/overlay.h:
hyp/vplic/vplic.h:
hyp/core/vm_table.h:
