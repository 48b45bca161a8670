/*
 * The header in front of every frame on a virtio-net queue (virtio 1.2
 * 5.1.6), and the checks the switch makes before it hands one guest's
 * header to another guest's kernel.
 *
 * A sender that negotiated CSUM and HOST_TSO4 may leave the checksum to
 * "the device" (NEEDS_CSUM: csum_start, csum_offset) and send a TCP
 * segment of up to 64 KiB for "the device" to cut (gso_type TCPV4,
 * gso_size). discv's switch cuts and sums nothing between guests: it hands
 * the header on to a receiver that negotiated GUEST_CSUM and GUEST_TSO4,
 * whose kernel does what a real NIC would have done. So a header that
 * lies (an offset past the frame, a GSO type nobody offered) is dropped
 * here, not passed to the other guest. Pure: unit-tested.
 */
#ifndef DISCV_VNET_HDR_H
#define DISCV_VNET_HDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VNET_HDR_BYTES 12		/* with VERSION_1, num_buffers included (5.1.6) */
#define VNET_HDR_F_NEEDS_CSUM 1
#define VNET_HDR_F_DATA_VALID 2
#define VNET_HDR_GSO_NONE 0
#define VNET_HDR_GSO_TCPV4 1
#define VNET_ETH_FRAME_MAX 1514		/* MTU 1500 + the Ethernet header */
/* The largest packet a sender may hand over with GSO: Linux's
 * GSO_MAX_SIZE (65536) of IP packet plus the Ethernet header. */
#define VNET_GSO_PACKET_MAX (65536 + 14)

struct vnet_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
};

/* Decodes the 12 little-endian header bytes. */
void vnet_hdr_decode(const uint8_t bytes[VNET_HDR_BYTES], struct vnet_hdr *h);
void vnet_hdr_encode(const struct vnet_hdr *h, uint8_t bytes[VNET_HDR_BYTES]);

enum vnet_hdr_verdict {
	VNET_HDR_OK,
	VNET_HDR_BAD_FLAGS,	/* a flag other than NEEDS_CSUM from a sender */
	VNET_HDR_BAD_CSUM,	/* csum_start + csum_offset + 2 past the frame */
	VNET_HDR_BAD_GSO,	/* a GSO type not offered, or TCPV4 without NEEDS_CSUM or gso_size */
	VNET_HDR_TOO_LONG,	/* longer than 1514 without GSO, or than 64 KiB with it */
};

/*
 * Checks a transmitted header for a frame of len bytes (5.1.6.2), given
 * what the sender negotiated (csum: CSUM; tso4: HOST_TSO4).
 */
enum vnet_hdr_verdict vnet_hdr_check(const struct vnet_hdr *h, size_t len, bool csum, bool tso4);

#endif
