/*
 * What a NIC does with a sender's offloads, for a receiver that took
 * none: the checksum left to "the device" (virtio 1.2 5.1.6.2,
 * NEEDS_CSUM) and the cutting of a TCP/IPv4 packet of up to 64 KiB into
 * segments of gso_size payload bytes (HOST_TSO4, GSO type TCPV4).
 *
 * Between guests the switch sums and cuts nothing: the header passes on
 * to a receiver that negotiated GUEST_CSUM and GUEST_TSO4, and its kernel
 * does the work (vnet_hdr.h). A receiver that took no offloads - QEMU's
 * user-mode network (slirp) behind the uplink offers none - must get what
 * a wire would carry: frames of at most 1514 bytes with their checksums
 * filled in. So the switch does the NIC's part for it, here.
 *
 * The checksum (5.1.6.2): the Internet checksum (RFC 1071) of the bytes
 * from csum_start to the end of the frame, stored at csum_start +
 * csum_offset. The driver left the sum of the pseudo-header in that field
 * (RFC 9293 3.1, RFC 768), so the field is summed as it is.
 *
 * Segmentation, as a NIC's TSO and Linux's tcp_gso_segment do it: every
 * segment carries the packet's Ethernet, IPv4 (RFC 791) and TCP (RFC 793 /
 * RFC 9293) headers, options included, and up to mss bytes of payload;
 * its IPv4 total length, identification (the packet's + the segment's
 * index) and header checksum, its TCP sequence number and checksum (over
 * the pseudo-header, computed afresh) are its own. FIN and PSH stay on the
 * last segment only; CWR on the first only (RFC 3168 6.1.2: it marks the
 * first data sent after a window reduction). The header lengths come from
 * the IHL and data offset fields, never from the guest's hdr_len.
 *
 * Everything in the packet is guest-controlled: every field read is
 * checked against the packet's length, every write against the output's
 * room. Pure: unit-tested and fuzzed (fuzz_frame).
 */
#ifndef DISCV_VNET_OFFLOAD_H
#define DISCV_VNET_OFFLOAD_H

#include <stdbool.h>
#include <stdint.h>

/*
 * NEEDS_CSUM: sums frame[csum_start, len), stores the checksum big-endian
 * at csum_start + csum_offset. False, and the frame untouched, if the
 * field is not inside the summed bytes.
 */
bool vnet_offload_checksum(uint8_t *frame, uint32_t len, uint16_t csum_start,
			   uint16_t csum_offset);

/* A packet being cut into segments; fields private to vnet_offload.c. */
struct vnet_gso {
	const uint8_t *packet;
	uint32_t len;
	uint32_t tcp_off;	/* Ethernet + IPv4 header (IHL) */
	uint32_t hdr_len;	/* ... + TCP header (data offset) */
	uint32_t mss;
	uint32_t payload_off;	/* payload bytes already in segments */
	uint32_t segment;	/* the next segment's index */
	bool done;		/* every segment written (or begin failed) */
};

enum vnet_gso_verdict {
	VNET_GSO_OK,
	VNET_GSO_NOT_IPV4_TCP,	/* ethertype not 0x0800 (a VLAN tag too), or protocol not 6 */
	VNET_GSO_BAD_HEADERS,	/* IP version not 4, IHL or data offset < 5, headers past
				 * the packet, total length shorter than both headers,
				 * a fragment */
	VNET_GSO_BAD_MSS,	/* mss 0, headers + mss past max_frame or 65535 IP bytes */
};

/*
 * Starts cutting packet (len bytes: the Ethernet, IPv4 and TCP headers,
 * then the payload: every byte after them, whatever the IPv4 total
 * length says) into segments of at most mss payload bytes, max_frame
 * bytes in all. The packet must stay unchanged until the last segment is
 * written. On any verdict but OK, next writes nothing.
 */
enum vnet_gso_verdict vnet_gso_begin(struct vnet_gso *g, const uint8_t *packet, uint32_t len,
				     uint16_t mss, uint32_t max_frame);

/*
 * Writes the next segment into out (cap bytes, not overlapping the
 * packet) and returns its length; 0 once all are written. With cap >=
 * begin's max_frame every segment fits; a segment that does not fit is
 * not written (0, and vnet_gso_done stays false: the caller's error).
 * A packet without payload is one segment, of its headers.
 */
uint32_t vnet_gso_next(struct vnet_gso *g, uint8_t *out, uint32_t cap);

/* Whether every segment was written: after next returned 0, false means
 * cap was too small. */
bool vnet_gso_done(const struct vnet_gso *g);

#endif
