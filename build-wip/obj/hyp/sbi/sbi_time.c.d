build-wip/obj/hyp/sbi/sbi_time.c.o: hyp/sbi/sbi_time.c hyp/sbi/sbi.h \
 hyp/arch/sbi_defs.h hyp/core/vcpu.h hyp/core/vcpu_context.h
hyp/sbi/sbi.h:
hyp/arch/sbi_defs.h:
hyp/core/vcpu.h:
hyp/core/vcpu_context.h:
