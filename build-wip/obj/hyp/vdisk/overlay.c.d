build-wip/obj/hyp/vdisk/overlay.c.o: hyp/vdisk/overlay.c \
 hyp/lib/include/string.h hyp/vdisk/overlay.h
hyp/lib/include/string.h:
hyp/vdisk/overlay.h:
