#include <string.h>
#include "guest/config.h"
#include "lib/format.h"
#include "core/vm.h"

#define MIN_GUEST_MEM (16UL << 20)
#define MAX_GUEST_MEM (16UL << 30)

/* Parses a decimal or 0x-hex number with an optional K/M/G suffix. */
static bool parse_u64(const char *s, size_t len, bool suffix_ok, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10;
	size_t i = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (i == len)
		return false;
	for (; i < len; i++) {
		char c = s[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return false;
		v = v * base + d;
	}
	if (i < len) {
		unsigned shift;
		if (!suffix_ok || i + 1 != len)
			return false;
		switch (s[i]) {
		case 'K': case 'k': shift = 10; break;
		case 'M': case 'm': shift = 20; break;
		case 'G': case 'g': shift = 30; break;
		default: return false;
		}
		if (v > (UINT64_MAX >> shift))
			return false;
		v <<= shift;
	}
	*out = v;
	return true;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool hex_decode(const char *hex, size_t hexlen, char *out, size_t outlen)
{
	if (hexlen % 2 || hexlen / 2 >= outlen)
		return false;
	for (size_t i = 0; i < hexlen; i += 2) {
		int hi = hex_value(hex[i]), lo = hex_value(hex[i + 1]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			return false;	/* NUL would cut the string short */
		out[i / 2] = (char)(hi << 4 | lo);
	}
	out[hexlen / 2] = '\0';
	return true;
}

/* Parses "PA,SIZE". */
static bool parse_blob(const char *v, size_t len, uint64_t *pa, uint64_t *size)
{
	const char *comma = memchr(v, ',', len);

	return comma && parse_u64(v, (size_t)(comma - v), false, pa) &&
	       parse_u64(comma + 1, len - (size_t)(comma + 1 - v), false, size) && *size > 0;
}

/* "0" or "1". */
static bool parse_flag(const char *v, size_t len, bool *flag)
{
	if (len != 1 || (v[0] != '0' && v[0] != '1'))
		return false;
	*flag = v[0] == '1';
	return true;
}

/* "TOTAL" or "TOTAL,PER_VM", pages per second; PER_VM defaults to TOTAL
 * and may not exceed it. */
static bool parse_scan_rate(struct hyp_config *cfg, const char *v, size_t len)
{
	const char *comma = memchr(v, ',', len);
	uint64_t total, per_vm;

	if (!parse_u64(v, comma ? (size_t)(comma - v) : len, false, &total))
		return false;
	per_vm = total;
	if (comma && !parse_u64(comma + 1, len - (size_t)(comma + 1 - v), false, &per_vm))
		return false;
	if (total < 1 || total > MAX_SCAN_RATE || per_vm < 1 || per_vm > total)
		return false;
	cfg->scan_rate = total;
	cfg->scan_rate_vm = per_vm;
	return true;
}

static bool parse_option(struct hyp_config *cfg, const char *key, size_t keylen,
			 const char *val, size_t vallen)
{
	uint64_t n;

#define KEY(k) (keylen == sizeof(k) - 1 && memcmp(key, k, keylen) == 0)
	if (KEY("discv.guests")) {
		if (!parse_u64(val, vallen, false, &n) || n < 1 || n > MAX_VMS)
			return false;
		cfg->guests = (unsigned)n;
	} else if (KEY("discv.vcpus")) {
		if (!parse_u64(val, vallen, false, &n) || n < 1 || n > MAX_VCPUS_PER_VM)
			return false;
		cfg->vcpus = (unsigned)n;
	} else if (KEY("discv.mem")) {
		if (!parse_u64(val, vallen, true, &n) || n < MIN_GUEST_MEM || n > MAX_GUEST_MEM ||
		    n % (2UL << 20))
			return false;	/* whole 2 MiB: the kernel sits at RAM + 2 MiB */
		cfg->guest_mem = n;
	} else if (KEY("discv.kernel")) {
		return parse_blob(val, vallen, &cfg->kernel_pa, &cfg->kernel_size);
	} else if (KEY("discv.initrd")) {
		return parse_blob(val, vallen, &cfg->initrd_pa, &cfg->initrd_size);
	} else if (KEY("discv.cmd")) {
		cfg->batch = true;
		return hex_decode(val, vallen, cfg->cmd, sizeof(cfg->cmd));
	} else if (KEY("discv.share")) {
		return parse_flag(val, vallen, &cfg->share);
	} else if (KEY("discv.net")) {
		return parse_flag(val, vallen, &cfg->net);
	} else if (KEY("discv.pv_copy")) {
		return parse_flag(val, vallen, &cfg->pv_copy);
	} else if (KEY("discv.net_remap")) {
		return parse_flag(val, vallen, &cfg->net_remap);
	} else if (KEY("discv.content_share")) {
		return parse_flag(val, vallen, &cfg->content_share);
	} else if (KEY("discv.balloon")) {
		return parse_flag(val, vallen, &cfg->balloon);
	} else if (KEY("discv.balloon_oom")) {
		return parse_flag(val, vallen, &cfg->balloon_oom);
	} else if (KEY("discv.pager")) {
		if (vallen == 5 && !memcmp(val, "clock", 5))
			cfg->pager_random = false;
		else if (vallen == 6 && !memcmp(val, "random", 6))
			cfg->pager_random = true;
		else
			return false;
	} else if (KEY("discv.ws_period")) {
		if (!parse_u64(val, vallen, false, &n) || n > MAX_WS_PERIOD)
			return false;
		cfg->ws_period = (unsigned)n;
	} else if (KEY("discv.scan_rate")) {
		return parse_scan_rate(cfg, val, vallen);
	} else if (KEY("discv.append")) {
		return hex_decode(val, vallen, cfg->append, sizeof(cfg->append));
	} else {
		return false;
	}
#undef KEY
	return true;
}

bool config_parse(struct hyp_config *cfg, const char *cmdline, char *err, size_t errlen)
{
	const char *p = cmdline;

	*cfg = (struct hyp_config){ .guests = 1, .vcpus = 1, .guest_mem = 128UL << 20,
				    .share = true, .net_remap = true,
				    .pv_copy = true, .content_share = true,
				    .scan_rate = DEFAULT_SCAN_RATE,
				    .scan_rate_vm = DEFAULT_SCAN_RATE_VM,
				    .ws_period = DEFAULT_WS_PERIOD };
	while (*p) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		const char *start = p;
		while (*p && *p != ' ')
			p++;
		size_t len = (size_t)(p - start);
		const char *eq = memchr(start, '=', len);
		if (!eq || !parse_option(cfg, start, (size_t)(eq - start), eq + 1,
					 len - (size_t)(eq + 1 - start))) {
			/* "bad option '<option>'", the option cut to what fits. */
			size_t off = (size_t)format(err, errlen, "bad option '");
			size_t room = errlen > off + 2 ? errlen - off - 2 : 0;
			size_t n = len < room ? len : room;
			if (off < errlen) {
				memcpy(err + off, start, n);
				format(err + off + n, errlen - off - n, "'");
			}
			return false;
		}
	}
	if (!cfg->kernel_size) {
		format(err, errlen, "no guest kernel (discv.kernel=PA,SIZE)");
		return false;
	}
	return true;
}
