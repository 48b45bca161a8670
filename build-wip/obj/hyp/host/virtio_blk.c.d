build-wip/obj/hyp/host/virtio_blk.c.o: hyp/host/virtio_blk.c \
 build-wip/libfdt/libfdt.h build-wip/libfdt/libfdt_env.h \
 hyp/lib/include/stdlib.h hyp/lib/include/string.h \
 hyp/lib/include/limits.h build-wip/libfdt/fdt.h hyp/host/console.h \
 hyp/host/hart.h hyp/host/platform.h hyp/host/virtio_blk.h \
 hyp/mem/host_pages.h hyp/arch/riscv_defs.h hyp/lib/spinlock.h
build-wip/libfdt/libfdt.h:
build-wip/libfdt/libfdt_env.h:
hyp/lib/include/stdlib.h:
hyp/lib/include/string.h:
hyp/lib/include/limits.h:
build-wip/libfdt/fdt.h:
hyp/host/console.h:
hyp/host/hart.h:
hyp/host/platform.h:
hyp/host/virtio_blk.h:
hyp/mem/host_pages.h:
hyp/arch/riscv_defs.h:
hyp/lib/spinlock.h:
