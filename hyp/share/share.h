/*
 * Disco's page sharing, for the two sources of identical pages that the
 * hypervisor sees being created:
 *
 *  - DMA reads of the shared base disk. When a guest's read from the base
 *    fills a whole, page-aligned guest page, the guest page is mapped
 *    read-only to the one host page that holds that disk block on the
 *    VM's node (read from the host disk only the first time); a guest
 *    write takes a G-stage store fault and copies (copy-on-write).
 *    Partial reads copy out of the same pages, which act as the
 *    hypervisor's block cache.
 *  - The guest kernel image, loaded by the hypervisor itself: one copy per
 *    node, mapped read-only into every guest, copied on write.
 *
 * Every shared page is a host page of origin PAGE_SHARED_DISK or
 * PAGE_SHARED_KERNEL whose owner record counts its mappings.
 */
#ifndef DISCV_SHARE_H
#define DISCV_SHARE_H

#include <stdbool.h>
#include <stdint.h>

struct host_memory;
struct vm;

/* Bytes of table storage for a base disk of `blocks` blocks. */
uint64_t share_storage_bytes(uint64_t blocks, unsigned nnodes);

/* Sets sharing up (storage: zeroed, share_storage_bytes; NULL if there is
 * no base disk). enabled = false (SHARE=0) copies everything instead. */
void share_init(struct host_memory *hm, void *storage, uint64_t blocks, unsigned nnodes,
		bool enabled);
bool share_enabled(void);

/* The host page holding base block `block` on `node`: from the table, a
 * copy of another node's replica, or a read from the base disk `base`
 * (counted in *read_bytes); the new page is charged to VM `vm`, the reader).
 * 0 if memory or the disk failed. The page comes back pinned: it cannot
 * be evicted until share_put_base_block(block, node), which the caller
 * calls once it has mapped the page (guest_memory_map_shared counted the
 * mapping) or copied out of it. May sleep while another hart fills the
 * same block: call it with no spinlock that a filler could need. */
struct host_blk;
uint64_t share_base_block(struct host_blk *base, uint64_t *read_bytes, uint64_t block,
			  unsigned node, uint16_t vm);
void share_put_base_block(uint64_t block, unsigned node);

/* The host page holding page `index` of the guest kernel image for
 * `node`, filled from the image at `image_pa` (`image_bytes` long) the
 * first time. 0 if out of memory or the image is too large. */
uint64_t share_kernel_page(uint64_t index, unsigned node, uint64_t image_pa,
			   uint64_t image_bytes);

struct counters;
/* The sharing totals, as hvstat fields (lib/counters.h). */
void share_counters(struct counters *c);

#endif
