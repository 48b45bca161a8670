build-wip/obj/hyp/host/machine.c.o: hyp/host/machine.c \
 hyp/host/firmware.h hyp/host/machine.h
hyp/host/firmware.h:
hyp/host/machine.h:
