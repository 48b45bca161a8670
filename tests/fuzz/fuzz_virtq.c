/*
 * libFuzzer target: a malicious virtio-blk driver against hyp/vdisk/virtq.c
 * and hyp/vdisk/blk_request.c.
 *
 * The input is a 16-byte setup followed by guest RAM (at GPA 0x10000):
 *
 *   byte 0      queue size: 1 << (b % 9), so 1..256
 *   bytes 1-6   le16 offsets in RAM of the descriptor table, the available
 *               ring and the used ring (aligned down as 2.7 requires,
 *               unless bit 0 of byte 12 is set)
 *   bytes 7-10  le16 last_avail_idx, le16 used_idx of the device
 *   byte 11     disk capacity: b * 64 sectors
 *   byte 12     bit 0: keep offsets unaligned
 *
 * The harness plays the device model: pops chains until the queue is
 * empty or broken, parses each as a block request, writes the data of a
 * good IN request and the status, and pushes the chain. Besides ASan and
 * UBSan, it checks that the code under test touches guest memory only
 * where the spec lets a device (each accessor call must lie inside the
 * windows of the current phase: rings, the chain's readable buffers for
 * the header, the status byte, the used ring), and the invariants that
 * popped chains and parsed requests promise to the device model.
 *
 * Built with -DFUZZ_SEEDS instead, it is a program writing seed inputs
 * (well-formed queues) into the directory given as its argument.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vdisk/blk_request.h"
#include "virtio/virtq.h"

#define SETUP_BYTES 16
#define RAM_BASE 0x10000ULL

#define FAIL(...)                                                       \
	do {                                                            \
		fprintf(stderr, "fuzz_virtq: " __VA_ARGS__);            \
		fprintf(stderr, "\n");                                  \
		abort();                                                \
	} while (0)

struct window {
	uint64_t gpa, len;
};

static struct {
	const uint8_t *ram_in;		/* the input's RAM (read-only) */
	uint8_t *ram;			/* a private, exactly sized copy */
	size_t ram_size;
	struct window win[VIRTQ_MAX_CHAIN + 2];	/* where the current phase may go */
	unsigned nwin;
	bool writing;			/* the phase writes (else reads) */
} g;

static bool inside(uint64_t gpa, size_t len, uint64_t start, uint64_t wlen)
{
	return gpa >= start && gpa - start <= wlen && len <= wlen - (gpa - start);
}

static void check_window(uint64_t gpa, size_t len, bool write)
{
	if (write != g.writing)
		FAIL("%s of %zu bytes at 0x%llx in a %s phase", write ? "write" : "read", len,
		     (unsigned long long)gpa, g.writing ? "write" : "read");
	for (unsigned i = 0; i < g.nwin; i++)
		if (inside(gpa, len, g.win[i].gpa, g.win[i].len))
			return;
	FAIL("%s of %zu bytes at 0x%llx outside the phase's windows", write ? "write" : "read",
	     len, (unsigned long long)gpa);
}

static bool fuzz_read(void *ctx, uint64_t gpa, void *dst, size_t len)
{
	(void)ctx;
	check_window(gpa, len, false);
	if (!inside(gpa, len, RAM_BASE, g.ram_size))
		return false;
	memcpy(dst, g.ram + (gpa - RAM_BASE), len);
	return true;
}

static bool fuzz_write(void *ctx, uint64_t gpa, const void *src, size_t len)
{
	(void)ctx;
	check_window(gpa, len, true);
	if (!inside(gpa, len, RAM_BASE, g.ram_size))
		return false;
	memcpy(g.ram + (gpa - RAM_BASE), src, len);
	return true;
}

static const struct guest_mem_ops ops = { .read = fuzz_read, .write = fuzz_write };

static void phase(bool writing)
{
	g.writing = writing;
	g.nwin = 0;
}

static void allow(uint64_t gpa, uint64_t len)
{
	g.win[g.nwin++] = (struct window){ gpa, len };
}

/* What virtq_pop promises about a chain. */
static void check_chain(const struct virtq *q, const struct virtq_chain *c)
{
	uint64_t rd = 0, wr = 0;

	if (c->head >= q->size || c->nbufs == 0 || c->nbufs > VIRTQ_MAX_CHAIN ||
	    c->nbufs > q->size)
		FAIL("chain head %u nbufs %u", c->head, c->nbufs);
	for (unsigned i = 0; i < c->nbufs; i++) {
		const struct virtq_buf *b = &c->buf[i];
		if (b->len == 0 || b->gpa > UINT64_MAX - (b->len - 1))
			FAIL("buffer %u: 0x%llx + %u", i, (unsigned long long)b->gpa, b->len);
		if (!b->device_writable && wr)
			FAIL("readable buffer %u after a writable one", i);
		*(b->device_writable ? &wr : &rd) += b->len;
	}
	if (rd != c->readable_bytes || wr != c->writable_bytes || rd + wr > UINT32_MAX)
		FAIL("chain bytes %llu/%llu", (unsigned long long)rd, (unsigned long long)wr);
}

/* True if [gpa, +len) lies inside one buffer of the given direction. */
static bool in_buffer(const struct virtq_chain *c, uint64_t gpa, uint64_t len, bool writable)
{
	for (unsigned i = 0; i < c->nbufs; i++)
		if (c->buf[i].device_writable == writable &&
		    inside(gpa, len, c->buf[i].gpa, c->buf[i].len))
			return true;
	return false;
}

/* What blk_request_parse promises about a request. */
static void check_request(const struct virtq_chain *c, enum blk_parse_result res,
			  const struct blk_request *r, uint64_t capacity)
{
	const struct virtq_buf *last = &c->buf[c->nbufs - 1];
	uint64_t sum = 0;

	if (res > BLK_REQ_MALFORMED)
		FAIL("parse result %d", res);
	if (r->has_status != last->device_writable ||
	    (r->has_status && r->status_gpa != last->gpa + last->len - 1))
		FAIL("status");
	if (res != BLK_REQ_MALFORMED && !r->has_status)
		FAIL("an answerable request without a status byte");
	if (r->nsegs > VIRTQ_MAX_CHAIN || (res != BLK_REQ_OK && (r->nsegs || r->data_len)))
		FAIL("segments %u for result %d", r->nsegs, res);
	for (unsigned i = 0; i < r->nsegs; i++) {
		if (r->seg[i].len == 0 ||
		    !in_buffer(c, r->seg[i].gpa, r->seg[i].len, r->type != VIRTIO_BLK_T_OUT))
			FAIL("segment %u outside its buffers", i);
		sum += r->seg[i].len;
	}
	if (sum != r->data_len)
		FAIL("data_len %llu != %llu", (unsigned long long)r->data_len,
		     (unsigned long long)sum);
	if (res != BLK_REQ_OK)
		return;
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (!r->data_len || r->data_len % 512 || r->sector > capacity ||
		    r->data_len / 512 > capacity - r->sector)
			FAIL("IN/OUT of %llu bytes at sector %llu accepted",
			     (unsigned long long)r->data_len, (unsigned long long)r->sector);
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (r->data_len)
			FAIL("FLUSH with data");
		break;
	case VIRTIO_BLK_T_GET_ID:
		if (r->data_len != VIRTIO_BLK_ID_BYTES)
			FAIL("GET_ID of %llu bytes", (unsigned long long)r->data_len);
		break;
	default:
		FAIL("type %u accepted", r->type);
	}
}

/* The device model's part: data and status into guest memory. */
static uint8_t answer(enum blk_parse_result res, const struct blk_request *r)
{
	static const uint8_t pattern[4096] = { 0x5a };
	uint8_t status = res == BLK_REQ_OK ? VIRTIO_BLK_S_OK
		       : res == BLK_REQ_UNSUPP ? VIRTIO_BLK_S_UNSUPP : VIRTIO_BLK_S_IOERR;

	phase(true);
	if (res == BLK_REQ_OK && r->type != VIRTIO_BLK_T_OUT) {
		for (unsigned i = 0; i < r->nsegs; i++)
			allow(r->seg[i].gpa, r->seg[i].len);
		for (unsigned i = 0; i < r->nsegs; i++)
			for (uint32_t off = 0; off < r->seg[i].len; off += sizeof(pattern)) {
				uint32_t n = r->seg[i].len - off;
				if (n > sizeof(pattern))
					n = sizeof(pattern);
				if (!fuzz_write(NULL, r->seg[i].gpa + off, pattern, n))
					status = VIRTIO_BLK_S_IOERR;	/* not RAM */
			}
	}
	phase(true);
	allow(r->status_gpa, 1);
	blk_request_write_status(r, &ops, status);
	return status;
}

/* Pops, parses and completes until the queue is empty or broken. */
static void run_queue(struct virtq *q, uint64_t capacity)
{
	static struct virtq_chain chain;
	static struct blk_request req;

	for (unsigned n = 0; n < 2u * q->size + 4; n++) {
		phase(false);
		allow(q->desc_gpa, VIRTQ_DESC_TABLE_BYTES(q->size));
		allow(q->avail_gpa + 2, VIRTQ_AVAIL_BYTES(q->size) - 2);
		uint16_t last = q->last_avail_idx;
		int got = virtq_pop(q, &ops, &chain);
		if (got <= 0) {
			if (got < 0 && (q->last_avail_idx != last || !strcmp(virtq_error_name(got), "?")))
				FAIL("pop error %d", got);
			return;
		}
		check_chain(q, &chain);

		phase(false);
		for (unsigned i = 0; i < chain.nbufs; i++)
			if (!chain.buf[i].device_writable)
				allow(chain.buf[i].gpa, chain.buf[i].len);
		enum blk_parse_result res = blk_request_parse(&chain, &ops, capacity, &req);
		check_request(&chain, res, &req, capacity);
		if (res == BLK_REQ_MALFORMED)
			return;	/* the device would need a reset */
		uint8_t status = answer(res, &req);

		phase(true);
		allow(q->used_gpa + 2, VIRTQ_USED_BYTES(q->size) - 2);
		uint16_t used = q->used_idx;
		int err = virtq_push(q, &ops, chain.head, blk_request_written_len(&req, status));
		if (err != VIRTQ_OK) {
			if (err != VIRTQ_E_USED_UNWRITABLE || q->used_idx != used)
				FAIL("push error %d", err);
			return;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < SETUP_BYTES)
		return 0;
	g.ram_size = size - SETUP_BYTES;
	g.ram = malloc(g.ram_size ? g.ram_size : 1);
	if (!g.ram)
		abort();
	memcpy(g.ram, data + SETUP_BYTES, g.ram_size);

	bool unaligned = data[12] & 1;
	struct virtq q = {
		.size = (uint16_t)(1u << (data[0] % 9)),
		.desc_gpa = RAM_BASE + (virtq_le16(data + 1) & (unaligned ? ~0u : ~15u)),
		.avail_gpa = RAM_BASE + (virtq_le16(data + 3) & (unaligned ? ~0u : ~1u)),
		.used_gpa = RAM_BASE + (virtq_le16(data + 5) & (unaligned ? ~0u : ~3u)),
		.last_avail_idx = virtq_le16(data + 7),
		.used_idx = virtq_le16(data + 9),
	};
	uint64_t capacity = 64ULL * data[11];

	q.ready = virtq_validate_setup(&q) == VIRTQ_OK;
	if (q.ready) {
		run_queue(&q, capacity);
		phase(false);
		allow(q.avail_gpa, 2);
		virtq_needs_notify(&q, &ops);
	} else {
		phase(false);	/* no window: nothing may be touched */
		if (virtq_pop(&q, &ops, &(struct virtq_chain){ 0 }) != VIRTQ_E_NOT_READY)
			FAIL("pop on a queue that is not ready");
	}
	free(g.ram);
	return 0;
}

#ifdef FUZZ_SEEDS
/* ---- seed inputs: well-formed queues the fuzzer starts from ---- */

static uint8_t seed[SETUP_BYTES + 8192];

static uint8_t *sram(uint64_t off)
{
	return seed + SETUP_BYTES + off;
}

static void seed_desc(uint64_t table, uint16_t i, uint64_t off, uint32_t len, uint16_t flags,
		      uint16_t next)
{
	uint8_t *d = sram(table + 16ULL * i);
	uint64_t gpa = RAM_BASE + off;

	virtq_put_le32(d, (uint32_t)gpa);
	virtq_put_le32(d + 4, (uint32_t)(gpa >> 32));
	virtq_put_le32(d + 8, len);
	virtq_put_le16(d + 12, flags);
	virtq_put_le16(d + 14, next);
}

static void seed_header(uint64_t off, uint32_t type, uint64_t sector)
{
	virtq_put_le32(sram(off), type);
	virtq_put_le32(sram(off + 8), (uint32_t)sector);
}

static void seed_setup(unsigned log2size, uint16_t desc, uint16_t avail, uint16_t used,
		       uint16_t last_avail, uint8_t capacity)
{
	memset(seed, 0, sizeof(seed));
	seed[0] = (uint8_t)log2size;
	virtq_put_le16(seed + 1, desc);
	virtq_put_le16(seed + 3, avail);
	virtq_put_le16(seed + 5, used);
	virtq_put_le16(seed + 7, last_avail);
	virtq_put_le16(seed + 9, last_avail);
	seed[11] = capacity;
}

static void seed_offer(uint16_t avail, uint16_t size, uint16_t *idx, uint16_t head)
{
	virtq_put_le16(sram(avail + 4 + 2u * (*idx & (size - 1))), head);
	(*idx)++;
	virtq_put_le16(sram(avail + 2), *idx);
}

static void seed_write(const char *dir, const char *name, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(seed, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	const uint16_t avail = 0x200, used = 0x300;
	uint16_t idx;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	/* Size 16 across the index wrap: IN, OUT (header and data in one
	 * buffer), FLUSH, GET_ID, and a type the device does not offer. */
	seed_setup(4, 0, avail, used, 65534, 4);
	idx = 65534;
	seed_header(0x400, VIRTIO_BLK_T_IN, 3);
	seed_desc(0, 0, 0x400, 16, VIRTQ_DESC_F_NEXT, 1);
	seed_desc(0, 1, 0x800, 512, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
	seed_desc(0, 2, 0x410, 1, VIRTQ_DESC_F_WRITE, 0);
	seed_offer(avail, 16, &idx, 0);
	seed_header(0xa00, VIRTIO_BLK_T_OUT, 0);
	seed_desc(0, 3, 0xa00, 16 + 512, VIRTQ_DESC_F_NEXT, 4);
	seed_desc(0, 4, 0x411, 1, VIRTQ_DESC_F_WRITE, 0);
	seed_offer(avail, 16, &idx, 3);
	seed_header(0x420, VIRTIO_BLK_T_FLUSH, 0);
	seed_desc(0, 5, 0x420, 16, VIRTQ_DESC_F_NEXT, 6);
	seed_desc(0, 6, 0x412, 1, VIRTQ_DESC_F_WRITE, 0);
	seed_offer(avail, 16, &idx, 5);
	seed_header(0x440, VIRTIO_BLK_T_GET_ID, 0);
	seed_desc(0, 7, 0x440, 16, VIRTQ_DESC_F_NEXT, 8);
	seed_desc(0, 8, 0x460, 20, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 9);
	seed_desc(0, 9, 0x413, 1, VIRTQ_DESC_F_WRITE, 0);
	seed_offer(avail, 16, &idx, 7);
	seed_header(0x480, 11, 0);
	seed_desc(0, 10, 0x480, 16, VIRTQ_DESC_F_NEXT, 11);
	seed_desc(0, 11, 0x414, 1, VIRTQ_DESC_F_WRITE, 0);
	seed_offer(avail, 16, &idx, 10);
	seed_write(argv[1], "seed-size16", SETUP_BYTES + 0xc10);

	/* Size 256: one OUT request of 62 data descriptors (64 in all). */
	seed_setup(8, 0, 0x1000, 0x1400, 0, 255);
	idx = 0;
	seed_header(0x1c00, VIRTIO_BLK_T_OUT, 8);
	seed_desc(0, 10, 0x1c00, 16, VIRTQ_DESC_F_NEXT, 11);
	for (uint16_t i = 11; i < 73; i++)
		seed_desc(0, i, 0x1c10, 512, VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1));
	seed_desc(0, 73, 0x1c10 + 512, 1, VIRTQ_DESC_F_WRITE, 0);
	seed_offer(0x1000, 256, &idx, 10);
	seed_write(argv[1], "seed-size256", SETUP_BYTES + 0x1c10 + 513);
	return 0;
}
#endif
