/*
 * virtio-test: an S-mode guest that drives discv's virtio-blk device
 * directly (no Linux) with valid and malformed requests.
 *
 * Each check prints "PASS <name>" or "FAIL <name>: got X expected Y", then
 * main() prints "virtio-test: N passed, M failed" and powers off with SBI
 * SRST: reason 0 (no reason) if everything passed, 1 (system failure)
 * otherwise. Any trap is a failure too: the guest never touches memory
 * outside its RAM, so a trap means the device made it fault.
 *
 * Section numbers refer to virtio 1.2: 2.1.2 (DEVICE_NEEDS_RESET), 2.7
 * (split virtqueues), 3.1.1 (driver initialisation), 4.2 (virtio-mmio),
 * 5.2 (block device). Where the spec lets a device choose how to answer a
 * broken driver, the expected values follow discv's contract
 * (hyp/vdisk/virtq.h, hyp/vdisk/blk_request.h): a request the device can
 * answer gets a status byte (IOERR, UNSUPP); a broken virtqueue or framing
 * sets DEVICE_NEEDS_RESET, raises a configuration change interrupt and
 * stops the queue until the driver resets the device.
 */
#include <stdarg.h>
#include "console.h"
#include "fdt.h"
#include "mmio.h"
#include "smp.h"
#include "virtio_test.h"

/* ------------------------------------------------------------------------ */
/* Platform facts (discv contract, docs/guest-platform.md)                  */
/* ------------------------------------------------------------------------ */

#define RAM_BASE	0x80000000UL
#define SZ_2M		0x200000UL
#define DEFAULT_RAM	(128UL << 20)
#define VIRTIO_BASE	0x10001000UL
#define POLL_SPINS	10000000UL	/* bound on every wait for a completion */
#define QUIET_SPINS	100000UL	/* how long "no completion" is watched */
#define NOT_RAM		0x1000UL	/* a guest-physical address that is not RAM */

/* virtio-mmio registers (4.2.2); all accessed as 32-bit words. */
#define REG_MAGIC		0x000
#define REG_VERSION		0x004
#define REG_DEVICE_ID		0x008
#define REG_DEVICE_FEATURES	0x010
#define REG_DEVICE_FEATURES_SEL	0x014
#define REG_DRIVER_FEATURES	0x020
#define REG_DRIVER_FEATURES_SEL	0x024
#define REG_QUEUE_SEL		0x030
#define REG_QUEUE_NUM_MAX	0x034
#define REG_QUEUE_NUM		0x038
#define REG_QUEUE_READY		0x044
#define REG_QUEUE_NOTIFY	0x050
#define REG_INTERRUPT_STATUS	0x060
#define REG_INTERRUPT_ACK	0x064
#define REG_STATUS		0x070
#define REG_QUEUE_DESC_LOW	0x080
#define REG_QUEUE_DESC_HIGH	0x084
#define REG_QUEUE_DRIVER_LOW	0x090
#define REG_QUEUE_DRIVER_HIGH	0x094
#define REG_QUEUE_DEVICE_LOW	0x0a0
#define REG_QUEUE_DEVICE_HIGH	0x0a4
#define REG_CONFIG		0x100	/* le64 capacity */
#define REG_CONFIG_BLK_SIZE	0x114	/* le32 blk_size */

/* Device status bits (2.1) and interrupt status bits (4.2.2). */
#define S_ACKNOWLEDGE		1
#define S_DRIVER		2
#define S_DRIVER_OK		4
#define S_FEATURES_OK		8
#define S_NEEDS_RESET		64
#define ISR_USED_BUFFER		1
#define ISR_CONFIG_CHANGE	2

/* Feature bits (5.2.3, 6). */
#define F_BLK_SIZE		(1U << 6)
#define F_FLUSH			(1U << 9)
#define F_INDIRECT_DESC		(1U << 28)
#define F_EVENT_IDX		(1U << 29)
#define F_VERSION_1_HI		(1U << 0)	/* bit 32: bit 0 of the high word */

/* Split virtqueue (2.7). */
#define VIRTQ_DESC_F_NEXT	1
#define VIRTQ_DESC_F_WRITE	2
#define VIRTQ_DESC_F_INDIRECT	4
#define QSZ			128	/* our queue size: a power of 2 <= 256 */
#define MAX_CHAIN		64	/* discv's longest accepted chain (virtq.h) */

/* virtio-blk requests (5.2.6). */
#define T_IN			0
#define T_OUT			1
#define T_FLUSH			4
#define T_GET_ID		8
#define ST_OK			0
#define ST_IOERR		1
#define ST_UNSUPP		2
#define ST_UNTOUCHED		0xff	/* what we put in the status byte first */
#define EXT4_MAGIC_OFF		1080	/* superblock at 1024, s_magic at +56 */
#define EXT4_MAGIC		0xef53

/* ------------------------------------------------------------------------ */
/* SBI: legacy console_putchar for output, SRST to power off                */
/* ------------------------------------------------------------------------ */

#define EXT_SRST	0x53525354

long sbi_call(ulong eid, ulong fid, ulong arg0, ulong arg1)
{
	register ulong a0 asm("a0") = arg0;
	register ulong a1 asm("a1") = arg1;
	register ulong a6 asm("a6") = fid;
	register ulong a7 asm("a7") = eid;

	asm volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a6), "r"(a7) : "memory");
	return (long)a0;
}

/* ------------------------------------------------------------------------ */
/* Reporting                                                                */
/* ------------------------------------------------------------------------ */

static int n_pass, n_fail;

/* PASS if ok; else "FAIL name: " followed by the got/expected text. */
void check(const char *name, int ok, const char *fmt, ...)
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

/* Power off through SRST (SBI ch. 10.1); legacy shutdown (5.8) as backup. */
static void __attribute__((noreturn)) power_off(int failed)
{
	sbi_call(EXT_SRST, 0, 0 /* shutdown */, failed ? 1 : 0);
	print("virtio-test: SRST system_reset returned, trying legacy shutdown\n");
	sbi_call(8, 0, 0, 0);
	for (;;)
		asm volatile("wfi");
}

/* No trap is expected: interrupts are off, and the guest only touches its
 * own RAM and the device's registers. A trap means the hypervisor made an
 * access fail; report it and stop. */
void trap_handler(void);	/* called from start.S */
void trap_handler(void)
{
	ulong scause, sepc, stval;

	asm volatile("csrr %0, scause" : "=r"(scause));
	asm volatile("csrr %0, sepc" : "=r"(sepc));
	asm volatile("csrr %0, stval" : "=r"(stval));
	n_fail++;
	print("FAIL unexpected_trap: got scause=0x%lx sepc=0x%lx stval=0x%lx "
	      "expected no trap\n", scause, sepc, stval);
	print("virtio-test: %d passed, %d failed\n", n_pass, n_fail);
	power_off(1);
}

/* ------------------------------------------------------------------------ */
/* Memory                                                                   */
/* ------------------------------------------------------------------------ */



static int mem_equal(const void *a, const void *b, ulong n, ulong *first_diff)
{
	const volatile u8 *p = a, *q = b;

	for (ulong i = 0; i < n; i++)
		if (p[i] != q[i]) {
			*first_diff = i;
			return 0;
		}
	return 1;
}

static u16 le16_at(const void *p)
{
	const volatile u8 *b = p;

	return (u16)(b[0] | b[1] << 8);
}

/*
 * The driver's memory, all in .bss (private guest pages):
 *   ring_mem  two pages: descriptor table (QSZ * 16 = 2 KiB) at 0, the
 *             available ring at 0x800, the used ring at 0x1000
 *   page[0..3] whole-page data buffers; a 4096-byte read into a page-
 *             aligned buffer is the case discv serves by mapping the
 *             shared base-disk page read-only (hyp/share/)
 *   misc      request header, status byte, small buffers
 */
static u8 ring_mem[2 * 4096] __attribute__((aligned(4096)));
static u8 pages[4][4096] __attribute__((aligned(4096)));
static u8 misc[4096] __attribute__((aligned(4096)));

#define DESC_ADDR	((ulong)ring_mem)
#define AVAIL_ADDR	((ulong)ring_mem + 0x800)
#define USED_ADDR	((ulong)ring_mem + 0x1000)

struct vdesc {
	unsigned long long addr;
	u32 len;
	u16 flags;
	u16 next;
};

struct blk_hdr {
	u32 type;
	u32 reserved;
	unsigned long long sector;
};

#define DESC		((volatile struct vdesc *)DESC_ADDR)
#define AVAIL		((volatile u16 *)AVAIL_ADDR)	/* [0] flags, [1] idx, [2 + i] ring */
#define HDR		((volatile struct blk_hdr *)misc)
#define HDR_ADDR	((ulong)misc)
#define STATUS_ADDR	((ulong)misc + 0x40)
#define STATUS_BYTE	(*(volatile u8 *)STATUS_ADDR)
#define ID_ADDR		((ulong)misc + 0x80)		/* 32 bytes */
#define SMALL_ADDR	((ulong)misc + 0x200)		/* 512 bytes */
#define PAGE(i)		((ulong)pages[i])

static ulong ram_end;		/* RAM_BASE + the guest's RAM size */
static unsigned long long capacity;	/* sectors, from the config space */

/* ------------------------------------------------------------------------ */
/* The device: registers, initialisation, requests                          */
/* ------------------------------------------------------------------------ */

static u32 rd(ulong off)
{
	return mmio_read32(VIRTIO_BASE + off);
}

static void wr(ulong off, u32 v)
{
	mmio_write32(VIRTIO_BASE + off, v);
}

static void wr64(ulong low_off, ulong v)
{
	wr(low_off, (u32)v);
	wr(low_off + 4, (u32)(v >> 32));
}

/* The driver's view of the queue. */
static struct {
	u16 avail_idx;		/* the avail->idx we published last */
	u16 used_idx;		/* the used->idx we consumed up to */
	ulong used;		/* the used ring, 0 if not in our RAM */
} drv;

/* Reset (Status = 0), ACKNOWLEDGE, DRIVER, and the features: high word
 * hi, low word lo; then FEATURES_OK. Returns whether FEATURES_OK stuck. */
static int negotiate(u32 hi, u32 lo)
{
	wr(REG_STATUS, 0);
	wr(REG_STATUS, S_ACKNOWLEDGE);
	wr(REG_STATUS, S_ACKNOWLEDGE | S_DRIVER);
	wr(REG_DRIVER_FEATURES_SEL, 1);
	wr(REG_DRIVER_FEATURES, hi);
	wr(REG_DRIVER_FEATURES_SEL, 0);
	wr(REG_DRIVER_FEATURES, lo);
	wr(REG_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
	return !!(rd(REG_STATUS) & S_FEATURES_OK);
}

/* Writes queue 0's size and ring addresses (not QueueReady). */
static void queue_regs(u32 num, ulong desc, ulong avail, ulong used)
{
	wr(REG_QUEUE_SEL, 0);
	wr(REG_QUEUE_NUM, num);
	wr64(REG_QUEUE_DESC_LOW, desc);
	wr64(REG_QUEUE_DRIVER_LOW, avail);
	wr64(REG_QUEUE_DEVICE_LOW, used);
}

/*
 * The whole driver initialisation (3.1.1) with the queue parts at desc,
 * avail and used: returns 0, or why it failed. ring_mem is cleared; a used
 * ring elsewhere is left as it is (the shared-page check relies on that).
 */
static const char *init_at(ulong desc, ulong avail, ulong used)
{
	wr(REG_STATUS, 0);
	if (rd(REG_STATUS) != 0)
		return "Status not 0 after a reset";
	if (!negotiate(F_VERSION_1_HI, F_BLK_SIZE | F_FLUSH))
		return "FEATURES_OK did not stick";
	wr(REG_QUEUE_SEL, 0);
	if (rd(REG_QUEUE_NUM_MAX) < QSZ)
		return "QueueNumMax too small";
	if (rd(REG_QUEUE_READY) != 0)
		return "QueueReady not 0 after a reset";
	memset(ring_mem, 0, sizeof(ring_mem));
	queue_regs(QSZ, desc, avail, used);
	wr(REG_QUEUE_READY, 1);
	if (rd(REG_QUEUE_READY) != 1)
		return "QueueReady did not stick";
	wr(REG_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	if (rd(REG_STATUS) & S_NEEDS_RESET)
		return "DEVICE_NEEDS_RESET after initialisation";
	drv.avail_idx = 0;
	drv.used_idx = 0;
	drv.used = used >= RAM_BASE && used + 4 + 8 * QSZ <= ram_end ? used : 0;
	return 0;
}

static const char *init(void)
{
	return init_at(DESC_ADDR, AVAIL_ADDR, USED_ADDR);
}

/* Initialises the device for check `name`; a failure is a FAIL of it. */
static int setup(const char *name)
{
	const char *why = init();

	if (why)
		check(name, 0, "got device initialisation failure (%s) expected a working device",
		      why);
	return !why;
}

static void set_desc(u16 i, ulong addr, u32 len, u16 flags, u16 next)
{
	DESC[i].addr = addr;
	DESC[i].len = len;
	DESC[i].flags = flags;
	DESC[i].next = next;
}

/* Makes the chain at head available (2.7.13) and notifies the device. */
static void publish(u16 head)
{
	AVAIL[2 + drv.avail_idx % QSZ] = head;
	mb();
	drv.avail_idx++;
	AVAIL[1] = drv.avail_idx;
	wr(REG_QUEUE_NOTIFY, 0);	/* wr() fences first */
}

struct result {
	int done;	/* used->idx advanced by one */
	u32 id, len;	/* the used element */
	u8 status;	/* the status byte at STATUS_ADDR */
};

/* Waits, at most `spins` loops, for used->idx to reach the next value. */
static int wait_used(ulong spins, u32 *id, u32 *len)
{
	u16 want = (u16)(drv.used_idx + 1);

	if (!drv.used)
		return 0;
	for (ulong i = 0; i < spins; i++) {
		if (*(volatile u16 *)(drv.used + 2) == want) {
			ulong elem = drv.used + 4 + 8UL * (drv.used_idx % QSZ);

			mb();
			*id = *(volatile u32 *)elem;
			*len = *(volatile u32 *)(elem + 4);
			drv.used_idx = want;
			return 1;
		}
	}
	return 0;
}

static struct result finish(void)
{
	struct result r = { 0, 0, 0, 0 };

	r.done = wait_used(POLL_SPINS, &r.id, &r.len);
	mb();
	r.status = STATUS_BYTE;
	return r;
}

/* Fills the request header and the status byte. */
static void prepare(u32 type, unsigned long long sector)
{
	HDR->type = type;
	HDR->reserved = 0;
	HDR->sector = sector;
	STATUS_BYTE = ST_UNTOUCHED;
}

/*
 * One request, framed the usual way (5.2.6): descriptor 0 the 16-byte
 * header, descriptor 1 the data (if len; device-writable if `writable`),
 * then the 1-byte status.
 */
static struct result request(u32 type, unsigned long long sector, ulong buf, u32 len,
			     int writable)
{
	prepare(type, sector);
	set_desc(0, HDR_ADDR, 16, VIRTQ_DESC_F_NEXT, 1);
	if (len) {
		set_desc(1, buf, len, VIRTQ_DESC_F_NEXT | (writable ? VIRTQ_DESC_F_WRITE : 0), 2);
		set_desc(2, STATUS_ADDR, 1, VIRTQ_DESC_F_WRITE, 0);
	} else {
		set_desc(1, STATUS_ADDR, 1, VIRTQ_DESC_F_WRITE, 0);
	}
	publish(0);
	return finish();
}

static struct result read_sectors(unsigned long long sector, ulong buf, u32 len)
{
	return request(T_IN, sector, buf, len, 1);
}

/* A completed request with this status byte and used length, id 0. */
static void check_result(const char *name, struct result r, u8 status, u32 len)
{
	check(name, r.done && r.status == status && r.len == len && r.id == 0,
	      "got completed=%d status=%u used_len=%u used_id=%u "
	      "expected completed=1 status=%u used_len=%u used_id=0",
	      r.done, r.status, r.len, r.id, status, len);
}

/*
 * A protocol violation (2.1.2): no completion, DEVICE_NEEDS_RESET in
 * Status and a configuration change in InterruptStatus.
 */
static void check_needs_reset(const char *name)
{
	u32 id = 0, len = 0;
	int done = wait_used(QUIET_SPINS, &id, &len);
	u32 st = rd(REG_STATUS), isr = rd(REG_INTERRUPT_STATUS);

	check(name, !done && (st & S_NEEDS_RESET) && (isr & ISR_CONFIG_CHANGE),
	      "got completed=%d Status=0x%x InterruptStatus=0x%x expected no completion, "
	      "Status & 0x40 (DEVICE_NEEDS_RESET), InterruptStatus & 0x2", done, st, isr);
}

/* After a reset and a new initialisation, a valid read works. */
static int reads_superblock(ulong buf)
{
	struct result r;

	memset((void *)buf, 0, 4096);
	r = read_sectors(0, buf, 4096);
	return r.done && r.status == ST_OK && le16_at((u8 *)buf + EXT4_MAGIC_OFF) == EXT4_MAGIC;
}

static void check_recovers(const char *name)
{
	const char *why = init();
	int ok = !why && reads_superblock(PAGE(1));

	check(name, ok, "got %s expected a reset, a new initialisation and a valid read to work",
	      why ? why : "a failed read of sector 0");
}

/* ------------------------------------------------------------------------ */
/* The checks                                                               */
/* ------------------------------------------------------------------------ */

/*
 * Identity and configuration (4.2.2, 5.2.4), and feature negotiation
 * (3.1.1, 6.1): a device that offers VERSION_1 accepts a subset of its
 * features with it; FEATURES_OK does not stick without VERSION_1 (a
 * legacy driver, which discv does not support) or with a feature it does
 * not offer.
 */
static void test_identity(void)
{
	u32 v, hi, lo;

	v = rd(REG_MAGIC);
	check("id.magic", v == 0x74726976, "got 0x%x expected 0x74726976", v);
	v = rd(REG_VERSION);
	check("id.version", v == 2, "got %u expected 2", v);
	v = rd(REG_DEVICE_ID);
	check("id.device_id", v == 2, "got %u expected 2 (block)", v);

	wr(REG_STATUS, 0);
	wr(REG_QUEUE_SEL, 0);
	v = rd(REG_QUEUE_NUM_MAX);
	check("id.queue_num_max", v == 256, "got %u expected 256", v);
	wr(REG_QUEUE_SEL, 1);
	v = rd(REG_QUEUE_NUM_MAX);
	check("id.queue1_absent", v == 0, "got QueueNumMax=%u expected 0 (one queue)", v);
	wr(REG_QUEUE_SEL, 0);

	capacity = rd(REG_CONFIG) | (unsigned long long)rd(REG_CONFIG + 4) << 32;
	check("config.capacity", capacity >= 64, "got %lu sectors expected at least 64",
	      (ulong)capacity);
	v = rd(REG_CONFIG_BLK_SIZE);
	check("config.blk_size", v == 4096, "got %u expected 4096", v);

	wr(REG_DEVICE_FEATURES_SEL, 1);
	hi = rd(REG_DEVICE_FEATURES);
	wr(REG_DEVICE_FEATURES_SEL, 0);
	lo = rd(REG_DEVICE_FEATURES);
	check("features.offered", (hi & F_VERSION_1_HI) && (lo & F_BLK_SIZE) && (lo & F_FLUSH) &&
				  !(lo & (F_INDIRECT_DESC | F_EVENT_IDX)),
	      "got 0x%x_%x expected VERSION_1, BLK_SIZE, FLUSH and not INDIRECT_DESC, EVENT_IDX",
	      hi, lo);

	check("features.version_1_accepted", negotiate(F_VERSION_1_HI, F_BLK_SIZE),
	      "got FEATURES_OK cleared expected it to stick");
	check("features.without_version_1_refused", !negotiate(0, F_BLK_SIZE),
	      "got FEATURES_OK set expected it cleared (no VERSION_1)");
	check("features.unoffered_bit_refused",
	      !negotiate(F_VERSION_1_HI, F_BLK_SIZE | F_INDIRECT_DESC),
	      "got FEATURES_OK set expected it cleared (INDIRECT_DESC is not offered)");
	wr(REG_STATUS, 0);
}

/*
 * Valid reads (5.2.6): the used element names the chain's head and the
 * bytes written (data + status, 2.7.8); sector 0's first 4 KiB hold the
 * ext4 superblock. Framing is free (2.7.4.1): split data and a status
 * byte sharing the data's descriptor work too.
 */
static void test_read(void)
{
	ulong a = PAGE(0);
	struct result r;

	if (!setup("read.setup"))
		return;
	memset((void *)a, 0, 4096);
	r = read_sectors(0, a, 4096);
	check_result("read.sector0", r, ST_OK, 4097);
	check("read.ext4_magic", le16_at((u8 *)a + EXT4_MAGIC_OFF) == EXT4_MAGIC,
	      "got 0x%x at byte 1080 expected 0xef53", le16_at((u8 *)a + EXT4_MAGIC_OFF));

	/* Sectors 2-3 = disk bytes 1024..2047: the magic at offset 56. */
	memset((void *)SMALL_ADDR, 0, 512);
	r = read_sectors(2, SMALL_ADDR, 512);
	check("read.sector2_512_bytes", r.done && r.status == ST_OK && r.len == 513 &&
					le16_at((u8 *)SMALL_ADDR + 56) == EXT4_MAGIC,
	      "got completed=%d status=%u used_len=%u magic=0x%x expected 1, 0, 513, 0xef53",
	      r.done, r.status, r.len, le16_at((u8 *)SMALL_ADDR + 56));

	/* Header split 8 + 8, data split 1000 + 3096, then the status. */
	memset((void *)a, 0, 4096);
	prepare(T_IN, 0);
	set_desc(0, HDR_ADDR, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, HDR_ADDR + 8, 8, VIRTQ_DESC_F_NEXT, 2);
	set_desc(2, a, 1000, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3);
	set_desc(3, a + 1000, 3096, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 4);
	set_desc(4, STATUS_ADDR, 1, VIRTQ_DESC_F_WRITE, 0);
	publish(0);
	r = finish();
	check("read.split_header_and_data", r.done && r.status == ST_OK && r.len == 4097 &&
					    le16_at((u8 *)a + EXT4_MAGIC_OFF) == EXT4_MAGIC,
	      "got completed=%d status=%u used_len=%u magic=0x%x expected 1, 0, 4097, 0xef53",
	      r.done, r.status, r.len, le16_at((u8 *)a + EXT4_MAGIC_OFF));

	/* Data and status in one 513-byte writable descriptor; head 5 this time. */
	u8 *buf = (u8 *)PAGE(2);
	memset(buf, 0, 513);
	buf[512] = ST_UNTOUCHED;
	prepare(T_IN, 2);
	set_desc(5, HDR_ADDR, 16, VIRTQ_DESC_F_NEXT, 6);
	set_desc(6, (ulong)buf, 513, VIRTQ_DESC_F_WRITE, 0);
	publish(5);
	r = finish();
	check("read.status_shares_data_descriptor",
	      r.done && r.id == 5 && r.len == 513 && buf[512] == ST_OK &&
	      le16_at(buf + 56) == EXT4_MAGIC,
	      "got completed=%d used_id=%u used_len=%u status=%u magic=0x%x "
	      "expected 1, 5, 513, 0, 0xef53", r.done, r.id, r.len, buf[512], le16_at(buf + 56));
}

/* GET_ID (5.2.6): 20 bytes of id; discv's is "discv-<vm name>". */
static void test_get_id(void)
{
	volatile char *id = (volatile char *)ID_ADDR;
	struct result r;

	if (!setup("get_id.setup"))
		return;
	memset((void *)ID_ADDR, 0xff, 32);
	r = request(T_GET_ID, 0, ID_ADDR, 20, 1);
	check_result("get_id.status", r, ST_OK, 21);
	check("get_id.discv_prefix", id[0] == 'd' && id[1] == 'i' && id[2] == 's' &&
				     id[3] == 'c' && id[4] == 'v' && id[5] == '-',
	      "got \"%c%c%c%c%c%c\" expected \"discv-\"", id[0], id[1], id[2], id[3], id[4], id[5]);
	check("get_id.stays_in_buffer", (u8)id[20] == 0xff,
	      "got byte 20 = 0x%x expected 0xff (untouched)", (u8)id[20]);

	r = request(T_GET_ID, 0, ID_ADDR, 19, 1);
	check_result("get_id.short_buffer_ioerr", r, ST_IOERR, 1);
}

/* An unknown request type gets VIRTIO_BLK_S_UNSUPP (5.2.6.1); the queue
 * keeps working. */
static void test_unsupp(void)
{
	struct result r;

	if (!setup("unsupp.setup"))
		return;
	r = request(99, 0, 0, 0, 0);
	check_result("unsupp.type99", r, ST_UNSUPP, 1);
	r = request(99, 0, SMALL_ADDR, 512, 1);
	check_result("unsupp.type99_with_data", r, ST_UNSUPP, 1);
	check("unsupp.queue_still_usable", reads_superblock(PAGE(0)),
	      "got a failed read expected the queue to keep working");
}

/*
 * Requests the device can answer but must refuse (5.2.6.1): IOERR, and
 * no data written.
 */
static void test_ioerr(void)
{
	u8 *a = (u8 *)PAGE(0);
	unsigned long long last = capacity - 1;
	struct result r;

	if (!setup("ioerr.setup"))
		return;
	memset(a, 0xaa, 4096);
	r = read_sectors(capacity, (ulong)a, 512);
	check_result("ioerr.sector_at_capacity", r, ST_IOERR, 1);
	r = read_sectors(last - 3, (ulong)a, 4096);
	check_result("ioerr.read_straddles_end", r, ST_IOERR, 1);
	r = read_sectors(0xfffffffffffffff8ULL, (ulong)a, 4096);
	check_result("ioerr.sector_overflows", r, ST_IOERR, 1);
	r = read_sectors(0, (ulong)a, 100);
	check_result("ioerr.length_100", r, ST_IOERR, 1);
	r = read_sectors(0, (ulong)a, 4096 + 100);
	check_result("ioerr.length_4196", r, ST_IOERR, 1);
	ulong diff = 0;
	int same = a[0] == 0xaa && mem_equal(a, a + 1, 4095, &diff);
	check("ioerr.no_data_written", same, "got byte %lu changed expected the buffer untouched",
	      diff);
	r = request(T_IN, 0, (ulong)a, 4096, 0);	/* IN with readable data */
	check_result("ioerr.in_with_readable_data", r, ST_IOERR, 1);
	r = request(T_OUT, capacity, (ulong)a, 512, 0);
	check_result("ioerr.write_at_capacity", r, ST_IOERR, 1);
	r = request(T_OUT, 0, (ulong)a, 512, 1);	/* OUT with writable data */
	check_result("ioerr.out_with_writable_data", r, ST_IOERR, 1);
	r = request(T_FLUSH, 0, (ulong)a, 512, 1);
	check_result("ioerr.flush_with_data", r, ST_IOERR, 1);
	check("ioerr.queue_still_usable", reads_superblock(PAGE(1)),
	      "got a failed read expected the queue to keep working");
}

/*
 * A descriptor loop (2.7.5.2: "the driver MUST NOT create a descriptor
 * chain ... that loops"): DEVICE_NEEDS_RESET and a configuration change
 * interrupt; the queue stays stopped until a reset (2.1.2); a reset and a
 * new initialisation bring it back.
 */
static void test_loop(void)
{
	u32 id, len, isr;

	if (!setup("loop.setup"))
		return;
	prepare(T_IN, 0);
	set_desc(0, HDR_ADDR, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, PAGE(0), 4096, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 0);
	publish(0);
	check_needs_reset("loop.needs_reset");

	/* Mend the chain and notify again: the device stays stopped. */
	set_desc(1, PAGE(0), 4096, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	set_desc(2, STATUS_ADDR, 1, VIRTQ_DESC_F_WRITE, 0);
	wr(REG_QUEUE_NOTIFY, 0);
	check("loop.queue_stopped", !wait_used(QUIET_SPINS, &id, &len) &&
				    STATUS_BYTE == ST_UNTOUCHED,
	      "got a completion expected none until a reset");

	wr(REG_INTERRUPT_ACK, ISR_CONFIG_CHANGE);
	isr = rd(REG_INTERRUPT_STATUS);
	check("loop.interrupt_ack", !(isr & ISR_CONFIG_CHANGE),
	      "got InterruptStatus=0x%x expected bit 0x2 cleared", isr);
	check_recovers("loop.recovers");
}

/* Indices out of range (2.7.6, 2.7.5): a head or next >= queue size, and
 * an avail->idx more than a queue's worth ahead. */
static void test_index(void)
{
	if (setup("index.setup")) {
		prepare(T_IN, 0);
		set_desc(0, STATUS_ADDR, 1, VIRTQ_DESC_F_WRITE, 0);
		publish(QSZ);
		check_needs_reset("index.head_ge_queue_size");
	}
	if (setup("index.setup")) {
		prepare(T_IN, 0);
		set_desc(0, HDR_ADDR, 16, VIRTQ_DESC_F_NEXT, QSZ);
		publish(0);
		check_needs_reset("index.next_ge_queue_size");
	}
	if (setup("index.setup")) {
		prepare(T_IN, 0);
		set_desc(0, HDR_ADDR, 16, VIRTQ_DESC_F_NEXT, 1);
		set_desc(1, STATUS_ADDR, 1, VIRTQ_DESC_F_WRITE, 0);
		AVAIL[2] = 0;
		mb();
		AVAIL[1] = QSZ + 1;
		wr(REG_QUEUE_NOTIFY, 0);
		check_needs_reset("index.avail_idx_jump");
	}
	check_recovers("index.recovers");
}

/*
 * Acceptable answers to a request touching memory that is not RAM: IOERR
 * (the device could answer) or DEVICE_NEEDS_RESET. status_any: the status
 * byte itself is not in RAM, so any completion will do.
 */
static void check_outside(const char *name, struct result r, int status_any)
{
	u32 st = rd(REG_STATUS);
	int ok = (st & S_NEEDS_RESET) ? !r.done : r.done && (status_any || r.status == ST_IOERR);

	check(name, ok, "got completed=%d status=%u Status=0x%x "
		        "expected IOERR (1) or DEVICE_NEEDS_RESET (Status & 0x40)",
	      r.done, r.status, st);
}

/*
 * Buffers and rings outside guest RAM: the device must never reach past
 * the guest's memory, and the guest must not fault; afterwards a reset
 * brings the device back.
 */
static void test_outside(void)
{
	static const struct {
		const char *name;
		ulong addr;	/* 0: the end of RAM */
		long delta;	/* added to addr */
		u32 type;
	} data_cases[] = {
		{ "outside.read_into_0x1000", NOT_RAM, 0, T_IN },
		{ "outside.read_into_2^48", 1UL << 48, 0, T_IN },
		{ "outside.read_into_end_of_ram", 0, 0, T_IN },
		{ "outside.read_straddles_end_of_ram", 0, -2048, T_IN },
		{ "outside.read_into_top_of_2^64", 0xfffffffffffff000UL, 0, T_IN },
		{ "outside.read_wraps_2^64", 0xfffffffffffff800UL, 0, T_IN },
		{ "outside.write_from_0x1000", NOT_RAM, 0, T_OUT },
		{ "outside.get_id_into_0x1000", NOT_RAM, 0, T_GET_ID },
	};
	struct result r;

	for (ulong i = 0; i < sizeof(data_cases) / sizeof(data_cases[0]); i++) {
		ulong addr = (data_cases[i].addr ? data_cases[i].addr : ram_end) +
			     data_cases[i].delta;
		u32 type = data_cases[i].type;

		if (!setup(data_cases[i].name))
			continue;
		/* OUT to the last block, whose content test_write() owns. */
		r = request(type, type == T_OUT ? capacity - 8 : 0, addr,
			    type == T_GET_ID ? 20 : 4096, type != T_OUT);
		check_outside(data_cases[i].name, r, 0);
	}

	/* The header not in RAM: the status byte is, so IOERR. */
	if (setup("outside.header_at_0x1000")) {
		prepare(T_IN, 0);
		set_desc(0, NOT_RAM, 16, VIRTQ_DESC_F_NEXT, 1);
		set_desc(1, PAGE(0), 4096, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
		set_desc(2, STATUS_ADDR, 1, VIRTQ_DESC_F_WRITE, 0);
		publish(0);
		check_outside("outside.header_at_0x1000", finish(), 0);
	}
	/* The status byte not in RAM: nowhere to answer; anything but a fault. */
	if (setup("outside.status_at_0x1000")) {
		prepare(T_IN, 0);
		set_desc(0, HDR_ADDR, 16, VIRTQ_DESC_F_NEXT, 1);
		set_desc(1, PAGE(0), 4096, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
		set_desc(2, NOT_RAM, 1, VIRTQ_DESC_F_WRITE, 0);
		publish(0);
		check_outside("outside.status_at_0x1000", finish(), 1);
	}

	/* The queue's own parts not in RAM: only a reset can answer. */
	static const char *const ring_names[] = {
		"outside.descriptor_table_at_0x1000",
		"outside.avail_ring_at_0x1000",
		"outside.used_ring_at_0x1000",
	};
	for (int part = 0; part < 3; part++) {
		const char *why = init_at(part == 0 ? NOT_RAM : DESC_ADDR,
					  part == 1 ? NOT_RAM : AVAIL_ADDR,
					  part == 2 ? NOT_RAM : USED_ADDR);
		if (why) {
			/* Refusing QueueReady for it would be fine too. */
			check(ring_names[part], rd(REG_QUEUE_READY) == 0,
			      "got initialisation failure (%s) with QueueReady=1", why);
			continue;
		}
		request(T_IN, 0, PAGE(0), 4096, 1);
		check_needs_reset(ring_names[part]);
	}
	check_recovers("outside.recovers");
}

/* VIRTQ_DESC_F_INDIRECT without VIRTIO_F_INDIRECT_DESC (2.7.5.3.1: "The
 * driver MUST NOT set the VIRTQ_DESC_F_INDIRECT flag unless the
 * VIRTIO_F_INDIRECT_DESC feature was negotiated"). */
static void test_indirect(void)
{
	if (setup("indirect.setup")) {
		prepare(T_IN, 0);
		set_desc(0, HDR_ADDR, 16, VIRTQ_DESC_F_NEXT, 1);
		set_desc(1, PAGE(0), 4096,
			 VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_INDIRECT, 2);
		set_desc(2, STATUS_ADDR, 1, VIRTQ_DESC_F_WRITE, 0);
		publish(0);
		check_needs_reset("indirect.needs_reset");
	}
	check_recovers("indirect.recovers");
}

/*
 * Chain shape (2.7.4.2: device-readable descriptors before device-writable
 * ones), and the framing a virtio-blk request cannot do without: a 16-byte
 * header and a status byte (5.2.6). Zero-length descriptors are refused.
 * Chains up to discv's limit of 64 descriptors work; longer ones do not.
 */
static void test_framing(void)
{
	struct result r;

	if (setup("order.setup")) {
		prepare(T_OUT, capacity - 8);
		set_desc(0, HDR_ADDR, 16, VIRTQ_DESC_F_NEXT, 1);
		set_desc(1, STATUS_ADDR, 1, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
		set_desc(2, PAGE(0), 4096, 0, 0);
		publish(0);
		check_needs_reset("order.readable_after_writable");
	}
	check_recovers("order.recovers");

	if (setup("framing.setup")) {
		prepare(T_IN, 0);
		set_desc(0, HDR_ADDR, 16, VIRTQ_DESC_F_NEXT, 1);
		set_desc(1, PAGE(0), 0, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
		set_desc(2, STATUS_ADDR, 1, VIRTQ_DESC_F_WRITE, 0);
		publish(0);
		check_needs_reset("framing.zero_length_descriptor");
	}
	if (setup("framing.setup")) {
		prepare(T_FLUSH, 0);
		set_desc(0, HDR_ADDR, 16, 0, 0);
		publish(0);
		check_needs_reset("framing.no_status_byte");
	}
	if (setup("framing.setup")) {
		prepare(T_FLUSH, 0);
		set_desc(0, HDR_ADDR, 8, VIRTQ_DESC_F_NEXT, 1);
		set_desc(1, STATUS_ADDR, 1, VIRTQ_DESC_F_WRITE, 0);
		publish(0);
		check_needs_reset("framing.short_header");
	}

	/* The longest chain: header + 62 x 512 bytes (one buffer, reused) +
	 * status = 64 descriptors; then one data descriptor more. */
	for (int extra = 0; extra < 2; extra++) {
		u16 n = (u16)(MAX_CHAIN - 2 + extra);

		if (!setup("chain.setup"))
			continue;
		prepare(T_IN, 0);
		set_desc(0, HDR_ADDR, 16, VIRTQ_DESC_F_NEXT, 1);
		for (u16 i = 1; i <= n; i++)
			set_desc(i, SMALL_ADDR, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE,
				 (u16)(i + 1));
		set_desc((u16)(n + 1), STATUS_ADDR, 1, VIRTQ_DESC_F_WRITE, 0);
		publish(0);
		if (!extra) {
			r = finish();
			check_result("chain.64_descriptors", r, ST_OK, n * 512 + 1);
		} else {
			check_needs_reset("chain.65_descriptors_needs_reset");
		}
	}
	check_recovers("framing.recovers");
}

/*
 * Queue setup (4.2.2, 2.7): QueueNum must be a power of 2 no larger than
 * QueueNumMax, the parts aligned (2.7.1: descriptor table 16, available
 * ring 2, used ring 4). A bad setup may not become ready: either
 * QueueReady reads back 0 or the device needs a reset.
 */
static void test_queue_setup(void)
{
	static const struct {
		const char *name;
		u32 num;
		ulong desc_off, avail_off, used_off;
	} cases[] = {
		{ "setup.queue_num_3", 3, 0, 0, 0 },
		{ "setup.queue_num_0", 0, 0, 0, 0 },
		{ "setup.queue_num_512", 512, 0, 0, 0 },
		{ "setup.queue_num_65536", 65536, 0, 0, 0 },
		{ "setup.descriptor_table_misaligned", QSZ, 8, 0, 0 },
		{ "setup.avail_ring_misaligned", QSZ, 0, 1, 0 },
		{ "setup.used_ring_misaligned", QSZ, 0, 0, 2 },
	};

	for (ulong i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!negotiate(F_VERSION_1_HI, F_BLK_SIZE | F_FLUSH)) {
			check(cases[i].name, 0, "got FEATURES_OK cleared expected it to stick");
			continue;
		}
		memset(ring_mem, 0, sizeof(ring_mem));
		queue_regs(cases[i].num, DESC_ADDR + cases[i].desc_off,
			   AVAIL_ADDR + cases[i].avail_off, USED_ADDR + cases[i].used_off);
		wr(REG_QUEUE_READY, 1);
		u32 ready = rd(REG_QUEUE_READY), st = rd(REG_STATUS);
		check(cases[i].name, !ready || (st & S_NEEDS_RESET),
		      "got QueueReady=%u Status=0x%x expected QueueReady=0 or Status & 0x40",
		      ready, st);
	}
	check_recovers("setup.recovers");
}

/*
 * Writes (5.2.6): an OUT of the disk's last 4 KiB block reads back the
 * same; a 512-byte OUT inside a block changes only its sector (the device
 * reads, modifies and writes the 4 KiB block); FLUSH succeeds. The writes
 * land in this guest's private delta.
 */
static void test_write(void)
{
	u8 *a = (u8 *)PAGE(0), *b = (u8 *)PAGE(1), *c = (u8 *)PAGE(2);
	unsigned long long sector = (capacity & ~7ULL) - 8;
	struct result r;
	ulong diff = 0;

	if (!setup("write.setup"))
		return;
	for (ulong i = 0; i < 4096; i++)
		a[i] = (u8)(i * 7 + 0x5a + (i >> 8));
	r = request(T_OUT, sector, (ulong)a, 4096, 0);
	check_result("write.out_4096", r, ST_OK, 1);
	memset(b, 0, 4096);
	r = read_sectors(sector, (ulong)b, 4096);
	check_result("write.read_back_status", r, ST_OK, 4097);
	int same = mem_equal(a, b, 4096, &diff);
	check("write.read_back_data", same, "got byte %lu = 0x%x expected 0x%x",
	      diff, b[diff], a[diff]);

	/* Sector 1 of the block only: c = the pattern with that sector inverted. */
	for (ulong i = 0; i < 4096; i++)
		c[i] = (u8)(i >= 512 && i < 1024 ? ~a[i] : a[i]);
	r = request(T_OUT, sector + 1, (ulong)c + 512, 512, 0);
	check_result("write.out_512_in_block", r, ST_OK, 1);
	memset(b, 0, 4096);
	r = read_sectors(sector, (ulong)b, 4096);
	same = mem_equal(c, b, 4096, &diff);
	check("write.partial_block_read_back", r.done && r.status == ST_OK && same,
	      "got completed=%d status=%u, byte %lu = 0x%x expected 1, 0, 0x%x",
	      r.done, r.status, diff, b[diff], c[diff]);

	r = request(T_FLUSH, 0, 0, 0, 0);
	check_result("write.flush", r, ST_OK, 1);
}

/*
 * The used ring in a page that a read filled. discv serves a whole-page,
 * page-aligned read of a base-disk block by mapping the block's shared
 * host page read-only into the guest (hyp/share/), one host page for
 * every guest that reads the block. When the driver then puts its used
 * ring in that page, the device's used-ring writes must go to a private
 * copy of it (copy on write), never into the shared page: that would
 * change the disk block under every guest. The used ring sits at +4 so
 * that the used elements are 8-byte aligned, like the index is 2-byte
 * aligned. The guest itself never writes the page. Afterwards the same
 * block is read again, into an unaligned buffer (a copy from the shared
 * page), and must be unchanged. If the block is not shared (sharing off,
 * or it is in the delta), the check passes trivially.
 */
static void test_shared_page(void)
{
	u8 *p = (u8 *)PAGE(3), *orig = (u8 *)PAGE(2), *again = (u8 *)PAGE(0) + 512;
	unsigned long long sector = (capacity & ~7ULL) - 16;	/* not test_write's block */
	const char *why;
	struct result r;
	ulong diff = 0;

	if (!setup("shared.setup"))
		return;
	r = read_sectors(sector, (ulong)p, 4096);
	if (!r.done || r.status != ST_OK) {
		check("shared.read_block", 0, "got completed=%d status=%u expected 1, 0",
		      r.done, r.status);
		return;
	}
	memcpy(orig, p, 4096);

	why = init_at(DESC_ADDR, AVAIL_ADDR, (ulong)p + 4);
	if (why) {
		check("shared.used_ring_in_read_page", 0, "got initialisation failure (%s)", why);
		return;
	}
	r = read_sectors(2, SMALL_ADDR, 512);
	check("shared.used_ring_in_read_page", r.done && r.status == ST_OK && r.len == 513,
	      "got completed=%d status=%u used_len=%u expected 1, 0, 513",
	      r.done, r.status, r.len);

	if (!setup("shared.setup"))
		return;
	memset(again, 0, 4096);
	r = read_sectors(sector, (ulong)again, 4096);
	int same = mem_equal(orig, again, 4096, &diff);
	check("shared.disk_block_unchanged", r.done && r.status == ST_OK && same,
	      "got completed=%d status=%u, byte %lu of sector %lu = 0x%x "
	      "expected 1, 0, 0x%x (the device wrote its used ring into the shared "
	      "base-disk page)", r.done, r.status, diff, (ulong)sector, again[diff], orig[diff]);
}


/*
 * A FLUSH that cannot finish in one exit: 30 requests each write 8 blocks
 * of their own 4 MiB region back unchanged (blocks 1024-1031, 2048-2055,
 * ...: each request dirties one map block of the delta; cow-race keeps
 * clear of them), and a FLUSH follows in the same batch, one notify for
 * all. The writes take 240 of the exit's 256-block budget (and 30 of its
 * 32 completions), so the FLUSH's 30 map blocks run past it and must go
 * on in the next exit (the notify store is executed again: hvstat
 * disk_budget_yields). Everything completes OK and the data is unchanged.
 */
#define FLUSH_REGIONS	30
#define FLUSH_REQ_BYTES	(8 * 4096UL)
#define FLUSH_BUF	(RAM_BASE + (32UL << 20))

static void test_flush_resumes(void)
{
	volatile u8 *status = (volatile u8 *)(misc + 0x400);
	volatile struct blk_hdr *hdr = (volatile struct blk_hdr *)(misc + 0x800);
	u8 *again = (u8 *)PAGE(1);
	unsigned n = FLUSH_REGIONS + 1, bad = 0;
	struct result r;
	ulong diff = 0;

	if (!setup("flush_resumes.setup") || capacity / 8 < (FLUSH_REGIONS + 1) * 1024UL)
		return;
	for (unsigned i = 0; i < FLUSH_REGIONS; i++) {
		r = read_sectors((i + 1) * 1024ULL * 8, FLUSH_BUF + i * FLUSH_REQ_BYTES,
				 FLUSH_REQ_BYTES);
		if (!r.done || r.status != ST_OK) {
			check("flush_resumes.read", 0, "region %u: got %d/%u", i, r.done, r.status);
			return;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		int flush = i == FLUSH_REGIONS;
		hdr[i].type = flush ? T_FLUSH : T_OUT;
		hdr[i].reserved = 0;
		hdr[i].sector = flush ? 0 : (i + 1) * 1024ULL * 8;
		status[i] = ST_UNTOUCHED;
		set_desc(3 * i, (ulong)&hdr[i], 16, VIRTQ_DESC_F_NEXT, 3 * i + 1);
		if (flush) {
			set_desc(3 * i + 1, (ulong)&status[i], 1, VIRTQ_DESC_F_WRITE, 0);
		} else {
			set_desc(3 * i + 1, FLUSH_BUF + i * FLUSH_REQ_BYTES, FLUSH_REQ_BYTES,
				 VIRTQ_DESC_F_NEXT, 3 * i + 2);
			set_desc(3 * i + 2, (ulong)&status[i], 1, VIRTQ_DESC_F_WRITE, 0);
		}
		AVAIL[2 + (drv.avail_idx + i) % QSZ] = (u16)(3 * i);
	}
	mb();
	drv.avail_idx += n;
	AVAIL[1] = drv.avail_idx;
	wr(REG_QUEUE_NOTIFY, 0);
	for (ulong spins = 0; (u16)(*(volatile u16 *)(drv.used + 2) - drv.used_idx) < n &&
			      spins < POLL_SPINS; spins++)
		;
	int all = (u16)(*(volatile u16 *)(drv.used + 2) - drv.used_idx) == n;
	mb();
	drv.used_idx += n;
	for (unsigned i = 0; i < n; i++)
		bad += status[i] != ST_OK;
	check("flush_resumes.completes", all && !bad, "got %s, %u requests not OK",
	      all ? "every completion" : "missing completions", bad);
	r = read_sectors(18 * 1024ULL * 8, (ulong)again, 4096);
	check("flush_resumes.data_unchanged", r.done && r.status == ST_OK &&
	      mem_equal(again, (void *)(FLUSH_BUF + 17 * FLUSH_REQ_BYTES), 4096, &diff),
	      "block of region 18 differs at byte %lu", diff);
}

static void (*const tests[])(void) = {
	test_identity, test_read, test_get_id, test_unsupp, test_ioerr, test_loop,
	test_index, test_outside, test_indirect, test_framing, test_queue_setup,
	test_write, test_shared_page, test_flush_resumes,
};

/* ------------------------------------------------------------------------ */
/* Multi-vCPU scenarios (GUEST_VCPUS >= 2), chosen with GUEST_APPEND:        */
/*   virtio-test=cow-race   one vCPU stores into a page while the device     */
/*                          reads disk blocks into it                        */
/*   virtio-test=flood      guest0 floods its queue from two vCPUs; every    */
/*                          other guest measures how long it is kept off     */
/*                          its hart                                         */
/* They widen windows that one vCPU never opens; QEMU runs each hart on a   */
/* host thread, so the harts really do interleave.                          */
/* ------------------------------------------------------------------------ */

#define TICKS_PER_SEC	10000000UL	/* QEMU virt's timebase */

ulong now(void)
{
	ulong t;

	asm volatile("rdtime %0" : "=r"(t));
	return t;
}

static int str_has(const char *s, const char *word)
{
	for (; s && *s; s++) {
		const char *a = s, *b = word;
		while (*b && *a == *b)
			a++, b++;
		if (!*b)
			return 1;
	}
	return 0;
}

static volatile int scenario_stop;
static volatile ulong side_loops;

/* vCPU 1 of cow-race: stores into page `arg` without end, leaving the
 * guest (an SBI call) between stores, so that each store walks the
 * G-stage afresh and faults as soon as the page is read-only again. */
static void keep_storing(ulong hartid, ulong arg)
{
	volatile u8 *p = (volatile u8 *)arg;
	ulong i = 0;

	(void)hartid;
	while (!smp_load_acquire(&scenario_stop)) {
		p[1024 + (i & 2047)] = (u8)i;
		sbi_call(0x10, 0, 0, 0);	/* BASE get_spec_version: an exit */
		i++;
	}
	side_loops = i;
}

/* Waits (bounded) until hart 1 has stopped after a scenario. */
static void stop_side_hart(void)
{
	smp_store_release(&scenario_stop, 1);
	for (ulong i = 0; i < POLL_SPINS && smp_hart_status(1) != HSM_STOPPED; i++)
		;
}

/*
 * The review's defect 1, widened: each round reads 9 sectors from block B
 * into page P: block B whole (discv maps the base disk's shared page of
 * block B there, read-only), then the first sector of block B+1 into P's
 * first 512 bytes (a partial write by the device into the page it just
 * mapped shared: it must copy first). Meanwhile vCPU 1 stores into
 * P, breaking the same sharing from the other side. If the device ever
 * writes into the shared page instead of this guest's copy, block B as
 * every guest reads it changes: read it again into another page and
 * compare with what it was.
 */
static void scenario_cow_race(void)
{
	u8 *golden = (u8 *)PAGE(2), *again = (u8 *)PAGE(1);
	ulong p = PAGE(3), rounds = 0, diff = 0, end = now() + 6 * TICKS_PER_SEC;
	unsigned long long sector = 0;
	struct result r;
	int intact = 1, found = 0;

	if (!setup("cow_race.setup"))
		return;
	/* A witness: a block from the middle of the disk (file data that no
	 * guest writes, so it is in no delta and is shared), whose next block
	 * starts differently; never one of the first 8 blocks of a 4 MiB
	 * region, which test_flush_resumes writes back (into the delta). */
	for (unsigned long long b = (capacity / 8) / 2 + 1; !found && b < (capacity / 8) / 2 + 257; b++) {
		if (b % 1024 < 9 || b % 1024 == 1023)	/* it or its next block written */
			continue;
		sector = b * 8;
		r = read_sectors(sector, (ulong)golden, 4096);
		if (!r.done || r.status != ST_OK)
			break;
		r = read_sectors(sector + 8, SMALL_ADDR, 512);
		found = r.done && r.status == ST_OK &&
			!mem_equal(golden, (void *)SMALL_ADDR, 512, &diff);
	}
	if (!found) {
		check("cow_race.witness", 0, "no block that its next block starts unlike");
		return;
	}
	if (smp_start(1, keep_storing, p) != 0) {
		check("cow_race.start_vcpu1", 0, "hart_start of vCPU 1 failed (GUEST_VCPUS >= 2?)");
		return;
	}
	while (intact && now() < end) {
		prepare(T_IN, sector);
		set_desc(0, HDR_ADDR, 16, VIRTQ_DESC_F_NEXT, 1);
		set_desc(1, p, 4096, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
		set_desc(2, p, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3);
		set_desc(3, STATUS_ADDR, 1, VIRTQ_DESC_F_WRITE, 0);
		publish(0);
		r = finish();
		if (!r.done || r.status != ST_OK) {
			check("cow_race.round", 0, "round %lu: got completed=%d status=%u",
			      rounds, r.done, r.status);
			break;
		}
		rounds++;
		if (rounds % 8 == 0) {
			r = read_sectors(sector, (ulong)again, 4096);	/* the shared page */
			intact = r.done && r.status == ST_OK && mem_equal(golden, again, 4096, &diff);
		}
	}
	stop_side_hart();
	print("virtio-test: cow-race: %lu rounds, %lu stores from vCPU 1\n", rounds, side_loops);
	check("cow_race.shared_block_intact", intact,
	      "block %lu changed at byte %lu after %lu rounds: the device wrote into the "
	      "page every guest shares", (ulong)(sector / 8), diff, rounds);
	check("cow_race.enough_rounds", rounds >= 100, "only %lu rounds", rounds);
}

/* vCPU 1 of flood: QueueNotify without end. */
static void keep_notifying(ulong hartid, ulong arg)
{
	ulong i = 0;

	(void)hartid;
	(void)arg;
	while (!smp_load_acquire(&scenario_stop)) {
		*(volatile u32 *)(VIRTIO_BASE + REG_QUEUE_NOTIFY) = 0;
		i++;
	}
	side_loops = i;
}

#define FLOOD_REQUESTS	40		/* 3 descriptors each, in a queue of 128 */
#define FLOOD_BYTES	(32UL << 20)	/* each reads 32 MiB... */
/* ...into the same buffer, 512 bytes off a page boundary: every block is
 * copied (a whole aligned page would just be mapped to the shared page,
 * which after the first batch is already there: no work at all). */
#define FLOOD_BUF	(RAM_BASE + (32UL << 20) + 512)

/*
 * guest0: posts 40 requests of 32 MiB each at once (1.25 GiB of reads, copied),
 * notifies, and keeps notifying from vCPU 1, for 8 s. A device that
 * served all that in one exit would hold this hart (and, with the
 * notifier spinning on its lock, the other) for seconds.
 */
static void scenario_flood(void)
{
	volatile u8 *status = (volatile u8 *)(misc + 0x400);
	volatile struct blk_hdr *hdr = (volatile struct blk_hdr *)(misc + 0x800);
	ulong end = now() + 8 * TICKS_PER_SEC, batches = 0, bad = 0;

	if (!setup("flood.setup"))
		return;
	if (capacity * 512 < FLOOD_BYTES) {
		check("flood.disk_size", 0, "the disk is smaller than 32 MiB");
		return;
	}
	if (smp_start(1, keep_notifying, 0) != 0) {
		check("flood.start_vcpu1", 0, "hart_start of vCPU 1 failed (GUEST_VCPUS >= 2?)");
		return;
	}
	while (now() < end) {
		for (u16 i = 0; i < FLOOD_REQUESTS; i++) {
			hdr[i].type = T_IN;
			hdr[i].reserved = 0;
			hdr[i].sector = 0;
			status[i] = ST_UNTOUCHED;
			set_desc(3 * i, (ulong)&hdr[i], 16, VIRTQ_DESC_F_NEXT, 3 * i + 1);
			set_desc(3 * i + 1, FLOOD_BUF, FLOOD_BYTES,
				 VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3 * i + 2);
			set_desc(3 * i + 2, (ulong)&status[i], 1, VIRTQ_DESC_F_WRITE, 0);
			AVAIL[2 + (drv.avail_idx + i) % QSZ] = 3 * i;
		}
		mb();
		drv.avail_idx += FLOOD_REQUESTS;
		AVAIL[1] = drv.avail_idx;
		wr(REG_QUEUE_NOTIFY, 0);
		/* Every request of the batch back (in any order, 2.7.8). */
		ulong deadline = now() + 120 * TICKS_PER_SEC;	/* the first reads the host disk */
		while ((u16)(*(volatile u16 *)(drv.used + 2) - drv.used_idx) < FLOOD_REQUESTS &&
		       now() < deadline)
			;
		if ((u16)(*(volatile u16 *)(drv.used + 2) - drv.used_idx) != FLOOD_REQUESTS) {
			check("flood.completes", 0, "batch %lu: used->idx %u, expected %u", batches,
			      *(volatile u16 *)(drv.used + 2), (u16)(drv.used_idx + FLOOD_REQUESTS));
			stop_side_hart();
			return;
		}
		mb();
		drv.used_idx += FLOOD_REQUESTS;
		for (u16 i = 0; i < FLOOD_REQUESTS; i++)
			bad += status[i] != ST_OK;
		batches++;
	}
	stop_side_hart();
	print("virtio-test: flood: %lu batches of %u requests of 32 MiB, %lu notifies from vCPU 1\n",
	      batches, FLOOD_REQUESTS, side_loops);
	check("flood.all_ok", bad == 0 && batches > 0, "%lu requests failed, %lu batches", bad,
	      batches);
}

/*
 * Every guest but guest0 in the flood: for 8 s, reads the time in a loop
 * and keeps the longest gap between two reads - how long it was kept off
 * its hart. With 5 ms slices it stays in the tens of milliseconds (QEMU
 * is slow and shares 2 host cores); a device serving a whole flood in one
 * exit makes it seconds.
 */
static void scenario_measure(void)
{
	ulong start = now(), last = start, worst = 0;

	while (last - start < 8 * TICKS_PER_SEC) {
		ulong t = now();
		if (t - last > worst)
			worst = t - last;
		last = t;
	}
	print("virtio-test: flood: longest time off the hart %lu ms\n", worst / 10000);
	check("flood.bystander_keeps_its_hart", worst < TICKS_PER_SEC / 2,
	      "got %lu ms off the hart, expected < 500 ms", worst / 10000);
}

/* Runs the scenario GUEST_APPEND names; false if it names none. */
static int run_scenario(ulong dtb)
{
	const char *args = fdt_chosen_string((const void *)dtb, "bootargs");
	const char *name = fdt_chosen_string((const void *)dtb, "discv,name");

	if (str_has(args, "virtio-test=balloon")) {	/* BALLOON=1, no disk */
		balloon_scenario(ram_end);
		return 2;
	}
	if (str_has(args, "virtio-test=net")) {	/* NET=1, no disk */
		net_scenario(name && str_has(name, "guest0") && !name[6], ram_end);
		return 2;
	}
	capacity = rd(REG_CONFIG) | (unsigned long long)rd(REG_CONFIG + 4) << 32;
	if (str_has(args, "virtio-test=cow-race")) {
		scenario_cow_race();
	} else if (str_has(args, "virtio-test=flood")) {
		if (name && str_has(name, "guest0") && !name[6])
			scenario_flood();
		else
			scenario_measure();
	} else {
		return 0;
	}
	return 1;
}

void main(ulong hartid, ulong dtb);	/* called from start.S */
void main(ulong hartid, ulong dtb)
{
	/* discv places the device tree at RAM end - 2 MiB (guest_boot.c). */
	if (dtb >= RAM_BASE + SZ_2M && dtb % SZ_2M == 0 && dtb < RAM_BASE + (1UL << 34))
		ram_end = dtb + SZ_2M;
	else
		ram_end = RAM_BASE + DEFAULT_RAM;
	print("virtio-test: hart %lu, RAM 0x%lx-0x%lx, virtio-mmio at 0x%lx\n",
	      hartid, RAM_BASE, ram_end, VIRTIO_BASE);

	int scenario = run_scenario(dtb);

	if (!scenario) {
		for (ulong i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
			tests[i]();
			if (i == 0 && capacity < 64)
				break;	/* no usable disk: the rest would only add noise */
		}
	}
	if (scenario != 2)
		wr(REG_STATUS, 0);	/* the disk (the network scenario has none) */

	print("virtio-test: %d passed, %d failed\n", n_pass, n_fail);
	power_off(n_fail != 0);
}
