/*
 * libFuzzer target: the path of a frame through the switch, with the
 * guest-controlled parts taken from the input - the sender's 12-byte
 * virtio-net header (vnet_hdr_check), its Ethernet header and port
 * (vswitch_route), and both descriptor chains (rx_plan_make: the split
 * and the pages to remap); then the whole input as a packet, summed and
 * cut for a receiver without offloads (vnet_offload_checksum with the
 * header's csum_start and csum_offset, vnet_gso_* with its gso_size).
 * Whatever the input, the checks must hold: a routed frame goes to
 * existing ports other than its own, never from a spoofed source; a
 * planned remap is one whole aligned page on both sides, inside the
 * frame, in frame order; a split is one the patched driver accepts; the
 * checksum changes only its field; every segment fits its 1514-byte
 * buffer, there are at most 1 + payload / mss of them, and their
 * payloads put together are the packet's.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "vnet/rx_plan.h"
#include "vnet/vnet_hdr.h"
#include "vnet/vnet_offload.h"
#include "vnet/vswitch.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

struct input {
	const uint8_t *p;
	size_t left;
};

static uint64_t take(struct input *in, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++) {
		v = v << 8 | (in->left ? *in->p : 0);
		if (in->left) {
			in->p++;
			in->left--;
		}
	}
	return v;
}

/* A chain of up to 20 buffers, of the given direction, from the input. */
static void chain_from(struct input *in, struct virtq_chain *c, bool writable)
{
	unsigned n = 1 + (unsigned)take(in, 1) % 20;

	memset(c, 0, sizeof(*c));
	for (unsigned i = 0; i < n; i++) {
		/* Page-aligned or not, short or several pages long. */
		uint64_t gpa = 0x80000000 + take(in, 3) * (take(in, 1) & 1 ? 4096 : 1);
		uint32_t len = 1 + (uint32_t)take(in, 2) % (3 * 4096);
		c->buf[c->nbufs++] = (struct virtq_buf){ gpa, len, writable };
		if (writable)
			c->writable_bytes += len;
		else
			c->readable_bytes += len;
	}
}

/* The input as a packet (in a buffer of its size: ASan sees any read
 * past it), summed, then cut into 1514-byte frames. Returns 0. */
static int check_offloads(const uint8_t *data, size_t size, const struct vnet_hdr *h)
{
	uint32_t len = size > VNET_GSO_PACKET_MAX ? VNET_GSO_PACKET_MAX : (uint32_t)size;
	uint8_t *packet = malloc(len ? len : 1), seg[VNET_ETH_FRAME_MAX];
	uint32_t field = (uint32_t)h->csum_start + h->csum_offset;
	struct vnet_gso g;

	if (len)
		memcpy(packet, data, len);
	if (vnet_offload_checksum(packet, len, h->csum_start, h->csum_offset)) {
		CHECK(h->csum_start < len && field + 2 <= len);
		CHECK(memcmp(packet, data, field) == 0);
		CHECK(memcmp(packet + field + 2, data + field + 2, len - field - 2) == 0);
	} else if (len) {
		CHECK(memcmp(packet, data, len) == 0);
	}
	if (vnet_gso_begin(&g, packet, len, h->gso_size, sizeof(seg)) == VNET_GSO_OK) {
		/* begin checked the headers: this parse stays inside. */
		uint32_t tcp_off = 14 + (packet[14] & 0xf) * 4u;
		uint32_t hdr = tcp_off + (packet[tcp_off + 12] >> 4) * 4u, at = 0, n;
		uint32_t payload = len - hdr, segments = 0;

		while ((n = vnet_gso_next(&g, seg, sizeof(seg))) != 0) {
			CHECK(n <= sizeof(seg) && n >= hdr && n - hdr <= h->gso_size);
			CHECK(++segments <= 1 + payload / h->gso_size);
			CHECK(at + (n - hdr) <= payload);
			CHECK(memcmp(seg + hdr, packet + hdr + at, n - hdr) == 0);
			at += n - hdr;
		}
		/* A buffer of max_frame bytes always fits the next segment. */
		CHECK(vnet_gso_done(&g) && at == payload && segments >= 1);
	}
	free(packet);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	uint8_t hdr_bytes[VNET_HDR_BYTES], eth[ETH_HEADER_BYTES];
	static struct vswitch sw;
	struct vswitch_ports out;
	struct virtq_chain tx, rx;
	struct vnet_hdr h;
	struct rx_plan plan;

	for (unsigned i = 0; i < VNET_HDR_BYTES; i++)
		hdr_bytes[i] = (uint8_t)take(&in, 1);
	vnet_hdr_decode(hdr_bytes, &h);
	uint8_t knobs = (uint8_t)take(&in, 1);
	size_t len = (size_t)take(&in, 3) % (80 * 1024);
	(void)vnet_hdr_check(&h, len, knobs & 1, knobs & 2);

	/* Three guests' ports; the frame from one of them (or a bad port). */
	vswitch_init(&sw);
	for (unsigned g = 0; g < 3; g++) {
		uint8_t mac[ETH_ADDR_BYTES];
		vswitch_guest_mac(g, mac);
		CHECK(vswitch_add_port(&sw, mac) == (int)g);
	}
	unsigned port = (unsigned)take(&in, 1) % 4;
	for (unsigned i = 0; i < ETH_HEADER_BYTES; i++)
		eth[i] = (uint8_t)take(&in, 1);
	if (take(&in, 1) & 1)	/* often a well-formed source */
		vswitch_guest_mac(port, eth + 6);
	enum vswitch_verdict v = vswitch_route(&sw, port, eth, len, &out);
	if (v == VSWITCH_FORWARD) {
		uint8_t mac[ETH_ADDR_BYTES];
		CHECK(port < 3 && len >= ETH_HEADER_BYTES);
		vswitch_guest_mac(port, mac);
		CHECK(memcmp(eth + 6, mac, ETH_ADDR_BYTES) == 0);
		CHECK(vswitch_ports_count(&out) >= 1 && !vswitch_ports_has(&out, port));
		for (unsigned p = 3; p < VSWITCH_MAX_PORTS; p++)
			CHECK(!vswitch_ports_has(&out, p));
	}

	chain_from(&in, &tx, false);
	chain_from(&in, &rx, true);
	uint64_t room_tx = tx.readable_bytes, room_rx = rx.writable_bytes;
	if (room_tx < VNET_HDR_BYTES || room_rx < VNET_HDR_BYTES)
		return check_offloads(data, size, &h);
	uint64_t frame = room_tx - VNET_HDR_BYTES;
	if (frame > room_rx - VNET_HDR_BYTES)
		frame = room_rx - VNET_HDR_BYTES;
	rx_plan_make(&tx, &rx, VNET_HDR_BYTES, (uint32_t)frame, knobs & 4, !(knobs & 8), &plan);
	if (knobs & 8)
		CHECK(plan.nremaps == 0 && plan.split == 0);
	if (plan.split)
		CHECK(plan.split >= RX_PLAN_MIN_SPLIT && plan.split + RX_PLAN_PAGE <= frame);
	CHECK(plan.nremaps <= RX_PLAN_MAX_REMAPS);
	uint64_t end = 0;
	for (unsigned i = 0; i < plan.nremaps; i++) {
		const struct rx_remap *r = &plan.remap[i];
		CHECK(r->frame_off >= end && (uint64_t)r->frame_off + RX_PLAN_PAGE <= frame);
		CHECK(r->src_gpa % RX_PLAN_PAGE == 0 && r->dst_gpa % RX_PLAN_PAGE == 0);
		end = r->frame_off + RX_PLAN_PAGE;
	}
	return check_offloads(data, size, &h);
}
