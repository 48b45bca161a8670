/*
 * RISC-V architectural constants the hypervisor uses: CSR numbers, CSR
 * fields, trap causes. Constants only (no asm), so pure code and the host
 * unit tests can include it. Numbers from the RISC-V Privileged
 * Architecture, version 20211203: chapter 4 (S-mode) and chapter 8 (the
 * hypervisor extension), and the Sstc extension.
 */
#ifndef DISCV_RISCV_DEFS_H
#define DISCV_RISCV_DEFS_H

#include <stdint.h>

#define PAGE_SHIFT 12
#define PAGE_SIZE (1UL << PAGE_SHIFT)
#define PAGE_MASK (~(PAGE_SIZE - 1))

/* The hypervisor runs with translation off (satp = 0 in HS-mode): a host
 * physical address is a pointer (also in the native unit tests, where
 * "host RAM" is an ordinary buffer). */
static inline void *pa_to_ptr(uint64_t pa)
{
	return (void *)(uintptr_t)pa;
}

static inline uint64_t ptr_to_pa(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* Supervisor CSRs */
#define CSR_SSTATUS 0x100
#define CSR_SIE 0x104
#define CSR_STVEC 0x105
#define CSR_SSCRATCH 0x140
#define CSR_SEPC 0x141
#define CSR_SCAUSE 0x142
#define CSR_STVAL 0x143
#define CSR_SIP 0x144
#define CSR_STIMECMP 0x14D	/* Sstc */
#define CSR_SATP 0x180
/* Not VS aliases: in VS-mode the guest reads and writes these very CSRs
 * (priv spec 8.2: only the CSRs with a vs* counterpart are swapped by
 * V=1), so the hypervisor switches them per vCPU. */
#define CSR_SCOUNTEREN 0x106
#define CSR_SENVCFG 0x10A
#define CSR_TIME 0xC01

/* Hypervisor CSRs (priv spec 8.2) */
#define CSR_HSTATUS 0x600
#define CSR_HEDELEG 0x602
#define CSR_HIDELEG 0x603
#define CSR_HIE 0x604
#define CSR_HTIMEDELTA 0x605
#define CSR_HCOUNTEREN 0x606
#define CSR_HGEIE 0x607
#define CSR_HENVCFG 0x60A
#define CSR_HTVAL 0x643
#define CSR_HIP 0x644
#define CSR_HVIP 0x645
#define CSR_HTINST 0x64A
#define CSR_HGATP 0x680

/* Virtual supervisor CSRs (priv spec 8.2.13ff) */
#define CSR_VSSTATUS 0x200
#define CSR_VSIE 0x204
#define CSR_VSTVEC 0x205
#define CSR_VSSCRATCH 0x240
#define CSR_VSEPC 0x241
#define CSR_VSCAUSE 0x242
#define CSR_VSTVAL 0x243
#define CSR_VSIP 0x244
#define CSR_VSTIMECMP 0x24D	/* Sstc */
#define CSR_VSATP 0x280

/* sstatus fields */
#define SSTATUS_SIE (1UL << 1)
#define SSTATUS_SPIE (1UL << 5)
#define SSTATUS_SPP (1UL << 8)
#define SSTATUS_FS_SHIFT 13
#define SSTATUS_FS (3UL << SSTATUS_FS_SHIFT)
#define SSTATUS_FS_OFF (0UL << SSTATUS_FS_SHIFT)
#define SSTATUS_FS_INITIAL (1UL << SSTATUS_FS_SHIFT)
#define SSTATUS_FS_CLEAN (2UL << SSTATUS_FS_SHIFT)
#define SSTATUS_FS_DIRTY (3UL << SSTATUS_FS_SHIFT)
#define SSTATUS_SUM (1UL << 18)

/* hstatus fields (priv spec 8.2.1) */
#define HSTATUS_GVA (1UL << 6)
#define HSTATUS_SPV (1UL << 7)
#define HSTATUS_SPVP (1UL << 8)
#define HSTATUS_HU (1UL << 9)
#define HSTATUS_VTW (1UL << 21)
#define HSTATUS_VSXL_SHIFT 32
#define HSTATUS_VSXL_64 (2UL << HSTATUS_VSXL_SHIFT)

/* henvcfg (priv spec 8.2.7 and Sstc) */
#define HENVCFG_STCE (1UL << 63)

/* hgatp (priv spec 8.2.10) */
#define HGATP_MODE_SV39X4 (8UL << 60)
#define HGATP_VMID_SHIFT 44
#define HGATP_VMID_BITS 14

/* Interrupt numbers and their bits in sip/sie/hip/hvip */
#define IRQ_S_SOFT 1
#define IRQ_VS_SOFT 2
#define IRQ_S_TIMER 5
#define IRQ_VS_TIMER 6
#define IRQ_S_EXT 9
#define IRQ_VS_EXT 10
#define SIP_SSIP (1UL << IRQ_S_SOFT)
#define SIP_STIP (1UL << IRQ_S_TIMER)
#define SIP_SEIP (1UL << IRQ_S_EXT)
#define HVIP_VSSIP (1UL << IRQ_VS_SOFT)
#define HVIP_VSTIP (1UL << IRQ_VS_TIMER)
#define HVIP_VSEIP (1UL << IRQ_VS_EXT)

/* scause: the interrupt flag and exception codes (priv spec table 8.7) */
#define CAUSE_INTERRUPT (1UL << 63)
#define EXC_INSN_MISALIGNED 0
#define EXC_INSN_ACCESS 1
#define EXC_ILLEGAL_INSN 2
#define EXC_BREAKPOINT 3
#define EXC_LOAD_MISALIGNED 4
#define EXC_LOAD_ACCESS 5
#define EXC_STORE_MISALIGNED 6
#define EXC_STORE_ACCESS 7
#define EXC_ECALL_U 8
#define EXC_ECALL_HS 9
#define EXC_ECALL_VS 10
#define EXC_ECALL_M 11
#define EXC_INSN_PAGE_FAULT 12
#define EXC_LOAD_PAGE_FAULT 13
#define EXC_STORE_PAGE_FAULT 15
#define EXC_INSN_GUEST_PAGE_FAULT 20
#define EXC_LOAD_GUEST_PAGE_FAULT 21
#define EXC_VIRTUAL_INSN 22
#define EXC_STORE_GUEST_PAGE_FAULT 23

/* Instruction encodings the hypervisor recognises */
#define INSN_WFI 0x10500073U

#endif
