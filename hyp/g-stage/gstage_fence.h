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

#include <stdbool.h>
#include <stdint.h>

/* Flushes this hart's G-stage translations of one VMID. */
void gstage_fence_vmid(uint16_t vmid);

/* Flushes one guest page of one VMID on this hart. */
void gstage_fence_gpa(uint16_t vmid, uint64_t gpa);

/* Flushes everything: all VMIDs, all addresses. */
void gstage_fence_all(void);

/*
 * VMIDLEN, the VMID bits this hart implements (priv spec 8.2.10: write
 * ones to hgatp.VMID, read back; may be 0). Leaves hgatp 0 and the hart's
 * G-stage TLB flushed. Every hart calls it at start; the smallest answer
 * is kept.
 */
void gstage_probe_vmid_bits(void);
unsigned gstage_vmid_bits(void);

/*
 * Whether VMIDs 1..count are distinct in hardware. If not (fewer VMID
 * bits than VMs), two VMs share a hardware VMID and a hart's TLB may hold
 * one VM's translations under the other's tag: vcpu_load then flushes the
 * whole G-stage TLB at every load instead of trusting the tag.
 */
bool gstage_vmids_distinct(unsigned count);

#endif
