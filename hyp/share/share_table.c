#include <stddef.h>
#include "arch/riscv_defs.h"
#include "share/share_table.h"

uint64_t share_table_bytes(uint64_t blocks, unsigned nnodes)
{
	return blocks * nnodes * sizeof(struct share_entry);
}

void share_table_init(struct share_table *t, struct share_entry *storage, uint64_t blocks,
		      unsigned nnodes)
{
	*t = (struct share_table){ .entry = storage, .blocks = blocks, .nnodes = nnodes };
}

/* The entry of block on node, or NULL if there is none. */
static struct share_entry *entry_of(const struct share_table *t, uint64_t block, unsigned node)
{
	if (!t->entry || block >= t->blocks || node >= t->nnodes)
		return NULL;
	return &t->entry[node * t->blocks + block];
}

static uint64_t page_of(const struct share_entry *e)
{
	return ((uint64_t)e->frame_hi << 32 | e->frame) << PAGE_SHIFT;
}

enum share_lookup share_table_lookup(struct share_table *t, uint64_t block, unsigned node,
				     struct share_claim *claim)
{
	struct share_entry *e = entry_of(t, block, node);

	*claim = (struct share_claim){ .block = block, .node = node };
	if (!e)
		return SHARE_INVALID;
	switch (e->state) {
	case SHARE_READY:
		e->pins++;
		e->referenced = 1;
		t->hits++;
		claim->pa = page_of(e);
		return SHARE_HIT;
	case SHARE_FILLING:
		t->busy_waits++;
		return SHARE_BUSY;
	default:
		break;
	}
	/* Empty: the caller fills it, from another node's copy if there is
	 * one (pinned, so it stays while it is copied). */
	e->state = SHARE_FILLING;
	for (unsigned n = 0; n < t->nnodes; n++) {
		struct share_entry *other = entry_of(t, block, n);
		if (n != node && other->state == SHARE_READY) {
			other->pins++;
			other->referenced = 1;
			claim->source = page_of(other);
			claim->source_node = n;
			break;
		}
	}
	return SHARE_MUST_FILL;
}

void share_table_fill_done(struct share_table *t, const struct share_claim *claim, uint64_t pa)
{
	struct share_entry *e = entry_of(t, claim->block, claim->node);

	if (!e || e->state != SHARE_FILLING)
		return;
	if (pa) {
		e->frame = (uint32_t)(pa >> PAGE_SHIFT);
		e->frame_hi = (uint8_t)(pa >> (PAGE_SHIFT + 32));
		e->pins = 1;
		e->referenced = 1;
		e->state = SHARE_READY;
		if (claim->source)
			t->replicas++;
	} else {
		e->frame = 0;
		e->frame_hi = 0;
		e->pins = 0;
		e->state = SHARE_EMPTY;
	}
	if (claim->source)
		share_table_unpin(t, claim->block, claim->source_node);
}

void share_table_unpin(struct share_table *t, uint64_t block, unsigned node)
{
	struct share_entry *e = entry_of(t, block, node);

	if (e && e->state == SHARE_READY && e->pins)
		e->pins--;
}

uint64_t share_table_get(const struct share_table *t, uint64_t block, unsigned node)
{
	const struct share_entry *e = entry_of(t, block, node);

	return e && e->state == SHARE_READY ? page_of(e) : 0;
}

unsigned share_table_evict(struct share_table *t, bool (*unmapped)(void *ctx, uint64_t pa),
			   void *ctx, uint64_t *out, unsigned max, uint64_t scan)
{
	uint64_t entries = t->blocks * t->nnodes;
	unsigned n = 0;

	if (!t->entry || !entries)
		return 0;
	for (uint64_t i = 0; i < scan && n < max; i++) {
		struct share_entry *e = &t->entry[t->hand];
		t->hand = (t->hand + 1) % entries;
		if (e->state != SHARE_READY || e->pins)
			continue;
		if (e->referenced) {
			e->referenced = 0;	/* a second chance: evicted next time round */
			continue;
		}
		if (!unmapped(ctx, page_of(e)))
			continue;
		out[n++] = page_of(e);
		*e = (struct share_entry){ .state = SHARE_EMPTY };
		t->evictions++;
	}
	return n;
}
