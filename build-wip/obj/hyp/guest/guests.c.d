build-wip/obj/hyp/guest/guests.c.o: hyp/guest/guests.c \
 hyp/core/vm_table.h hyp/core/vm.h hyp/g-stage/gstage.h \
 hyp/mem/host_pages.h hyp/arch/riscv_defs.h hyp/lib/spinlock.h \
 hyp/core/mmio.h hyp/core/vcpu.h hyp/core/vcpu_context.h \
 hyp/guest/config.h hyp/guest/guest.h hyp/vdisk/vblk.h \
 hyp/core/irq_line.h hyp/core/guest_memory.h hyp/vdisk/blk_request.h \
 hyp/virtio/virtq.h hyp/vdisk/vdisk.h hyp/vdisk/overlay.h \
 hyp/vplic/vplic_dev.h hyp/vplic/vplic.h hyp/guest/guest_boot.h \
 hyp/host/console.h hyp/host/hart.h
hyp/core/vm_table.h:
hyp/core/vm.h:
hyp/g-stage/gstage.h:
hyp/mem/host_pages.h:
hyp/arch/riscv_defs.h:
hyp/lib/spinlock.h:
hyp/core/mmio.h:
hyp/core/vcpu.h:
hyp/core/vcpu_context.h:
hyp/guest/config.h:
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
hyp/guest/guest_boot.h:
hyp/host/console.h:
hyp/host/hart.h:
