build-wip/obj/hyp/host/platform.c.o: hyp/host/platform.c \
 build-wip/libfdt/libfdt.h build-wip/libfdt/libfdt_env.h \
 hyp/lib/include/stdlib.h hyp/lib/include/string.h \
 hyp/lib/include/limits.h build-wip/libfdt/fdt.h hyp/host/platform.h \
 hyp/host/hart.h
build-wip/libfdt/libfdt.h:
build-wip/libfdt/libfdt_env.h:
hyp/lib/include/stdlib.h:
hyp/lib/include/string.h:
hyp/lib/include/limits.h:
build-wip/libfdt/fdt.h:
hyp/host/platform.h:
hyp/host/hart.h:
