#include "balloon/balloon_parse.h"

const char *const balloon_stat_name[BALLOON_STAT_TAGS] = {
	"swap_in", "swap_out", "major_faults", "minor_faults", "free_memory",
	"total_memory", "available_memory", "disk_caches", "hugetlb_allocations",
	"hugetlb_failures",
};

#define PFNS_PER_READ 64

int balloon_parse_pfns(const struct virtq_chain *chain, const struct guest_mem_ops *mem,
		       bool (*fn)(void *arg, uint32_t pfn), void *arg)
{
	for (unsigned i = 0; i < chain->nbufs; i++) {
		const struct virtq_buf *b = &chain->buf[i];
		if (b->device_writable)
			return BALLOON_E_WRITABLE;
		if (b->len % 4)
			return BALLOON_E_LENGTH;
		for (uint32_t off = 0; off < b->len;) {
			uint8_t raw[4 * PFNS_PER_READ];
			uint32_t n = b->len - off < sizeof(raw) ? b->len - off : sizeof(raw);
			if (!mem->read(mem->ctx, b->gpa + off, raw, n))
				return BALLOON_E_UNREADABLE;
			for (uint32_t k = 0; k < n; k += 4) {
				uint32_t pfn = (uint32_t)raw[k] | (uint32_t)raw[k + 1] << 8 |
					       (uint32_t)raw[k + 2] << 16 | (uint32_t)raw[k + 3] << 24;
				if (!fn(arg, pfn))
					return BALLOON_OK;
			}
			off += n;
		}
	}
	return BALLOON_OK;
}

#define STAT_ENTRY_BYTES 10

int balloon_parse_stats(const struct virtq_chain *chain, const struct guest_mem_ops *mem,
			struct balloon_stats *s)
{
	for (unsigned i = 0; i < chain->nbufs; i++) {
		const struct virtq_buf *b = &chain->buf[i];
		if (b->device_writable)
			return BALLOON_E_WRITABLE;
		if (b->len % STAT_ENTRY_BYTES)
			return BALLOON_E_LENGTH;
		for (uint32_t off = 0; off < b->len; off += STAT_ENTRY_BYTES) {
			uint8_t e[STAT_ENTRY_BYTES];
			if (!mem->read(mem->ctx, b->gpa + off, e, sizeof(e)))
				return BALLOON_E_UNREADABLE;
			uint16_t tag = (uint16_t)(e[0] | e[1] << 8);
			uint64_t v = 0;
			for (int k = 7; k >= 0; k--)
				v = v << 8 | e[2 + k];
			if (tag >= BALLOON_STAT_TAGS) {
				s->unknown_tags++;
				continue;
			}
			s->valid[tag] = true;
			s->value[tag] = v;
		}
	}
	return BALLOON_OK;
}

int balloon_parse_report(const struct virtq_chain *chain)
{
	for (unsigned i = 0; i < chain->nbufs; i++)
		if (!chain->buf[i].device_writable)
			return BALLOON_E_READABLE;
	return BALLOON_OK;
}
