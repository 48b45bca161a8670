#include "riscv_defs.h"
#include "share/share_table.h"

uint64_t share_table_bytes(uint64_t blocks, unsigned nnodes)
{
	return blocks * nnodes * sizeof(uint32_t);
}

void share_table_init(struct share_table *t, uint32_t *storage, uint64_t blocks,
		      unsigned nnodes)
{
	*t = (struct share_table){ .frame = storage, .blocks = blocks, .nnodes = nnodes };
}

uint64_t share_table_get(const struct share_table *t, uint64_t block, unsigned node)
{
	if (!t->frame || block >= t->blocks || node >= t->nnodes)
		return 0;
	return (uint64_t)t->frame[node * t->blocks + block] << PAGE_SHIFT;
}

uint64_t share_table_any(const struct share_table *t, uint64_t block)
{
	for (unsigned n = 0; n < t->nnodes; n++) {
		uint64_t pa = share_table_get(t, block, n);
		if (pa)
			return pa;
	}
	return 0;
}

void share_table_set(struct share_table *t, uint64_t block, unsigned node, uint64_t pa)
{
	if (t->frame && block < t->blocks && node < t->nnodes)
		t->frame[node * t->blocks + block] = (uint32_t)(pa >> PAGE_SHIFT);
}
