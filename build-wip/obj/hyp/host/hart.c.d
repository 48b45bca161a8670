build-wip/obj/hyp/host/hart.c.o: hyp/host/hart.c hyp/arch/csr.h \
 hyp/arch/riscv_defs.h hyp/arch/sbi_defs.h hyp/host/console.h \
 hyp/host/firmware.h hyp/host/hart.h hyp/host/virtio_blk.h
hyp/arch/csr.h:
hyp/arch/riscv_defs.h:
hyp/arch/sbi_defs.h:
hyp/host/console.h:
hyp/host/firmware.h:
hyp/host/hart.h:
hyp/host/virtio_blk.h:
