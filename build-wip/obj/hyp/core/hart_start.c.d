build-wip/obj/hyp/core/hart_start.c.o: hyp/core/hart_start.c \
 hyp/arch/csr.h hyp/arch/riscv_defs.h hyp/core/sched.h \
 hyp/core/runqueue.h hyp/host/hart.h hyp/g-stage/gstage_fence.h \
 hyp/host/console.h hyp/host/virtio_blk.h
hyp/arch/csr.h:
hyp/arch/riscv_defs.h:
hyp/core/sched.h:
hyp/core/runqueue.h:
hyp/host/hart.h:
hyp/g-stage/gstage_fence.h:
hyp/host/console.h:
hyp/host/virtio_blk.h:
