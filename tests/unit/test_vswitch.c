/*
 * hyp/vnet/vswitch.c: the switch's forwarding decision. Frames are built
 * by hand (destination, source, a type); each rule is checked on its own,
 * then thousands of random frames over random ports are compared with a
 * reference model written from the rules in vswitch.h.
 */
#include <string.h>
#include "unit.h"
#include "vnet/vswitch.h"

static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t ipv4_multicast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
static const uint8_t ipv6_multicast[6] = { 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t stranger[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

/* A 60-byte frame dst, src, type 0x0800, then a fill byte. */
static size_t frame(uint8_t *buf, const uint8_t *dst, const uint8_t *src)
{
	memset(buf, 0xa5, 60);
	memcpy(buf, dst, 6);
	memcpy(buf + 6, src, 6);
	buf[12] = 0x08;
	buf[13] = 0x00;
	return 60;
}

/* A switch of n guest ports (guest i on port i), and an uplink if asked. */
static void make_switch(struct vswitch *sw, unsigned n, bool uplink)
{
	uint8_t mac[6];

	vswitch_init(sw);
	for (unsigned i = 0; i < n; i++) {
		vswitch_guest_mac(i, mac);
		CHECK_EQ(vswitch_add_port(sw, mac), i);
	}
	if (uplink)
		CHECK_EQ(vswitch_add_port(sw, NULL), n);
}

static uint8_t mac_of[VSWITCH_MAX_GUESTS][6];

static void fill_macs(void)
{
	for (unsigned i = 0; i < VSWITCH_MAX_GUESTS; i++)
		vswitch_guest_mac(i, mac_of[i]);
}

/* out holds exactly the ports of the first n bits of want (a bit mask). */
static bool ports_are(const struct vswitch_ports *out, uint64_t want, unsigned n)
{
	unsigned count = 0;

	for (unsigned p = 0; p < VSWITCH_MAX_PORTS; p++) {
		bool expected = p < n && (want >> p & 1);
		if (vswitch_ports_has(out, p) != expected)
			return false;
		count += expected;
	}
	return vswitch_ports_count(out) == count;
}

static void test_guest_mac(void)
{
	uint8_t mac[6];
	static const uint8_t guest0[6] = { 0x02, 0x64, 0x73, 0x63, 0x76, 0x00 };
	static const uint8_t guest63[6] = { 0x02, 0x64, 0x73, 0x63, 0x76, 0x3f };

	vswitch_guest_mac(0, mac);
	CHECK_MEM(mac, guest0, 6);
	vswitch_guest_mac(63, mac);
	CHECK_MEM(mac, guest63, 6);
	vswitch_guest_mac(5, mac);
	CHECK_MEM(mac, "\x02" "dscv" "\x05", 6);
	/* Individual (I/G 0), locally administered (U/L 1). */
	CHECK_EQ(mac[0] & 1, 0);
	CHECK_EQ(mac[0] & 2, 2);
	/* Stable, and distinct for every guest. */
	for (unsigned i = 0; i < VSWITCH_MAX_GUESTS; i++) {
		uint8_t again[6];
		vswitch_guest_mac(i, mac);
		vswitch_guest_mac(i, again);
		CHECK_MEM(mac, again, 6);
		CHECK_EQ(mac[5], i);
		CHECK_MEM(mac, guest0, 5);
	}
}

static void test_ports_set(void)
{
	struct vswitch_ports s;

	vswitch_ports_clear(&s);
	CHECK_EQ(vswitch_ports_count(&s), 0);
	vswitch_ports_add(&s, 0);
	vswitch_ports_add(&s, 63);
	vswitch_ports_add(&s, 64);
	vswitch_ports_add(&s, 64);
	CHECK_EQ(vswitch_ports_count(&s), 3);
	CHECK(vswitch_ports_has(&s, 0));
	CHECK(!vswitch_ports_has(&s, 1));
	CHECK(vswitch_ports_has(&s, 63));
	CHECK(vswitch_ports_has(&s, 64));
	CHECK(!vswitch_ports_has(&s, VSWITCH_MAX_PORTS));	/* out of range: never */
	CHECK(!vswitch_ports_has(&s, 1000));
}

static void test_add_port(void)
{
	static struct vswitch sw;
	uint8_t mac[6];

	make_switch(&sw, 64, true);
	CHECK_EQ(sw.nports, 65);
	CHECK(!sw.port[64].has_mac);
	CHECK(sw.port[7].has_mac);
	CHECK_MEM(sw.port[7].mac, mac_of[7], 6);
	CHECK_EQ(vswitch_add_port(&sw, NULL), -1);		/* full */
	CHECK_EQ(vswitch_add_port(&sw, stranger), -1);
	CHECK_EQ(sw.nports, 65);

	vswitch_init(&sw);
	CHECK_EQ(sw.nports, 0);
	vswitch_guest_mac(3, mac);
	CHECK_EQ(vswitch_add_port(&sw, mac), 0);
	CHECK_EQ(vswitch_add_port(&sw, mac), -1);		/* owned already */
	CHECK_EQ(vswitch_add_port(&sw, broadcast), -1);		/* a group address */
	CHECK_EQ(vswitch_add_port(&sw, ipv4_multicast), -1);
	CHECK_EQ(vswitch_add_port(&sw, NULL), 1);
	CHECK_EQ(vswitch_add_port(&sw, NULL), 2);		/* two uplinks: no address clash */
	CHECK_EQ(sw.nports, 3);
}

static void test_unicast(void)
{
	static struct vswitch sw;
	struct vswitch_ports out;
	uint8_t buf[64];
	size_t len;

	make_switch(&sw, 4, true);
	len = frame(buf, mac_of[2], mac_of[0]);
	CHECK_EQ(vswitch_route(&sw, 0, buf, len, &out), VSWITCH_FORWARD);
	CHECK(ports_are(&out, 1u << 2, 5));
	len = frame(buf, mac_of[0], mac_of[3]);
	CHECK_EQ(vswitch_route(&sw, 3, buf, len, &out), VSWITCH_FORWARD);
	CHECK(ports_are(&out, 1u << 0, 5));
	/* From the uplink, any source, to a guest: that guest only. */
	len = frame(buf, mac_of[1], stranger);
	CHECK_EQ(vswitch_route(&sw, 4, buf, len, &out), VSWITCH_FORWARD);
	CHECK(ports_are(&out, 1u << 1, 5));
	CHECK_EQ(sw.port[0].forwarded, 1);
	CHECK_EQ(sw.port[3].forwarded, 1);
	CHECK_EQ(sw.port[4].forwarded, 1);
	CHECK_EQ(sw.port[1].forwarded, 0);
	CHECK_EQ(sw.port[0].flooded, 0);
	/* The header alone (14 bytes) is a frame. */
	frame(buf, mac_of[1], mac_of[0]);
	CHECK_EQ(vswitch_route(&sw, 0, buf, 14, &out), VSWITCH_FORWARD);
	CHECK(ports_are(&out, 1u << 1, 5));
	/* Port 64, in the second word of the set. */
	make_switch(&sw, 64, true);
	len = frame(buf, mac_of[63], stranger);
	CHECK_EQ(vswitch_route(&sw, 64, buf, len, &out), VSWITCH_FORWARD);
	CHECK(vswitch_ports_has(&out, 63));
	CHECK_EQ(vswitch_ports_count(&out), 1);
	len = frame(buf, stranger, mac_of[63]);
	CHECK_EQ(vswitch_route(&sw, 63, buf, len, &out), VSWITCH_FORWARD);
	CHECK_EQ(vswitch_ports_count(&out), 1);	/* unknown: the uplink alone */
	CHECK(vswitch_ports_has(&out, 64));
	CHECK(!vswitch_ports_has(&out, 63));
}

static void test_flood_group(void)
{
	static struct vswitch sw;
	struct vswitch_ports out;
	uint8_t buf[64];
	size_t len;
	const uint8_t *groups[] = { broadcast, ipv4_multicast, ipv6_multicast };

	make_switch(&sw, 4, true);
	for (unsigned g = 0; g < 3; g++) {
		len = frame(buf, groups[g], mac_of[1]);
		CHECK_EQ(vswitch_route(&sw, 1, buf, len, &out), VSWITCH_FORWARD);
		CHECK(ports_are(&out, 0x1f & ~(1u << 1), 5));
		len = frame(buf, groups[g], stranger);
		CHECK_EQ(vswitch_route(&sw, 4, buf, len, &out), VSWITCH_FORWARD);
		CHECK(ports_are(&out, 0x0f, 5));
	}
	CHECK_EQ(sw.port[1].flooded, 3);
	CHECK_EQ(sw.port[4].flooded, 3);
	CHECK_EQ(sw.port[1].forwarded, 0);
	/* All 64 guests: a broadcast reaches the 63 others and the uplink. */
	make_switch(&sw, 64, true);
	len = frame(buf, broadcast, mac_of[40]);
	CHECK_EQ(vswitch_route(&sw, 40, buf, len, &out), VSWITCH_FORWARD);
	CHECK_EQ(vswitch_ports_count(&out), 64);
	CHECK(!vswitch_ports_has(&out, 40));
	CHECK(vswitch_ports_has(&out, 0));
	CHECK(vswitch_ports_has(&out, 64));
	/* A lone port: nowhere to flood. */
	make_switch(&sw, 1, false);
	len = frame(buf, broadcast, mac_of[0]);
	CHECK_EQ(vswitch_route(&sw, 0, buf, len, &out), VSWITCH_DROP_NO_PORT);
	CHECK_EQ(vswitch_ports_count(&out), 0);
	CHECK_EQ(sw.port[0].no_port, 1);
	CHECK_EQ(sw.port[0].flooded, 0);
}

static void test_unknown_unicast(void)
{
	static struct vswitch sw;
	struct vswitch_ports out;
	uint8_t buf[64], absent_guest[6];
	size_t len;

	make_switch(&sw, 3, true);
	len = frame(buf, stranger, mac_of[0]);
	CHECK_EQ(vswitch_route(&sw, 0, buf, len, &out), VSWITCH_FORWARD);
	CHECK(ports_are(&out, 0x8, 4));		/* the uplink only: no guest owns it */
	/* A guest MAC with no port (guest 9 of 3) is unknown too. */
	vswitch_guest_mac(9, absent_guest);
	len = frame(buf, absent_guest, mac_of[2]);
	CHECK_EQ(vswitch_route(&sw, 2, buf, len, &out), VSWITCH_FORWARD);
	CHECK(ports_are(&out, 0x8, 4));
	/* Without an uplink, unknown unicast floods to the other guests. */
	make_switch(&sw, 3, false);
	len = frame(buf, stranger, mac_of[0]);
	CHECK_EQ(vswitch_route(&sw, 0, buf, len, &out), VSWITCH_FORWARD);
	CHECK(ports_are(&out, 0x6, 3));
	CHECK_EQ(sw.port[0].flooded, 1);
	make_switch(&sw, 3, true);
	len = frame(buf, stranger, mac_of[0]);
	CHECK_EQ(vswitch_route(&sw, 0, buf, len, &out), VSWITCH_FORWARD);
	len = frame(buf, absent_guest, mac_of[2]);
	CHECK_EQ(vswitch_route(&sw, 2, buf, len, &out), VSWITCH_FORWARD);
	CHECK_EQ(sw.port[0].forwarded, 1);	/* to one port: forwarded, not flooded */
	CHECK_EQ(sw.port[2].forwarded, 1);
	CHECK_EQ(sw.port[0].flooded, 0);
	/* From the uplink, unknown unicast goes to every guest (the uplink
	 * uses the guests' addresses only; flooding is the 802.1D rule). */
	len = frame(buf, stranger, stranger);
	CHECK_EQ(vswitch_route(&sw, 3, buf, len, &out), VSWITCH_FORWARD);
	CHECK(ports_are(&out, 0x7, 4));
}

static void test_spoofed(void)
{
	static struct vswitch sw;
	struct vswitch_ports out;
	uint8_t buf[64];
	size_t len;

	make_switch(&sw, 4, true);
	/* Guest 1 claiming guest 2's address, then a stranger's. */
	len = frame(buf, mac_of[0], mac_of[2]);
	CHECK_EQ(vswitch_route(&sw, 1, buf, len, &out), VSWITCH_DROP_SPOOFED);
	CHECK_EQ(vswitch_ports_count(&out), 0);
	len = frame(buf, broadcast, stranger);
	CHECK_EQ(vswitch_route(&sw, 1, buf, len, &out), VSWITCH_DROP_SPOOFED);
	CHECK_EQ(vswitch_ports_count(&out), 0);
	/* Only the last byte differs. */
	len = frame(buf, mac_of[0], mac_of[1]);
	buf[11] ^= 0x80;
	CHECK_EQ(vswitch_route(&sw, 1, buf, len, &out), VSWITCH_DROP_SPOOFED);
	/* Only the first. */
	len = frame(buf, mac_of[0], mac_of[1]);
	buf[6] ^= 0x04;
	CHECK_EQ(vswitch_route(&sw, 1, buf, len, &out), VSWITCH_DROP_SPOOFED);
	CHECK_EQ(sw.port[1].spoofed, 4);
	CHECK_EQ(sw.port[0].spoofed, 0);
	CHECK_EQ(sw.port[2].spoofed, 0);
	CHECK_EQ(sw.port[1].forwarded + sw.port[1].flooded, 0);
	/* A group source address, from a guest or from the uplink. */
	len = frame(buf, mac_of[0], broadcast);
	CHECK_EQ(vswitch_route(&sw, 3, buf, len, &out), VSWITCH_DROP_SPOOFED);
	len = frame(buf, mac_of[0], ipv4_multicast);
	CHECK_EQ(vswitch_route(&sw, 4, buf, len, &out), VSWITCH_DROP_SPOOFED);
	CHECK_EQ(vswitch_ports_count(&out), 0);
	len = frame(buf, mac_of[0], mac_of[2]);
	buf[6] |= 1;		/* guest 2's address with the I/G bit set */
	CHECK_EQ(vswitch_route(&sw, 4, buf, len, &out), VSWITCH_DROP_SPOOFED);
	CHECK_EQ(sw.port[3].spoofed, 1);
	CHECK_EQ(sw.port[4].spoofed, 2);
	/* A guest's own frame still goes. */
	len = frame(buf, mac_of[0], mac_of[1]);
	CHECK_EQ(vswitch_route(&sw, 1, buf, len, &out), VSWITCH_FORWARD);
	CHECK_EQ(sw.port[1].spoofed, 4);
}

static void test_runt(void)
{
	static struct vswitch sw;
	struct vswitch_ports out;
	uint8_t buf[64];

	make_switch(&sw, 2, false);
	frame(buf, mac_of[1], mac_of[0]);
	for (size_t len = 0; len < 14; len++) {
		vswitch_ports_add(&out, 1);	/* route must clear it */
		CHECK_EQ(vswitch_route(&sw, 0, buf, len, &out), VSWITCH_DROP_RUNT);
		CHECK_EQ(vswitch_ports_count(&out), 0);
	}
	CHECK_EQ(vswitch_route(&sw, 1, NULL, 0, &out), VSWITCH_DROP_RUNT);
	CHECK_EQ(sw.port[0].runts, 14);
	CHECK_EQ(sw.port[1].runts, 1);
	CHECK_EQ(sw.port[0].forwarded, 0);
	CHECK_EQ(vswitch_route(&sw, 0, buf, 14, &out), VSWITCH_FORWARD);
	CHECK_EQ(sw.port[0].runts, 14);
}

static void test_to_self(void)
{
	static struct vswitch sw;
	struct vswitch_ports out;
	uint8_t buf[64];
	size_t len;

	make_switch(&sw, 3, true);
	len = frame(buf, mac_of[1], mac_of[1]);
	CHECK_EQ(vswitch_route(&sw, 1, buf, len, &out), VSWITCH_DROP_NO_PORT);
	CHECK_EQ(vswitch_ports_count(&out), 0);
	CHECK_EQ(sw.port[1].no_port, 1);
	CHECK_EQ(sw.port[1].forwarded + sw.port[1].flooded, 0);
	/* Not flooded to the uplink either: the address is known. */
	CHECK(!vswitch_ports_has(&out, 3));
}

static void test_bad_port(void)
{
	static struct vswitch sw;
	struct vswitch_ports out;
	uint8_t buf[64];
	size_t len;

	make_switch(&sw, 3, false);
	len = frame(buf, broadcast, mac_of[0]);
	vswitch_ports_add(&out, 0);
	CHECK_EQ(vswitch_route(&sw, 3, buf, len, &out), VSWITCH_DROP_BAD_PORT);
	CHECK_EQ(vswitch_ports_count(&out), 0);
	CHECK_EQ(vswitch_route(&sw, VSWITCH_MAX_PORTS, buf, len, &out), VSWITCH_DROP_BAD_PORT);
	CHECK_EQ(vswitch_route(&sw, ~0u, buf, 0, &out), VSWITCH_DROP_BAD_PORT);
	CHECK_EQ(sw.bad_port, 3);
	for (unsigned p = 0; p < 3; p++)
		CHECK_EQ(sw.port[p].runts + sw.port[p].flooded + sw.port[p].no_port, 0);
	/* An empty switch has no ports at all. */
	vswitch_init(&sw);
	CHECK_EQ(vswitch_route(&sw, 0, buf, len, &out), VSWITCH_DROP_BAD_PORT);
}

/* ---- the reference model ---- */

struct model_counts {
	uint64_t forwarded, flooded, spoofed, runts, no_port;
};

/* The rules of vswitch.h, written the slow way: a port mask in *out. */
static enum vswitch_verdict model_route(unsigned nguests, bool uplink, unsigned in_port,
					const uint8_t *f, size_t len, uint64_t out[2],
					struct model_counts *c)
{
	unsigned nports = nguests + uplink;
	bool from_guest = in_port < nguests;
	int owner = -1;

	out[0] = out[1] = 0;
	if (in_port >= nports)
		return VSWITCH_DROP_BAD_PORT;
	if (len < 14) {
		c[in_port].runts++;
		return VSWITCH_DROP_RUNT;
	}
	if ((f[6] & 1) || (from_guest && memcmp(f + 6, mac_of[in_port], 6) != 0)) {
		c[in_port].spoofed++;
		return VSWITCH_DROP_SPOOFED;
	}
	if (!(f[0] & 1))
		for (unsigned g = 0; g < nguests; g++)
			if (memcmp(f, mac_of[g], 6) == 0)
				owner = (int)g;
	if (owner == (int)in_port) {
		c[in_port].no_port++;
		return VSWITCH_DROP_NO_PORT;
	}
	if (owner >= 0) {
		out[owner / 64] |= 1ULL << (owner % 64);
		c[in_port].forwarded++;
		return VSWITCH_FORWARD;
	}
	/* Unknown unicast from a guest: to the uplink alone, if there is one
	 * (no guest can own the address); else, and from the uplink, flood. */
	if (!(f[0] & 1) && uplink && from_guest) {
		out[nguests / 64] |= 1ULL << (nguests % 64);
		c[in_port].forwarded++;
		return VSWITCH_FORWARD;
	}
	for (unsigned p = 0; p < nports; p++)
		if (p != in_port)
			out[p / 64] |= 1ULL << (p % 64);
	if (nports < 2) {
		c[in_port].no_port++;
		return VSWITCH_DROP_NO_PORT;
	}
	c[in_port].flooded++;
	return VSWITCH_FORWARD;
}

/* An address: mostly the guests', sometimes a group or a stranger. */
static void random_mac(uint64_t *seed, unsigned nguests, uint8_t *mac)
{
	uint64_t r = unit_rand(seed);

	switch (r % 8) {
	case 0: memcpy(mac, broadcast, 6); break;
	case 1: memcpy(mac, r & 8 ? ipv4_multicast : ipv6_multicast, 6); break;
	case 2:
		for (unsigned i = 0; i < 6; i++)
			mac[i] = (uint8_t)(unit_rand(seed) >> 32);
		break;
	default:
		/* A guest's (or one past the last guest's, no port's). */
		vswitch_guest_mac((unsigned)(r >> 8) % (nguests + 1), mac);
		if ((r >> 20) % 16 == 0)
			mac[(r >> 24) % 6] ^= (uint8_t)(1u << ((r >> 28) % 8));
	}
}

static void test_random_against_model(void)
{
	static struct vswitch sw;
	uint64_t seed = unit_seed();
	unsigned mismatches = 0, checked = 0;
	uint64_t verdicts[5] = { 0 };

	for (unsigned round = 0; round < 40; round++) {
		unsigned nguests = (unsigned)(unit_rand(&seed) % (VSWITCH_MAX_GUESTS + 1));
		bool uplink = unit_rand(&seed) & 1;
		struct model_counts counts[VSWITCH_MAX_PORTS] = { 0 };
		uint64_t bad_ports = 0;

		make_switch(&sw, nguests, uplink);
		for (unsigned i = 0; i < 500; i++) {
			uint8_t buf[64];
			uint64_t r = unit_rand(&seed), want[2];
			unsigned in_port = (unsigned)(r % (nguests + uplink + 2));
			size_t len = r >> 8 & 1 ? 60 : (size_t)(r >> 16) % 20;
			struct vswitch_ports out;
			enum vswitch_verdict got, expected;

			for (unsigned b = 0; b < sizeof(buf); b++)
				buf[b] = (uint8_t)unit_rand(&seed);
			random_mac(&seed, nguests, buf);
			/* Mostly a guest's own source address, as an honest guest sends. */
			if (in_port < nguests && (r >> 40) % 4 != 0)
				memcpy(buf + 6, mac_of[in_port], 6);
			else
				random_mac(&seed, nguests, buf + 6);
			expected = model_route(nguests, uplink, in_port, buf, len, want, counts);
			got = vswitch_route(&sw, in_port, buf, len, &out);
			bad_ports += expected == VSWITCH_DROP_BAD_PORT;
			verdicts[expected]++;
			checked++;
			if (got != expected || out.bits[0] != want[0] || out.bits[1] != want[1]) {
				if (mismatches++ < 5) {
					CHECK_EQ(got, expected);
					CHECK_EQ(out.bits[0], want[0]);
					CHECK_EQ(out.bits[1], want[1]);
				}
			}
		}
		for (unsigned p = 0; p < nguests + uplink; p++) {
			CHECK_EQ(sw.port[p].forwarded, counts[p].forwarded);
			CHECK_EQ(sw.port[p].flooded, counts[p].flooded);
			CHECK_EQ(sw.port[p].spoofed, counts[p].spoofed);
			CHECK_EQ(sw.port[p].runts, counts[p].runts);
			CHECK_EQ(sw.port[p].no_port, counts[p].no_port);
		}
		CHECK_EQ(sw.bad_port, bad_ports);
	}
	CHECK_EQ(mismatches, 0);
	CHECK_EQ(checked, 20000);
	/* The random frames reached every verdict. */
	for (unsigned v = 0; v < 5; v++)
		CHECK(verdicts[v] > 100);
}

int main(void)
{
	fill_macs();
	RUN(test_guest_mac);
	RUN(test_ports_set);
	RUN(test_add_port);
	RUN(test_unicast);
	RUN(test_flood_group);
	RUN(test_unknown_unicast);
	RUN(test_spoofed);
	RUN(test_runt);
	RUN(test_to_self);
	RUN(test_bad_port);
	RUN(test_random_against_model);
	return unit_report("test_vswitch");
}
