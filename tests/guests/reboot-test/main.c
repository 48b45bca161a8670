/*
 * reboot-test: an S-mode guest for what a guest carries from one boot to
 * the next, and from one guest to the next on a hart (issue 7, defects 8,
 * 9 and 10). Its mode is a word in bootargs (GUEST_APPEND):
 *
 *   rt=dtb:N  Checks its device tree (every structure token and string in
 *             bounds, /chosen with discv,name and discv,boot-count), prints
 *             "reboot-test: name=NAME boot=COUNT", and reboots (SBI SRST)
 *             until boot-count N, then powers off. The boot test runs
 *             several guests at once on several harts, with a large
 *             initramfs that keeps each reboot's device-tree build and
 *             copy apart: each guest's lines (with discv's [guestK]
 *             prefix) must name guestK and count 0, 1, ..., N.
 *   rt=irq    Boot 0: sets the disk's vPLIC source up, reads a block, takes
 *             the interrupt (a trap, as Linux takes it), claims it and
 *             reboots without completing it
 *             (a panic in the disk's interrupt handler). Boot 1: the device
 *             must be in its reset state (Status 0, InterruptStatus 0), and
 *             a read must interrupt again.
 *   rt=csr    Writes scounteren and senvcfg values of its own (from its
 *             name: guest0 and guest1 differ), then spins for 2 s checking
 *             they stay, while the other guest on the same hart runs in
 *             between (seen as jumps in `time`). Also checks the reset
 *             values (scounteren 7, senvcfg 0).
 *
 * Every check prints "PASS name" or "FAIL name: ..."; the guest ends with
 * "reboot-test: N passed, M failed" and powers off, reason 1 (system
 * failure) if anything failed. Any trap is a failure.
 */
#include <stdarg.h>
#include "console.h"
#include "mmio.h"

typedef unsigned long ulong;
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

void *memset(void *d, int c, ulong n);

/* ------------------------------------------------------------------------ */
/* SBI, reporting, traps                                                    */
/* ------------------------------------------------------------------------ */

#define EXT_SRST	0x53525354
#define SRST_SHUTDOWN	0
#define SRST_COLD_REBOOT 1

static long sbi_call(ulong eid, ulong fid, ulong arg0, ulong arg1)
{
	register ulong a0 asm("a0") = arg0;
	register ulong a1 asm("a1") = arg1;
	register ulong a6 asm("a6") = fid;
	register ulong a7 asm("a7") = eid;

	asm volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a6), "r"(a7) : "memory");
	return (long)a0;
}

static int n_pass, n_fail;

static void check(const char *name, int ok, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		n_pass++;
		print("PASS %s\n", name);
		return;
	}
	n_fail++;
	print("FAIL %s: ", name);
	va_start(ap, fmt);
	vprint(fmt, ap);
	va_end(ap);
	print("\n");
}

static void __attribute__((noreturn)) finish(void)
{
	print("reboot-test: %d passed, %d failed\n", n_pass, n_fail);
	sbi_call(EXT_SRST, 0, SRST_SHUTDOWN, n_fail ? 1 : 0);
	for (;;)
		asm volatile("wfi");
}

static void __attribute__((noreturn)) reboot(void)
{
	sbi_call(EXT_SRST, 0, SRST_COLD_REBOOT, 0);
	print("FAIL reboot: SRST cold reboot returned\n");
	n_fail++;
	finish();
}

#define CAUSE_S_EXT	(1UL << 63 | 9)
#define SIE_SEIE	(1UL << 9)
static volatile int ext_irqs;	/* supervisor external interrupts taken */

void trap_handler(void);	/* called from start.S */
void trap_handler(void)
{
	ulong scause, sepc, stval;

	asm volatile("csrr %0, scause" : "=r"(scause));
	if (scause == CAUSE_S_EXT) {
		/* Taken while read_and_wait_irq waits: masked here, claimed
		 * (or not) by the caller. */
		ext_irqs++;
		asm volatile("csrc sie, %0" :: "r"(SIE_SEIE));
		return;
	}
	asm volatile("csrr %0, sepc" : "=r"(sepc));
	asm volatile("csrr %0, stval" : "=r"(stval));
	n_fail++;
	print("FAIL unexpected_trap: scause=0x%lx sepc=0x%lx stval=0x%lx\n", scause, sepc, stval);
	finish();
}

#define mb()	asm volatile("fence rw,rw" ::: "memory")

static ulong rdtime(void)
{
	ulong t;

	asm volatile("rdtime %0" : "=r"(t));
	return t;
}

static int str_eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* Whether word w (ending at a space or the end) is in the string s;
 * *rest points after it. */
static int has_word(const char *s, const char *w, const char **rest)
{
	for (const char *p = s; *p; p++) {
		if (p != s && p[-1] != ' ')
			continue;
		const char *q = p, *x = w;
		while (*x && *q == *x)
			q++, x++;
		if (!*x) {
			*rest = q;
			return 1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The device tree (devicetree specification 0.4, chapter 5): a strict     */
/* walk of the whole structure block, keeping what /chosen says            */
/* ------------------------------------------------------------------------ */

#define FDT_MAGIC	0xd00dfeedU
#define FDT_BEGIN_NODE	1
#define FDT_END_NODE	2
#define FDT_PROP	3
#define FDT_NOP		4
#define FDT_END		9
#define DTB_MAX		(2UL << 20)	/* discv places it 2 MiB below RAM's end */

static u32 be32(const u8 *p)
{
	return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

static struct {
	const char *name;	/* /chosen/discv,name */
	const char *bootargs;
	u32 boot_count;
	int has_boot_count;
} chosen;

/* 0, or why the tree at dtb is malformed. */
static const char *parse_dtb(const u8 *dtb)
{
	u32 total, off_struct, off_strings, size_strings, size_struct;
	const u8 *s, *strings;
	u32 pos = 0;
	int depth = 0, in_chosen = 0;

	if (be32(dtb) != FDT_MAGIC)
		return "bad magic";
	total = be32(dtb + 4);
	off_struct = be32(dtb + 8);
	off_strings = be32(dtb + 12);
	size_strings = be32(dtb + 32);
	size_struct = be32(dtb + 36);
	if (total > DTB_MAX || off_struct > total || size_struct > total - off_struct ||
	    off_strings > total || size_strings > total - off_strings || size_struct % 4)
		return "header offsets out of bounds";
	s = dtb + off_struct;
	strings = dtb + off_strings;
	for (;;) {
		if (pos + 4 > size_struct)
			return "structure block ends without FDT_END";
		u32 tok = be32(s + pos);
		pos += 4;
		if (tok == FDT_END) {
			if (depth != 0)
				return "FDT_END inside a node";
			return pos == size_struct ? 0 : "data after FDT_END";
		}
		if (tok == FDT_NOP)
			continue;
		if (tok == FDT_BEGIN_NODE) {
			const char *name = (const char *)s + pos;
			u32 n = 0;
			while (pos + n < size_struct && s[pos + n])
				n++;
			if (pos + n >= size_struct)
				return "node name runs past the structure block";
			depth++;
			if (depth == 1 && n != 0)
				return "root node has a name";
			in_chosen = depth == 2 && str_eq(name, "chosen");
			pos += (n + 1 + 3) & ~3U;
			continue;
		}
		if (tok == FDT_END_NODE) {
			if (depth-- <= 0)
				return "FDT_END_NODE without a node";
			in_chosen = 0;
			continue;
		}
		if (tok != FDT_PROP)
			return "unknown token";
		if (depth < 1 || pos + 8 > size_struct)
			return "property outside a node or cut short";
		u32 len = be32(s + pos), nameoff = be32(s + pos + 4);
		pos += 8;
		if (len > size_struct - pos)
			return "property value runs past the structure block";
		if (nameoff >= size_strings)
			return "property name outside the strings block";
		const char *pname = (const char *)strings + nameoff;
		u32 k = 0;
		while (nameoff + k < size_strings && pname[k])
			k++;
		if (nameoff + k >= size_strings)
			return "property name not terminated";
		const u8 *val = s + pos;
		if (in_chosen) {
			int is_string = len > 0 && val[len - 1] == 0;
			if (str_eq(pname, "discv,name")) {
				if (!is_string)
					return "discv,name not a string";
				chosen.name = (const char *)val;
			} else if (str_eq(pname, "bootargs")) {
				if (!is_string)
					return "bootargs not a string";
				chosen.bootargs = (const char *)val;
			} else if (str_eq(pname, "discv,boot-count")) {
				if (len != 4)
					return "discv,boot-count not a u32";
				chosen.boot_count = be32(val);
				chosen.has_boot_count = 1;
			}
		}
		pos += (len + 3) & ~3U;
	}
}

/* ------------------------------------------------------------------------ */
/* rt=dtb:N                                                                 */
/* ------------------------------------------------------------------------ */

static void __attribute__((noreturn)) mode_dtb(const char *arg)
{
	u32 last = 0;

	while (*arg >= '0' && *arg <= '9')
		last = last * 10 + (u32)(*arg++ - '0');
	print("reboot-test: name=%s boot=%u\n", chosen.name, chosen.boot_count);
	if (chosen.boot_count < last)
		reboot();
	check("dtb.boots", chosen.boot_count == last, "boot-count %u, expected %u",
	      chosen.boot_count, last);
	finish();
}

/* ------------------------------------------------------------------------ */
/* rt=irq: virtio-blk (virtio 1.2, 4.2 and 5.2) and the vPLIC               */
/* ------------------------------------------------------------------------ */

#define VIRTIO_BASE	0x10001000UL
#define PLIC_BASE	0x0c000000UL
#define DISK_IRQ	1
#define REG_QUEUE_SEL		0x030
#define REG_QUEUE_NUM_MAX	0x034
#define REG_QUEUE_NUM		0x038
#define REG_QUEUE_READY		0x044
#define REG_QUEUE_NOTIFY	0x050
#define REG_INTERRUPT_STATUS	0x060
#define REG_INTERRUPT_ACK	0x064
#define REG_STATUS		0x070
#define REG_DRIVER_FEATURES	0x020
#define REG_DRIVER_FEATURES_SEL	0x024
#define REG_QUEUE_DESC_LOW	0x080
#define REG_QUEUE_DRIVER_LOW	0x090
#define REG_QUEUE_DEVICE_LOW	0x0a0
#define S_ACK_DRIVER		3
#define S_FEATURES_OK		8
#define S_DRIVER_OK		4
#define QSZ			8
#define SPINS			10000000UL

struct vdesc {
	unsigned long long addr;
	u32 len;
	u16 flags;
	u16 next;
};

static u8 ring[3 * 4096] __attribute__((aligned(4096)));	/* desc, avail, used */
static u8 buf[4096] __attribute__((aligned(4096)));
static u8 hdr[64] __attribute__((aligned(16)));

static u32 rd(ulong off)
{
	return mmio_read32(VIRTIO_BASE + off);
}

static void wr(ulong off, u32 v)
{
	mmio_write32(VIRTIO_BASE + off, v);
}

static void plic_wr(ulong off, u32 v)
{
	mmio_write32(PLIC_BASE + off, v);
}

static u32 plic_rd(ulong off)
{
	return mmio_read32(PLIC_BASE + off);
}

static void wr64(ulong off, ulong v)
{
	wr(off, (u32)v);
	wr(off + 4, (u32)(v >> 32));
}

/* The driver's initialisation (3.1.1): 0, or why it failed. */
static const char *disk_init(void)
{
	wr(REG_STATUS, 0);
	wr(REG_STATUS, S_ACK_DRIVER);
	wr(REG_DRIVER_FEATURES_SEL, 1);
	wr(REG_DRIVER_FEATURES, 1);	/* VIRTIO_F_VERSION_1 */
	wr(REG_DRIVER_FEATURES_SEL, 0);
	wr(REG_DRIVER_FEATURES, 0);
	wr(REG_STATUS, S_ACK_DRIVER | S_FEATURES_OK);
	if (!(rd(REG_STATUS) & S_FEATURES_OK))
		return "FEATURES_OK did not stick";
	wr(REG_QUEUE_SEL, 0);
	if (rd(REG_QUEUE_NUM_MAX) < QSZ)
		return "QueueNumMax too small";
	memset(ring, 0, sizeof(ring));
	wr(REG_QUEUE_NUM, QSZ);
	wr64(REG_QUEUE_DESC_LOW, (ulong)ring);
	wr64(REG_QUEUE_DRIVER_LOW, (ulong)ring + 4096);
	wr64(REG_QUEUE_DEVICE_LOW, (ulong)ring + 8192);
	wr(REG_QUEUE_READY, 1);
	if (rd(REG_QUEUE_READY) != 1)
		return "QueueReady did not stick";
	wr(REG_STATUS, S_ACK_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	return 0;
}

/* The disk's source set up as Linux's PLIC driver does (priority 1,
 * enabled for context 0, threshold 0). */
static void plic_init(void)
{
	plic_wr(4 * DISK_IRQ, 1);
	plic_wr(0x2000, 1U << DISK_IRQ);
	plic_wr(0x200000, 0);
}

/* Reads sector 0 (one request; served during the notify) and waits, with
 * the external interrupt enabled, for it to be taken (as Linux takes it:
 * a trap): whether it came. */
static int read_and_wait_irq(void)
{
	volatile struct vdesc *d = (volatile struct vdesc *)ring;
	volatile u16 *avail = (volatile u16 *)(ring + 4096);
	int before = ext_irqs;

	*(volatile u32 *)hdr = 0;	/* VIRTIO_BLK_T_IN */
	*(volatile unsigned long long *)(hdr + 8) = 0;
	hdr[32] = 0xff;
	d[0] = (struct vdesc){ (ulong)hdr, 16, 1, 1 };
	d[1] = (struct vdesc){ (ulong)buf, 4096, 1 | 2, 2 };
	d[2] = (struct vdesc){ (ulong)hdr + 32, 1, 2, 0 };
	avail[2] = 0;
	mb();
	avail[1] = (u16)(avail[1] + 1);
	wr(REG_QUEUE_NOTIFY, 0);
	asm volatile("csrs sie, %0" :: "r"(SIE_SEIE));
	asm volatile("csrsi sstatus, 2");	/* SIE */
	for (ulong i = 0; i < SPINS && ext_irqs == before; i++)
		mb();
	asm volatile("csrci sstatus, 2");
	asm volatile("csrc sie, %0" :: "r"(SIE_SEIE));
	if (ext_irqs == before)
		print("reboot-test: no interrupt: vPLIC pending 0x%x, InterruptStatus 0x%x, "
		      "status byte %u\n", plic_rd(0x1000), rd(REG_INTERRUPT_STATUS), hdr[32]);
	return ext_irqs != before;
}

static void __attribute__((noreturn)) mode_irq(void)
{
	const char *why;

	if (chosen.boot_count == 0) {
		why = disk_init();
		check("irq.init", !why, "%s", why);
		plic_init();
		check("irq.first", read_and_wait_irq(), "no disk interrupt on the first boot");
		u32 src = plic_rd(0x200004);
		check("irq.claim", src == DISK_IRQ, "claimed %u, expected %u", src, DISK_IRQ);
		print("reboot-test: claimed the disk interrupt; rebooting without completing it\n");
		reboot();
	}
	/* The device as the hypervisor's reboot left it: reset (4.2.2.1). */
	check("irq.device_reset", rd(REG_STATUS) == 0 && rd(REG_INTERRUPT_STATUS) == 0 &&
				  (wr(REG_QUEUE_SEL, 0), rd(REG_QUEUE_READY)) == 0,
	      "Status 0x%x InterruptStatus 0x%x QueueReady %u, expected all 0",
	      rd(REG_STATUS), rd(REG_INTERRUPT_STATUS), rd(REG_QUEUE_READY));
	/* The vPLIC as at power-on: source 1 masked (priority 0), not claimed. */
	check("irq.plic_reset", plic_rd(4 * DISK_IRQ) == 0 && plic_rd(0x2000) == 0,
	      "priority %u enable 0x%x, expected 0", plic_rd(4 * DISK_IRQ), plic_rd(0x2000));
	why = disk_init();
	check("irq.init_again", !why, "%s", why);
	plic_init();
	int got = read_and_wait_irq();
	check("irq.after_reboot", got, "no disk interrupt after the reboot (boot-count %u)",
	      chosen.boot_count);
	if (got) {
		u32 src = plic_rd(0x200004);
		check("irq.claim_again", src == DISK_IRQ, "claimed %u, expected %u", src, DISK_IRQ);
		wr(REG_INTERRUPT_ACK, rd(REG_INTERRUPT_STATUS));
		plic_wr(0x200004, src);	/* complete */
	}
	finish();
}

/* ------------------------------------------------------------------------ */
/* rt=csr: scounteren (0x106) and senvcfg (0x10a), which VS-mode accesses   */
/* directly (they have no VS copies: priv spec 8.2)                         */
/* ------------------------------------------------------------------------ */

static ulong read_scounteren(void) { ulong v; asm volatile("csrr %0, 0x106" : "=r"(v)); return v; }
static ulong read_senvcfg(void) { ulong v; asm volatile("csrr %0, 0x10a" : "=r"(v)); return v; }
static void write_scounteren(ulong v) { asm volatile("csrw 0x106, %0" :: "r"(v)); }
static void write_senvcfg(ulong v) { asm volatile("csrw 0x10a, %0" :: "r"(v)); }

#define TICKS_PER_S	10000000UL	/* QEMU virt's timebase */

static void __attribute__((noreturn)) mode_csr(void)
{
	/* guest0, guest2, ...: one set; guest1, guest3, ...: another. */
	const char *n = chosen.name;
	while (n[0] && n[1])
		n++;
	int odd = (*n - '0') & 1;
	ulong want_c = odd ? 0x5aUL : 0xa5UL;
	ulong want_e = odd ? 0xf0UL : 0x01UL;	/* CBIE, CBCFE, CBZE / FIOM */
	ulong c0 = read_scounteren(), e0 = read_senvcfg();

	check("csr.reset", c0 == 7 && e0 == 0, "scounteren 0x%lx senvcfg 0x%lx at boot, expected 0x7, 0",
	      c0, e0);
	write_scounteren(want_c);
	write_senvcfg(want_e);
	ulong got_c = read_scounteren(), got_e = read_senvcfg();
	print("reboot-test: %s: scounteren 0x%lx senvcfg 0x%lx\n", chosen.name, got_c, got_e);
	check("csr.written", got_c == want_c && (got_e & 1) == (want_e & 1),
	      "scounteren 0x%lx senvcfg 0x%lx right after writing 0x%lx, 0x%lx",
	      got_c, got_e, want_c, want_e);
	ulong start = rdtime(), prev = start, gaps = 0, bad = 0;
	while (rdtime() - start < 2 * TICKS_PER_S) {
		ulong now = rdtime(), c = read_scounteren(), e = read_senvcfg();
		if (now - prev > TICKS_PER_S / 1000)	/* a millisecond away: descheduled */
			gaps++;
		prev = now;
		if (c != got_c || e != got_e) {
			bad = 1;
			print("reboot-test: %s: scounteren 0x%lx senvcfg 0x%lx after %lu slices away\n",
			      chosen.name, c, e, gaps);
			break;
		}
	}
	check("csr.descheduled", gaps >= 3 || bad, "only %lu slices away in 2 s", gaps);
	check("csr.kept", !bad, "another guest's values (see above)");
	finish();
}

/* ------------------------------------------------------------------------ */

void main(ulong hartid, ulong dtb);	/* called from start.S */
void main(ulong hartid, ulong dtb)
{
	const char *why = parse_dtb((const u8 *)dtb), *arg;

	(void)hartid;
	check("dtb.valid", !why, "%s", why);
	check("dtb.chosen", chosen.name && chosen.bootargs && chosen.has_boot_count,
	      "/chosen lacks discv,name, bootargs or discv,boot-count");
	if (why || !chosen.name || !chosen.bootargs || !chosen.has_boot_count)
		finish();
	if (has_word(chosen.bootargs, "rt=dtb:", &arg))
		mode_dtb(arg);
	if (has_word(chosen.bootargs, "rt=irq", &arg))
		mode_irq();
	if (has_word(chosen.bootargs, "rt=csr", &arg))
		mode_csr();
	check("mode", 0, "no rt=dtb:N, rt=irq or rt=csr in bootargs \"%s\"", chosen.bootargs);
	finish();
}
