/*
 * A virtio-blk request (virtio 1.2 section 5.2.6) read out of a popped
 * descriptor chain:
 *
 *   struct virtio_blk_req {
 *           le32 type;            device-readable: the 16-byte header
 *           le32 reserved;
 *           le64 sector;          in 512-byte units, whatever the block size
 *           u8 data[];            device-readable for OUT, device-writable for IN and GET_ID
 *           u8 status;            device-writable: the chain's very last byte
 *   };
 *
 * Framing is free (2.7.4.1): the header may span descriptors and share one
 * with the data; the status byte may share the last descriptor with the
 * data. The parser only reads the header (through the guest_mem_ops); the
 * data stays in guest memory, described as (gpa, len) segments in order.
 *
 * What the device model does with each result:
 *   BLK_REQ_OK         do the request, then write VIRTIO_BLK_S_OK (or
 *                      VIRTIO_BLK_S_IOERR if the host IO failed)
 *   BLK_REQ_IOERR      write VIRTIO_BLK_S_IOERR, touch no data
 *   BLK_REQ_UNSUPP     write VIRTIO_BLK_S_UNSUPP, touch no data
 *   BLK_REQ_MALFORMED  no status byte, or a header shorter than 16 bytes:
 *                      the driver broke the framing; set DEVICE_NEEDS_RESET
 *                      (virtio 1.2 2.1.2) and stop the queue, as for a
 *                      virtq error (no status is written; the chain is not
 *                      returned)
 * then virtq_push(head, blk_request_written_len(r, status)).
 *
 * Pure code: unit-tested and fuzzed natively.
 */
#ifndef DISCV_BLK_REQUEST_H
#define DISCV_BLK_REQUEST_H

#include <stdbool.h>
#include <stdint.h>
#include "virtio/virtq.h"

#define BLK_SECTOR_BYTES 512
#define BLK_HEADER_BYTES 16

enum blk_parse_result {
	BLK_REQ_OK = 0,
	BLK_REQ_IOERR,
	BLK_REQ_UNSUPP,
	BLK_REQ_MALFORMED,
};

struct blk_segment {
	uint64_t gpa;
	uint32_t len;		/* > 0 */
};

struct blk_request {
	uint32_t type;		/* VIRTIO_BLK_T_* (anything, if UNSUPP) */
	uint64_t sector;	/* IN/OUT only; 0 otherwise */
	uint64_t data_len;	/* sum of seg[].len */
	unsigned nsegs;
	struct blk_segment seg[VIRTQ_MAX_CHAIN];
	bool has_status;	/* the chain ends with a writable byte */
	uint64_t status_gpa;	/* that byte, if has_status */
};

/*
 * Parses the request in chain c (as checked by virtq_pop) for a disk of
 * capacity_sectors 512-byte sectors. On BLK_REQ_OK, r describes the data:
 *   IN      writable data, a non-zero multiple of 512, inside the disk
 *   OUT     readable data after the header, the same rules
 *   FLUSH   no data
 *   GET_ID  the first 20 writable bytes (at least 20 are required)
 * Types other than these four are BLK_REQ_UNSUPP (their features are not
 * offered). A data part in the wrong direction (writable bytes before the
 * status of an OUT or FLUSH, readable bytes after the header of an IN,
 * FLUSH or GET_ID) is BLK_REQ_IOERR, as are the size and range rules of
 * 5.2.6.1. Unreadable header memory is BLK_REQ_IOERR too: the status byte
 * exists and the device can answer.
 */
enum blk_parse_result blk_request_parse(const struct virtq_chain *c,
					const struct guest_mem_ops *mem,
					uint64_t capacity_sectors, struct blk_request *r);

/* The used length for virtq_push once the request ends with `status`:
 * the data written into the writable part (IN, GET_ID, on success) plus
 * the status byte. */
uint32_t blk_request_written_len(const struct blk_request *r, uint8_t status);

/* Writes the status byte. False if there is none or it is not RAM. */
bool blk_request_write_status(const struct blk_request *r, const struct guest_mem_ops *mem,
			      uint8_t status);

#endif
