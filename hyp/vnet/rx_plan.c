#include <string.h>
#include "vnet/rx_plan.h"

/* The frame's part of a chain: its readable (or writable) buffers, with
 * the first `skip` bytes (the header) taken off. */
struct segs {
	unsigned n;
	struct virtq_buf s[VIRTQ_MAX_CHAIN];
};

static void segs_of(const struct virtq_chain *c, bool writable, uint32_t skip, struct segs *out)
{
	out->n = 0;
	for (unsigned i = 0; i < c->nbufs; i++) {
		struct virtq_buf b = c->buf[i];
		if (b.device_writable != writable)
			continue;
		if (skip >= b.len) {
			skip -= b.len;
			continue;
		}
		b.gpa += skip;
		b.len -= skip;
		skip = 0;
		out->s[out->n++] = b;
	}
}

static uint32_t to_page_end(uint64_t gpa)
{
	return RX_PLAN_PAGE - (uint32_t)(gpa % RX_PLAN_PAGE);
}

/* Frame offset of the first whole, aligned page inside one source
 * buffer, or UINT32_MAX. */
static uint32_t first_whole_page(const struct segs *src, uint32_t frame_len)
{
	uint32_t off = 0;

	for (unsigned i = 0; i < src->n && off < frame_len; i++) {
		const struct virtq_buf *b = &src->s[i];
		uint32_t lead = b->gpa % RX_PLAN_PAGE ? to_page_end(b->gpa) : 0;
		if ((uint64_t)lead + RX_PLAN_PAGE <= b->len &&
		    (uint64_t)off + lead + RX_PLAN_PAGE <= frame_len)
			return off + lead;
		off += b->len;
	}
	return UINT32_MAX;
}

/*
 * The split for this pair of chains, 0 for none. The receive side must
 * have the shape the driver expects (a first data buffer that ends at a
 * page end, the next starting a page); then split = the first whole
 * source page's offset modulo 4096 puts that page, and every whole
 * source page contiguous after it, on whole receive pages.
 */
static uint32_t choose_split(const struct segs *src, const struct segs *dst, uint32_t frame_len)
{
	uint32_t first = first_whole_page(src, frame_len), split;
	uint64_t room = 0;

	if (first == UINT32_MAX || dst->n < 2)
		return 0;
	if ((dst->s[0].gpa + dst->s[0].len) % RX_PLAN_PAGE || dst->s[1].gpa % RX_PLAN_PAGE)
		return 0;
	split = first % RX_PLAN_PAGE;
	/* The driver's checks (the patch): enough before the split for the
	 * Ethernet header, inside the first buffer, a whole page after. */
	if (split < RX_PLAN_MIN_SPLIT || split > dst->s[0].len ||
	    (uint64_t)split + RX_PLAN_PAGE > frame_len)
		return 0;
	for (unsigned i = 1; i < dst->n; i++)
		room += dst->s[i].len;
	return room >= frame_len - split ? split : 0;
}

/* A position in a list of segments. */
struct pos {
	unsigned i;
	uint32_t off;
};

static uint32_t left_in(const struct segs *s, const struct pos *p)
{
	return p->i < s->n ? s->s[p->i].len - p->off : 0;
}

static uint64_t gpa_at(const struct segs *s, const struct pos *p)
{
	return s->s[p->i].gpa + p->off;
}

static void advance(const struct segs *s, struct pos *p, uint32_t n)
{
	while (n && p->i < s->n) {
		uint32_t here = left_in(s, p);
		uint32_t step = n < here ? n : here;
		p->off += step;
		n -= step;
		if (p->off == s->s[p->i].len) {
			p->i++;
			p->off = 0;
		}
	}
}

void rx_plan_make(const struct virtq_chain *src_chain, const struct virtq_chain *dst_chain,
		  uint32_t hdr_bytes, uint32_t frame_len, bool may_split, bool may_remap,
		  struct rx_plan *plan)
{
	struct segs src, dst;
	struct pos s = { 0, 0 }, d = { 0, 0 };
	uint32_t at = 0;

	memset(plan, 0, sizeof(*plan));
	if (!may_remap)
		return;
	segs_of(src_chain, false, hdr_bytes, &src);
	segs_of(dst_chain, true, hdr_bytes, &dst);
	if (may_split && (plan->split = choose_split(&src, &dst, frame_len)) != 0)
		plan->dst_skip = dst.s[0].len - plan->split;
	advance(&dst, &d, plan->dst_skip);

	/* Walk the frame through both chains in steps that stop at every
	 * buffer end of either and at every receive page boundary, so no
	 * chance is missed. (Within a pair of buffers both sides advance
	 * alike, so the source is page-aligned at one of those stops or
	 * nowhere there.) */
	while (at < frame_len && left_in(&src, &s) && left_in(&dst, &d)) {
		uint64_t sg = gpa_at(&src, &s), dg = gpa_at(&dst, &d);
		if (sg % RX_PLAN_PAGE == 0 && dg % RX_PLAN_PAGE == 0 &&
		    left_in(&src, &s) >= RX_PLAN_PAGE && left_in(&dst, &d) >= RX_PLAN_PAGE &&
		    frame_len - at >= RX_PLAN_PAGE && plan->nremaps < RX_PLAN_MAX_REMAPS) {
			plan->remap[plan->nremaps++] = (struct rx_remap){ at, sg, dg };
			advance(&src, &s, RX_PLAN_PAGE);
			advance(&dst, &d, RX_PLAN_PAGE);
			at += RX_PLAN_PAGE;
			continue;
		}
		uint32_t step = frame_len - at;
		uint32_t limits[3] = { left_in(&src, &s), left_in(&dst, &d), to_page_end(dg) };
		for (unsigned k = 0; k < 3; k++)
			if (limits[k] < step)
				step = limits[k];
		advance(&src, &s, step);
		advance(&dst, &d, step);
		at += step;
	}
}
