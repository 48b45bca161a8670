build-wip/obj/hyp/core/insn.c.o: hyp/core/insn.c hyp/core/insn.h
hyp/core/insn.h:
