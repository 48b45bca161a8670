build-wip/obj/hyp/mem/host_pages.c.o: hyp/mem/host_pages.c \
 hyp/lib/include/string.h hyp/lib/counters.h hyp/lib/format.h \
 hyp/mem/host_pages.h hyp/arch/riscv_defs.h hyp/lib/spinlock.h
hyp/lib/include/string.h:
hyp/lib/counters.h:
hyp/lib/format.h:
hyp/mem/host_pages.h:
hyp/arch/riscv_defs.h:
hyp/lib/spinlock.h:
