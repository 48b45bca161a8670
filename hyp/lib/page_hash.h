/*
 * A 4 KiB page's 64-bit hash: a multiply-rotate over its 512 words, then
 * an avalanche (one bit changed anywhere changes about half the bits).
 * Content sharing finds candidate pages by it (share/content_table.c);
 * the swap space checks with it that a page comes back from its slot as
 * it went out (mem/swap.c). Not a cryptographic hash: a guest can make
 * two pages collide, so every user compares the bytes, or fails safe,
 * before it trusts two equal hashes.
 */
#ifndef DISCV_PAGE_HASH_H
#define DISCV_PAGE_HASH_H

#include <stdint.h>

#define PAGE_HASH_BYTES 4096

uint64_t page_hash(const void *page);

#endif
