build-wip/obj/hyp/host/firmware.c.o: hyp/host/firmware.c \
 hyp/host/firmware.h hyp/arch/sbi_defs.h
hyp/host/firmware.h:
hyp/arch/sbi_defs.h:
