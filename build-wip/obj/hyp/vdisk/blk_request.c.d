build-wip/obj/hyp/vdisk/blk_request.c.o: hyp/vdisk/blk_request.c \
 hyp/lib/include/string.h hyp/vdisk/blk_request.h hyp/virtio/virtq.h
hyp/lib/include/string.h:
hyp/vdisk/blk_request.h:
hyp/virtio/virtq.h:
