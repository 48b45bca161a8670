/*
 * G-stage TLB maintenance on this hart (HFENCE.GVMA, priv spec 8.3.2).
 *
 * QEMU 7.2 flushes its whole TLB on every world switch and treats every
 * hfence as a full flush, so a missing fence never shows in tests: the
 * rule is kept by design. After gstage_unmap or gstage_protect, fence the
 * VMID on every hart that may hold translations for it before the old host
 * page is reused (with one hart per VM today, the local fence suffices; the
 * multi-hart protocol is in docs/concurrency.md).
 */
#ifndef DISCV_GSTAGE_FENCE_H
#define DISCV_GSTAGE_FENCE_H

#include <stdint.h>

/* Flushes this hart's G-stage translations of one VMID. */
void gstage_fence_vmid(uint16_t vmid);

/* Flushes one guest page of one VMID on this hart. */
void gstage_fence_gpa(uint16_t vmid, uint64_t gpa);

/* Flushes everything: all VMIDs, all addresses. */
void gstage_fence_all(void);

#endif
