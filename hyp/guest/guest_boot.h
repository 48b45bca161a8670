/*
 * Booting a guest the way a boot loader boots Linux on RISC-V
 * (Documentation/riscv/boot.rst in Linux 6.1): the kernel image at RAM +
 * 2 MiB, a device tree and an initramfs placed in RAM, and the boot hart
 * entered at the image's first byte with a0 = hart id, a1 = DTB address,
 * translation off.
 */
#ifndef DISCV_GUEST_BOOT_H
#define DISCV_GUEST_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct hyp_config;

/* Offsets in the 64-byte RISC-V Linux image header. */
#define LINUX_HDR_TEXT_OFFSET 8
#define LINUX_HDR_IMAGE_SIZE 16
#define LINUX_HDR_MAGIC2 56
#define LINUX_HDR_MAGIC2_VALUE 0x05435352U	/* "RSC\x05" */
#define LINUX_HDR_SIZE 64

/* Checks that image holds a RISC-V Linux boot header and returns the
 * memory the image needs (its image_size, at least its file size), or 0
 * with *why set. Pure. */
uint64_t linux_image_footprint(const void *image, uint64_t file_size, const char **why);

/* Loads the configured kernel and initramfs into vm's RAM, builds its
 * device tree, and points vCPU 0 at the kernel. Returns false with *why
 * set if the images do not fit or are not bootable. */
bool guest_boot_load(struct vm *vm, const struct hyp_config *cfg, uint64_t timebase_hz,
		     const char **why);

/* Builds the guest's device tree into buf (docs/guest-platform.md).
 * Returns 0 or a negative libfdt error. */
int guest_fdt_build(void *buf, size_t size, const struct vm *vm,
		    const struct hyp_config *cfg, uint64_t timebase_hz,
		    uint64_t initrd_start, uint64_t initrd_end);

#endif
