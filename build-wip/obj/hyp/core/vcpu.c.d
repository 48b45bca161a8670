build-wip/obj/hyp/core/vcpu.c.o: hyp/core/vcpu.c hyp/arch/csr.h \
 hyp/arch/riscv_defs.h hyp/g-stage/gstage_fence.h hyp/core/hart.h \
 hyp/core/runqueue.h hyp/core/vcpu.h hyp/core/vcpu_context.h \
 hyp/core/vcpu_exit.h hyp/core/vm.h hyp/g-stage/gstage.h \
 hyp/mem/host_pages.h hyp/lib/spinlock.h hyp/core/mmio.h hyp/vdisk/vblk.h \
 hyp/core/guest_memory.h hyp/vdisk/blk_request.h hyp/virtio/virtq.h \
 hyp/vdisk/vdisk.h hyp/vdisk/overlay.h hyp/vplic/vplic.h \
 hyp/core/vm_table.h hyp/vplic/vplic_dev.h
hyp/arch/csr.h:
hyp/arch/riscv_defs.h:
hyp/g-stage/gstage_fence.h:
hyp/core/hart.h:
hyp/core/runqueue.h:
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
hyp/vplic/vplic_dev.h:
