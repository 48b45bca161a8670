build-wip/obj/hyp/monitor/hvstat.c.o: hyp/monitor/hvstat.c hyp/core/vm.h \
 hyp/g-stage/gstage.h hyp/mem/host_pages.h hyp/arch/riscv_defs.h \
 hyp/lib/spinlock.h hyp/core/mmio.h hyp/core/vcpu.h \
 hyp/core/vcpu_context.h hyp/core/vm_table.h hyp/guest/guest.h \
 hyp/vdisk/vblk.h hyp/core/irq_line.h hyp/core/guest_memory.h \
 hyp/vdisk/blk_request.h hyp/virtio/virtq.h hyp/vdisk/vdisk.h \
 hyp/vdisk/overlay.h hyp/vplic/vplic_dev.h hyp/vplic/vplic.h \
 hyp/host/console.h hyp/host/virtio_blk.h hyp/lib/counters.h \
 hyp/lib/format.h hyp/monitor/hvstat.h hyp/share/share.h
hyp/core/vm.h:
hyp/g-stage/gstage.h:
hyp/mem/host_pages.h:
hyp/arch/riscv_defs.h:
hyp/lib/spinlock.h:
hyp/core/mmio.h:
hyp/core/vcpu.h:
hyp/core/vcpu_context.h:
hyp/core/vm_table.h:
hyp/guest/guest.h:
hyp/vdisk/vblk.h:
hyp/core/irq_line.h:
hyp/core/guest_memory.h:
hyp/vdisk/blk_request.h:
hyp/virtio/virtq.h:
hyp/vdisk/vdisk.h:
hyp/vdisk/overlay.h:
hyp/vplic/vplic_dev.h:
hyp/vplic/vplic.h:
hyp/host/console.h:
hyp/host/virtio_blk.h:
hyp/lib/counters.h:
hyp/lib/format.h:
hyp/monitor/hvstat.h:
hyp/share/share.h:
