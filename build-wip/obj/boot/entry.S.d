build-wip/obj/boot/entry.S.o: boot/entry.S
