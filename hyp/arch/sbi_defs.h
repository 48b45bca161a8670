/*
 * RISC-V SBI constants (RISC-V Supervisor Binary Interface, version 2.0):
 * extension ids, function ids and error codes. Shared by the hypervisor's
 * calls down to OpenSBI (hyp/firmware.c) and its SBI implementation for
 * guests (hyp/sbi/).
 */
#ifndef DISCV_SBI_DEFS_H
#define DISCV_SBI_DEFS_H

/* Error codes (SBI 2.0 section 3.2) */
#define SBI_SUCCESS 0
#define SBI_ERR_FAILED -1
#define SBI_ERR_NOT_SUPPORTED -2
#define SBI_ERR_INVALID_PARAM -3
#define SBI_ERR_DENIED -4
#define SBI_ERR_INVALID_ADDRESS -5
#define SBI_ERR_ALREADY_AVAILABLE -6
#define SBI_ERR_ALREADY_STARTED -7
#define SBI_ERR_ALREADY_STOPPED -8

/* Legacy extensions, SBI v0.1 (chapter 5): the EID is the function. */
#define SBI_EXT_0_1_SET_TIMER 0x0
#define SBI_EXT_0_1_CONSOLE_PUTCHAR 0x1
#define SBI_EXT_0_1_CONSOLE_GETCHAR 0x2
#define SBI_EXT_0_1_CLEAR_IPI 0x3
#define SBI_EXT_0_1_SEND_IPI 0x4
#define SBI_EXT_0_1_REMOTE_FENCE_I 0x5
#define SBI_EXT_0_1_REMOTE_SFENCE_VMA 0x6
#define SBI_EXT_0_1_REMOTE_SFENCE_VMA_ASID 0x7
#define SBI_EXT_0_1_SHUTDOWN 0x8

/* Base extension (chapter 4) */
#define SBI_EXT_BASE 0x10
#define SBI_BASE_GET_SPEC_VERSION 0
#define SBI_BASE_GET_IMPL_ID 1
#define SBI_BASE_GET_IMPL_VERSION 2
#define SBI_BASE_PROBE_EXT 3
#define SBI_BASE_GET_MVENDORID 4
#define SBI_BASE_GET_MARCHID 5
#define SBI_BASE_GET_MIMPID 6

/* Timer (chapter 6) */
#define SBI_EXT_TIME 0x54494D45
#define SBI_TIME_SET_TIMER 0

/* IPI (chapter 7) */
#define SBI_EXT_IPI 0x735049
#define SBI_IPI_SEND_IPI 0

/* RFENCE (chapter 8) */
#define SBI_EXT_RFENCE 0x52464E43
#define SBI_RFENCE_REMOTE_FENCE_I 0
#define SBI_RFENCE_REMOTE_SFENCE_VMA 1
#define SBI_RFENCE_REMOTE_SFENCE_VMA_ASID 2
#define SBI_RFENCE_REMOTE_HFENCE_VVMA_ASID 5	/* 3..6 are hfence.* */

/* Hart state management (chapter 9) */
#define SBI_EXT_HSM 0x48534D
#define SBI_HSM_HART_START 0
#define SBI_HSM_HART_STOP 1
#define SBI_HSM_HART_GET_STATUS 2
#define SBI_HSM_HART_SUSPEND 3
#define SBI_HSM_STATE_STARTED 0
#define SBI_HSM_STATE_STOPPED 1
#define SBI_HSM_STATE_START_PENDING 2
#define SBI_HSM_STATE_STOP_PENDING 3
#define SBI_HSM_STATE_SUSPENDED 4
#define SBI_HSM_SUSPEND_RETENTIVE_DEFAULT 0x00000000UL
#define SBI_HSM_SUSPEND_NON_RETENTIVE_DEFAULT 0x80000000UL

/* System reset (chapter 10) */
#define SBI_EXT_SRST 0x53525354
#define SBI_SRST_SYSTEM_RESET 0
#define SBI_SRST_TYPE_SHUTDOWN 0
#define SBI_SRST_TYPE_COLD_REBOOT 1
#define SBI_SRST_TYPE_WARM_REBOOT 2
#define SBI_SRST_REASON_NONE 0
#define SBI_SRST_REASON_SYSTEM_FAILURE 1

/* Debug console (chapter 12) */
#define SBI_EXT_DBCN 0x4442434E
#define SBI_DBCN_CONSOLE_WRITE 0
#define SBI_DBCN_CONSOLE_READ 1
#define SBI_DBCN_CONSOLE_WRITE_BYTE 2

/* discv's own extension, in the firmware-specific range 0x0A000000 -
 * 0x0AFFFFFF (SBI 2.0 section 3.3); the low bytes spell "dsc". The guest
 * side is guest-kernel/patches/0002. */
#define SBI_EXT_DISCV 0x0A647363
#define SBI_DISCV_REMAP_PAGE 0	/* a0: destination gpa, a1: source gpa */

#endif
