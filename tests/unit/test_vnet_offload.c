/*
 * hyp/vnet/vnet_offload.c: the checksum and the TCP/IPv4 segmentation
 * the switch does for a receiver that took no offloads. Packets are built
 * here field by field and checked with a checksum written here (not the
 * code under test): every IPv4 header must sum to 0xffff, every TCP
 * segment with its pseudo-header too. Bad packets are handed over in
 * buffers of exactly their length, so ASan sees any read past them; then
 * thousands of random, mutated packets are compared with a model of the
 * rules in vnet_offload.h.
 */
#include <stdlib.h>
#include "unit.h"
#include "vnet/vnet_offload.h"

#define ETH 14
#define BIG (65536 + 14)

/* What the builder puts in a packet. */
struct pkt {
	uint16_t ethertype;
	uint8_t version, ihl, protocol, doff, flags;
	uint16_t id, frag, tot_len;	/* tot_len 0: the true one (0xffff if larger) */
	uint32_t seq;
	uint32_t payload;
};

static struct pkt tcp_pkt(uint32_t payload)
{
	return (struct pkt){ .ethertype = 0x0800, .version = 4, .ihl = 5, .protocol = 6,
			     .doff = 8, .flags = 0x18, .id = 0x1234, .frag = 0x4000,
			     .seq = 0x10203040, .payload = payload };
}

static uint8_t payload_byte(uint32_t i)
{
	return (uint8_t)(i * 7 + (i >> 8) + 3);
}

/* Builds p into buf; returns the frame's length. The TCP checksum field
 * holds garbage: the code under test must not use it. */
static uint32_t build(uint8_t *buf, const struct pkt *p)
{
	static const uint8_t dst[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };
	static const uint8_t src[6] = { 0x02, 'd', 's', 'c', 'v', 0x01 };
	uint32_t ip_hlen = p->ihl * 4u, tcp_hlen = p->doff * 4u;
	uint32_t total = ip_hlen + tcp_hlen + p->payload;
	uint16_t tot_len = p->tot_len ? p->tot_len : (uint16_t)(total > 0xffff ? 0xffff : total);
	uint8_t *ip = buf + ETH, *tcp = ip + ip_hlen;

	memcpy(buf, dst, 6);
	memcpy(buf + 6, src, 6);
	buf[12] = (uint8_t)(p->ethertype >> 8);
	buf[13] = (uint8_t)p->ethertype;
	ip[0] = (uint8_t)(p->version << 4 | p->ihl);
	ip[1] = 0x10;
	ip[2] = (uint8_t)(tot_len >> 8);
	ip[3] = (uint8_t)tot_len;
	ip[4] = (uint8_t)(p->id >> 8);
	ip[5] = (uint8_t)p->id;
	ip[6] = (uint8_t)(p->frag >> 8);
	ip[7] = (uint8_t)p->frag;
	ip[8] = 64;
	ip[9] = p->protocol;
	ip[10] = 0xde;			/* a wrong header checksum */
	ip[11] = 0xad;
	memcpy(ip + 12, (const uint8_t[]){ 10, 0, 2, 15, 93, 184, 216, 34 }, 8);
	for (uint32_t i = 20; i < ip_hlen; i++)	/* options: NOPs, then numbered bytes */
		ip[i] = i < 22 ? 1 : (uint8_t)(0x40 + i);
	tcp[0] = 0x9c;			/* ports 40000 -> 443 */
	tcp[1] = 0x40;
	tcp[2] = 0x01;
	tcp[3] = 0xbb;
	for (unsigned i = 0; i < 4; i++) {
		tcp[4 + i] = (uint8_t)(p->seq >> (24 - 8 * i));
		tcp[8 + i] = (uint8_t)(0xa0b0c0d0u >> (24 - 8 * i));	/* ack */
	}
	tcp[12] = (uint8_t)(p->doff << 4);
	tcp[13] = p->flags;
	tcp[14] = 0x01;			/* window */
	tcp[15] = 0xf5;
	tcp[16] = 0xbe;			/* garbage checksum */
	tcp[17] = 0xef;
	tcp[18] = 0;
	tcp[19] = 0;
	for (uint32_t i = 20; i < tcp_hlen; i++)	/* NOP, NOP, timestamp-like bytes */
		tcp[i] = i < 22 ? 1 : (uint8_t)(0x80 + i);
	for (uint32_t i = 0; i < p->payload; i++)
		tcp[tcp_hlen + i] = payload_byte(i);
	return ETH + total;
}

/* The verifier: a one's complement sum with the end-around carry taken
 * at every step (RFC 1071 4.1's loop, not the code under test's). */
static uint16_t ones_add(uint16_t a, uint16_t b)
{
	uint32_t s = (uint32_t)a + b;

	return (uint16_t)((s & 0xffff) + (s >> 16));
}

static uint16_t ones_sum(uint16_t sum, const uint8_t *p, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		sum = ones_add(sum, (uint16_t)(i % 2 ? p[i] : p[i] << 8));
	return sum;
}

/* The pseudo-header's sum (RFC 768 / RFC 9293 3.1). */
static uint16_t pseudo_sum(const uint8_t *ip, uint8_t protocol, uint32_t l4_len)
{
	uint16_t sum = ones_sum(0, ip + 12, 8);

	sum = ones_add(sum, protocol);
	return ones_add(sum, (uint16_t)l4_len);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static bool ip_checksum_ok(const uint8_t *frame)
{
	return ones_sum(0, frame + ETH, (frame[ETH] & 0xf) * 4u) == 0xffff;
}

static bool l4_checksum_ok(const uint8_t *frame, uint32_t len, uint8_t protocol)
{
	uint32_t l4 = ETH + (frame[ETH] & 0xf) * 4u;

	if (len < l4)
		return false;
	return ones_sum(pseudo_sum(frame + ETH, protocol, len - l4), frame + l4,
			len - l4) == 0xffff;
}

/* ---- NEEDS_CSUM ---- */

/* A UDP datagram of n payload bytes (odd: the last byte is half a word). */
static uint32_t build_udp(uint8_t *buf, uint32_t n)
{
	struct pkt p = tcp_pkt(0);
	uint8_t *udp = buf + ETH + 20;

	p.protocol = 17;
	p.doff = 2;			/* the builder's TCP header: 8 bytes, overwritten */
	p.payload = n;
	build(buf, &p);
	memcpy(udp, (const uint8_t[]){ 0xd4, 0x31, 0x00, 0x35 }, 4);	/* 54321 -> 53 */
	udp[4] = (uint8_t)((8 + n) >> 8);
	udp[5] = (uint8_t)(8 + n);
	return ETH + 20 + 8 + n;
}

static void test_checksum_udp_and_tcp(void)
{
	static uint8_t buf[2048];
	uint32_t len;
	struct pkt p;

	/* Linux's udp4_hwcsum: the field holds the pseudo-header's folded sum. */
	len = build_udp(buf, 333);
	put16(buf + ETH + 20 + 6, pseudo_sum(buf + ETH, 17, len - ETH - 20));
	CHECK(!l4_checksum_ok(buf, len, 17));
	CHECK(vnet_offload_checksum(buf, len, ETH + 20, 6));
	CHECK(l4_checksum_ok(buf, len, 17));

	/* tcp_v4_send_check: the same for TCP, with options; even and odd. */
	for (uint32_t n = 1000; n <= 1001; n++) {
		p = tcp_pkt(n);
		len = build(buf, &p);
		put16(buf + ETH + 20 + 16, pseudo_sum(buf + ETH, 6, len - ETH - 20));
		CHECK(!l4_checksum_ok(buf, len, 6));
		CHECK(vnet_offload_checksum(buf, len, ETH + 20, 16));
		CHECK(l4_checksum_ok(buf, len, 6));
		/* Only the field changed: the headers before csum_start too. */
		uint8_t again[2048];
		build(again, &p);
		CHECK_MEM(buf, again, ETH + 20 + 16);
		CHECK_MEM(buf + ETH + 20 + 18, again + ETH + 20 + 18, len - ETH - 20 - 18);
	}
}

static void test_checksum_zero_is_ffff(void)
{
	/* The summed bytes (with the field 0) add up to 0xffff: the checksum
	 * is 0, sent as 0xffff (RFC 768). */
	uint8_t f[8] = { 0xaa, 0xbb, 0x12, 0x34, 0x00, 0x00, 0xed, 0xcb };

	CHECK(vnet_offload_checksum(f, sizeof(f), 2, 2));
	CHECK_EQ(f[4], 0xff);
	CHECK_EQ(f[5], 0xff);
	CHECK_EQ(f[0], 0xaa);
	/* And a real UDP datagram whose checksum comes out 0: make its sum
	 * 0xffff by choosing the last two payload bytes. */
	static uint8_t buf[256];
	uint32_t len = build_udp(buf, 40);
	put16(buf + ETH + 26, pseudo_sum(buf + ETH, 17, len - ETH - 20));
	put16(buf + len - 2, 0);
	put16(buf + len - 2, (uint16_t)~ones_sum(0, buf + ETH + 20, len - ETH - 20));
	CHECK(vnet_offload_checksum(buf, len, ETH + 20, 6));
	CHECK_EQ(get16(buf + ETH + 26), 0xffff);
	CHECK(l4_checksum_ok(buf, len, 17));
}

static void test_checksum_out_of_range(void)
{
	uint8_t f[64], copy[64];

	for (unsigned i = 0; i < sizeof(f); i++)
		f[i] = (uint8_t)(i * 13);
	memcpy(copy, f, sizeof(f));
	CHECK(!vnet_offload_checksum(f, 64, 64, 0));		/* start at the end */
	CHECK(!vnet_offload_checksum(f, 64, 100, 0));
	CHECK(!vnet_offload_checksum(f, 64, 60, 3));		/* field ends at 65 */
	CHECK(!vnet_offload_checksum(f, 64, 34, 29));
	CHECK(!vnet_offload_checksum(f, 64, 0xffff, 0xffff));	/* no 16-bit wrap */
	CHECK(!vnet_offload_checksum(f, 64, 1, 0xffff));
	CHECK(!vnet_offload_checksum(f, 0, 0, 0));
	CHECK(!vnet_offload_checksum(f, 1, 0, 0));		/* a field needs 2 bytes */
	CHECK_MEM(f, copy, sizeof(f));
	/* In exact-size buffers, the last position that fits. */
	uint8_t *e = malloc(64);
	memcpy(e, copy, 64);
	CHECK(vnet_offload_checksum(e, 64, 34, 28));		/* field ends at 64 */
	CHECK(vnet_offload_checksum(e, 64, 62, 0));
	CHECK(!vnet_offload_checksum(e, 64, 63, 0));
	free(e);
}

/* ---- Segmentation ---- */

/* Cuts a packet; checks every segment against the original; returns the
 * number of segments (0 if begin refused it or a check failed). */
static unsigned cut_and_check(const uint8_t *pkt, uint32_t len, uint16_t mss, uint32_t max_frame,
			      uint32_t cap)
{
	struct vnet_gso g;
	uint32_t ip_hlen = (pkt[ETH] & 0xf) * 4u;
	uint32_t tcp_off = ETH + ip_hlen, hdr = tcp_off + (pkt[tcp_off + 12] >> 4) * 4u;
	uint32_t payload = len - hdr, at = 0, n;
	uint8_t *out = malloc(cap ? cap : 1);
	unsigned seg = 0;
	bool ok = true;

	if (!CHECK_EQ(vnet_gso_begin(&g, pkt, len, mss, max_frame), VNET_GSO_OK)) {
		free(out);
		return 0;
	}
	while ((n = vnet_gso_next(&g, out, cap)) != 0) {
		uint32_t chunk = payload - at < mss ? payload - at : mss;
		const uint8_t *ip = out + ETH, *tcp = out + tcp_off;
		bool first = seg == 0, last = at + chunk == payload;
		uint8_t flags = pkt[tcp_off + 13];

		if (!first)
			flags &= (uint8_t)~0x80;
		if (!last)
			flags &= (uint8_t)~0x09;
		ok &= CHECK(n <= cap);
		ok &= CHECK_EQ(n, hdr + chunk);
		ok &= CHECK_MEM(out, pkt, ETH);
		ok &= CHECK_EQ(get16(ip + 2), n - ETH);
		ok &= CHECK_EQ(get16(ip + 4), (uint16_t)(get16(pkt + ETH + 4) + seg));
		ok &= CHECK_MEM(ip + 6, pkt + ETH + 6, 4);		/* flags, ttl, protocol */
		ok &= CHECK_MEM(ip + 12, pkt + ETH + 12, ip_hlen - 12);	/* addresses, options */
		ok &= CHECK_MEM(tcp, pkt + tcp_off, 4);			/* ports */
		ok &= CHECK_EQ(get32(tcp + 4), get32(pkt + tcp_off + 4) + at);
		ok &= CHECK_MEM(tcp + 8, pkt + tcp_off + 8, 5);		/* ack, offset */
		ok &= CHECK_EQ(tcp[13], flags);
		ok &= CHECK_MEM(tcp + 14, pkt + tcp_off + 14, 2);	/* window */
		ok &= CHECK_MEM(tcp + 18, pkt + tcp_off + 18, hdr - tcp_off - 18);
		ok &= CHECK(ip_checksum_ok(out));
		ok &= CHECK(l4_checksum_ok(out, n, 6));
		ok &= CHECK_MEM(out + hdr, pkt + hdr + at, chunk);	/* reassembles */
		at += chunk;
		seg++;
		if (!ok || seg > payload / mss + 1)
			break;
	}
	ok &= CHECK(vnet_gso_done(&g));
	ok &= CHECK_EQ(at, payload);
	ok &= CHECK_EQ(vnet_gso_next(&g, out, cap), 0);		/* and stays done */
	free(out);
	return ok ? seg : 0;
}

/* A packet in a buffer of exactly len bytes. */
static uint8_t *exact(const struct pkt *p, uint32_t *len)
{
	static uint8_t buf[BIG + 64];
	uint8_t *e;

	*len = build(buf, p);
	e = malloc(*len);
	memcpy(e, buf, *len);
	return e;
}

static void test_gso_64k(void)
{
	struct pkt p = tcp_pkt(65000);
	uint32_t len;
	uint8_t *pkt;

	/* ACK PSH FIN CWR; the id and the sequence number wrap. */
	p.flags = 0x80 | 0x10 | 0x08 | 0x01;
	p.id = 0xfff0;
	p.seq = 0xffffff00;
	pkt = exact(&p, &len);
	CHECK_EQ(len, 14 + 20 + 32 + 65000);
	CHECK_EQ(cut_and_check(pkt, len, 1448, 1514, 1514), 45);	/* 44 * 1448 + 1288 */
	free(pkt);
	/* The largest: 65536 IP bytes, whose length does not fit the field. */
	p.payload = 65536 - 20 - 32;
	pkt = exact(&p, &len);
	CHECK_EQ(len, BIG);
	CHECK_EQ(get16(pkt + ETH + 2), 0xffff);
	CHECK_EQ(cut_and_check(pkt, len, 1448, 1514, 1514), 46);
	free(pkt);
	/* Payload a multiple of mss: the last segment is full. */
	p.payload = 10 * 1448;
	pkt = exact(&p, &len);
	CHECK_EQ(cut_and_check(pkt, len, 1448, 1514, 4000), 10);
	free(pkt);
}

static void test_gso_segment_fields(void)
{
	struct pkt p = tcp_pkt(3000);
	struct vnet_gso g;
	uint8_t out[1514];
	uint32_t len, n;
	uint8_t *pkt;

	/* Spelled out for three segments: 1448, 1448, 104. */
	p.flags = 0x80 | 0x10 | 0x08 | 0x01;
	pkt = exact(&p, &len);
	if (!CHECK_EQ(vnet_gso_begin(&g, pkt, len, 1448, 1514), VNET_GSO_OK)) {
		free(pkt);
		return;
	}
	n = vnet_gso_next(&g, out, sizeof(out));
	CHECK_EQ(n, 14 + 20 + 32 + 1448);
	CHECK_EQ(get16(out + ETH + 2), 20 + 32 + 1448);
	CHECK_EQ(get16(out + ETH + 4), 0x1234);
	CHECK_EQ(get32(out + ETH + 24), 0x10203040);
	CHECK_EQ(out[ETH + 33], 0x90);		/* CWR ACK */
	CHECK(!vnet_gso_done(&g));
	n = vnet_gso_next(&g, out, sizeof(out));
	CHECK_EQ(n, 14 + 20 + 32 + 1448);
	CHECK_EQ(get16(out + ETH + 4), 0x1235);
	CHECK_EQ(get32(out + ETH + 24), 0x10203040 + 1448);
	CHECK_EQ(out[ETH + 33], 0x10);		/* ACK */
	n = vnet_gso_next(&g, out, sizeof(out));
	CHECK_EQ(n, 14 + 20 + 32 + 104);
	CHECK_EQ(get16(out + ETH + 2), 20 + 32 + 104);
	CHECK_EQ(get16(out + ETH + 4), 0x1236);
	CHECK_EQ(get32(out + ETH + 24), 0x10203040 + 2896);
	CHECK_EQ(out[ETH + 33], 0x19);		/* ACK PSH FIN */
	CHECK(ip_checksum_ok(out));
	CHECK(l4_checksum_ok(out, n, 6));
	CHECK(vnet_gso_done(&g));
	CHECK_EQ(vnet_gso_next(&g, out, sizeof(out)), 0);
	free(pkt);
}

static void test_gso_options(void)
{
	struct pkt p = tcp_pkt(5000);
	uint32_t len;
	uint8_t *pkt;

	/* IP options (IHL 8) and the largest TCP options (doff 15). */
	p.ihl = 8;
	p.doff = 15;
	pkt = exact(&p, &len);
	CHECK_EQ(cut_and_check(pkt, len, 1400, 1514, 1514), 4);
	free(pkt);
	p.ihl = 15;
	p.doff = 5;
	pkt = exact(&p, &len);
	CHECK_EQ(cut_and_check(pkt, len, 1000, 1514, 1514), 5);
	free(pkt);
}

static void test_gso_small(void)
{
	struct pkt p = tcp_pkt(0);
	struct vnet_gso g;
	uint8_t out[1514];
	uint32_t len;
	uint8_t *pkt;

	/* No payload: one segment, the headers, every flag kept. */
	p.flags = 0x80 | 0x10 | 0x08 | 0x01;
	pkt = exact(&p, &len);
	CHECK_EQ(cut_and_check(pkt, len, 1448, 1514, 1514), 1);
	CHECK_EQ(vnet_gso_begin(&g, pkt, len, 1448, 1514), VNET_GSO_OK);
	CHECK_EQ(vnet_gso_next(&g, out, sizeof(out)), 14 + 20 + 32);
	CHECK_EQ(out[ETH + 33], 0x99);
	CHECK_EQ(get16(out + ETH + 2), 52);
	free(pkt);
	/* Less than one mss, and exactly one: one segment. */
	p.payload = 1;
	pkt = exact(&p, &len);
	CHECK_EQ(cut_and_check(pkt, len, 1448, 1514, 1514), 1);
	free(pkt);
	p.payload = 1448;
	pkt = exact(&p, &len);
	CHECK_EQ(cut_and_check(pkt, len, 1448, 1514, 1514), 1);
	free(pkt);
	p.payload = 1449;
	pkt = exact(&p, &len);
	CHECK_EQ(cut_and_check(pkt, len, 1448, 1514, 1514), 2);
	/* mss 1: a segment per byte. */
	CHECK_EQ(cut_and_check(pkt, len, 1, 1514, 1514), 1449);
	free(pkt);
	/* A total length shorter than the packet (but holding both
	 * headers): the payload is what the frame holds. */
	p.payload = 2000;
	p.tot_len = 52;
	pkt = exact(&p, &len);
	CHECK_EQ(cut_and_check(pkt, len, 1448, 1514, 1514), 2);
	free(pkt);
}

/* begin's verdict for p cut to len bytes (0: whole), in an exact buffer;
 * a refused packet gives no segment. */
static enum vnet_gso_verdict verdict(const struct pkt *p, uint32_t cut, uint16_t mss,
				     uint32_t max_frame)
{
	struct vnet_gso g;
	uint32_t len;
	uint8_t *pkt = exact(p, &len), out[1514];
	enum vnet_gso_verdict v;

	if (cut)
		len = cut;
	v = vnet_gso_begin(&g, pkt, len, mss, max_frame);
	if (v != VNET_GSO_OK) {
		CHECK_EQ(vnet_gso_next(&g, out, sizeof(out)), 0);
		CHECK(vnet_gso_done(&g));
	}
	free(pkt);
	return v;
}

static void test_gso_bad_packets(void)
{
	struct pkt good = tcp_pkt(3000), p;

	CHECK_EQ(verdict(&good, 0, 1448, 1514), VNET_GSO_OK);
	p = good;
	p.ethertype = 0x86dd;
	CHECK_EQ(verdict(&p, 0, 1448, 1514), VNET_GSO_NOT_IPV4_TCP);
	p.ethertype = 0x8100;			/* a VLAN tag */
	CHECK_EQ(verdict(&p, 0, 1448, 1514), VNET_GSO_NOT_IPV4_TCP);
	p = good;
	p.protocol = 17;
	CHECK_EQ(verdict(&p, 0, 1448, 1514), VNET_GSO_NOT_IPV4_TCP);
	p = good;
	p.version = 6;
	CHECK_EQ(verdict(&p, 0, 1448, 1514), VNET_GSO_BAD_HEADERS);
	p = good;
	p.ihl = 4;
	CHECK_EQ(verdict(&p, 0, 1448, 1514), VNET_GSO_BAD_HEADERS);
	p.ihl = 0;
	CHECK_EQ(verdict(&p, 0, 1448, 1514), VNET_GSO_BAD_HEADERS);
	p = good;
	p.doff = 4;
	CHECK_EQ(verdict(&p, 0, 1448, 1514), VNET_GSO_BAD_HEADERS);
	p = good;
	p.tot_len = 20 + 32 - 1;		/* shorter than the headers */
	CHECK_EQ(verdict(&p, 0, 1448, 1514), VNET_GSO_BAD_HEADERS);
	p.tot_len = 20 + 32;
	CHECK_EQ(verdict(&p, 0, 1448, 1514), VNET_GSO_OK);
	p = good;
	p.frag = 0x2000;			/* MF */
	CHECK_EQ(verdict(&p, 0, 1448, 1514), VNET_GSO_BAD_HEADERS);
	p.frag = 0x0001;			/* offset 8 */
	CHECK_EQ(verdict(&p, 0, 1448, 1514), VNET_GSO_BAD_HEADERS);
	p.frag = 0x0000;			/* DF clear is fine */
	CHECK_EQ(verdict(&p, 0, 1448, 1514), VNET_GSO_OK);
	/* Cut anywhere inside the headers (options included). */
	p = good;
	p.ihl = 9;
	p.doff = 12;
	for (uint32_t cut = 1; cut < 14 + 36 + 48; cut++)
		CHECK_EQ(verdict(&p, cut, 1448, 1514), VNET_GSO_BAD_HEADERS);
	CHECK_EQ(verdict(&p, 14 + 36 + 48, 1400, 1514), VNET_GSO_OK);	/* no payload */
	/* The ethertype is read only once it is inside. */
	p = good;
	p.ethertype = 0x86dd;
	CHECK_EQ(verdict(&p, 13, 1448, 1514), VNET_GSO_BAD_HEADERS);
	CHECK_EQ(verdict(&p, 14, 1448, 1514), VNET_GSO_NOT_IPV4_TCP);
	/* mss 0, too large for the frame, or for an IPv4 packet. */
	CHECK_EQ(verdict(&good, 0, 0, 1514), VNET_GSO_BAD_MSS);
	CHECK_EQ(verdict(&good, 0, 1448, 1513), VNET_GSO_BAD_MSS);
	CHECK_EQ(verdict(&good, 0, 1449, 1514), VNET_GSO_BAD_MSS);
	CHECK_EQ(verdict(&good, 0, 1448, 14 + 52 + 1448), VNET_GSO_OK);
	CHECK_EQ(verdict(&good, 0, 65535 - 52, BIG), VNET_GSO_OK);
	CHECK_EQ(verdict(&good, 0, 65535 - 51, BIG), VNET_GSO_BAD_MSS);
	CHECK_EQ(verdict(&good, 0, 0xffff, UINT32_MAX), VNET_GSO_BAD_MSS);
}

static void test_gso_cap_too_small(void)
{
	struct pkt p = tcp_pkt(3000);
	struct vnet_gso g;
	uint8_t out[1600], fill[1600];
	uint32_t len;
	uint8_t *pkt = exact(&p, &len);

	memset(out, 0x5a, sizeof(out));
	memcpy(fill, out, sizeof(out));
	CHECK_EQ(vnet_gso_begin(&g, pkt, len, 1448, 1514), VNET_GSO_OK);
	/* One byte short: nothing written, not done (the caller's error). */
	CHECK_EQ(vnet_gso_next(&g, out, 1513), 0);
	CHECK(!vnet_gso_done(&g));
	CHECK_MEM(out, fill, sizeof(out));
	CHECK_EQ(vnet_gso_next(&g, out, 0), 0);
	CHECK(!vnet_gso_done(&g));
	/* The state did not move: a large enough buffer gets segment 0. */
	CHECK_EQ(vnet_gso_next(&g, out, 1514), 1514);
	CHECK_EQ(get32(out + ETH + 24), 0x10203040);
	CHECK_EQ(get16(out + ETH + 4), 0x1234);
	/* The last (short) segment fits where a full one would not. */
	CHECK_EQ(vnet_gso_next(&g, out, 1514), 1514);
	CHECK_EQ(vnet_gso_next(&g, out, 14 + 52 + 104), 14 + 52 + 104);
	CHECK(vnet_gso_done(&g));
	free(pkt);
}

/* The model of begin's rules (vnet_offload.h), from the test's own parse. */
static enum vnet_gso_verdict model(const uint8_t *b, uint32_t len, uint16_t mss, uint32_t max)
{
	uint32_t ihl, doff;

	if (len < 14)
		return VNET_GSO_BAD_HEADERS;
	if (get16(b + 12) != 0x0800)
		return VNET_GSO_NOT_IPV4_TCP;
	if (len < 34)
		return VNET_GSO_BAD_HEADERS;
	ihl = (b[14] & 0xf) * 4u;
	if (b[14] >> 4 != 4 || ihl < 20 || 14 + ihl > len)
		return VNET_GSO_BAD_HEADERS;
	if (b[23] != 6)
		return VNET_GSO_NOT_IPV4_TCP;
	if ((get16(b + 20) & 0x3fff) || 14 + ihl + 20 > len)
		return VNET_GSO_BAD_HEADERS;
	doff = (b[14 + ihl + 12] >> 4) * 4u;
	if (doff < 20 || 14 + ihl + doff > len || get16(b + 16) < ihl + doff)
		return VNET_GSO_BAD_HEADERS;
	if (!mss || 14 + ihl + doff + mss > max || ihl + doff + mss > 0xffff)
		return VNET_GSO_BAD_MSS;
	return VNET_GSO_OK;
}

static void test_gso_random(void)
{
	static uint8_t buf[BIG + 64];
	uint64_t rng = unit_seed();
	unsigned cut = 0, refused = 0, short_cap = 0;

	for (unsigned round = 0; round < 4000; round++) {
		struct pkt p = tcp_pkt((uint32_t)(unit_rand(&rng) % 9000));
		uint16_t mss = (uint16_t)(1 + unit_rand(&rng) % 1500);
		uint32_t max_frame = 1514, len, cap;
		uint8_t *pkt;

		if (round % 50 == 0)
			p.payload = 60000 + (uint32_t)(unit_rand(&rng) % 5400);
		p.ihl = (uint8_t)(5 + unit_rand(&rng) % 11);
		p.doff = (uint8_t)(5 + unit_rand(&rng) % 11);
		p.flags = (uint8_t)unit_rand(&rng);
		p.id = (uint16_t)unit_rand(&rng);
		p.seq = (uint32_t)unit_rand(&rng);
		len = build(buf, &p);
		/* Mutate a few header bytes, or cut the frame short. */
		for (unsigned m = (unsigned)(unit_rand(&rng) % 4); m; m--)
			buf[unit_rand(&rng) % (14 + 120 < len ? 14 + 120 : len)] =
				(uint8_t)unit_rand(&rng);
		if (unit_rand(&rng) % 8 == 0)
			len = (uint32_t)(unit_rand(&rng) % (len + 1));
		if (unit_rand(&rng) % 8 == 0)
			max_frame = (uint32_t)(unit_rand(&rng) % 3000);
		pkt = malloc(len ? len : 1);
		memcpy(pkt, buf, len);

		enum vnet_gso_verdict want = model(pkt, len, mss, max_frame);
		struct vnet_gso g;
		CHECK_EQ(vnet_gso_begin(&g, pkt, len, mss, max_frame), want);
		if (want != VNET_GSO_OK) {
			refused++;
			free(pkt);
			continue;
		}
		cut++;
		cap = unit_rand(&rng) % 4 ? max_frame : (uint32_t)(unit_rand(&rng) % 2000);
		uint32_t hdr = 14 + (pkt[14] & 0xf) * 4u;
		hdr += (pkt[hdr + 12] >> 4) * 4u;
		if (cap >= max_frame) {
			CHECK(cut_and_check(pkt, len, mss, max_frame, cap) >= 1);
		} else {
			/* A small buffer: every segment written fits it, the
			 * payload so far reassembles, and a stop is not done. */
			uint8_t *out = malloc(cap ? cap : 1);
			uint32_t n, at = 0;
			unsigned segs = 0;
			while ((n = vnet_gso_next(&g, out, cap)) != 0) {
				CHECK(n <= cap && n >= hdr);
				CHECK_MEM(out + hdr, pkt + hdr + at, n - hdr);
				at += n - hdr;
				if (!CHECK(++segs <= 1 + (len - hdr) / mss))
					break;
			}
			if (!vnet_gso_done(&g)) {
				short_cap++;
				CHECK(hdr + (len - hdr - at < mss ? len - hdr - at : mss) > cap);
			} else {
				CHECK_EQ(at, len - hdr);
			}
			free(out);
		}
		free(pkt);
	}
	/* The test exercised both sides. */
	CHECK(cut > 1000);
	CHECK(refused > 500);
	CHECK(short_cap > 50);
}

int main(void)
{
	RUN(test_checksum_udp_and_tcp);
	RUN(test_checksum_zero_is_ffff);
	RUN(test_checksum_out_of_range);
	RUN(test_gso_64k);
	RUN(test_gso_segment_fields);
	RUN(test_gso_options);
	RUN(test_gso_small);
	RUN(test_gso_bad_packets);
	RUN(test_gso_cap_too_small);
	RUN(test_gso_random);
	return unit_report("test_vnet_offload");
}
