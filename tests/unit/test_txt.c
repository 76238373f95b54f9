/* Unit tests for discovery/txt: round trips, RFC 6763 rules, hostile records. */
#include <string.h>
#include <gio/gio.h>

#include "discovery/txt.h"

#define FP "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* Builds a wire-format record from NUL-separated items; items are given
 * as (pointer, length) so that they may hold '=' and binary bytes. */
static size_t wire(uint8_t *out, const char *const *items, size_t n)
{
	size_t pos = 0;

	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(items[i]);
		out[pos++] = (uint8_t)l;
		memcpy(out + pos, items[i], l);
		pos += l;
	}
	return pos;
}

static void test_round_trip(void)
{
	struct idl_txt in = { .version = 1, .caps = IDL_CAP_INFO, .kind = 'd' }, out;
	uint8_t buf[IDL_TXT_WIRE_MAX];
	GError *err = NULL;
	int len;

	g_strlcpy(in.fingerprint, FP, sizeof(in.fingerprint));
	g_strlcpy(in.name, "Zoë's laptop #2", sizeof(in.name));
	len = idl_txt_encode(&in, buf, sizeof(buf));
	g_assert_cmpint(len, >, 0);
	g_assert_cmpint(idl_txt_decode(buf, (size_t)len, &out, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpuint(out.version, ==, 1);
	g_assert_cmpstr(out.fingerprint, ==, FP);
	g_assert_cmpstr(out.name, ==, "Zoë's laptop #2");
	g_assert_cmpuint(out.caps, ==, IDL_CAP_INFO);
	g_assert_cmpint(out.kind, ==, 'd');
	/* The wire form is what other DNS-SD tools show: check it literally. */
	g_assert_nonnull(memmem(buf, (size_t)len, "\x03v=1", 4));
	g_assert_nonnull(memmem(buf, (size_t)len, "\x43" "fp=" FP, 68));
}

/* A browser tab's record names its tab id and the device it is attached
 * to; a device's record carries neither, even when the keys are there. */
static void test_browser_record(void)
{
	struct idl_txt in = { .version = 1, .caps = IDL_CAP_WEBRTC, .kind = 'b' }, out;
	const char *device_items[] = { "v=1", "fp=" FP, "k=d", "t=0123456789abcdef", "d=Other" };
	uint8_t buf[IDL_TXT_WIRE_MAX];
	int len;

	g_strlcpy(in.fingerprint, FP, sizeof(in.fingerprint));
	g_strlcpy(in.name, "Firefox on Android", sizeof(in.name));
	g_strlcpy(in.device, "Zoë's laptop", sizeof(in.device));
	g_strlcpy(in.tab, "00ff00ff00ff00ff", sizeof(in.tab));
	len = idl_txt_encode(&in, buf, sizeof(buf));
	g_assert_cmpint(len, >, 0);
	g_assert_nonnull(memmem(buf, (size_t)len, "\x12t=00ff00ff00ff00ff", 19));
	g_assert_cmpint(idl_txt_decode(buf, (size_t)len, &out, NULL), ==, 0);
	g_assert_cmpint(out.kind, ==, 'b');
	g_assert_cmpstr(out.device, ==, "Zoë's laptop");
	g_assert_cmpstr(out.tab, ==, "00ff00ff00ff00ff");
	g_assert_cmpstr(out.name, ==, "Firefox on Android");

	len = (int)wire(buf, device_items, G_N_ELEMENTS(device_items));
	g_assert_cmpint(idl_txt_decode(buf, (size_t)len, &out, NULL), ==, 0);
	g_assert_cmpint(out.kind, ==, 'd');
	g_assert_cmpstr(out.tab, ==, "");
	g_assert_cmpstr(out.device, ==, "");

	/* A browser record must be reachable: no tab id or a bad one is refused. */
	in.tab[0] = 0;
	g_assert_cmpint(idl_txt_encode(&in, buf, sizeof(buf)), ==, -EINVAL);
	g_strlcpy(in.tab, "00FF00FF00FF00FF", sizeof(in.tab));
	g_assert_cmpint(idl_txt_encode(&in, buf, sizeof(buf)), ==, -EINVAL);
	g_assert_false(idl_txt_tab_valid("0123456789abcde", 15));
	g_assert_false(idl_txt_tab_valid("0123456789abcdeg", 16));
	g_assert_true(idl_txt_tab_valid("0123456789abcdef", 16));
}

static void test_encode_rejects(void)
{
	struct idl_txt t = { .version = 1, .kind = 'd' };
	uint8_t buf[IDL_TXT_WIRE_MAX];

	g_strlcpy(t.fingerprint, "xyz", sizeof(t.fingerprint));
	g_assert_cmpint(idl_txt_encode(&t, buf, sizeof(buf)), ==, -EINVAL);
	g_strlcpy(t.fingerprint, FP, sizeof(t.fingerprint));
	g_strlcpy(t.name, "bad\nname", sizeof(t.name));
	g_assert_cmpint(idl_txt_encode(&t, buf, sizeof(buf)), ==, -EINVAL);
	t.name[0] = 0;
	t.kind = 'x';
	g_assert_cmpint(idl_txt_encode(&t, buf, sizeof(buf)), ==, -EINVAL);
	t.kind = 'd';
	g_assert_cmpint(idl_txt_encode(&t, buf, 10), ==, -ENOSPC);
	t.version = 0;
	g_assert_cmpint(idl_txt_encode(&t, buf, sizeof(buf)), ==, -EINVAL);
}

static void test_rfc6763_rules(void)
{
	/* Case-insensitive keys, first occurrence wins, unknown keys and empty
	 * keys ignored, unknown capability tokens ignored. */
	const char *items[] = { "V=2", "v=9", "=junk", "zz=1", "FP=" FP, "c=future,info,,x", "n=Hi", "n=Ignored" };
	uint8_t buf[512];
	struct idl_txt t;
	GError *err = NULL;
	size_t len = wire(buf, items, G_N_ELEMENTS(items));

	g_assert_cmpint(idl_txt_decode(buf, len, &t, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpuint(t.version, ==, 2);
	g_assert_cmpstr(t.fingerprint, ==, FP);
	g_assert_cmpuint(t.caps, ==, IDL_CAP_INFO);
	g_assert_cmpstr(t.name, ==, "Hi");
	g_assert_cmpint(t.kind, ==, 'd');
}

static void test_uppercase_fingerprint_normalised(void)
{
	char upper[80];
	const char *items[2] = { "v=1", upper };
	uint8_t buf[256];
	struct idl_txt t;

	g_snprintf(upper, sizeof(upper), "fp=%s", FP);
	for (char *p = upper + 3; *p; p++)
		*p = g_ascii_toupper(*p);
	g_assert_cmpint(idl_txt_decode(buf, wire(buf, items, 2), &t, NULL), ==, 0);
	g_assert_cmpstr(t.fingerprint, ==, FP);
}

struct hostile {
	const char *why;
	const char *items[4];
};

static void test_hostile_records(void)
{
	static const struct hostile cases[] = {
		{ "no v", { "fp=" FP } },
		{ "no fp", { "v=1" } },
		{ "v not a number", { "v=1x", "fp=" FP } },
		{ "v zero", { "v=0", "fp=" FP } },
		{ "v negative", { "v=-1", "fp=" FP } },
		{ "v huge", { "v=99999999999", "fp=" FP } },
		{ "v empty", { "v=", "fp=" FP } },
		{ "v boolean", { "v", "fp=" FP } },
		{ "fp short", { "v=1", "fp=0123" } },
		{ "fp long", { "v=1", "fp=" FP "00" } },
		{ "fp non-hex", { "v=1", "fp=zz23456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" } },
		{ "name with control char", { "v=1", "fp=" FP, "n=a\x01" "b" } },
		{ "name not UTF-8", { "v=1", "fp=" FP, "n=\xff\xfe" } },
		{ "name empty", { "v=1", "fp=" FP, "n=" } },
		{ "unknown kind", { "v=1", "fp=" FP, "k=zz" } },
		{ "browser without tab id", { "v=1", "fp=" FP, "k=b" } },
		{ "browser with bad tab id", { "v=1", "fp=" FP, "k=b", "t=../../etc" } },
		{ "browser with bad device", { "v=1", "fp=" FP, "t=0123456789abcdef", "d=a\x7f" } },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		uint8_t buf[512];
		size_t n = 0, len;
		struct idl_txt t;
		GError *err = NULL;

		while (n < 4 && cases[i].items[n])
			n++;
		len = wire(buf, cases[i].items, n);
		if (idl_txt_decode(buf, len, &t, &err) != -EINVAL)
			g_error("hostile TXT accepted: %s", cases[i].why);
		g_assert_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
		g_assert_cmpuint(strlen(err->message), >, 10);
		g_error_free(err);
	}
}

static void test_truncated_and_binary(void)
{
	const char *items[] = { "v=1", "fp=" FP, "n=Name" };
	uint8_t buf[512], junk[300];
	size_t len = wire(buf, items, 3);
	struct idl_txt t;

	/* Every prefix that cuts an item short is refused, never over-read
	 * (ASan watches the reads). */
	for (size_t cut = 1; cut < len; cut++) {
		uint8_t *copy = g_memdup2(buf, cut);
		GError *err = NULL;
		int r = idl_txt_decode(copy, cut, &t, &err);
		g_assert_true(r == 0 || r == -EINVAL);
		g_assert_true((r == 0) == (err == NULL));
		g_clear_error(&err);
		g_free(copy);
	}
	/* A length byte larger than what follows. */
	buf[0] = 200;
	g_assert_cmpint(idl_txt_decode(buf, 10, &t, NULL), ==, -EINVAL);
	/* Random bytes: never crash, always a definite answer. */
	for (int round = 0; round < 2000; round++) {
		size_t n = (size_t)g_random_int_range(0, sizeof(junk));
		for (size_t i = 0; i < n; i++)
			junk[i] = (uint8_t)g_random_int_range(0, 256);
		int r = idl_txt_decode(junk, n, &t, NULL);
		g_assert_true(r == 0 || r == -EINVAL);
	}
	/* An empty record is not an idrop-lan record. */
	g_assert_cmpint(idl_txt_decode(buf, 0, &t, NULL), ==, -EINVAL);
}

static void test_name_valid(void)
{
	char long_name[70];

	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = 0;
	g_assert_true(idl_name_valid("Alice", 5));
	g_assert_true(idl_name_valid("日本語", strlen("日本語")));
	g_assert_true(idl_name_valid(long_name, 63));
	g_assert_false(idl_name_valid(long_name, 64));
	g_assert_false(idl_name_valid("", 0));
	g_assert_false(idl_name_valid("tab\there", 8));
	g_assert_false(idl_name_valid("nul\0x", 5));
	g_assert_false(idl_name_valid("\xc3", 1));
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/txt/round-trip", test_round_trip);
	g_test_add_func("/txt/browser", test_browser_record);
	g_test_add_func("/txt/encode-rejects", test_encode_rejects);
	g_test_add_func("/txt/rfc6763-rules", test_rfc6763_rules);
	g_test_add_func("/txt/uppercase-fingerprint", test_uppercase_fingerprint_normalised);
	g_test_add_func("/txt/hostile", test_hostile_records);
	g_test_add_func("/txt/truncated-and-binary", test_truncated_and_binary);
	g_test_add_func("/txt/name-valid", test_name_valid);
	return g_test_run();
}
