build-wip/obj/hyp/core/hart.c.o: hyp/core/hart.c hyp/host/console.h \
 hyp/arch/csr.h hyp/arch/riscv_defs.h hyp/host/firmware.h hyp/core/hart.h \
 hyp/core/runqueue.h hyp/monitor/monitor.h hyp/arch/sbi_defs.h \
 hyp/host/virtio_blk.h hyp/core/vcpu.h hyp/core/vcpu_context.h \
 hyp/core/vcpu_exit.h hyp/core/vm.h hyp/g-stage/gstage.h \
 hyp/mem/host_pages.h hyp/lib/spinlock.h hyp/core/mmio.h hyp/vdisk/vblk.h \
 hyp/core/guest_memory.h hyp/vdisk/blk_request.h hyp/virtio/virtq.h \
 hyp/vdisk/vdisk.h hyp/vdisk/overlay.h hyp/vplic/vplic.h \
 hyp/core/vm_table.h
hyp/host/console.h:
hyp/arch/csr.h:
hyp/arch/riscv_defs.h:
hyp/host/firmware.h:
hyp/core/hart.h:
hyp/core/runqueue.h:
hyp/monitor/monitor.h:
hyp/arch/sbi_defs.h:
hyp/host/virtio_blk.h:
hyp/core/vcpu.h:
hyp/core/vcpu_context.h:
hyp/core/vcpu_exit.h:
hyp/core/vm.h:
hyp/g-stage/gstage.h:
hyp/mem/host_pages.h:
hyp/lib/spinlock.h:
hyp/core/mmio.h:
hyp/vdisk/vblk.h:
hyp/core/guest_memory.h:
hyp/vdisk/blk_request.h:
hyp/virtio/virtq.h:
hyp/vdisk/vdisk.h:
hyp/vdisk/overlay.h:
hyp/vplic/vplic.h:
hyp/core/vm_table.h:
