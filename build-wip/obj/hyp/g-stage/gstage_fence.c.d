build-wip/obj/hyp/g-stage/gstage_fence.c.o: hyp/g-stage/gstage_fence.c \
 hyp/arch/csr.h hyp/arch/riscv_defs.h hyp/g-stage/gstage_fence.h
hyp/arch/csr.h:
hyp/arch/riscv_defs.h:
hyp/g-stage/gstage_fence.h:
