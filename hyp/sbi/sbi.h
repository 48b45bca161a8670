/*
 * The SBI that discv implements for its guests (SBI spec 2.0).
 *
 * As in KVM's arch/riscv/kvm: one file per extension, each ending with one
 * descriptor (its extension-id range and its handler), and a dispatcher
 * (sbi.c) that walks a table of descriptors. Adding an extension is one
 * new file and one table line. A handler reads the arguments, does one
 * thing per function id and fills in an sbi_ret; the dispatcher writes the
 * registers. Handlers only change state (a vCPU's timer, a VM's state);
 * the run loop acts on it after the call returns.
 */
#ifndef DISCV_SBI_H
#define DISCV_SBI_H

#include <stdbool.h>
#include "arch/sbi_defs.h"

struct vcpu;

#define SBI_SPEC_VERSION ((2UL << 24) | 0)	/* major 2, minor 0 */
#define SBI_IMPL_ID_DISCV 0x64697363UL		/* "disc": not an assigned id */
#define SBI_IMPL_VERSION_DISCV 0x00000100UL	/* discv 0.1 */

struct sbi_ret {
	long error;		/* a0: SBI_SUCCESS or SBI_ERR_* */
	unsigned long value;	/* a1 */
};

struct sbi_extension {
	const char *name;
	unsigned long eid_min, eid_max;
	/* Legacy (v0.1) calls return one value, in a0 (SBI 2.0 ch. 5). */
	bool legacy;
	/* False while the extension is switched off (then it is absent:
	 * probe_extension says 0, calls are not supported); NULL: always on. */
	bool (*available)(void);
	void (*handle)(struct vcpu *v, unsigned long eid, unsigned long fid,
		       const unsigned long *args, struct sbi_ret *ret);
};

/* Performs the SBI call held in v's registers (a7 = EID, a6 = FID,
 * a0..a5 = arguments) and writes the result registers. The caller then
 * steps the guest past its ecall. */
void sbi_dispatch(struct vcpu *v);

/* The extension implementing eid, or NULL. */
const struct sbi_extension *sbi_find_extension(unsigned long eid);

/* Validates an SBI hart mask (SBI 2.0 section 3.1: hart_mask_base of -1
 * selects every hart) against the VM's vCPUs, then, if all are valid,
 * calls fn for each selected vCPU. Returns SBI_SUCCESS or
 * SBI_ERR_INVALID_PARAM (then fn was never called). */
long sbi_for_each_hart(struct vcpu *caller, unsigned long hart_mask,
		       unsigned long hart_mask_base,
		       void (*fn)(struct vcpu *caller, struct vcpu *target, void *arg),
		       void *arg);

extern const struct sbi_extension sbi_ext_base;
extern const struct sbi_extension sbi_ext_time;
extern const struct sbi_extension sbi_ext_ipi;
extern const struct sbi_extension sbi_ext_rfence;
extern const struct sbi_extension sbi_ext_hsm;
extern const struct sbi_extension sbi_ext_srst;
extern const struct sbi_extension sbi_ext_discv;

/* PV_COPY=0 switches discv's extension off (sbi_discv.c). */
void sbi_discv_set_enabled(bool on);
extern const struct sbi_extension sbi_ext_dbcn;
extern const struct sbi_extension sbi_ext_legacy;

#endif
