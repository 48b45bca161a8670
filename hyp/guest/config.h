/*
 * The run's configuration, passed by tools/run-qemu.sh on the hypervisor's
 * command line (/chosen/bootargs of the host device tree):
 *
 *   discv.guests=N          number of guests (1..MAX_VMS)
 *   discv.vcpus=N           vCPUs per guest (1..MAX_VCPUS_PER_VM)
 *   discv.mem=BYTES         RAM per guest (K/M/G suffixes allowed)
 *   discv.kernel=PA,SIZE    guest kernel image placed in host RAM by QEMU
 *   discv.initrd=PA,SIZE    guest initramfs placed in host RAM by QEMU
 *   discv.cmd=HEX           batch command, hex-encoded (so quotes, spaces
 *                           and $(...) survive every layer unchanged)
 *   discv.append=HEX        extra guest kernel command line, hex-encoded
 *   discv.share=0|1         page sharing of disk reads and the kernel (1)
 *   discv.net=0|1           a virtio-net device per guest, on the switch (0)
 *   discv.net_remap=0|1     received whole pages remapped, not copied (1)
 *   discv.pv_copy=0|1       the paravirtual copy SBI extension (1)
 *   discv.content_share=0|1 content-based sharing: zero pages, the scanner (1)
 *   discv.balloon=0|1       a virtio-balloon per guest (0)
 *   discv.balloon_oom=0|1   ... offering DEFLATE_ON_OOM (0)
 *   discv.scan_rate=T[,V]   the scanner's caps, pages per second in total and
 *                           per VM (DEFAULT_SCAN_RATE, _VM; V <= T)
 *   discv.pager=clock|random the pager's choice of victims (clock)
 *   discv.ws_period=S       working-set sampling period, seconds (30; 0: off)
 *
 * Pure code: unit-tested natively.
 */
#ifndef DISCV_CONFIG_H
#define DISCV_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_CMD_MAX 4096
#define CONFIG_APPEND_MAX 1024
/* The scanner's default caps: 8 idle guests keep ~16,000 private pages
 * after boot, looked at in about 2 s; hashing a page takes ~10 us here,
 * so the cap costs at most ~8 % of one hart's idle time. */
#define DEFAULT_SCAN_RATE 8000
#define DEFAULT_SCAN_RATE_VM 2000
#define MAX_SCAN_RATE 1000000
#define DEFAULT_WS_PERIOD 30	/* ESX samples 100 pages per 30 s */
#define MAX_WS_PERIOD 3600

struct hyp_config {
	unsigned guests;
	unsigned vcpus;
	uint64_t guest_mem;
	uint64_t kernel_pa, kernel_size;
	uint64_t initrd_pa, initrd_size;
	bool batch;			/* a batch command was given */
	bool share;			/* DMA-read and kernel-image sharing */
	bool net;			/* every guest gets a virtio-net device */
	bool net_remap;			/* ... which remaps whole pages it receives */
	bool pv_copy;			/* discv's SBI extension: REMAP_PAGE */
	bool content_share;		/* the zero page and the content scanner */
	bool balloon;			/* every guest gets a virtio-balloon */
	bool balloon_oom;		/* ... offering DEFLATE_ON_OOM */
	uint64_t scan_rate, scan_rate_vm;	/* the scanner's caps, pages/s */
	bool pager_random;		/* victims at random (ESX), not by the clock */
	unsigned ws_period;		/* working-set sampling period, s (0: off) */
	char cmd[CONFIG_CMD_MAX];
	char append[CONFIG_APPEND_MAX];
};

/* Fills cfg from a command line. Returns true, or false with a message
 * naming the bad option in err. */
bool config_parse(struct hyp_config *cfg, const char *cmdline, char *err, size_t errlen);

/* Decodes hex into out (NUL-terminated). False if malformed or too long. */
bool hex_decode(const char *hex, size_t hexlen, char *out, size_t outlen);

#endif
