build-wip/obj/hyp/main.c.o: hyp/main.c build-wip/libfdt/libfdt.h \
 build-wip/libfdt/libfdt_env.h hyp/lib/include/stdlib.h \
 hyp/lib/include/string.h hyp/lib/include/limits.h build-wip/libfdt/fdt.h \
 hyp/guest/config.h hyp/host/console.h hyp/arch/csr.h \
 hyp/arch/riscv_defs.h hyp/g-stage/gstage_fence.h hyp/core/sched.h \
 hyp/core/runqueue.h hyp/host/hart.h hyp/mem/host_pages.h \
 hyp/lib/spinlock.h hyp/core/vcpu_exit.h hyp/guest/guest.h hyp/core/vm.h \
 hyp/g-stage/gstage.h hyp/mem/host_pages.h hyp/core/mmio.h \
 hyp/core/vcpu.h hyp/core/vcpu_context.h hyp/vdisk/vblk.h \
 hyp/core/irq_line.h hyp/core/guest_memory.h hyp/vdisk/blk_request.h \
 hyp/virtio/virtq.h hyp/vdisk/vdisk.h hyp/vdisk/overlay.h \
 hyp/vplic/vplic_dev.h hyp/vplic/vplic.h hyp/monitor/hvstat.h \
 hyp/monitor/monitor.h hyp/sbi/sbi.h hyp/arch/sbi_defs.h hyp/lib/format.h \
 hyp/host/machine.h hyp/host/platform.h hyp/host/virtio_blk.h \
 hyp/vdisk/vdisk.h hyp/share/share.h hyp/core/vm_table.h
build-wip/libfdt/libfdt.h:
build-wip/libfdt/libfdt_env.h:
hyp/lib/include/stdlib.h:
hyp/lib/include/string.h:
hyp/lib/include/limits.h:
build-wip/libfdt/fdt.h:
hyp/guest/config.h:
hyp/host/console.h:
hyp/arch/csr.h:
hyp/arch/riscv_defs.h:
hyp/g-stage/gstage_fence.h:
hyp/core/sched.h:
hyp/core/runqueue.h:
hyp/host/hart.h:
hyp/mem/host_pages.h:
hyp/lib/spinlock.h:
hyp/core/vcpu_exit.h:
hyp/guest/guest.h:
hyp/core/vm.h:
hyp/g-stage/gstage.h:
hyp/mem/host_pages.h:
hyp/core/mmio.h:
hyp/core/vcpu.h:
hyp/core/vcpu_context.h:
hyp/vdisk/vblk.h:
hyp/core/irq_line.h:
hyp/core/guest_memory.h:
hyp/vdisk/blk_request.h:
hyp/virtio/virtq.h:
hyp/vdisk/vdisk.h:
hyp/vdisk/overlay.h:
hyp/vplic/vplic_dev.h:
hyp/vplic/vplic.h:
hyp/monitor/hvstat.h:
hyp/monitor/monitor.h:
hyp/sbi/sbi.h:
hyp/arch/sbi_defs.h:
hyp/lib/format.h:
hyp/host/machine.h:
hyp/host/platform.h:
hyp/host/virtio_blk.h:
hyp/vdisk/vdisk.h:
hyp/share/share.h:
hyp/core/vm_table.h:
