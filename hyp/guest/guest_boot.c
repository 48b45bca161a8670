#include <libfdt.h>
#include <string.h>
#include "guest/config.h"
#include "guest/guest.h"
#include "guest/guest_boot.h"
#include "core/guest_memory.h"
#include "host/hart.h"
#include "share/share.h"
#include "core/vm.h"

/* The largest guest device tree: a 4 KiB command, 1 KiB of bootargs and 8
 * cpus take under 8 KiB. */
#define DTB_MAX (16 * 1024)
#define SZ_2M (2UL << 20)

uint64_t linux_image_footprint(const void *image, uint64_t file_size, const char **why)
{
	const unsigned char *h = image;
	uint32_t magic2;
	uint64_t image_size;

	if (file_size < LINUX_HDR_SIZE) {
		*why = "kernel image shorter than the Linux boot header";
		return 0;
	}
	memcpy(&magic2, h + LINUX_HDR_MAGIC2, sizeof(magic2));
	memcpy(&image_size, h + LINUX_HDR_IMAGE_SIZE, sizeof(image_size));
	if (magic2 != LINUX_HDR_MAGIC2_VALUE) {
		*why = "kernel image has no RISC-V Linux boot header (magic2 \"RSC\\x05\")";
		return 0;
	}
	return image_size > file_size ? image_size : file_size;
}

/*
 * The kernel image: with sharing, each of its pages is the node's one copy
 * (hyp/share/), mapped read-only and copied on the guest's first write
 * (Linux writes its .data and patches some text while booting); without,
 * a private copy per guest.
 */
static bool load_kernel(struct vm *vm, uint64_t gpa, const struct hyp_config *cfg)
{
	struct retired_pages none;

	if (!share_enabled())
		return guest_copy_to(vm, gpa, pa_to_ptr(cfg->kernel_pa), cfg->kernel_size);
	retired_init(&none);	/* a fresh VM has nothing mapped there to retire */
	for (uint64_t i = 0; i * PAGE_SIZE < cfg->kernel_size; i++) {
		uint64_t pa = share_kernel_page(i, vm->home_node, cfg->kernel_pa, cfg->kernel_size);
		if (!pa || !guest_memory_map_shared(vm, gpa + i * PAGE_SIZE, pa, &none))
			return false;
	}
	return true;
}

/*
 * One buffer per hart for building device trees. VMs are created one at a
 * time, but they reboot whenever they ask, on the hart that puts their
 * last vCPU: two VMs on two harts can be here at once, and one buffer for
 * both gave a VM a torn tree, or the other VM's name and command. A
 * buffer of its own per hart needs no lock: the tree is built and copied
 * into the guest within one guest_boot_load, and a hart never runs other
 * hypervisor code in between (interrupts are off, nothing preempts it,
 * and nothing in here starts another VM's boot). A lock would serialise
 * reboots across harts and take a place above vm->lock and
 * host_memory.lock (the copy takes them) in docs/concurrency.md's order;
 * per-VM buffers would cost 16 KiB for each of 64 VMs.
 */
static char dtb_buf[MAX_HARTS][DTB_MAX] __attribute__((aligned(8)));

/*
 * Guest RAM layout (docs/guest-platform.md):
 *   RAM base + 2 MiB        kernel image (and its bss)
 *   below the DTB           initramfs, page aligned
 *   RAM end - 2 MiB         device tree (2 MiB aligned, as QEMU places it)
 */
bool guest_boot_load(struct vm *vm, const struct hyp_config *cfg, uint64_t timebase_hz,
		     const char **why)
{
	uint64_t kernel_gpa = vm->ram_base + GUEST_KERNEL_OFFSET;
	uint64_t ram_end = vm->ram_base + vm->ram_size;
	uint64_t dtb_gpa = ram_end - SZ_2M;
	uint64_t footprint, initrd_gpa = dtb_gpa;
	char *dtb = dtb_buf[this_hart()->index];

	footprint = linux_image_footprint(pa_to_ptr(cfg->kernel_pa), cfg->kernel_size, why);
	if (!footprint)
		return false;
	uint64_t kernel_end = kernel_gpa + footprint;
	if (cfg->initrd_size) {
		if (cfg->initrd_size > dtb_gpa - vm->ram_base) {
			*why = "initramfs larger than guest RAM";
			return false;
		}
		initrd_gpa = (dtb_gpa - cfg->initrd_size) & PAGE_MASK;
	}
	if (kernel_end > initrd_gpa) {
		*why = "kernel and initramfs do not fit in guest RAM (raise GUEST_MEM)";
		return false;
	}
	if (guest_fdt_build(dtb, DTB_MAX, vm, cfg, timebase_hz, initrd_gpa,
			    initrd_gpa + cfg->initrd_size) < 0) {
		*why = "guest device tree does not fit in 16 KiB";
		return false;
	}
	if (!load_kernel(vm, kernel_gpa, cfg) ||
	    (cfg->initrd_size &&
	     !guest_copy_to(vm, initrd_gpa, pa_to_ptr(cfg->initrd_pa), cfg->initrd_size)) ||
	    !guest_copy_to(vm, dtb_gpa, dtb, fdt_totalsize(dtb))) {
		*why = "host memory exhausted while loading the guest";
		return false;
	}
	vcpu_reset(&vm->vcpu[0], kernel_gpa, dtb_gpa);
	vcpu_set_power(&vm->vcpu[0], VCPU_RUNNING);
	return true;
}
