build-wip/obj/hyp/share/share.c.o: hyp/share/share.c \
 hyp/lib/include/string.h hyp/arch/csr.h hyp/arch/riscv_defs.h \
 hyp/host/hart.h hyp/lib/counters.h hyp/mem/host_pages.h \
 hyp/lib/spinlock.h hyp/share/share.h hyp/share/share_table.h \
 hyp/host/virtio_blk.h hyp/vdisk/vdisk.h hyp/vdisk/overlay.h
hyp/lib/include/string.h:
hyp/arch/csr.h:
hyp/arch/riscv_defs.h:
hyp/host/hart.h:
hyp/lib/counters.h:
hyp/mem/host_pages.h:
hyp/lib/spinlock.h:
hyp/share/share.h:
hyp/share/share_table.h:
hyp/host/virtio_blk.h:
hyp/vdisk/vdisk.h:
hyp/vdisk/overlay.h:
