build-wip/obj/hyp/core/switch.S.o: hyp/core/switch.S \
 hyp/core/vcpu_context.h
hyp/core/vcpu_context.h:
