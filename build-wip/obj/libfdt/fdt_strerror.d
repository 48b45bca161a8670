build-wip/obj/libfdt/fdt_strerror.o: build-wip/libfdt/fdt_strerror.c \
 build-wip/libfdt/libfdt_env.h hyp/lib/include/stdlib.h \
 hyp/lib/include/string.h hyp/lib/include/limits.h build-wip/libfdt/fdt.h \
 build-wip/libfdt/libfdt.h build-wip/libfdt/fdt.h \
 build-wip/libfdt/libfdt_internal.h
build-wip/libfdt/libfdt_env.h:
hyp/lib/include/stdlib.h:
hyp/lib/include/string.h:
hyp/lib/include/limits.h:
build-wip/libfdt/fdt.h:
build-wip/libfdt/libfdt.h:
build-wip/libfdt/fdt.h:
build-wip/libfdt/libfdt_internal.h:
