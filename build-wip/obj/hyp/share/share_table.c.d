build-wip/obj/hyp/share/share_table.c.o: hyp/share/share_table.c \
 hyp/arch/riscv_defs.h hyp/share/share_table.h hyp/lib/spinlock.h
hyp/arch/riscv_defs.h:
hyp/share/share_table.h:
hyp/lib/spinlock.h:
