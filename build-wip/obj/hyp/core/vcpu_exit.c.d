build-wip/obj/hyp/core/vcpu_exit.c.o: hyp/core/vcpu_exit.c \
 hyp/host/console.h hyp/arch/csr.h hyp/arch/riscv_defs.h \
 hyp/host/firmware.h hyp/g-stage/gstage_fence.h hyp/core/guest_memory.h \
 hyp/core/sched.h hyp/core/runqueue.h hyp/host/hart.h \
 hyp/mem/host_pages.h hyp/lib/spinlock.h hyp/lib/format.h hyp/core/mmio.h \
 hyp/host/virtio_blk.h hyp/arch/sbi_defs.h hyp/core/vcpu.h \
 hyp/core/vcpu_context.h hyp/core/vcpu_exit.h hyp/core/vm.h \
 hyp/g-stage/gstage.h
hyp/host/console.h:
hyp/arch/csr.h:
hyp/arch/riscv_defs.h:
hyp/host/firmware.h:
hyp/g-stage/gstage_fence.h:
hyp/core/guest_memory.h:
hyp/core/sched.h:
hyp/core/runqueue.h:
hyp/host/hart.h:
hyp/mem/host_pages.h:
hyp/lib/spinlock.h:
hyp/lib/format.h:
hyp/core/mmio.h:
hyp/host/virtio_blk.h:
hyp/arch/sbi_defs.h:
hyp/core/vcpu.h:
hyp/core/vcpu_context.h:
hyp/core/vcpu_exit.h:
hyp/core/vm.h:
hyp/g-stage/gstage.h:
