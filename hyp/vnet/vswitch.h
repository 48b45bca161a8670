/*
 * The virtual Ethernet switch's forwarding decision: given a frame and the
 * port it came in on, the ports it goes out on. Pure: no locks (the caller
 * holds the switch's lock), no copying (the caller moves the bytes).
 *
 * Every port but an uplink owns exactly one MAC address, the one discv
 * assigned to its guest, so the switch learns nothing: it knows where
 * every guest is from the start. An uplink-style port (added with no MAC)
 * stands for everything else: any source address is accepted from it,
 * and unicast to an address no port owns reaches it alone. A learning
 * switch would flood such a frame (802.1D 8.8), but here no guest can own
 * the address (its source would be spoofed), so copying the frame into
 * every guest would only cost each of them a copy and an interrupt.
 *
 * The rules, for a frame of len bytes from port in_port:
 *   - in_port not a port:                            VSWITCH_DROP_BAD_PORT
 *   - shorter than the 14-byte header:               VSWITCH_DROP_RUNT
 *   - source is a group address, or (port with a
 *     MAC) not the port's MAC:                       VSWITCH_DROP_SPOOFED
 *   - destination a group address (broadcast,
 *     multicast): every port but the sender          (flooded)
 *   - destination a port's MAC: that port, unless
 *     it is the sender's own (VSWITCH_DROP_NO_PORT)  (forwarded)
 *   - destination no port's MAC, from a guest: the
 *     first uplink, if there is one                  (forwarded)
 *   - destination no port's MAC, otherwise: every
 *     port but the sender                            (flooded)
 *   - no port left to go to:                         VSWITCH_DROP_NO_PORT
 * Each verdict is counted on the port the frame came in on.
 */
#ifndef DISCV_VNET_VSWITCH_H
#define DISCV_VNET_VSWITCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VSWITCH_MAX_PORTS 65	/* 64 guests + an uplink */
#define VSWITCH_MAX_GUESTS 64

/* IEEE 802.3 clause 3.2: destination (6), source (6), length/type (2). */
#define ETH_ADDR_BYTES 6
#define ETH_HEADER_BYTES 14

/* A set of ports, one bit each. */
#define VSWITCH_PORT_WORDS ((VSWITCH_MAX_PORTS + 63) / 64)
struct vswitch_ports {
	uint64_t bits[VSWITCH_PORT_WORDS];
};

static inline void vswitch_ports_clear(struct vswitch_ports *set)
{
	for (unsigned w = 0; w < VSWITCH_PORT_WORDS; w++)
		set->bits[w] = 0;
}

static inline void vswitch_ports_add(struct vswitch_ports *set, unsigned port)
{
	set->bits[port / 64] |= 1ULL << (port % 64);
}

static inline bool vswitch_ports_has(const struct vswitch_ports *set, unsigned port)
{
	return port < VSWITCH_MAX_PORTS && (set->bits[port / 64] >> (port % 64) & 1);
}

unsigned vswitch_ports_count(const struct vswitch_ports *set);

/* What vswitch_route decided. */
enum vswitch_verdict {
	VSWITCH_FORWARD,	/* out holds at least one port */
	VSWITCH_DROP_RUNT,	/* < 14 bytes: no Ethernet header */
	VSWITCH_DROP_SPOOFED,	/* source MAC not the port's, or a group address */
	VSWITCH_DROP_NO_PORT,	/* nowhere to go (to itself, or no other port) */
	VSWITCH_DROP_BAD_PORT,	/* in_port is not a port */
};

/* One port: its address and what happened to the frames it sent. */
struct vswitch_port {
	uint8_t mac[ETH_ADDR_BYTES];
	bool has_mac;		/* false: an uplink, owning no address */
	uint64_t forwarded;	/* unicast sent to the one port owning its destination */
	uint64_t flooded;	/* group or unknown unicast sent to every other port */
	uint64_t spoofed;	/* dropped: VSWITCH_DROP_SPOOFED */
	uint64_t runts;		/* dropped: VSWITCH_DROP_RUNT */
	uint64_t no_port;	/* dropped: VSWITCH_DROP_NO_PORT */
};

struct vswitch {
	unsigned nports;
	struct vswitch_port port[VSWITCH_MAX_PORTS];
	uint64_t bad_port;	/* frames from a port number that is not a port */
};

/* The MAC discv gives guest guest_index (0..63): 02:64:73:63:76:ii. */
void vswitch_guest_mac(unsigned guest_index, uint8_t mac[ETH_ADDR_BYTES]);

void vswitch_init(struct vswitch *sw);

/*
 * Adds a port owning mac (NULL: an uplink, owning none). Returns its
 * number (0, 1, ... in the order added), or -1 if the switch is full, mac
 * is a group address, or another port owns mac already.
 */
int vswitch_add_port(struct vswitch *sw, const uint8_t mac[ETH_ADDR_BYTES]);

/* Decides where frame (len bytes, from in_port) goes; out is set on every
 * verdict (empty unless VSWITCH_FORWARD). */
enum vswitch_verdict vswitch_route(struct vswitch *sw, unsigned in_port, const uint8_t *frame,
				   size_t len, struct vswitch_ports *out);

#endif
