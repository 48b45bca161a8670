build-wip/obj/hyp/sbi/sbi_base.c.o: hyp/sbi/sbi_base.c hyp/sbi/sbi.h \
 hyp/arch/sbi_defs.h
hyp/sbi/sbi.h:
hyp/arch/sbi_defs.h:
