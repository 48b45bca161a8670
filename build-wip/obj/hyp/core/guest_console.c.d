build-wip/obj/hyp/core/guest_console.c.o: hyp/core/guest_console.c \
 hyp/host/console.h hyp/core/guest_console.h hyp/core/hart.h \
 hyp/core/runqueue.h hyp/lib/format.h hyp/monitor/monitor.h hyp/core/vm.h \
 hyp/g-stage/gstage.h hyp/mem/host_pages.h hyp/arch/riscv_defs.h \
 hyp/lib/spinlock.h hyp/core/mmio.h hyp/core/vcpu.h \
 hyp/core/vcpu_context.h hyp/vdisk/vblk.h hyp/core/guest_memory.h \
 hyp/vdisk/blk_request.h hyp/virtio/virtq.h hyp/vdisk/vdisk.h \
 hyp/vdisk/overlay.h hyp/vplic/vplic.h
hyp/host/console.h:
hyp/core/guest_console.h:
hyp/core/hart.h:
hyp/core/runqueue.h:
hyp/lib/format.h:
hyp/monitor/monitor.h:
hyp/core/vm.h:
hyp/g-stage/gstage.h:
hyp/mem/host_pages.h:
hyp/arch/riscv_defs.h:
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
