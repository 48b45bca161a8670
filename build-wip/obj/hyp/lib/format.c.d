build-wip/obj/hyp/lib/format.c.o: hyp/lib/format.c hyp/lib/format.h
hyp/lib/format.h:
