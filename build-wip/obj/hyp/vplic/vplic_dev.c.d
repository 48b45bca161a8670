build-wip/obj/hyp/vplic/vplic_dev.c.o: hyp/vplic/vplic_dev.c \
 hyp/core/vcpu.h hyp/core/vcpu_context.h hyp/core/vm.h \
 hyp/g-stage/gstage.h hyp/mem/host_pages.h hyp/arch/riscv_defs.h \
 hyp/lib/spinlock.h hyp/core/mmio.h hyp/vdisk/vblk.h \
 hyp/core/guest_memory.h hyp/vdisk/blk_request.h hyp/virtio/virtq.h \
 hyp/vdisk/vdisk.h hyp/vdisk/overlay.h hyp/vplic/vplic.h \
 hyp/vplic/vplic_dev.h
hyp/core/vcpu.h:
hyp/core/vcpu_context.h:
hyp/core/vm.h:
hyp/g-stage/gstage.h:
hyp/mem/host_pages.h:
hyp/arch/riscv_defs.h:
hyp/lib/spinlock.h:
hyp/core/mmio.h:
hyp/vdisk/vblk.h:
hyp/core/guest_memory.h:
hyp/vdisk/blk_request.h:
hyp/virtio/virtq.h:
hyp/vdisk/vdisk.h:
hyp/vdisk/overlay.h:
hyp/vplic/vplic.h:
hyp/vplic/vplic_dev.h:
