# The build of one bare-metal test guest, included by each guest's Makefile
# after it sets:
#   GUEST         the guest's name: makes $(O)/$(GUEST).elf and .bin
#   OBJS          its objects, in link order, by file name (main.o, ...)
#   GUEST_CFLAGS  (optional) its own compiler flags
#
#   make                      -> build/$(GUEST).elf, build/$(GUEST).bin
#   make O=/abs/out/dir       -> $(O)/$(GUEST).elf, $(O)/$(GUEST).bin
#
# The objects go to $(O)/$(GUEST).obj/: the top Makefile builds every test
# guest into the same O, and one guest's start.o or main.o must not be
# mistaken for another's. An object is built from the guest's own folder
# first, then from tests/guests/common/; format.o is the hypervisor's own
# formatter (hyp/lib/format.c), so the guests test with what discv uses,
# and smp_entry.o is common/smp.S (named apart from smp.c's smp.o).

O             ?= build
CROSS_COMPILE ?= riscv64-linux-gnu-
CC            := $(CROSS_COMPILE)gcc
OBJCOPY       := $(CROSS_COMPILE)objcopy

COMMON := ../common
CFLAGS  := -march=rv64imac_zicsr_zifencei -mabi=lp64 -mcmodel=medany \
           -ffreestanding -nostdlib -fno-pie -no-pie -static -O2 \
           -Wall -Wextra -Werror -fno-stack-protector -g -MMD -MP \
           -I$(COMMON) -I../../../hyp $(GUEST_CFLAGS)
LDFLAGS := -T $(COMMON)/linker.ld -Wl,--no-warn-rwx-segments -Wl,--build-id=none

OBJDIR    := $(O)/$(GUEST).obj
GUEST_OBJS := $(addprefix $(OBJDIR)/,$(OBJS))

all: $(O)/$(GUEST).bin

$(OBJDIR)/format.o: ../../../hyp/lib/format.c | $(OBJDIR)
	$(CC) $(CFLAGS) -c $< -o $@

$(OBJDIR)/smp_entry.o: $(COMMON)/smp.S | $(OBJDIR)
	$(CC) $(CFLAGS) -c $< -o $@

# Make takes the first of these whose source exists: C before assembly
# (smp.o is smp.c's), the guest's folder before common/.
$(OBJDIR)/%.o: %.c | $(OBJDIR)
	$(CC) $(CFLAGS) -c $< -o $@

$(OBJDIR)/%.o: %.S | $(OBJDIR)
	$(CC) $(CFLAGS) -c $< -o $@

$(OBJDIR)/%.o: $(COMMON)/%.c | $(OBJDIR)
	$(CC) $(CFLAGS) -c $< -o $@

$(OBJDIR)/%.o: $(COMMON)/%.S | $(OBJDIR)
	$(CC) $(CFLAGS) -c $< -o $@

$(O)/$(GUEST).elf: $(GUEST_OBJS) $(COMMON)/linker.ld
	$(CC) $(CFLAGS) $(LDFLAGS) $(GUEST_OBJS) -o $@

$(O)/$(GUEST).bin: $(O)/$(GUEST).elf
	$(OBJCOPY) -O binary $< $@

$(OBJDIR):
	mkdir -p $@

clean:
	rm -rf $(OBJDIR) $(O)/$(GUEST).elf $(O)/$(GUEST).bin

.PHONY: all clean

-include $(GUEST_OBJS:.o=.d)
