#include <string.h>
#include "vnet/vswitch.h"

/*
 * IEEE 802.3 clause 3.2.3: the first bit sent of an address (bit 0 of its
 * first octet) is the I/G bit, 1 for a group (multicast or broadcast)
 * address; the second (bit 1) is the U/L bit, 1 for a locally
 * administered one. A guest's MAC is individual and locally administered,
 * so it can never collide with a vendor-assigned (universal) address.
 */
#define ETH_GROUP_BIT 0x01
#define ETH_LOCAL_BIT 0x02

#define ETH_DST_OFFSET 0
#define ETH_SRC_OFFSET 6

static bool is_group_address(const uint8_t *mac)
{
	return mac[0] & ETH_GROUP_BIT;
}

unsigned vswitch_ports_count(const struct vswitch_ports *set)
{
	unsigned n = 0;

	/* Clearing the lowest set bit each step; no __builtin_popcount, which
	 * without Zbb is a libgcc call the freestanding image may not link. */
	for (unsigned w = 0; w < VSWITCH_PORT_WORDS; w++)
		for (uint64_t bits = set->bits[w]; bits; bits &= bits - 1)
			n++;
	return n;
}

void vswitch_guest_mac(unsigned guest_index, uint8_t mac[ETH_ADDR_BYTES])
{
	/* 02 (individual, local), then "dscv", then the guest's index. */
	mac[0] = ETH_LOCAL_BIT;
	mac[1] = 'd';
	mac[2] = 's';
	mac[3] = 'c';
	mac[4] = 'v';
	mac[5] = (uint8_t)guest_index;
}

void vswitch_init(struct vswitch *sw)
{
	memset(sw, 0, sizeof(*sw));
}

/* The port owning mac, or -1. */
static int port_owning(const struct vswitch *sw, const uint8_t *mac)
{
	for (unsigned p = 0; p < sw->nports; p++)
		if (sw->port[p].has_mac && memcmp(sw->port[p].mac, mac, ETH_ADDR_BYTES) == 0)
			return (int)p;
	return -1;
}

int vswitch_add_port(struct vswitch *sw, const uint8_t mac[ETH_ADDR_BYTES])
{
	struct vswitch_port *port;

	if (sw->nports >= VSWITCH_MAX_PORTS)
		return -1;
	/* A group address is never a frame's source (802.3 3.2.3), and two
	 * owners of one address would make unicast to it ambiguous. */
	if (mac && (is_group_address(mac) || port_owning(sw, mac) >= 0))
		return -1;
	port = &sw->port[sw->nports];
	memset(port, 0, sizeof(*port));
	if (mac) {
		memcpy(port->mac, mac, ETH_ADDR_BYTES);
		port->has_mac = true;
	}
	return (int)sw->nports++;
}

/* The first uplink-style port other than in_port, or -1. */
static int uplink_other_than(const struct vswitch *sw, unsigned in_port)
{
	for (unsigned p = 0; p < sw->nports; p++)
		if (!sw->port[p].has_mac && p != in_port)
			return (int)p;
	return -1;
}

/* Every port but in_port; the verdict is NO_PORT if that is none. */
static enum vswitch_verdict flood(struct vswitch *sw, unsigned in_port, struct vswitch_ports *out)
{
	for (unsigned p = 0; p < sw->nports; p++)
		if (p != in_port)
			vswitch_ports_add(out, p);
	if (vswitch_ports_count(out) == 0) {
		sw->port[in_port].no_port++;
		return VSWITCH_DROP_NO_PORT;
	}
	sw->port[in_port].flooded++;
	return VSWITCH_FORWARD;
}

enum vswitch_verdict vswitch_route(struct vswitch *sw, unsigned in_port, const uint8_t *frame,
				   size_t len, struct vswitch_ports *out)
{
	struct vswitch_port *from;
	const uint8_t *dst, *src;
	int to;

	vswitch_ports_clear(out);
	if (in_port >= sw->nports) {
		sw->bad_port++;
		return VSWITCH_DROP_BAD_PORT;
	}
	from = &sw->port[in_port];
	/* No padding check: 802.3's 64-byte minimum is a property of the wire
	 * (collision detection); a virtio-net frame carries no padding
	 * requirement, so only a frame without a whole header is unusable. */
	if (len < ETH_HEADER_BYTES) {
		from->runts++;
		return VSWITCH_DROP_RUNT;
	}
	dst = frame + ETH_DST_OFFSET;
	src = frame + ETH_SRC_OFFSET;
	if (is_group_address(src) ||
	    (from->has_mac && memcmp(src, from->mac, ETH_ADDR_BYTES) != 0)) {
		from->spoofed++;
		return VSWITCH_DROP_SPOOFED;
	}
	if (is_group_address(dst))
		return flood(sw, in_port, out);
	to = port_owning(sw, dst);
	if (to < 0 && from->has_mac)
		to = uplink_other_than(sw, in_port);
	if (to < 0)
		return flood(sw, in_port, out);
	if ((unsigned)to == in_port) {
		from->no_port++;
		return VSWITCH_DROP_NO_PORT;
	}
	vswitch_ports_add(out, (unsigned)to);
	from->forwarded++;
	return VSWITCH_FORWARD;
}
