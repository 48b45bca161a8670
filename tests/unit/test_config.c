/*
 * hyp/config.c: the hypervisor's command line. Most important: a batch
 * command survives the trip tools/run-qemu.sh -> hex -> config_parse with
 * every byte intact, however nasty.
 */
#include <stdlib.h>
#include <string.h>
#include "guest/config.h"
#include "unit.h"

#define KERNEL "discv.kernel=0x80200000,0x1000"

/* Lowercase hex of each byte, as tools/run-qemu.sh does (od -tx1). */
static char *hex_encode(const char *s, size_t n)
{
	char *h = malloc(2 * n + 1);

	if (!h)
		abort();
	for (size_t i = 0; i < n; i++)
		snprintf(h + 2 * i, 3, "%02x", (unsigned char)s[i]);
	h[2 * n] = '\0';
	return h;
}

/* "<prefix><hex of s><suffix>", malloc'd. */
static char *cmdline_with(const char *prefix, const char *s, size_t n, const char *suffix)
{
	char *h = hex_encode(s, n);
	size_t len = strlen(prefix) + strlen(h) + strlen(suffix) + 1;
	char *line = malloc(len);

	if (!line)
		abort();
	snprintf(line, len, "%s%s%s", prefix, h, suffix);
	free(h);
	return line;
}

/* The config is big (4 KiB command): one static instance, poisoned before
 * each parse so a field left unset shows. */
static struct hyp_config cfg;
static char err[128];

static bool parse(const char *line)
{
	memset(&cfg, 0x5a, sizeof(cfg));
	memset(err, 0, sizeof(err));
	return config_parse(&cfg, line, err, sizeof(err));
}

/* ---- hex_decode --------------------------------------------------------- */

static bool decode(const char *hex, size_t outlen, char *expect)
{
	/* An exactly sized heap buffer: ASan sees any write past outlen. */
	char *out = malloc(outlen ? outlen : 1);
	bool ok;

	if (!out)
		abort();
	ok = hex_decode(hex, strlen(hex), out, outlen);
	if (ok && expect)
		strcpy(expect, out);
	free(out);
	return ok;
}

static void test_hex_decode(void)
{
	char got[64];

	CHECK(decode("41", 2, got));		/* exact fit: 1 byte + NUL */
	CHECK_STR(got, "A");
	CHECK(!decode("4142", 2, got));		/* one byte too long */
	CHECK(decode("4142", 3, got));
	CHECK_STR(got, "AB");
	CHECK(decode("", 1, got));		/* empty */
	CHECK_STR(got, "");
	CHECK(!decode("", 0, got));		/* no room even for the NUL */
	CHECK(!decode("41", 0, got));
	CHECK(!decode("414", 8, NULL));		/* odd length */
	CHECK(!decode("4", 8, NULL));
	CHECK(!decode("4g", 8, NULL));		/* bad digits */
	CHECK(!decode("g4", 8, NULL));
	CHECK(!decode(" 41", 8, NULL));
	CHECK(!decode("41 ", 8, NULL));
	CHECK(!decode("0x41", 8, NULL));
	CHECK(!decode("4-", 8, NULL));
	CHECK(!decode("00", 8, NULL));		/* embedded NUL */
	CHECK(!decode("4100", 8, NULL));
	CHECK(!decode("0041", 8, NULL));
	CHECK(decode("0110", 8, got));		/* a zero nibble is fine */
	CHECK_STR(got, "\x01\x10");
	CHECK(decode("4A4b4C", 8, got));	/* either case */
	CHECK_STR(got, "JKL");
	CHECK(decode("ff80c3a9", 8, got));	/* high bytes */
	CHECK_STR(got, "\xff\x80\xc3\xa9");

	/* Only hexlen characters are read. */
	char out[8];
	memset(out, 'x', sizeof(out));
	CHECK(hex_decode("414243", 4, out, sizeof(out)));
	CHECK_STR(out, "AB");
	CHECK(hex_decode("41zz", 2, out, 2));
	CHECK_STR(out, "A");
}

/* ---- config_parse: options ---------------------------------------------- */

static void test_defaults(void)
{
	CHECK(parse(KERNEL));
	CHECK_EQ(cfg.guests, 1);
	CHECK_EQ(cfg.vcpus, 1);
	CHECK_EQ(cfg.guest_mem, 128UL << 20);
	CHECK_EQ(cfg.kernel_pa, 0x80200000);
	CHECK_EQ(cfg.kernel_size, 0x1000);
	CHECK_EQ(cfg.initrd_pa, 0);
	CHECK_EQ(cfg.initrd_size, 0);
	CHECK(!cfg.batch);
	CHECK_STR(cfg.cmd, "");
	CHECK_STR(cfg.append, "");
	CHECK(cfg.share);
	CHECK(!cfg.net);

	/* Spaces anywhere. */
	CHECK(parse("   " KERNEL "   "));
	CHECK_EQ(cfg.kernel_size, 0x1000);
	CHECK(parse("discv.guests=2    " KERNEL "  discv.vcpus=3 "));
	CHECK_EQ(cfg.guests, 2);
	CHECK_EQ(cfg.vcpus, 3);
}

static void test_options(void)
{
	CHECK(parse(KERNEL " discv.guests=64 discv.vcpus=8 discv.mem=1G"
		    " discv.initrd=0x88000000,12345"));
	CHECK_EQ(cfg.guests, 64);
	CHECK_EQ(cfg.vcpus, 8);
	CHECK_EQ(cfg.guest_mem, 1UL << 30);
	CHECK_EQ(cfg.initrd_pa, 0x88000000);
	CHECK_EQ(cfg.initrd_size, 12345);
	CHECK(parse(KERNEL " discv.guests=0x10"));
	CHECK_EQ(cfg.guests, 16);
	CHECK(parse(KERNEL " discv.guests=1 discv.vcpus=1"));
	CHECK_EQ(cfg.guests, 1);
	CHECK_EQ(cfg.vcpus, 1);
	CHECK(parse("discv.kernel=4096,16"));	/* decimal */
	CHECK_EQ(cfg.kernel_pa, 4096);
	CHECK_EQ(cfg.kernel_size, 16);
	CHECK(parse("discv.kernel=0XABC000,0X10"));
	CHECK_EQ(cfg.kernel_pa, 0xabc000);
	CHECK(parse("discv.kernel=0xffffffffffffffff,0x1"));
	CHECK_EQ(cfg.kernel_pa, UINT64_MAX);

	CHECK(parse(KERNEL " discv.net=1"));
	CHECK(cfg.net);
	CHECK(parse(KERNEL " discv.net=0"));
	CHECK(!cfg.net);
	CHECK(!parse(KERNEL " discv.net=2"));
	CHECK(!parse(KERNEL " discv.net=yes"));
	CHECK(!parse(KERNEL " discv.net="));
	CHECK(parse(KERNEL));
	CHECK(cfg.net_remap && cfg.pv_copy);	/* both on by default */
	CHECK(parse(KERNEL " discv.net_remap=0 discv.pv_copy=0"));
	CHECK(!cfg.net_remap && !cfg.pv_copy);
	CHECK(parse(KERNEL " discv.net_remap=1 discv.pv_copy=1"));
	CHECK(cfg.net_remap && cfg.pv_copy);
	CHECK(!parse(KERNEL " discv.net_remap=2"));
	/* Content sharing and the scanner's caps. */
	CHECK(parse(KERNEL));
	CHECK(cfg.content_share);
	CHECK_EQ(cfg.scan_rate, DEFAULT_SCAN_RATE);
	CHECK_EQ(cfg.scan_rate_vm, DEFAULT_SCAN_RATE_VM);
	CHECK(parse(KERNEL " discv.balloon=1 discv.balloon_oom=1"));
	CHECK(cfg.balloon && cfg.balloon_oom);
	CHECK(!parse(KERNEL " discv.balloon=2"));
	CHECK(!parse(KERNEL " discv.balloon_oom=yes"));
	CHECK(parse(KERNEL " discv.content_share=0"));
	CHECK(!cfg.content_share);
	CHECK(!parse(KERNEL " discv.content_share=2"));
	CHECK(parse(KERNEL " discv.scan_rate=500"));
	CHECK_EQ(cfg.scan_rate, 500);
	CHECK_EQ(cfg.scan_rate_vm, 500);	/* per VM: the total by default */
	CHECK(parse(KERNEL " discv.scan_rate=9000,100"));
	CHECK_EQ(cfg.scan_rate, 9000);
	CHECK_EQ(cfg.scan_rate_vm, 100);
	CHECK(parse(KERNEL " discv.scan_rate=1000000,1000000"));
	CHECK(!parse(KERNEL " discv.scan_rate=100,200"));	/* per VM above the total */
	CHECK_EQ(cfg.ws_period, DEFAULT_WS_PERIOD);
	CHECK(parse(KERNEL " discv.ws_period=5"));
	CHECK_EQ(cfg.ws_period, 5);
	CHECK(parse(KERNEL " discv.ws_period=0"));	/* off */
	CHECK_EQ(cfg.ws_period, 0);
	CHECK(!parse(KERNEL " discv.ws_period=3601"));
	CHECK(!parse(KERNEL " discv.ws_period=-1"));
	CHECK(!parse(KERNEL " discv.ws_period=5s"));
	CHECK(!parse(KERNEL " discv.scan_rate=0"));
	CHECK(!parse(KERNEL " discv.scan_rate=1000001"));
	CHECK(!parse(KERNEL " discv.scan_rate=100,0"));
	CHECK(!parse(KERNEL " discv.scan_rate=100,"));
	CHECK(!parse(KERNEL " discv.scan_rate=,100"));
	CHECK(!parse(KERNEL " discv.scan_rate=1x"));
	CHECK(!parse(KERNEL " discv.scan_rate="));
	CHECK(!parse(KERNEL " discv.pv_copy=on"));
	CHECK(!parse(KERNEL " discv.pv_copy="));

	/* Range checks. */
	CHECK(!parse(KERNEL " discv.guests=0"));
	CHECK(!parse(KERNEL " discv.guests=257"));
	CHECK(parse(KERNEL " discv.guests=256"));
	CHECK(!parse(KERNEL " discv.guests="));
	CHECK(!parse(KERNEL " discv.guests=two"));
	CHECK(!parse(KERNEL " discv.guests=2K"));	/* no suffix for counts */
	CHECK(!parse(KERNEL " discv.guests=-1"));
	CHECK(!parse(KERNEL " discv.guests=18446744073709551617"));
	CHECK(!parse(KERNEL " discv.guests=4294967297"));	/* 2^32 + 1 */
	CHECK(!parse(KERNEL " discv.vcpus=0"));
	CHECK(!parse(KERNEL " discv.vcpus=9"));
	CHECK(!parse(KERNEL " discv.vcpus=0x"));

	/* Blobs: PA,SIZE with a non-zero size. */
	CHECK(!parse("discv.kernel=0x80200000"));
	CHECK(!parse("discv.kernel=,0x1000"));
	CHECK(!parse("discv.kernel=0x80200000,"));
	CHECK(!parse("discv.kernel=0x80200000,0"));
	CHECK(!parse("discv.kernel=0x80200000,abc"));
	CHECK(!parse("discv.kernel=0x80200000,16M"));	/* no suffixes here */
	CHECK(!parse("discv.kernel=0x8020000g,0x10"));
	CHECK(!parse(KERNEL " discv.initrd=0x1000,0"));
	CHECK(!parse(KERNEL " discv.initrd=0x1000"));
}

static void test_mem_suffixes(void)
{
	static const struct { const char *v; uint64_t bytes; } good[] = {
		{ "16M", 16UL << 20 },		/* the minimum */
		{ "16m", 16UL << 20 },
		{ "128M", 128UL << 20 },
		{ "16384K", 16UL << 20 },
		{ "16384k", 16UL << 20 },
		{ "1G", 1UL << 30 },
		{ "1g", 1UL << 30 },
		{ "16G", 16UL << 30 },		/* the maximum */
		{ "134217728", 128UL << 20 },
		{ "0x8000000", 128UL << 20 },
		{ "0x10M", 16UL << 20 },
		{ "18M", 18UL << 20 },
	};
	static const char *const bad[] = {
		"14M",		/* a multiple of 2 MiB, but below the minimum */
		"15M",		/* not a multiple of 2 MiB */
		"17M",
		"2049K",
		"16777217",
		"17G",		/* above the maximum */
		"0", "", "M", "G", "128MB", "128 ", "1T", "128M1", "-128M", "0x", "0xG",
		"18446744073709551616",		/* 2^64 */
		"0xffffffffffffffffK",		/* overflows when scaled */
		"17179869184K",			/* 16 T */
	};
	char line[128];

	for (unsigned i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(line, sizeof(line), KERNEL " discv.mem=%s", good[i].v);
		if (!CHECK(parse(line)))
			printf("    discv.mem=%s: %s\n", good[i].v, err);
		CHECK_EQ(cfg.guest_mem, good[i].bytes);
	}
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), KERNEL " discv.mem=%s", bad[i]);
		if (!CHECK(!parse(line)))
			printf("    discv.mem=%s was accepted as %llu\n", bad[i],
			       (unsigned long long)cfg.guest_mem);
	}
}

static void test_errors(void)
{
	CHECK(!parse(KERNEL " discv.foo=1"));
	CHECK_STR(err, "bad option 'discv.foo=1'");
	CHECK(!parse("discv.guests=2 " KERNEL " discv.vcpus=99"));
	CHECK_STR(err, "bad option 'discv.vcpus=99'");
	CHECK(!parse(KERNEL " quiet"));		/* no '=' */
	CHECK_STR(err, "bad option 'quiet'");
	CHECK(!parse(KERNEL " discv.guests"));
	CHECK_STR(err, "bad option 'discv.guests'");
	CHECK(!parse(KERNEL " =1"));
	CHECK_STR(err, "bad option '=1'");
	CHECK(!parse(KERNEL " DISCV.GUESTS=1"));	/* keys are case-sensitive */
	CHECK(!parse(KERNEL " discv.guests2=1"));
	CHECK(!parse(KERNEL " discv.guest=1"));

	/* No kernel. */
	CHECK(!parse(""));
	CHECK(strstr(err, "discv.kernel") != NULL);
	CHECK(!parse("discv.guests=2"));
	CHECK(strstr(err, "discv.kernel") != NULL);
	CHECK(!parse("    "));
	CHECK(strstr(err, "discv.kernel") != NULL);

	/* A bad option too long for err: truncated, still terminated, within
	 * the buffer (a heap buffer of exactly errlen bytes, for ASan). */
	char longopt[600];
	memset(longopt, 'x', sizeof(longopt) - 1);
	longopt[sizeof(longopt) - 1] = '\0';
	for (size_t errlen = 16; errlen <= 160; errlen += 24) {
		char *e = malloc(errlen);
		if (!e)
			abort();
		CHECK(!config_parse(&cfg, longopt, e, errlen));
		CHECK(memchr(e, '\0', errlen) != NULL);
		CHECK(strncmp(e, "bad option '", 12) == 0);
		if (errlen >= 20)
			CHECK_EQ(e[12], 'x');
		free(e);
	}
}

/* ---- the batch command round trip ---------------------------------------- */

static void round_trip(const char *cmd, size_t n, int line)
{
	char *cl = cmdline_with(KERNEL " discv.cmd=", cmd, n, " discv.guests=2");
	bool ok = parse(cl);

	if (!CHECK(ok)) {
		printf("    (command at line %d) err: %s\n", line, err);
	} else {
		CHECK(cfg.batch);
		if (!CHECK_EQ(strlen(cfg.cmd), n) || !CHECK_MEM(cfg.cmd, cmd, n))
			printf("    (command at line %d)\n", line);
		CHECK_EQ(cfg.guests, 2);	/* options after the command still parse */
	}
	free(cl);
}
#define ROUND_TRIP(s) round_trip((s), sizeof(s) - 1, __LINE__)

