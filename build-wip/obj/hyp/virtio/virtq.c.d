build-wip/obj/hyp/virtio/virtq.c.o: hyp/virtio/virtq.c \
 hyp/lib/include/string.h hyp/virtio/virtq.h
hyp/lib/include/string.h:
hyp/virtio/virtq.h:
