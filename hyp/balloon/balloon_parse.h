/*
 * What a virtio-balloon driver puts in the balloon's queues (virtio 1.2
 * section 5.5.6), read from its chains: pure code, unit-tested and
 * fuzzed, so that the device never trusts a length or a page number the
 * guest wrote.
 *
 *  - inflate and deflate: device-readable buffers holding an array of
 *    le32 page frame numbers (always guest-physical address >> 12,
 *    whatever the guest's page size: 5.5.6);
 *  - statistics: one device-readable buffer of 10-byte entries
 *    {le16 tag; le64 value} (5.5.6.3), packed;
 *  - free page reporting: device-writable buffers, each a range of free
 *    guest memory (5.5.6.7).
 */
#ifndef DISCV_BALLOON_PARSE_H
#define DISCV_BALLOON_PARSE_H

#include <stdbool.h>
#include <stdint.h>
#include "virtio/virtq.h"

/* The statistics Linux 6.1 sends (VIRTIO_BALLOON_S_*, 5.5.6.3). */
#define BALLOON_STAT_TAGS 10
extern const char *const balloon_stat_name[BALLOON_STAT_TAGS];
#define BALLOON_STAT_AVAILABLE 6	/* VIRTIO_BALLOON_S_AVAIL: MemAvailable, bytes */

struct balloon_stats {
	bool valid[BALLOON_STAT_TAGS];
	uint64_t value[BALLOON_STAT_TAGS];
	uint64_t unknown_tags;		/* entries with a tag discv does not know: ignored */
};

enum balloon_parse {
	BALLOON_OK = 0,
	BALLOON_E_WRITABLE = -1,	/* a buffer the device should read is device-writable */
	BALLOON_E_READABLE = -2,	/* a reporting buffer is device-readable */
	BALLOON_E_LENGTH = -3,		/* not a whole number of entries */
	BALLOON_E_UNREADABLE = -4,	/* a buffer outside the guest's RAM */
};

/*
 * Calls fn(arg, pfn) for every page frame number in an inflate or deflate
 * chain, in order, and returns BALLOON_OK, or an error (having called fn
 * for the numbers before the bad buffer; the device then needs a reset).
 * fn may stop the walk by returning false (BALLOON_OK is still returned).
 */
int balloon_parse_pfns(const struct virtq_chain *chain, const struct guest_mem_ops *mem,
		       bool (*fn)(void *arg, uint32_t pfn), void *arg);

/* Reads a statistics chain into *s (entries seen overwrite earlier ones;
 * unknown tags are counted and skipped). */
int balloon_parse_stats(const struct virtq_chain *chain, const struct guest_mem_ops *mem,
			struct balloon_stats *s);

/* Checks a reporting chain: every buffer device-writable. The ranges are
 * the chain's buffers themselves (gpa, len). */
int balloon_parse_report(const struct virtq_chain *chain);

#endif
