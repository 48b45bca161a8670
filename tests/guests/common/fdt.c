/*
 * A minimal walk of the flattened device tree's structure block
 * (Devicetree Specification v0.4, 5.4): big-endian 32-bit tokens,
 * node names and property values padded to 4 bytes.
 */
#include "fdt.h"

#define FDT_MAGIC	0xd00dfeed
#define FDT_BEGIN_NODE	1
#define FDT_END_NODE	2
#define FDT_PROP	3
#define FDT_NOP		4
#define FDT_END		9

static unsigned be32(const void *p)
{
	const unsigned char *b = p;

	return (unsigned)b[0] << 24 | (unsigned)b[1] << 16 | (unsigned)b[2] << 8 | b[3];
}

static bool str_eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static unsigned str_len(const char *s)
{
	unsigned n = 0;

	while (s[n])
		n++;
	return n;
}

bool fdt_chosen_u32(const void *dtb, const char *name, unsigned *value)
{
	const char *base = dtb;

	if (be32(base) != FDT_MAGIC)
		return false;
	unsigned size = be32(base + 4);
	const char *p = base + be32(base + 8), *end = base + size;
	const char *strings = base + be32(base + 12);
	int depth = 0;
	bool in_chosen = false;

	while (p + 4 <= end) {
		unsigned token = be32(p);
		p += 4;
		switch (token) {
		case FDT_BEGIN_NODE:
			depth++;
			in_chosen = depth == 2 && str_eq(p, "chosen");
			p += (str_len(p) + 1 + 3) & ~3U;
			break;
		case FDT_END_NODE:
			depth--;
			in_chosen = false;
			break;
		case FDT_PROP: {
			unsigned len = be32(p), nameoff = be32(p + 4);
			const char *val = p + 8;
			p = val + ((len + 3) & ~3U);
			if (in_chosen && len == 4 && str_eq(strings + nameoff, name)) {
				*value = be32(val);
				return true;
			}
			break;
		}
		case FDT_NOP:
			break;
		default:	/* FDT_END, or a damaged tree */
			return false;
		}
	}
	return false;
}
