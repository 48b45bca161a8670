build-wip/obj/hyp/vdisk/vdisk.c.o: hyp/vdisk/vdisk.c \
 hyp/lib/include/string.h hyp/host/console.h hyp/mem/host_pages.h \
 hyp/arch/riscv_defs.h hyp/lib/spinlock.h hyp/host/virtio_blk.h \
 hyp/vdisk/vdisk.h hyp/vdisk/overlay.h
hyp/lib/include/string.h:
hyp/host/console.h:
hyp/mem/host_pages.h:
hyp/arch/riscv_defs.h:
hyp/lib/spinlock.h:
hyp/host/virtio_blk.h:
hyp/vdisk/vdisk.h:
hyp/vdisk/overlay.h:
