build-wip/obj/hyp/core/vm.c.o: hyp/core/vm.c hyp/lib/include/string.h \
 hyp/guest/config.h hyp/host/console.h hyp/g-stage/gstage_fence.h \
 hyp/guest/guest_boot.h hyp/core/guest_console.h hyp/core/guest_memory.h \
 hyp/core/hart.h hyp/core/runqueue.h hyp/lib/format.h \
 hyp/core/placement.h hyp/arch/sbi_defs.h hyp/core/vm.h \
 hyp/g-stage/gstage.h hyp/mem/host_pages.h hyp/arch/riscv_defs.h \
 hyp/lib/spinlock.h hyp/core/mmio.h hyp/core/vcpu.h \
 hyp/core/vcpu_context.h hyp/vdisk/vblk.h hyp/vdisk/blk_request.h \
 hyp/virtio/virtq.h hyp/vdisk/vdisk.h hyp/vdisk/overlay.h \
 hyp/vplic/vplic.h hyp/core/vm_table.h hyp/vplic/vplic_dev.h
hyp/lib/include/string.h:
hyp/guest/config.h:
hyp/host/console.h:
hyp/g-stage/gstage_fence.h:
hyp/guest/guest_boot.h:
hyp/core/guest_console.h:
hyp/core/guest_memory.h:
hyp/core/hart.h:
hyp/core/runqueue.h:
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
hyp/vdisk/vblk.h:
hyp/vdisk/blk_request.h:
hyp/virtio/virtq.h:
hyp/vdisk/vdisk.h:
hyp/vdisk/overlay.h:
hyp/vplic/vplic.h:
hyp/core/vm_table.h:
hyp/vplic/vplic_dev.h:
