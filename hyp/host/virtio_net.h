/*
 * discv's driver for the host's network card: QEMU's virtio-net-device
 * (virtio 1.2 section 5.1), on the host virtio-mmio driver core
 * (host/virtio_mmio.h). It is the switch's uplink (vnet/uplink.c): what
 * the guests send to an address no guest owns goes out through it, and
 * what comes in through it goes to the switch.
 *
 * The card is a plain one: no feature but VERSION_1 is taken. QEMU's
 * user-mode network (slirp) has no virtio-net header of its own, so QEMU
 * offers a card in front of it no checksum or segmentation offload
 * anyway; the switch sums and cuts for it (vnet/vnet_offload.h). Without
 * MRG_RXBUF and GUEST_TSO4 every received frame fits one buffer of a
 * header and 1514 bytes (5.1.6.3.1), and QEMU's card is promiscuous from
 * its reset (it has no control queue here to say otherwise), so frames to
 * every guest's address are taken.
 *
 * Two queues, each of HOST_NET_QUEUE_SIZE one-descriptor chains (header
 * and frame back to back: VERSION_1 implies ANY_LAYOUT, 5.1.6.6), with
 * their buffers in the hypervisor's image. The receive queue is kept
 * full of empty buffers; the transmit queue's buffers are taken back as
 * QEMU completes them. The caller serialises each direction (one hart at
 * a time in the receive functions, one in the transmit functions); the
 * two directions are independent.
 *
 * The receive interrupt, when host/irq.c could wire it, makes the hart
 * it lands on look at its work again (hart->kicked), and the uplink's
 * poll takes the frames there; unwired, the poll finds them at the next
 * scheduling decision.
 */
#ifndef DISCV_HOST_NET_H
#define DISCV_HOST_NET_H

#include <stdbool.h>
#include <stdint.h>

#define HOST_NET_FRAME_MAX 1514		/* MTU 1500 + the Ethernet header */
#define HOST_NET_QUEUE_SIZE 64

/* Finds the first virtio-net device of the host device tree and makes it
 * live, its receive queue full. False if there is none, or it failed (logged). */
bool host_net_probe(const void *fdt);

bool host_net_present(void);

/* Receive. host_net_rx_take gives the next frame QEMU wrote, in the
 * driver's own buffer (*slot names it), until host_net_rx_put gives the
 * buffer back to the device; host_net_rx_flush tells the device. */
bool host_net_rx_pending(void);
bool host_net_rx_take(const uint8_t **frame, uint32_t *len, unsigned *slot);
void host_net_rx_put(unsigned slot);
void host_net_rx_flush(void);

/* Transmit. host_net_tx_buffer gives a free buffer of HOST_NET_FRAME_MAX
 * bytes for the next frame (NULL: all are in flight; completed ones are
 * taken back first; the same one again if the last was not queued),
 * host_net_tx_queue queues the len bytes written into it,
 * host_net_tx_flush publishes what is queued and notifies the device. */
uint8_t *host_net_tx_buffer(void);
void host_net_tx_queue(uint32_t len);
void host_net_tx_flush(void);

/* Interrupts taken (hvstat). */
uint64_t host_net_interrupts(void);

#endif