static void test_batch_round_trip(void)
{
	ROUND_TRIP("uname -a");
	ROUND_TRIP(":");
	ROUND_TRIP("echo 'single quoted' \"double quoted\" mixed\"'\"'\"'");
	ROUND_TRIP("a; b;; c ; echo done;");
	ROUND_TRIP("echo $(uname -m) `uname -r` ${HOME:-/} $$ $? $0");
	ROUND_TRIP("cat /proc/cpuinfo | grep -c processor | tee /tmp/x || echo fail && true");
	ROUND_TRIP("printf '%s\\n' a\\ b 'c\\\\d' \\\"e\\\"");
	ROUND_TRIP("line one\nline two\r\nline three\n");
	ROUND_TRIP("col1\tcol2\t\tcol3\v\f");
	ROUND_TRIP("echo h\xc3\xa9llo \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x90\xa7");
	ROUND_TRIP("  leading and trailing spaces  ");
	ROUND_TRIP("discv.guests=64 discv.kernel=0,0 = == % %% %s %n");
	ROUND_TRIP("for i in 1 2 3; do echo \"$i\" > /dev/null 2>&1 < /dev/zero & done; wait");
	ROUND_TRIP("\x01\x02\x1b[31mred\x1b[0m\x7f");

	/* Every byte value but NUL, in one command. */
	char all[255];
	for (unsigned i = 0; i < 255; i++)
		all[i] = (char)(i + 1);
	round_trip(all, sizeof(all), __LINE__);
	for (unsigned i = 0; i < 255; i++)	/* and backwards */
		all[i] = (char)(255 - i);
	round_trip(all, sizeof(all), __LINE__);

	/* The longest command that fits (4095 bytes + NUL), and one more. */
	char *big = malloc(CONFIG_CMD_MAX + 1);
	if (!big)
		abort();
	for (unsigned i = 0; i < CONFIG_CMD_MAX; i++)
		big[i] = "echo 'x' \"$y\"; \\\n"[i % 16];
	big[CONFIG_CMD_MAX] = '\0';
	round_trip(big, CONFIG_CMD_MAX - 1, __LINE__);
	char *cl = cmdline_with(KERNEL " discv.cmd=", big, CONFIG_CMD_MAX, "");
	CHECK(!parse(cl));
	CHECK(strncmp(err, "bad option 'discv.cmd=", 22) == 0);
	free(cl);
	free(big);

	/* Malformed hex in the command: rejected, never half-used. */
	CHECK(!parse(KERNEL " discv.cmd=414"));
	CHECK(!parse(KERNEL " discv.cmd=41zz"));
	CHECK(!parse(KERNEL " discv.cmd=410042"));
	CHECK(!parse(KERNEL " discv.cmd=41 42"));	/* '42' is a separate, bad option */
	CHECK_STR(err, "bad option '42'");

	/* No command: not batch. */
	CHECK(parse(KERNEL));
	CHECK(!cfg.batch);
}

static void test_append(void)
{
	static const char app[] = "console=hvc0 quiet init=/bin/sh -- 'a b' \"$x\"";
	char *cl = cmdline_with(KERNEL " discv.append=", app, sizeof(app) - 1, "");

	CHECK(parse(cl));
	CHECK_STR(cfg.append, app);
	CHECK(!cfg.batch);
	free(cl);

	char *big = malloc(CONFIG_APPEND_MAX);
	if (!big)
		abort();
	memset(big, 'a', CONFIG_APPEND_MAX);
	cl = cmdline_with(KERNEL " discv.append=", big, CONFIG_APPEND_MAX - 1, "");
	CHECK(parse(cl));
	CHECK_EQ(strlen(cfg.append), CONFIG_APPEND_MAX - 1);
	free(cl);
	cl = cmdline_with(KERNEL " discv.append=", big, CONFIG_APPEND_MAX, "");
	CHECK(!parse(cl));
	free(cl);
	free(big);
	CHECK(!parse(KERNEL " discv.append=zz"));
}

int main(void)
{
	RUN(test_hex_decode);
	RUN(test_defaults);
	RUN(test_options);
	RUN(test_mem_suffixes);
	RUN(test_errors);
	RUN(test_batch_round_trip);
	RUN(test_append);
	return unit_report("test_config");
}
