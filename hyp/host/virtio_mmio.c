/*
 * The host virtio-mmio driver core: probing, initialisation steps,
 * notifications, interrupt status and configuration space.
 */
#include <libfdt.h>
#include <string.h>
#include "arch/riscv_defs.h"
#include "host/console.h"
#include "host/host_vq.h"
#include "host/virtio_mmio.h"


static uint32_t reg_read(const struct host_virtio *dev, unsigned off)
{
	return *(volatile uint32_t *)(dev->regs + off);
}

static void reg_write(struct host_virtio *dev, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(dev->regs + off) = v;
}

/* Writes a 64-bit address as the register pair at off (low) and off + 4. */
static void reg_write64(struct host_virtio *dev, unsigned off, uint64_t v)
{
	reg_write(dev, off, (uint32_t)v);
	reg_write(dev, off + 4, (uint32_t)(v >> 32));
}

static void set_status(struct host_virtio *dev, uint8_t bits)
{
	dev->status |= bits;
	reg_write(dev, VIRTIO_MMIO_STATUS, dev->status);
}

int host_virtio_probe_next(const void *fdt, int node, uint32_t device_id,
			   struct host_virtio *dev)
{
	while ((node = fdt_node_offset_by_compatible(fdt, node, "virtio,mmio")) >= 0) {
		/* QEMU virt's /soc has #address-cells = 2. */
		const fdt32_t *reg = fdt_getprop(fdt, node, "reg", NULL);
		if (!reg || fdt_address_cells(fdt, fdt_parent_offset(fdt, node)) != 2)
			continue;
		const fdt32_t *irq = fdt_getprop(fdt, node, "interrupts", NULL);
		const fdt32_t *parent = fdt_getprop(fdt, node, "interrupt-parent", NULL);
		memset(dev, 0, sizeof(*dev));
		dev->base = (uint64_t)fdt32_to_cpu(reg[0]) << 32 | fdt32_to_cpu(reg[1]);
		dev->regs = pa_to_ptr(dev->base);
		dev->irq_source = irq ? fdt32_to_cpu(*irq) : 0;
		dev->irq_parent = parent ? fdt32_to_cpu(*parent) : 0;
		/* A slot without a device reads device id 0 (4.2.3.1.1). */
		if (reg_read(dev, VIRTIO_MMIO_MAGIC) != VIRTIO_MAGIC ||
		    reg_read(dev, VIRTIO_MMIO_DEVICE_ID) != device_id)
			continue;
		if (reg_read(dev, VIRTIO_MMIO_VERSION) != 2) {
			log_info("host virtio device (id %u) at %lx is legacy virtio-mmio: run QEMU "
				 "with -global virtio-mmio.force-legacy=false", device_id, dev->base);
			continue;
		}
		return node;
	}
	return node;
}

void host_virtio_begin_init(struct host_virtio *dev)
{
	dev->status = 0;
	reg_write(dev, VIRTIO_MMIO_STATUS, 0);	/* reset */
	set_status(dev, VIRTIO_STATUS_ACKNOWLEDGE);
	set_status(dev, VIRTIO_STATUS_DRIVER);
}

bool host_virtio_negotiate(struct host_virtio *dev, uint64_t wanted, uint64_t *negotiated)
{
	uint64_t offered;

	reg_write(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	offered = (uint64_t)reg_read(dev, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	reg_write(dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	offered |= reg_read(dev, VIRTIO_MMIO_DEVICE_FEATURES);
	if (!(offered & VIRTIO_F_VERSION_1))
		return false;	/* a legacy-only device behind version 2 */
	*negotiated = offered & (wanted | VIRTIO_F_VERSION_1);
	reg_write(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_write(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(*negotiated >> 32));
	reg_write(dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	reg_write(dev, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)*negotiated);
	set_status(dev, VIRTIO_STATUS_FEATURES_OK);
	/* The device clears FEATURES_OK if it cannot work with them (2.2). */
	return reg_read(dev, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK;
}

bool host_virtio_setup_queue(struct host_virtio *dev, unsigned index, const struct host_vq *q)
{
	reg_write(dev, VIRTIO_MMIO_QUEUE_SEL, index);
	if (reg_read(dev, VIRTIO_MMIO_QUEUE_READY) ||
	    reg_read(dev, VIRTIO_MMIO_QUEUE_NUM_MAX) < q->size)
		return false;	/* in use, or unavailable (NumMax 0) or too small */
	reg_write(dev, VIRTIO_MMIO_QUEUE_NUM, q->size);
	reg_write64(dev, VIRTIO_MMIO_QUEUE_DESC_LOW, ptr_to_pa(q->desc));
	reg_write64(dev, VIRTIO_MMIO_QUEUE_DRIVER_LOW, ptr_to_pa(q->avail));
	reg_write64(dev, VIRTIO_MMIO_QUEUE_DEVICE_LOW, ptr_to_pa(q->used));
	reg_write(dev, VIRTIO_MMIO_QUEUE_READY, 1);
	return true;
}

void host_virtio_driver_ok(struct host_virtio *dev)
{
	set_status(dev, VIRTIO_STATUS_DRIVER_OK);
}

void host_virtio_notify(struct host_virtio *dev, unsigned index)
{
	reg_write(dev, VIRTIO_MMIO_QUEUE_NOTIFY, index);
}

uint32_t host_virtio_ack_interrupt(struct host_virtio *dev)
{
	uint32_t status = reg_read(dev, VIRTIO_MMIO_INTERRUPT_STATUS);

	reg_write(dev, VIRTIO_MMIO_INTERRUPT_ACK, status);
	return status;
}

uint32_t host_virtio_config32(const struct host_virtio *dev, unsigned offset)
{
	return reg_read(dev, VIRTIO_MMIO_CONFIG + offset);
}

uint64_t host_virtio_config64(const struct host_virtio *dev, unsigned offset)
{
	uint32_t generation, low, high;

	/* Two 32-bit reads are one value only if the configuration did not
	 * change between them: ConfigGeneration tells (2.5.1). */
	do {
		generation = reg_read(dev, VIRTIO_MMIO_CONFIG_GENERATION);
		low = host_virtio_config32(dev, offset);
		high = host_virtio_config32(dev, offset + 4);
	} while (reg_read(dev, VIRTIO_MMIO_CONFIG_GENERATION) != generation);
	return (uint64_t)high << 32 | low;
}
