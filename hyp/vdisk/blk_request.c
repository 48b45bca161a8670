#include <string.h>
#include "vdisk/blk_request.h"

/* Calls fn for each piece of bytes [from, from + len) of the chain's
 * device-readable (writable == false) or device-writable part, in order.
 * The part's pieces are its buffers' bytes laid end to end. */
static void for_range(const struct virtq_chain *c, bool writable, uint64_t from, uint64_t len,
		      void (*fn)(void *arg, uint64_t gpa, uint32_t n), void *arg)
{
	uint64_t pos = 0;	/* offset of buffer i within the part; pos <= from */

	for (unsigned i = 0; i < c->nbufs && len; i++) {
		const struct virtq_buf *b = &c->buf[i];
		if (b->device_writable != writable)
			continue;
		uint64_t end = pos + b->len;
		if (from < end) {
			uint64_t skip = from - pos;
			uint64_t n = b->len - skip < len ? b->len - skip : len;
			fn(arg, b->gpa + skip, (uint32_t)n);
			from += n;
			len -= n;
		}
		pos = end;
	}
}

static void add_segment(void *arg, uint64_t gpa, uint32_t n)
{
	struct blk_request *r = arg;

	r->seg[r->nsegs++] = (struct blk_segment){ .gpa = gpa, .len = n };
	r->data_len += n;
}

struct header_read {
	const struct guest_mem_ops *mem;
	uint8_t *dst;
	bool ok;
};

static void read_piece(void *arg, uint64_t gpa, uint32_t n)
{
	struct header_read *h = arg;

	h->ok = h->ok && h->mem->read(h->mem->ctx, gpa, h->dst, n);
	h->dst += n;
}

/* Reads the first BLK_HEADER_BYTES of the readable part (there are). */
static bool read_header(const struct virtq_chain *c, const struct guest_mem_ops *mem,
			uint8_t hdr[BLK_HEADER_BYTES])
{
	struct header_read h = { .mem = mem, .dst = hdr, .ok = true };

	for_range(c, false, 0, BLK_HEADER_BYTES, read_piece, &h);
	return h.ok;
}

/* The rules of 5.2.6.1 for IN and OUT: a non-zero multiple of 512 bytes,
 * all inside the disk (no overflow: sector is the driver's). */
static bool rw_ok(uint64_t sector, uint64_t len, uint64_t capacity_sectors)
{
	return len > 0 && len % BLK_SECTOR_BYTES == 0 && sector <= capacity_sectors &&
	       len / BLK_SECTOR_BYTES <= capacity_sectors - sector;
}

/* The request of a known type once the framing is checked: extra_readable
 * bytes follow the header, data_writable bytes precede the status. */
static enum blk_parse_result parse_type(const struct virtq_chain *c, uint64_t capacity_sectors,
					uint64_t extra_readable, uint64_t data_writable,
					struct blk_request *r)
{
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		if (extra_readable || !rw_ok(r->sector, data_writable, capacity_sectors))
			return BLK_REQ_IOERR;
		for_range(c, true, 0, data_writable, add_segment, r);
		return BLK_REQ_OK;
	case VIRTIO_BLK_T_OUT:
		if (data_writable || !rw_ok(r->sector, extra_readable, capacity_sectors))
			return BLK_REQ_IOERR;
		for_range(c, false, BLK_HEADER_BYTES, extra_readable, add_segment, r);
		return BLK_REQ_OK;
	case VIRTIO_BLK_T_FLUSH:
		return extra_readable || data_writable ? BLK_REQ_IOERR : BLK_REQ_OK;
	case VIRTIO_BLK_T_GET_ID:
		if (extra_readable || data_writable < VIRTIO_BLK_ID_BYTES)
			return BLK_REQ_IOERR;
		for_range(c, true, 0, VIRTIO_BLK_ID_BYTES, add_segment, r);
		return BLK_REQ_OK;
	default:
		return BLK_REQ_UNSUPP;
	}
}

enum blk_parse_result blk_request_parse(const struct virtq_chain *c,
					const struct guest_mem_ops *mem,
					uint64_t capacity_sectors, struct blk_request *r)
{
	_Alignas(16) uint8_t hdr[BLK_HEADER_BYTES] = { 0 };

	r->type = 0;
	r->sector = 0;
	r->data_len = 0;
	r->nsegs = 0;
	r->has_status = false;
	r->status_gpa = 0;
	if (c->nbufs == 0 || c->nbufs > VIRTQ_MAX_CHAIN ||
	    !c->buf[c->nbufs - 1].device_writable || c->buf[c->nbufs - 1].len == 0)
		return BLK_REQ_MALFORMED;
	const struct virtq_buf *last = &c->buf[c->nbufs - 1];
	r->has_status = true;
	r->status_gpa = last->gpa + last->len - 1;
	if (c->readable_bytes < BLK_HEADER_BYTES)
		return BLK_REQ_MALFORMED;
	if (!read_header(c, mem, hdr))
		return BLK_REQ_IOERR;
	r->type = virtq_le32(hdr);
	if (r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_OUT)
		r->sector = virtq_le64(hdr + 8);	/* unused by other types (5.2.6) */
	return parse_type(c, capacity_sectors, c->readable_bytes - BLK_HEADER_BYTES,
			  c->writable_bytes - 1, r);
}

uint32_t blk_request_written_len(const struct blk_request *r, uint8_t status)
{
	if (!r->has_status)
		return 0;
	if (status == VIRTIO_BLK_S_OK &&
	    (r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_GET_ID))
		return (uint32_t)r->data_len + 1;
	return 1;
}

bool blk_request_write_status(const struct blk_request *r, const struct guest_mem_ops *mem,
			      uint8_t status)
{
	return r->has_status && mem->write(mem->ctx, r->status_gpa, &status, 1);
}
