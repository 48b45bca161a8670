build-wip/obj/hyp/monitor/hvstat.c.o: hyp/monitor/hvstat.c \
 hyp/host/console.h hyp/mem/host_pages.h hyp/arch/riscv_defs.h \
 hyp/lib/spinlock.h hyp/monitor/hvstat.h hyp/lib/format.h \
 hyp/share/share.h hyp/host/virtio_blk.h hyp/core/vm.h \
 hyp/g-stage/gstage.h hyp/core/mmio.h hyp/core/vcpu.h \
 hyp/core/vcpu_context.h hyp/vdisk/vblk.h hyp/core/guest_memory.h \
 hyp/vdisk/blk_request.h hyp/virtio/virtq.h hyp/vdisk/vdisk.h \
 hyp/vdisk/overlay.h hyp/vplic/vplic.h hyp/core/vm_table.h
hyp/host/console.h:
hyp/mem/host_pages.h:
hyp/arch/riscv_defs.h:
hyp/lib/spinlock.h:
hyp/monitor/hvstat.h:
hyp/lib/format.h:
hyp/share/share.h:
hyp/host/virtio_blk.h:
hyp/core/vm.h:
hyp/g-stage/gstage.h:
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
