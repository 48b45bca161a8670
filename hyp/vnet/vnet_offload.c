#include <string.h>
#include "vnet/vnet_offload.h"

/* IEEE 802.3: destination, source, type; no VLAN tag (802.1Q) taken. */
#define ETH_HLEN 14
#define ETH_TYPE_OFFSET 12
#define ETH_TYPE_IPV4 0x0800

/* RFC 791 3.1: the IPv4 header's fields, from its start. */
#define IP_MIN_HLEN 20
#define IP_VERSION_IHL 0
#define IP_TOTAL_LENGTH 2
#define IP_IDENTIFICATION 4
#define IP_FRAGMENT 6		/* flags (3 bits) and fragment offset (13) */
#define IP_MF 0x2000
#define IP_FRAGMENT_OFFSET 0x1fff
#define IP_PROTOCOL 9
#define IP_CHECKSUM 10
#define IP_SOURCE 12		/* then the destination, 16 */
#define IP_PROTOCOL_TCP 6
#define IP_MAX_LENGTH 0xffff	/* the total length is 16 bits */

/* RFC 9293 3.1: the TCP header's fields, from its start. */
#define TCP_MIN_HLEN 20
#define TCP_SEQUENCE 4
#define TCP_DATA_OFFSET 12	/* high 4 bits, in 32-bit words */
#define TCP_FLAGS 13
#define TCP_CHECKSUM 16
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/*
 * RFC 1071: adds n bytes to sum as big-endian 16-bit words, an odd last
 * byte as the high half of a word. 64 bits do not overflow for any
 * uint32_t n; the carries are folded in at the end.
 */
static uint64_t sum_bytes(uint64_t sum, const uint8_t *p, uint32_t n)
{
	uint32_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += be16(p + i);
	if (i < n)
		sum += (uint32_t)p[i] << 8;
	return sum;
}

/* The one's complement of the one's complement sum (RFC 1071 1.). */
static uint16_t fold_complement(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

bool vnet_offload_checksum(uint8_t *frame, uint32_t len, uint16_t csum_start,
			   uint16_t csum_offset)
{
	uint32_t field = (uint32_t)csum_start + csum_offset;
	uint16_t csum;

	if (csum_start >= len || field + 2 > len)
		return false;
	csum = fold_complement(sum_bytes(0, frame + csum_start, len - csum_start));
	/* 0 and 0xffff are the same in one's complement, but a UDP checksum
	 * of 0 means "none" (RFC 768): 0xffff, as Linux's skb_checksum_help. */
	put_be16(frame + field, csum ? csum : 0xffff);
	return true;
}

static void gso_stop(struct vnet_gso *g)
{
	memset(g, 0, sizeof(*g));
	g->done = true;
}

enum vnet_gso_verdict vnet_gso_begin(struct vnet_gso *g, const uint8_t *packet, uint32_t len,
				     uint16_t mss, uint32_t max_frame)
{
	const uint8_t *ip, *tcp;
	uint32_t ip_hlen, tcp_hlen;

	gso_stop(g);
	if (len < ETH_HLEN)
		return VNET_GSO_BAD_HEADERS;
	if (be16(packet + ETH_TYPE_OFFSET) != ETH_TYPE_IPV4)
		return VNET_GSO_NOT_IPV4_TCP;
	if (len < ETH_HLEN + IP_MIN_HLEN)
		return VNET_GSO_BAD_HEADERS;
	ip = packet + ETH_HLEN;
	ip_hlen = (ip[IP_VERSION_IHL] & 0xf) * 4u;
	if (ip[IP_VERSION_IHL] >> 4 != 4 || ip_hlen < IP_MIN_HLEN || ETH_HLEN + ip_hlen > len)
		return VNET_GSO_BAD_HEADERS;
	if (ip[IP_PROTOCOL] != IP_PROTOCOL_TCP)
		return VNET_GSO_NOT_IPV4_TCP;
	/* A fragment's TCP header is in the first fragment only. */
	if (be16(ip + IP_FRAGMENT) & (IP_MF | IP_FRAGMENT_OFFSET))
		return VNET_GSO_BAD_HEADERS;
	if (ETH_HLEN + ip_hlen + TCP_MIN_HLEN > len)
		return VNET_GSO_BAD_HEADERS;
	tcp = ip + ip_hlen;
	tcp_hlen = (tcp[TCP_DATA_OFFSET] >> 4) * 4u;
	if (tcp_hlen < TCP_MIN_HLEN || ETH_HLEN + ip_hlen + tcp_hlen > len)
		return VNET_GSO_BAD_HEADERS;
	/* A 64 KiB packet's length does not fit the 16-bit field: the
	 * payload is the frame's rest, the field only has to hold both
	 * headers. */
	if (be16(ip + IP_TOTAL_LENGTH) < ip_hlen + tcp_hlen)
		return VNET_GSO_BAD_HEADERS;
	if (mss == 0 || ETH_HLEN + ip_hlen + tcp_hlen + mss > max_frame ||
	    ip_hlen + tcp_hlen + mss > IP_MAX_LENGTH)
		return VNET_GSO_BAD_MSS;
	g->packet = packet;
	g->len = len;
	g->tcp_off = ETH_HLEN + ip_hlen;
	g->hdr_len = ETH_HLEN + ip_hlen + tcp_hlen;
	g->mss = mss;
	g->done = false;
	return VNET_GSO_OK;
}

/* The segment's IPv4 fields (the rest copied from the packet). */
static void write_ip_header(const struct vnet_gso *g, uint8_t *ip, uint32_t ip_len)
{
	uint32_t ip_hlen = g->tcp_off - ETH_HLEN;
	uint16_t id = be16(g->packet + ETH_HLEN + IP_IDENTIFICATION);

	put_be16(ip + IP_TOTAL_LENGTH, (uint16_t)ip_len);
	/* As Linux's TSO and NICs: one identification per segment. */
	put_be16(ip + IP_IDENTIFICATION, (uint16_t)(id + g->segment));
	put_be16(ip + IP_CHECKSUM, 0);
	put_be16(ip + IP_CHECKSUM, fold_complement(sum_bytes(0, ip, ip_hlen)));
}

/* The segment's TCP fields; tcp_len is its header and payload. */
static void write_tcp_header(const struct vnet_gso *g, const uint8_t *ip, uint8_t *tcp,
			     uint32_t tcp_len, bool first, bool last)
{
	uint32_t seq = be32(g->packet + g->tcp_off + TCP_SEQUENCE);
	uint8_t flags = tcp[TCP_FLAGS];
	uint64_t sum;

	put_be32(tcp + TCP_SEQUENCE, seq + g->payload_off);
	/* Linux's tcp_gso_segment: CWR once, FIN and PSH at the end. */
	if (!first)
		flags &= (uint8_t)~TCP_CWR;
	if (!last)
		flags &= (uint8_t)~(TCP_FIN | TCP_PSH);
	tcp[TCP_FLAGS] = flags;
	/* RFC 9293 3.1: the pseudo-header (source, destination, zero,
	 * protocol, TCP length), then the segment with the field zero. */
	sum = sum_bytes(0, ip + IP_SOURCE, 8);
	sum += IP_PROTOCOL_TCP + tcp_len;
	put_be16(tcp + TCP_CHECKSUM, 0);
	put_be16(tcp + TCP_CHECKSUM, fold_complement(sum_bytes(sum, tcp, tcp_len)));
}

uint32_t vnet_gso_next(struct vnet_gso *g, uint8_t *out, uint32_t cap)
{
	uint32_t left, chunk, seg_len;
	bool last;

	if (g->done)
		return 0;
	left = g->len - g->hdr_len - g->payload_off;
	chunk = left < g->mss ? left : g->mss;
	last = chunk == left;
	seg_len = g->hdr_len + chunk;
	if (seg_len > cap)
		return 0;
	memcpy(out, g->packet, g->hdr_len);
	memcpy(out + g->hdr_len, g->packet + g->hdr_len + g->payload_off, chunk);
	write_ip_header(g, out + ETH_HLEN, seg_len - ETH_HLEN);
	write_tcp_header(g, out + ETH_HLEN, out + g->tcp_off, seg_len - g->tcp_off,
			 g->segment == 0, last);
	g->payload_off += chunk;
	g->segment++;
	g->done = last;
	return seg_len;
}

bool vnet_gso_done(const struct vnet_gso *g)
{
	return g->done;
}
