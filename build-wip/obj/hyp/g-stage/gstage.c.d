build-wip/obj/hyp/g-stage/gstage.c.o: hyp/g-stage/gstage.c \
 hyp/lib/include/string.h hyp/g-stage/gstage.h hyp/mem/host_pages.h \
 hyp/arch/riscv_defs.h hyp/lib/spinlock.h
hyp/lib/include/string.h:
hyp/g-stage/gstage.h:
hyp/mem/host_pages.h:
hyp/arch/riscv_defs.h:
hyp/lib/spinlock.h:
