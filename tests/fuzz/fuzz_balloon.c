/*
 * libFuzzer target: a malicious virtio-balloon driver against
 * hyp/balloon/balloon_parse.c.
 *
 * The input is a chain description followed by guest RAM (at GPA
 * 0x10000): byte 0 is the number of buffers (1..VIRTQ_MAX_CHAIN), then
 * 5 bytes per buffer - le16 offset, le16 length (0 becomes 1), a flags
 * byte (bit 0: device-writable) - then the RAM. Buffers may lie partly
 * or wholly outside RAM, as a driver's can. The harness runs the three
 * parsers and checks, besides ASan and UBSan, that they read guest
 * memory only inside the chain's device-readable buffers, that every PFN
 * handed to the callback is the le32 the guest wrote at the place it
 * was read, that a parser's answer agrees with what the chain is (a
 * device-writable buffer refused by the readers, a readable one by the
 * reporter), and that statistics keep only known tags.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "balloon/balloon_parse.h"

#define RAM_BASE 0x10000ULL

#define FAIL(...)                                                       \
	do {                                                            \
		fprintf(stderr, "fuzz_balloon: " __VA_ARGS__);          \
		fprintf(stderr, "\n");                                  \
		abort();                                                \
	} while (0)

static struct {
	const uint8_t *ram;
	size_t ram_size;
	const struct virtq_chain *chain;
	uint64_t last_read_gpa;
	size_t last_read_len;
	uint64_t pfns;
} g;

static bool in_readable_buf(uint64_t gpa, size_t len)
{
	for (unsigned i = 0; i < g.chain->nbufs; i++) {
		const struct virtq_buf *b = &g.chain->buf[i];
		if (!b->device_writable && gpa >= b->gpa && gpa - b->gpa <= b->len &&
		    len <= b->len - (gpa - b->gpa))
			return true;
	}
	return false;
}

static bool ram_read(void *ctx, uint64_t gpa, void *dst, size_t len)
{
	(void)ctx;
	if (!in_readable_buf(gpa, len))
		FAIL("read of %zu bytes at %#llx outside the readable buffers", len,
		     (unsigned long long)gpa);
	if (gpa < RAM_BASE || gpa - RAM_BASE > g.ram_size || len > g.ram_size - (gpa - RAM_BASE))
		return false;
	memcpy(dst, g.ram + (gpa - RAM_BASE), len);
	g.last_read_gpa = gpa;
	g.last_read_len = len;
	return true;
}

static bool ram_write(void *ctx, uint64_t gpa, const void *src, size_t len)
{
	(void)ctx, (void)gpa, (void)src, (void)len;
	FAIL("a balloon parser wrote guest memory");
}

static bool on_pfn(void *arg, uint32_t pfn)
{
	(void)arg;
	/* The PFN must be one of the le32 words of the last read. */
	bool found = false;
	for (size_t k = 0; k + 4 <= g.last_read_len; k += 4) {
		const uint8_t *p = g.ram + (g.last_read_gpa - RAM_BASE) + k;
		if (((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		     (uint32_t)p[3] << 24) == pfn)
			found = true;
	}
	if (!found)
		FAIL("pfn %#x is not a word the guest wrote", pfn);
	g.pfns++;
	return g.pfns < 100000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtq_chain chain;
	const struct guest_mem_ops mem = { .ctx = NULL, .read = ram_read, .write = ram_write };
	struct balloon_stats stats;
	bool any_writable = false, any_readable = false;

	if (size < 1)
		return 0;
	unsigned n = 1 + data[0] % VIRTQ_MAX_CHAIN;
	if (size < 1 + 5 * n)
		return 0;
	memset(&chain, 0, sizeof(chain));
	chain.nbufs = n;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *d = data + 1 + 5 * i;
		uint32_t len = (uint32_t)(d[2] | d[3] << 8);
		chain.buf[i].gpa = RAM_BASE + (uint64_t)(d[0] | d[1] << 8);
		chain.buf[i].len = len ? len : 1;
		chain.buf[i].device_writable = d[4] & 1;
		any_writable |= chain.buf[i].device_writable;
		any_readable |= !chain.buf[i].device_writable;
	}
	g.ram = data + 1 + 5 * n;
	g.ram_size = size - 1 - 5 * n;
	g.chain = &chain;
	g.pfns = 0;

	int r = balloon_parse_pfns(&chain, &mem, on_pfn, NULL);
	if (r == BALLOON_OK && any_writable && g.pfns < 100000)
		FAIL("a chain with a device-writable buffer accepted as PFNs");
	memset(&stats, 0, sizeof(stats));
	r = balloon_parse_stats(&chain, &mem, &stats);
	if (r == BALLOON_OK && any_writable)
		FAIL("a chain with a device-writable buffer accepted as statistics");
	r = balloon_parse_report(&chain);
	if ((r == BALLOON_OK) != !any_readable)
		FAIL("the reporting check disagrees with the chain");
	return 0;
}
