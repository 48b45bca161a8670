build-wip/obj/hyp/vdisk/vblk.c.o: hyp/vdisk/vblk.c \
 hyp/lib/include/string.h hyp/host/console.h hyp/core/guest_memory.h \
 hyp/lib/format.h hyp/core/mmio.h hyp/share/share.h \
 hyp/vdisk/blk_request.h hyp/virtio/virtq.h hyp/vdisk/vblk.h \
 hyp/core/irq_line.h hyp/lib/spinlock.h hyp/vdisk/vdisk.h \
 hyp/vdisk/overlay.h hyp/core/vm.h hyp/g-stage/gstage.h \
 hyp/mem/host_pages.h hyp/arch/riscv_defs.h hyp/core/vcpu.h \
 hyp/core/vcpu_context.h hyp/lib/counters.h
hyp/lib/include/string.h:
hyp/host/console.h:
hyp/core/guest_memory.h:
hyp/lib/format.h:
hyp/core/mmio.h:
hyp/share/share.h:
hyp/vdisk/blk_request.h:
hyp/virtio/virtq.h:
hyp/vdisk/vblk.h:
hyp/core/irq_line.h:
hyp/lib/spinlock.h:
hyp/vdisk/vdisk.h:
hyp/vdisk/overlay.h:
hyp/core/vm.h:
hyp/g-stage/gstage.h:
hyp/mem/host_pages.h:
hyp/arch/riscv_defs.h:
hyp/core/vcpu.h:
hyp/core/vcpu_context.h:
hyp/lib/counters.h:
