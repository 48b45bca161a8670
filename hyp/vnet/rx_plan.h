/*
 * Where a frame lands in a receive buffer, and which of its pages can be
 * remapped instead of copied (Disco's network remap, docs/virtual-network.md).
 *
 * The sender's chain holds the frame after its 12-byte header; the
 * receiver's chain has room for it after the header it gets. A receive
 * page can take the sender's host page itself (its G-stage entry pointed
 * at it, read-only, copy-on-write) only if the page is written whole: the
 * frame bytes that fill a whole, aligned 4 KiB receive buffer must be one
 * whole, aligned 4 KiB source page, inside one descriptor. Everything
 * else is copied.
 *
 * In Linux's big-packet receive buffers (a 12-byte header, 4064 bytes
 * at page0+32, then whole pages) the frame is contiguous from page0+32,
 * so a payload behind H bytes of headers starts every receive page at
 * the wrong offset, and nothing lines up. With discv's feature
 * VIRTIO_NET_F_DISCV_SPLIT (guest-kernel/patches/0001) the device may
 * "split" the frame: its first `split` bytes end exactly where the first
 * data buffer ends, and the rest starts at the next buffer. discv chooses
 * split = the offset of the first whole source page, so that every run
 * of whole source pages lands on whole receive pages.
 *
 * Pure code: no guest memory is touched, only descriptor addresses.
 */
#ifndef DISCV_VNET_RX_PLAN_H
#define DISCV_VNET_RX_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include "virtio/virtq.h"

#define RX_PLAN_PAGE 4096u
#define RX_PLAN_MAX_REMAPS 64		/* more than a 64 KiB packet has pages */
#define RX_PLAN_MIN_SPLIT 15		/* the driver needs more than ETH_HLEN before it */

/* One receive page that takes the source page instead of a copy. */
struct rx_remap {
	uint32_t frame_off;	/* where the page starts in the frame */
	uint64_t src_gpa;	/* the sender's page (aligned) */
	uint64_t dst_gpa;	/* the receiver's page (aligned) */
};

struct rx_plan {
	uint32_t split;		/* 0: the usual contiguous layout; else hdr_len */
	uint32_t dst_skip;	/* bytes of the receive buffers (after the header)
				 * left unwritten before the frame starts */
	unsigned nremaps;	/* in frame order */
	struct rx_remap remap[RX_PLAN_MAX_REMAPS];
};

/*
 * Plans frame_len bytes that start hdr_bytes into src's readable buffers,
 * going to dst's writable buffers after hdr_bytes of header. may_split:
 * the receiver negotiated the split feature (and remapping is on);
 * may_remap false plans a plain copy (NET_REMAP=0). The caller checked
 * that both chains are long enough for the frame.
 */
void rx_plan_make(const struct virtq_chain *src, const struct virtq_chain *dst,
		  uint32_t hdr_bytes, uint32_t frame_len, bool may_split, bool may_remap,
		  struct rx_plan *plan);

#endif
