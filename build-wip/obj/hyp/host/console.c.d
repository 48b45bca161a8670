build-wip/obj/hyp/host/console.c.o: hyp/host/console.c hyp/host/console.h \
 hyp/host/firmware.h hyp/lib/format.h hyp/host/machine.h \
 hyp/lib/spinlock.h
hyp/host/console.h:
hyp/host/firmware.h:
hyp/lib/format.h:
hyp/host/machine.h:
hyp/lib/spinlock.h:
