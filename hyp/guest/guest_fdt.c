/*
 * The guest's device tree, built with libfdt's sequential-write API. What
 * the guest is told here is its whole platform: docs/guest-platform.md is
 * the same contract in prose.
 */
#include <libfdt.h>
#include <string.h>
#include "guest/config.h"
#include "guest/guest.h"
#include "guest/guest_boot.h"
#include "lib/format.h"
#include "core/vm.h"

/*
 * The ISA string: what QEMU's rv64 hart implements, minus H (the guest
 * sees no hypervisor extension), plus Sstc, which needs henvcfg.STCE
 * (set in vcpu_load). With sstc listed, Linux 6.1 programs stimecmp
 * directly and its timer needs no SBI call and no exit.
 */
#define GUEST_ISA "rv64imafdc_sstc"

#define FDT_TRY(x) do { int __e = (x); if (__e < 0) return __e; } while (0)

static int add_cpus(void *fdt, const struct vm *vm, uint64_t timebase_hz)
{
	char name[32];

	FDT_TRY(fdt_begin_node(fdt, "cpus"));
	FDT_TRY(fdt_property_u32(fdt, "#address-cells", 1));
	FDT_TRY(fdt_property_u32(fdt, "#size-cells", 0));
	FDT_TRY(fdt_property_u32(fdt, "timebase-frequency", (uint32_t)timebase_hz));
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		format(name, sizeof(name), "cpu@%u", i);
		FDT_TRY(fdt_begin_node(fdt, name));
		FDT_TRY(fdt_property_string(fdt, "device_type", "cpu"));
		FDT_TRY(fdt_property_u32(fdt, "reg", i));
		FDT_TRY(fdt_property_string(fdt, "status", "okay"));
		FDT_TRY(fdt_property_string(fdt, "compatible", "riscv"));
		FDT_TRY(fdt_property_string(fdt, "riscv,isa", GUEST_ISA));
		/* Sv39: the fewest guest page-table levels to walk. */
		FDT_TRY(fdt_property_string(fdt, "mmu-type", "riscv,sv39"));
		FDT_TRY(fdt_begin_node(fdt, "interrupt-controller"));
		FDT_TRY(fdt_property_u32(fdt, "#interrupt-cells", 1));
		FDT_TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
		FDT_TRY(fdt_property_string(fdt, "compatible", "riscv,cpu-intc"));
		FDT_TRY(fdt_property_u32(fdt, "phandle", i + 1));
		FDT_TRY(fdt_end_node(fdt));
		FDT_TRY(fdt_end_node(fdt));
	}
	return fdt_end_node(fdt);
}

#define PLIC_PHANDLE 0x100	/* cpu-intc phandles are 1..nvcpus */

/* The virtual PLIC: context i is vCPU i's S-mode external interrupt
 * (irq 9 of its cpu-intc, as Linux's PLIC driver expects). */
static int add_plic(void *fdt, const struct vm *vm)
{
	char name[32];
	fdt32_t ext[2 * MAX_VCPUS_PER_VM];
	fdt64_t reg[2] = { cpu_to_fdt64(GUEST_PLIC_BASE), cpu_to_fdt64(VPLIC_SIZE) };

	for (unsigned i = 0; i < vm->nvcpus; i++) {
		ext[2 * i] = cpu_to_fdt32(i + 1);
		ext[2 * i + 1] = cpu_to_fdt32(9);
	}
	format(name, sizeof(name), "plic@%lx", GUEST_PLIC_BASE);
	FDT_TRY(fdt_begin_node(fdt, name));
	FDT_TRY(fdt_property(fdt, "compatible", "sifive,plic-1.0.0\0riscv,plic0",
			     sizeof("sifive,plic-1.0.0\0riscv,plic0")));
	FDT_TRY(fdt_property(fdt, "reg", reg, sizeof(reg)));
	FDT_TRY(fdt_property(fdt, "interrupts-extended", ext, 8 * vm->nvcpus));
	FDT_TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
	FDT_TRY(fdt_property_u32(fdt, "#interrupt-cells", 1));
	FDT_TRY(fdt_property_u32(fdt, "#address-cells", 0));
	FDT_TRY(fdt_property_u32(fdt, "riscv,ndev", VPLIC_SOURCES - 1));
	FDT_TRY(fdt_property_u32(fdt, "phandle", PLIC_PHANDLE));
	return fdt_end_node(fdt);
}

