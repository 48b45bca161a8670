/*
 * The registers the world switch (hyp/switch.S) saves and restores, with
 * their byte offsets for the assembly. A C static assertion in vcpu.c keeps
 * the offsets and the struct in step.
 */
#ifndef DISCV_VCPU_CONTEXT_H
#define DISCV_VCPU_CONTEXT_H

#define CTX_X(n) ((n) * 8)		/* guest x0..x31 (x0 slot unused) */
#define CTX_SEPC 256			/* guest pc */
#define CTX_SSTATUS 264			/* HS sstatus while the guest runs */
#define CTX_HSTATUS 272			/* hstatus while the guest runs */
#define CTX_HOST_RA 280			/* host callee-saved state ... */
#define CTX_HOST_SP 288
#define CTX_HOST_GP 296
#define CTX_HOST_TP 304
#define CTX_HOST_S(n) (312 + (n) * 8)	/* s0..s11 */
#define CTX_HOST_SSTATUS 408
#define CTX_HOST_STVEC 416
#define CTX_HOST_SSCRATCH 424
#define CTX_SIZE 432

#ifndef __ASSEMBLER__
#include <stdint.h>

struct vcpu_context {
	uint64_t x[32];
	uint64_t sepc;
	uint64_t sstatus;
	uint64_t hstatus;
	uint64_t host_ra, host_sp, host_gp, host_tp;
	uint64_t host_s[12];
	uint64_t host_sstatus;
	uint64_t host_stvec;
	uint64_t host_sscratch;
};

/* Register numbers of the ABI names used by SBI and the decoder. */
enum {
	REG_ZERO = 0, REG_RA = 1, REG_SP = 2, REG_GP = 3, REG_TP = 4,
	REG_A0 = 10, REG_A1, REG_A2, REG_A3, REG_A4, REG_A5, REG_A6, REG_A7,
};
#endif

#endif
