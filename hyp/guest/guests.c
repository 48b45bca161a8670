/*
 * Creating the guests of a run: for each, a VM from core, then its
 * devices (the vPLIC first: the others are wired to it), then its first
 * boot from the configured images.
 */
#include "core/vm_table.h"
#include "guest/config.h"
#include "guest/guest.h"
#include "guest/guest_boot.h"
#include "host/console.h"
#include "host/hart.h"
#include "vnet/uplink.h"

struct guest guests[MAX_VMS];

static const struct hyp_config *config;

/* vm->load: every boot and reboot loads the same images. */
static bool load(struct vm *vm, const char **why)
{
	return guest_boot_load(vm, config, timebase_hz, why);
}

static void disk_reset(void *dev)
{
	vblk_reset(dev);
}

static bool disk_uses_page(const void *dev, uint64_t gpa)
{
	return virtio_mmio_uses_page(&((const struct vblk *)dev)->virtio, gpa);
}

static bool add_disk(struct guest *g, uint8_t *map, const char **why)
{
	struct irq_line irq = vplic_dev_irq_line(&g->plic, GUEST_DISK_IRQ);
	struct vm_device dev = { .dev = &g->disk, .reset = disk_reset,
				 .counters = vblk_counters, .uses_page = disk_uses_page };

	if (!vblk_init(&g->disk, g->vm, GUEST_VIRTIO_BASE, &irq, map, why))
		return false;
	if (!vm_add_device(g->vm, &dev)) {
		*why = "too many devices";
		return false;
	}
	g->has_disk = true;
	return true;
}

static void net_reset(void *dev)
{
	vnet_reset(dev);
}

static void net_kicked(void *dev)
{
	virtio_mmio_serve_kicked(&((struct vnet *)dev)->virtio);
}

static bool net_uses_page(const void *dev, uint64_t gpa)
{
	return virtio_mmio_uses_page(&((const struct vnet *)dev)->virtio, gpa);
}

static bool add_net(struct guest *g, unsigned index, bool remap, const char **why)
{
	struct irq_line irq = vplic_dev_irq_line(&g->plic, GUEST_NET_IRQ);
	struct vm_device dev = { .dev = &g->net, .reset = net_reset,
				 .counters = vnet_counters, .kicked = net_kicked,
				 .uses_page = net_uses_page };

	if (!vnet_init(&g->net, g->vm, index, GUEST_NET_BASE, &irq, remap, why))
		return false;
	if (!vm_add_device(g->vm, &dev)) {
		*why = "too many devices";
		return false;
	}
	g->has_net = true;
	return true;
}

static void balloon_reset(void *dev)
{
	vballoon_reset(dev);
}

static bool balloon_uses_page(const void *dev, uint64_t gpa)
{
	return virtio_mmio_uses_page(&((const struct vballoon *)dev)->virtio, gpa);
}

static bool add_balloon(struct guest *g, bool deflate_on_oom, const char **why)
{
	struct irq_line irq = vplic_dev_irq_line(&g->plic, GUEST_BALLOON_IRQ);
	struct vm_device dev = { .dev = &g->balloon, .reset = balloon_reset,
				 .counters = vballoon_counters, .uses_page = balloon_uses_page };

	if (!vballoon_init(&g->balloon, g->vm, GUEST_BALLOON_BASE, &irq, deflate_on_oom, why))
		return false;
	if (!vm_add_device(g->vm, &dev)) {
		*why = "too many devices";
		return false;
	}
	g->has_balloon = true;
	return true;
}

bool guests_set_balloon(struct vm *vm, uint32_t pages)
{
	struct guest *g = guest_of(vm);

	if (!g->has_balloon)
		return false;
	vballoon_set_target(&g->balloon, pages);
	return true;
}

bool guests_create(const struct hyp_config *cfg, struct host_memory *host, uint8_t *disk_maps,
		   uint64_t disk_map_bytes)
{
	config = cfg;
	vms_init(host);
	for (unsigned i = 0; i < cfg->guests; i++) {
		struct guest *g = &guests[i];
		const char *why = NULL;

		g->vm = vm_create(host, cfg->guest_mem, cfg->vcpus, cfg->batch);
		if (!g->vm)
			return false;
		g->vm->load = load;
		if (!vplic_dev_init(&g->plic, g->vm, GUEST_PLIC_BASE)) {
			log_info("%s: no interrupt controller", g->vm->name);
			return false;
		}
		if (disk_maps && !add_disk(g, disk_maps + i * disk_map_bytes, &why)) {
			log_info("%s: no disk: %s", g->vm->name, why);
			return false;
		}
		if (cfg->net && !add_net(g, i, cfg->net_remap, &why)) {
			log_info("%s: no network: %s", g->vm->name, why);
			return false;
		}
		if (cfg->balloon && !add_balloon(g, cfg->balloon_oom, &why)) {
			log_info("%s: no balloon: %s", g->vm->name, why);
			return false;
		}
		if (!vm_start(g->vm, &why)) {
			log_info("%s: cannot boot: %s", g->vm->name, why);
			return false;
		}
	}
	if (cfg->net)
		uplink_init();	/* the port after the guests', if the host has a card */
	return true;
}

bool guests_disk_host_read_bytes(uint64_t *bytes)
{
	bool any = false;

	*bytes = 0;
	for (unsigned i = 0; i < vm_count; i++)
		if (guests[i].has_disk) {
			*bytes += guests[i].disk.disk.host_read_bytes;
			any = true;
		}
	return any;
}