/* A virtio-mmio device (virtio 1.2, 4.2: the "virtio,mmio" binding). */
static int add_virtio(void *fdt, uint64_t base, uint32_t irq)
{
	char name[32];
	fdt64_t reg[2] = { cpu_to_fdt64(base), cpu_to_fdt64(0x1000) };

	format(name, sizeof(name), "virtio_mmio@%lx", base);
	FDT_TRY(fdt_begin_node(fdt, name));
	FDT_TRY(fdt_property_string(fdt, "compatible", "virtio,mmio"));
	FDT_TRY(fdt_property(fdt, "reg", reg, sizeof(reg)));
	FDT_TRY(fdt_property_u32(fdt, "interrupts", irq));
	FDT_TRY(fdt_property_u32(fdt, "interrupt-parent", PLIC_PHANDLE));
	return fdt_end_node(fdt);
}

static int add_chosen(void *fdt, const struct vm *vm, const struct hyp_config *cfg,
		      uint64_t initrd_start, uint64_t initrd_end)
{
	char bootargs[CONFIG_APPEND_MAX + 128];

	/* panic=-1: a panicking kernel asks for a reboot at once (SRST), the
	 * only way a dying Linux 6.1 tells the hypervisor anything. */
	format(bootargs, sizeof(bootargs), "quiet console=hvc0 earlycon=sbi panic=-1%s%s",
	       cfg->append[0] ? " " : "", cfg->append);
	FDT_TRY(fdt_begin_node(fdt, "chosen"));
	FDT_TRY(fdt_property_string(fdt, "bootargs", bootargs));
	if (initrd_end > initrd_start) {
		FDT_TRY(fdt_property_u64(fdt, "linux,initrd-start", initrd_start));
		FDT_TRY(fdt_property_u64(fdt, "linux,initrd-end", initrd_end));
	}
	/* discv's own properties, read by the guest's /init. */
	FDT_TRY(fdt_property_string(fdt, "discv,name", vm->name));
	/* How many times this VM booted before (0 the first time): lets a
	 * test guest that reboots in a loop know where it is. */
	FDT_TRY(fdt_property_u32(fdt, "discv,boot-count", vm->boots));
	if (cfg->batch)
		FDT_TRY(fdt_property_string(fdt, "discv,cmd", cfg->cmd));
	return fdt_end_node(fdt);
}

int guest_fdt_build(void *buf, size_t size, const struct vm *vm,
		    const struct hyp_config *cfg, uint64_t timebase_hz,
		    uint64_t initrd_start, uint64_t initrd_end)
{
	char name[32];
	fdt64_t reg[2] = { cpu_to_fdt64(vm->ram_base), cpu_to_fdt64(vm->ram_size) };

	FDT_TRY(fdt_create(buf, (int)size));
	FDT_TRY(fdt_finish_reservemap(buf));
	FDT_TRY(fdt_begin_node(buf, ""));
	FDT_TRY(fdt_property_u32(buf, "#address-cells", 2));
	FDT_TRY(fdt_property_u32(buf, "#size-cells", 2));
	FDT_TRY(fdt_property_string(buf, "compatible", "discv,virt"));
	FDT_TRY(fdt_property_string(buf, "model", "discv virtual machine"));
	FDT_TRY(add_chosen(buf, vm, cfg, initrd_start, initrd_end));
	FDT_TRY(add_cpus(buf, vm, timebase_hz));
	FDT_TRY(add_plic(buf, vm));
	if (guest_of(vm)->has_disk)
		FDT_TRY(add_virtio(buf, GUEST_VIRTIO_BASE, GUEST_DISK_IRQ));
	if (guest_of(vm)->has_net)
		FDT_TRY(add_virtio(buf, GUEST_NET_BASE, GUEST_NET_IRQ));
	if (guest_of(vm)->has_balloon)
		FDT_TRY(add_virtio(buf, GUEST_BALLOON_BASE, GUEST_BALLOON_IRQ));
	format(name, sizeof(name), "memory@%lx", vm->ram_base);
	FDT_TRY(fdt_begin_node(buf, name));
	FDT_TRY(fdt_property_string(buf, "device_type", "memory"));
	FDT_TRY(fdt_property(buf, "reg", reg, sizeof(reg)));
	FDT_TRY(fdt_end_node(buf));
	FDT_TRY(fdt_end_node(buf));
	return fdt_finish(buf);
}
