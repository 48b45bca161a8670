/*
 * hyp/vnet/vnet_hdr.c: the virtio-net header's encoding and the checks
 * made before one guest's header is handed to another guest's kernel.
 */
#include "unit.h"
#include "vnet/vnet_hdr.h"

static struct vnet_hdr hdr(uint8_t flags, uint8_t gso, uint16_t gso_size, uint16_t start,
			   uint16_t offset)
{
	return (struct vnet_hdr){ .flags = flags, .gso_type = gso, .gso_size = gso_size,
				  .csum_start = start, .csum_offset = offset };
}

static void test_round_trip(void)
{
	const uint8_t bytes[VNET_HDR_BYTES] = { 1, 1, 0x42, 0, 0xa8, 0x05, 0x22, 0, 0x10, 0, 1, 0 };
	uint8_t out[VNET_HDR_BYTES];
	struct vnet_hdr h;

	vnet_hdr_decode(bytes, &h);
	CHECK_EQ(h.flags, VNET_HDR_F_NEEDS_CSUM);
	CHECK_EQ(h.gso_type, VNET_HDR_GSO_TCPV4);
	CHECK_EQ(h.hdr_len, 66);
	CHECK_EQ(h.gso_size, 1448);
	CHECK_EQ(h.csum_start, 34);
	CHECK_EQ(h.csum_offset, 16);
	CHECK_EQ(h.num_buffers, 1);
	vnet_hdr_encode(&h, out);
	CHECK_MEM(out, bytes, VNET_HDR_BYTES);
	h.num_buffers = 0xbeef;
	vnet_hdr_encode(&h, out);
	CHECK_EQ(out[10], 0xef);
	CHECK_EQ(out[11], 0xbe);
}

static void test_plain_frames(void)
{
	struct vnet_hdr h = hdr(0, VNET_HDR_GSO_NONE, 0, 0, 0);

	CHECK_EQ(vnet_hdr_check(&h, 60, false, false), VNET_HDR_OK);
	CHECK_EQ(vnet_hdr_check(&h, 1514, false, false), VNET_HDR_OK);
	CHECK_EQ(vnet_hdr_check(&h, 1515, true, true), VNET_HDR_TOO_LONG);
	h.flags = VNET_HDR_F_DATA_VALID;	/* a receive-side flag */
	CHECK_EQ(vnet_hdr_check(&h, 60, true, true), VNET_HDR_BAD_FLAGS);
	h.flags = 0x80;
	CHECK_EQ(vnet_hdr_check(&h, 60, true, true), VNET_HDR_BAD_FLAGS);
}

static void test_checksum_offload(void)
{
	struct vnet_hdr h = hdr(VNET_HDR_F_NEEDS_CSUM, VNET_HDR_GSO_NONE, 0, 34, 16);

	CHECK_EQ(vnet_hdr_check(&h, 100, true, false), VNET_HDR_OK);
	CHECK_EQ(vnet_hdr_check(&h, 100, false, false), VNET_HDR_BAD_FLAGS);	/* not negotiated */
	CHECK_EQ(vnet_hdr_check(&h, 52, true, false), VNET_HDR_OK);	/* field ends at 52 */
	CHECK_EQ(vnet_hdr_check(&h, 51, true, false), VNET_HDR_BAD_CSUM);
	h.csum_start = 0xffff;
	h.csum_offset = 0xffff;		/* no 16-bit wrap */
	CHECK_EQ(vnet_hdr_check(&h, 1514, true, false), VNET_HDR_BAD_CSUM);
}

static void test_gso(void)
{
	struct vnet_hdr h = hdr(VNET_HDR_F_NEEDS_CSUM, VNET_HDR_GSO_TCPV4, 1448, 34, 16);

	CHECK_EQ(vnet_hdr_check(&h, 65550, true, true), VNET_HDR_OK);
	CHECK_EQ(vnet_hdr_check(&h, 65551, true, true), VNET_HDR_TOO_LONG);
	CHECK_EQ(vnet_hdr_check(&h, 9000, true, false), VNET_HDR_BAD_GSO);	/* no HOST_TSO4 */
	h.gso_size = 0;
	CHECK_EQ(vnet_hdr_check(&h, 9000, true, true), VNET_HDR_BAD_GSO);
	h.gso_size = 1448;
	h.flags = 0;			/* GSO without NEEDS_CSUM */
	CHECK_EQ(vnet_hdr_check(&h, 9000, true, true), VNET_HDR_BAD_GSO);
	h.flags = VNET_HDR_F_NEEDS_CSUM;
	for (unsigned t = 2; t < 256; t++) {	/* UDP, TCPv6, ECN, unknown */
		h.gso_type = (uint8_t)t;
		CHECK_EQ(vnet_hdr_check(&h, 9000, true, true), VNET_HDR_BAD_GSO);
	}
}

int main(void)
{
	RUN(test_round_trip);
	RUN(test_plain_frames);
	RUN(test_checksum_offload);
	RUN(test_gso);
	return unit_report("test_vnet_hdr");
}
