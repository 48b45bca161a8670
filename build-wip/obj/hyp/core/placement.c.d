build-wip/obj/hyp/core/placement.c.o: hyp/core/placement.c \
 hyp/core/placement.h
hyp/core/placement.h:
