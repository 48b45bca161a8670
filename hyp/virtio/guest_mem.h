/*
 * Guest memory as the virtqueue code reaches it (struct guest_mem_ops,
 * virtio/virtq.h), for a VM's emulated virtio devices.
 */
#ifndef DISCV_VIRTIO_GUEST_MEM_H
#define DISCV_VIRTIO_GUEST_MEM_H

#include "virtio/virtq.h"

struct vm;

/*
 * The ops over vm's RAM. A naturally aligned 2-, 4- or 8-byte access is
 * one load or store (the ring indices must not tear, virtq.h); anything
 * else is a checked copy. A write never lands in a shared page: the page
 * is copied first, which owes the VM a G-stage fence (virtio_mmio.h: the
 * completion protocol pays it).
 */
struct guest_mem_ops virtio_guest_memory(struct vm *vm);

#endif
