/*
 * The switch's uplink: the port behind which is everything that is not a
 * guest, here QEMU's user-mode network (`-netdev user,restrict=on`), on
 * the host's network card (host/virtio_net.h).
 *
 * Out: the switch hands the uplink every frame to an address no guest
 * owns (vswitch.h). A guest's frame may leave its checksum to the device
 * or be a TCP packet of up to 64 KiB for the device to cut (its header,
 * vnet_hdr.h); between guests that is passed on, but the card takes no
 * offload, so here the switch is the NIC: the sending hart copies the
 * packet out of the guest's buffers once, then sums it or cuts it into
 * MTU-sized segments (vnet_offload.h) straight into the card's transmit
 * buffers. One sender at a time (a lock): the card has one transmit queue.
 *
 * In: every hart polls the card at each scheduling decision (core/
 * sched.h); the first to find frames there takes them (a try-lock: the
 * others go on) and routes each like a guest's, with the uplink as its
 * port, copying it into its receivers' buffers. The backpressure of a
 * guest's frame, in the other direction: a frame whose one receiver has
 * no buffer stays in the card's buffer and is offered again at the next
 * poll (QEMU holds the frames behind it), for 50 ms at most (timed by
 * the uplink, whatever the receiver does meanwhile), then it is dropped.
 *
 * What comes in is what QEMU's slirp lets in: with restrict=on only the
 * connections its hostfwd rules forward (tools/run-qemu.sh FWD), to
 * 127.0.0.1 of the host only; nothing outside is reachable from a guest.
 */
#ifndef DISCV_VNET_UPLINK_H
#define DISCV_VNET_UPLINK_H

#include <stdbool.h>
#include <stdint.h>
#include "vnet/vnet_hdr.h"

/* Adds the uplink port to the switch if the host has a network card, and
 * starts polling it. Call once, after the guests' ports, before any runs. */
void uplink_init(void);

/* The uplink's switch port, or -1 if there is none. */
int uplink_port(void);

/* Sending to the uplink: uplink_send_begin takes the uplink (waiting for
 * another sender, 10 ms at most: NULL, dropped and counted, if it stays
 * busy) and gives a buffer of VNET_GSO_PACKET_MAX bytes for the
 * packet; uplink_send_end sends the len bytes put there, as the sender's
 * header asks (summed, cut), and gives the uplink back. False: dropped
 * (counted) - a header the card's frames cannot carry out, or no
 * transmit buffer came free in time. */
uint8_t *uplink_send_begin(void);
bool uplink_send_end(uint32_t len, const struct vnet_hdr *hdr);

/* A frame that came in and was lost (no receiver took it). */
void uplink_count_drop(void);

struct counters;
/* The uplink's hvstat fields (in the totals), if there is one. */
void uplink_counters(struct counters *c);

#endif
