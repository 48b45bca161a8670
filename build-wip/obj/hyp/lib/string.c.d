build-wip/obj/hyp/lib/string.c.o: hyp/lib/string.c \
 hyp/lib/include/string.h
hyp/lib/include/string.h:
