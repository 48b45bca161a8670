build-wip/obj/hyp/vplic/vplic.c.o: hyp/vplic/vplic.c \
 hyp/lib/include/string.h hyp/vplic/vplic.h hyp/lib/spinlock.h
hyp/lib/include/string.h:
hyp/vplic/vplic.h:
hyp/lib/spinlock.h:
