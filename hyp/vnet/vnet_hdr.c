#include "vnet/vnet_hdr.h"

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

void vnet_hdr_decode(const uint8_t b[VNET_HDR_BYTES], struct vnet_hdr *h)
{
	h->flags = b[0];
	h->gso_type = b[1];
	h->hdr_len = le16(b + 2);
	h->gso_size = le16(b + 4);
	h->csum_start = le16(b + 6);
	h->csum_offset = le16(b + 8);
	h->num_buffers = le16(b + 10);
}

void vnet_hdr_encode(const struct vnet_hdr *h, uint8_t b[VNET_HDR_BYTES])
{
	b[0] = h->flags;
	b[1] = h->gso_type;
	put_le16(b + 2, h->hdr_len);
	put_le16(b + 4, h->gso_size);
	put_le16(b + 6, h->csum_start);
	put_le16(b + 8, h->csum_offset);
	put_le16(b + 10, h->num_buffers);
}

enum vnet_hdr_verdict vnet_hdr_check(const struct vnet_hdr *h, size_t len, bool csum, bool tso4)
{
	/* 5.1.6.2.1: the driver sets only NEEDS_CSUM, and only with CSUM. */
	if (h->flags & ~VNET_HDR_F_NEEDS_CSUM)
		return VNET_HDR_BAD_FLAGS;
	if (h->flags & VNET_HDR_F_NEEDS_CSUM) {
		if (!csum)
			return VNET_HDR_BAD_FLAGS;
		/* The 16-bit checksum field must lie inside the frame. */
		if ((size_t)h->csum_start + h->csum_offset + 2 > len)
			return VNET_HDR_BAD_CSUM;
	}
	switch (h->gso_type) {
	case VNET_HDR_GSO_NONE:
		return len > VNET_ETH_FRAME_MAX ? VNET_HDR_TOO_LONG : VNET_HDR_OK;
	case VNET_HDR_GSO_TCPV4:
		/* 5.1.6.2: GSO needs the checksum left to the device, and a
		 * segment size (the receiver's kernel cuts by it). */
		if (!tso4 || !(h->flags & VNET_HDR_F_NEEDS_CSUM) || h->gso_size == 0)
			return VNET_HDR_BAD_GSO;
		return len > VNET_GSO_PACKET_MAX ? VNET_HDR_TOO_LONG : VNET_HDR_OK;
	default:
		return VNET_HDR_BAD_GSO;	/* UDP, TCPv6, ECN: not offered */
	}
}
