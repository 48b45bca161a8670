build-wip/obj/hyp/lib/counters.c.o: hyp/lib/counters.c hyp/lib/counters.h \
 hyp/lib/format.h
hyp/lib/counters.h:
hyp/lib/format.h:
