#include <string.h>
#include "arch/riscv_defs.h"
#include "lib/counters.h"
#include "lib/page_hash.h"
#include "mem/swap.h"

struct swap_space swap_space;

uint64_t swap_bitmap_bytes(uint64_t bytes)
{
	uint64_t slots = bytes / PAGE_SIZE;

	return (slots + 63) / 64 * 8;
}

uint64_t swap_hash_bytes(uint64_t bytes)
{
	return bytes / PAGE_SIZE * sizeof(uint32_t);
}

void swap_init(struct swap_space *s, uint64_t bytes, uint64_t *bitmap, uint32_t *hash,
	       uint8_t *bounce, const struct swap_disk_ops *disk)
{
	memset(s, 0, sizeof(*s));
	s->nslots = bitmap && hash && bounce ? bytes / PAGE_SIZE : 0;
	s->bitmap = bitmap;
	s->hash = hash;
	s->bounce = bounce;
	if (disk)
		s->disk = *disk;
	if (bitmap)
		memset(bitmap, 0, swap_bitmap_bytes(bytes));
}

static bool bit(const struct swap_space *s, uint64_t slot)
{
	return s->bitmap[slot / 64] >> (slot % 64) & 1;
}

static void set_bit(struct swap_space *s, uint64_t slot, bool on)
{
	if (on)
		s->bitmap[slot / 64] |= 1ULL << (slot % 64);
	else
		s->bitmap[slot / 64] &= ~(1ULL << (slot % 64));
}

unsigned swap_alloc(struct swap_space *s, unsigned want, uint64_t *first)
{
	unsigned got = 0;

	if (want < 1)
		want = 1;
	if (want > SWAP_CLUSTER)
		want = SWAP_CLUSTER;
	spin_lock(&s->lock);
	if (s->used < s->nslots) {
		uint64_t slot = s->cursor < s->nslots ? s->cursor : 0;
		/* Next fit: a free slot exists (used < nslots), so this ends;
		 * whole used words are skipped 64 slots at a time. */
		while (bit(s, slot)) {
			if (slot % 64 == 0 && s->bitmap[slot / 64] == UINT64_MAX)
				slot += 64;
			else
				slot++;
			if (slot >= s->nslots)
				slot = 0;
		}
		*first = slot;
		/* The run does not wrap: slots of one write are consecutive. */
		while (got < want && slot < s->nslots && !bit(s, slot)) {
			set_bit(s, slot++, true);
			got++;
		}
		s->used += got;
		s->cursor = slot;
	} else {
		s->full++;
	}
	spin_unlock(&s->lock);
	return got;
}

bool swap_free(struct swap_space *s, uint64_t slot)
{
	bool ok;

	spin_lock(&s->lock);
	ok = slot < s->nslots && bit(s, slot);
	if (ok) {
		set_bit(s, slot, false);
		s->used--;
	}
	spin_unlock(&s->lock);
	return ok;
}

bool swap_in_use(struct swap_space *s, uint64_t slot)
{
	bool used;

	spin_lock(&s->lock);
	used = slot < s->nslots && bit(s, slot);
	spin_unlock(&s->lock);
	return used;
}

bool swap_write(struct swap_space *s, uint64_t first, const uint64_t *pa, unsigned n)
{
	bool ok;

	if (!n || n > SWAP_CLUSTER || first + n > s->nslots)
		return false;
	spin_lock(&s->bounce_lock);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *page = s->bounce + (uint64_t)i * PAGE_SIZE;
		memcpy(page, pa_to_ptr(pa[i]), PAGE_SIZE);
		/* The slot is its writer's until it is freed: no lock needed. */
		s->hash[first + i] = (uint32_t)page_hash(page);
	}
	ok = s->disk.write(s->disk.ctx, first, ptr_to_pa(s->bounce), n);
	spin_unlock(&s->bounce_lock);
	__atomic_add_fetch(ok ? &s->write_bytes : &s->io_errors, ok ? (uint64_t)n * PAGE_SIZE : 1,
			   __ATOMIC_RELAXED);
	return ok;
}

bool swap_read(struct swap_space *s, uint64_t slot, uint64_t pa)
{
	bool ok = slot < s->nslots && s->disk.read(s->disk.ctx, slot, pa, 1);

	__atomic_add_fetch(ok ? &s->read_bytes : &s->io_errors, ok ? PAGE_SIZE : 1,
			   __ATOMIC_RELAXED);
	if (ok && (uint32_t)page_hash(pa_to_ptr(pa)) != s->hash[slot]) {
		__atomic_add_fetch(&s->checksum_errors, 1, __ATOMIC_RELAXED);
		return false;	/* not the page that went out */
	}
	return ok;
}

void swap_counters(struct swap_space *s, struct counters *c)
{
	counters_u64(c, "swap_slots", s->nslots);
	counters_u64(c, "swap_slots_used", __atomic_load_n(&s->used, __ATOMIC_RELAXED));
	counters_u64(c, "swap_read_bytes", __atomic_load_n(&s->read_bytes, __ATOMIC_RELAXED));
	counters_u64(c, "swap_write_bytes", __atomic_load_n(&s->write_bytes, __ATOMIC_RELAXED));
	counters_u64(c, "swap_full", __atomic_load_n(&s->full, __ATOMIC_RELAXED));
	counters_u64(c, "swap_io_errors", __atomic_load_n(&s->io_errors, __ATOMIC_RELAXED));
	counters_u64(c, "swap_checksum_errors",
		     __atomic_load_n(&s->checksum_errors, __ATOMIC_RELAXED));
}
