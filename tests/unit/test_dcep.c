/* Unit tests for sctp/dcep: round trips, the wire layout, hostile frames. */
#include <errno.h>
#include <string.h>
#include <glib.h>

#include "sctp/dcep.h"

/* Decodes a heap copy of exactly len bytes, so that ASan catches any read
 * past the end. */
static int decode_exact(const uint8_t *buf, size_t len, struct idl_dcep_msg *out)
{
	uint8_t *copy = g_malloc(len ? len : 1);
	int r;

	if (len)
		memcpy(copy, buf, len);
	r = idl_dcep_decode(copy, len, out);
	g_free(copy);
	return r;
}

static void test_open_wire(void)
{
	/* What a browser sends for createDataChannel("chat", {protocol: "p"}):
	 * RFC 8832 section 5.1, big-endian fields. */
	static const uint8_t wire[] = {
		0x03, 0x00, 0x01, 0x00,  0x00, 0x00, 0x00, 0x00,
		0x00, 0x04, 0x00, 0x01,  'c', 'h', 'a', 't', 'p',
	};
	struct idl_dcep_open o = {
		.channel_type = IDL_DCEP_RELIABLE, .priority = 256,
		.label = "chat", .label_len = 4, .protocol = "p", .protocol_len = 1,
	};
	struct idl_dcep_msg m;
	uint8_t buf[64];

	g_assert_cmpint(idl_dcep_encode_open(&o, buf, sizeof(buf)), ==, sizeof(wire));
	g_assert_cmpmem(buf, sizeof(wire), wire, sizeof(wire));
	g_assert_cmpuint(idl_dcep_open_size(4, 1), ==, sizeof(wire));

	g_assert_cmpint(idl_dcep_decode(wire, sizeof(wire), &m), ==, 0);
	g_assert_cmpint(m.type, ==, IDL_DCEP_OPEN);
	g_assert_cmpuint(m.open.channel_type, ==, IDL_DCEP_RELIABLE);
	g_assert_cmpuint(m.open.priority, ==, 256);
	g_assert_cmpuint(m.open.reliability, ==, 0);
	/* Label and protocol point into the input: nothing is copied. */
	g_assert_true(m.open.label == (const char *)wire + 12);
	g_assert_cmpmem(m.open.label, m.open.label_len, "chat", 4);
	g_assert_true(m.open.protocol == (const char *)wire + 16);
	g_assert_cmpmem(m.open.protocol, m.open.protocol_len, "p", 1);
}

static void test_round_trips(void)
{
	static const struct {
		uint8_t type;
		uint16_t priority;
		uint32_t reliability;
		const char *label, *protocol;
	} cases[] = {
		{ IDL_DCEP_RELIABLE, 0, 0, "", "" },
		{ IDL_DCEP_RELIABLE, 256, 0, "file-transfer", "idrop/1" },
		{ IDL_DCEP_RELIABLE_UNORDERED, 512, 0, "zoë ☃", "" },
		{ IDL_DCEP_PARTIAL_REXMIT, 128, 3, "", "x" },
		{ IDL_DCEP_PARTIAL_REXMIT_UNORDERED, 0xffff, 0xffffffffu, "a", "b" },
		{ IDL_DCEP_PARTIAL_TIMED, 1, 1500, "timed", "proto" },
		{ IDL_DCEP_PARTIAL_TIMED_UNORDERED, 2, 0x01020304, "t", "" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct idl_dcep_open o = {
			.channel_type = cases[i].type, .priority = cases[i].priority,
			.reliability = cases[i].reliability,
			.label = cases[i].label, .label_len = strlen(cases[i].label),
			.protocol = cases[i].protocol, .protocol_len = strlen(cases[i].protocol),
		};
		struct idl_dcep_msg m;
		uint8_t buf[256];
		int n = idl_dcep_encode_open(&o, buf, sizeof(buf));

		g_assert_cmpint(n, ==, (int)idl_dcep_open_size(o.label_len, o.protocol_len));
		g_assert_cmpint(decode_exact(buf, (size_t)n, &m), ==, 0);
		g_assert_cmpint(m.type, ==, IDL_DCEP_OPEN);
		g_assert_cmpuint(m.open.channel_type, ==, cases[i].type);
		g_assert_cmpuint(m.open.priority, ==, cases[i].priority);
		g_assert_cmpuint(m.open.reliability, ==, cases[i].reliability);
		g_assert_cmpuint(m.open.label_len, ==, o.label_len);
		g_assert_cmpuint(m.open.protocol_len, ==, o.protocol_len);
		g_assert_cmpint(idl_dcep_decode(buf, (size_t)n, &m), ==, 0);
		g_assert_cmpmem(m.open.label, m.open.label_len, o.label, o.label_len);
		g_assert_cmpmem(m.open.protocol, m.open.protocol_len, o.protocol, o.protocol_len);
	}
}

static void test_longest_label(void)
{
	size_t n = 65535;
	char *label = g_malloc(n);
	size_t size = idl_dcep_open_size(n, n);
	uint8_t *buf = g_malloc(size);
	struct idl_dcep_open o = { .channel_type = IDL_DCEP_RELIABLE, .label = label,
				   .label_len = n, .protocol = label, .protocol_len = n };
	struct idl_dcep_msg m;

	memset(label, 'L', n);
	g_assert_cmpint(idl_dcep_encode_open(&o, buf, size), ==, (int)size);
	g_assert_cmpint(decode_exact(buf, size, &m), ==, 0);
	g_assert_cmpuint(m.open.label_len, ==, n);
	g_assert_cmpuint(m.open.protocol_len, ==, n);
	/* One byte more does not fit the 16-bit length. */
	o.label_len = n + 1;
	g_assert_cmpint(idl_dcep_encode_open(&o, buf, size), ==, -EINVAL);
	o.label_len = n;
	o.protocol_len = n + 1;
	g_assert_cmpint(idl_dcep_encode_open(&o, buf, size), ==, -EINVAL);
	g_free(buf);
	g_free(label);
}

static void test_ack(void)
{
	uint8_t buf[4] = { 0xaa, 0xaa, 0xaa, 0xaa };
	struct idl_dcep_msg m;

	g_assert_cmpint(idl_dcep_encode_ack(buf, 0), ==, -ENOSPC);
	g_assert_cmpuint(buf[0], ==, 0xaa);
	g_assert_cmpint(idl_dcep_encode_ack(buf, sizeof(buf)), ==, 1);
	g_assert_cmpuint(buf[0], ==, 0x02);
	g_assert_cmpuint(buf[1], ==, 0xaa);
	g_assert_cmpint(decode_exact(buf, 1, &m), ==, 0);
	g_assert_cmpint(m.type, ==, IDL_DCEP_ACK);
	g_assert_cmpint(decode_exact(NULL, 0, &m), ==, -EINVAL);
}

/* Other stacks' ACKs: the type byte is what counts, as in libwebrtc. Pion
 * (pion/datachannel message_channel_ack.go) and webrtc-rs send the type
 * and three zero bytes; refusing them left every channel we open with
 * those stacks waiting for an ACK forever. */
static void test_ack_liberal(void)
{
	static const struct {
		const char *who;
		size_t len;
		uint8_t bytes[8];
	} cases[] = {
		{ "RFC 8832 / libwebrtc / usrsctp stacks", 1, { 0x02 } },
		{ "Pion, webrtc-rs (4 bytes)", 4, { 0x02, 0x00, 0x00, 0x00 } },
		{ "two bytes", 2, { 0x02, 0x00 } },
		{ "trailing junk", 8, { 0x02, 0xff, 0x03, 0x00, 0x7f, 0x80, 0x01, 0x02 } },
	};
	struct idl_dcep_msg m;

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		if (decode_exact(cases[i].bytes, cases[i].len, &m) != 0 || m.type != IDL_DCEP_ACK)
			g_error("refused the ACK of %s", cases[i].who);
	}
	/* A longer ACK is big, not an OPEN: 65535 bytes after the type. */
	{
		size_t n = 65536;
		uint8_t *big = g_malloc0(n);
		big[0] = IDL_DCEP_ACK;
		g_assert_cmpint(decode_exact(big, n, &m), ==, 0);
		g_assert_cmpint(m.type, ==, IDL_DCEP_ACK);
		g_free(big);
	}
	/* The type byte still decides: zeros after an unknown type are not an ACK. */
	{
		static const uint8_t not_ack[] = { 0x01, 0x02, 0x00, 0x00 };
		g_assert_cmpint(decode_exact(not_ack, sizeof(not_ack), &m), ==, -EINVAL);
	}
}

static void test_encode_rejects(void)
{
	struct idl_dcep_open o = { .channel_type = IDL_DCEP_RELIABLE, .label = "abc",
				   .label_len = 3, .protocol = "de", .protocol_len = 2 };
	uint8_t buf[32];
	size_t need = idl_dcep_open_size(3, 2);

	/* Every capacity short of the size is refused, untouched past cap. */
	for (size_t cap = 0; cap < need; cap++) {
		memset(buf, 0x55, sizeof(buf));
		g_assert_cmpint(idl_dcep_encode_open(&o, buf, cap), ==, -ENOSPC);
		for (size_t i = 0; i < sizeof(buf); i++)
			g_assert_cmpuint(buf[i], ==, 0x55);
	}
	g_assert_cmpint(idl_dcep_encode_open(&o, buf, need), ==, (int)need);
	o.channel_type = 0x03;
	g_assert_cmpint(idl_dcep_encode_open(&o, buf, sizeof(buf)), ==, -EINVAL);
	o.channel_type = 0x7f;
	g_assert_cmpint(idl_dcep_encode_open(&o, buf, sizeof(buf)), ==, -EINVAL);
	o.channel_type = IDL_DCEP_RELIABLE;
	o.label = NULL;
	g_assert_cmpint(idl_dcep_encode_open(&o, buf, sizeof(buf)), ==, -EINVAL);
}

/* A valid OPEN for label "lbl", protocol "pr", to mutate. */
static size_t valid_open(uint8_t *buf)
{
	static const uint8_t v[] = {
		0x03, 0x80, 0x00, 0x00,  0x00, 0x00, 0x00, 0x00,
		0x00, 0x03, 0x00, 0x02,  'l', 'b', 'l', 'p', 'r',
	};
	memcpy(buf, v, sizeof(v));
	return sizeof(v);
}

static void test_truncated(void)
{
	uint8_t buf[64];
	size_t n = valid_open(buf);
	struct idl_dcep_msg m;

	g_assert_cmpint(decode_exact(buf, n, &m), ==, 0);
	g_assert_cmpuint(m.open.channel_type, ==, IDL_DCEP_RELIABLE_UNORDERED);
	/* Cut at every length, header and payload alike. */
	for (size_t len = 0; len < n; len++)
		g_assert_cmpint(decode_exact(buf, len, &m), ==, -EINVAL);
	g_assert_cmpint(idl_dcep_decode(NULL, 0, &m), ==, -EINVAL);
	/* Trailing bytes are as wrong as missing ones. */
	buf[n] = 'x';
	g_assert_cmpint(decode_exact(buf, n + 1, &m), ==, -EINVAL);
}

static void test_hostile(void)
{
	static const struct {
		const char *what;
		size_t offset;     /* byte to overwrite in the valid OPEN */
		uint8_t value;
	} cases[] = {
		{ "label length 0xff03", 8, 0xff },
		{ "label length 4 (one too many)", 9, 0x04 },
		{ "label length 2 (one too few)", 9, 0x02 },
		{ "protocol length 0xff02", 10, 0xff },
		{ "protocol length 3", 11, 0x03 },
		{ "protocol length 0", 11, 0x00 },
		{ "channel type 0x03", 1, 0x03 },
		{ "channel type 0x7f", 1, 0x7f },
		{ "channel type 0x83", 1, 0x83 },
		{ "channel type 0xff", 1, 0xff },
		{ "message type 0x00", 0, 0x00 },
		{ "message type 0x01", 0, 0x01 },
		{ "message type 0x04 (legacy close)", 0, 0x04 },
		{ "message type 0xff", 0, 0xff },
		{ "NUL in the label", 13, 0x00 },
		{ "invalid UTF-8 in the label", 12, 0xff },
		{ "truncated UTF-8 in the protocol", 16, 0xc3 },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		uint8_t buf[64];
		size_t n = valid_open(buf);
		struct idl_dcep_msg m;

		buf[cases[i].offset] = cases[i].value;
		if (decode_exact(buf, n, &m) != -EINVAL)
			g_error("accepted a hostile OPEN: %s", cases[i].what);
	}
	/* Huge lengths announced over a short body. */
	{
		uint8_t buf[12] = { 0x03, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff };
		struct idl_dcep_msg m;
		g_assert_cmpint(decode_exact(buf, sizeof(buf), &m), ==, -EINVAL);
	}
	/* Unknown one-byte messages. */
	for (unsigned t = 0; t < 256; t++) {
		uint8_t b = (uint8_t)t;
		struct idl_dcep_msg m;
		if (t == IDL_DCEP_ACK)
			continue;
		g_assert_cmpint(decode_exact(&b, 1, &m), ==, -EINVAL);
	}
}

/* Random bytes never crash the decoder, and whatever it accepts encodes
 * back to the same bytes. */
static void test_random(void)
{
	GRand *rnd = g_rand_new_with_seed(8832);

	for (int i = 0; i < 20000; i++) {
		uint8_t buf[40], again[40];
		size_t len = (size_t)g_rand_int_range(rnd, 0, sizeof(buf));
		struct idl_dcep_msg m;

		for (size_t j = 0; j < len; j++)
			buf[j] = (uint8_t)g_rand_int(rnd);
		/* Bias toward OPEN with plausible lengths, to reach deeper. */
		if (len >= 12 && (i & 1)) {
			buf[0] = IDL_DCEP_OPEN;
			buf[1] = (i & 2) ? 0x80 : 0x00;
			buf[8] = 0;
			buf[9] = (uint8_t)g_rand_int_range(rnd, 0, 30);
			buf[10] = 0;
			buf[11] = (uint8_t)g_rand_int_range(rnd, 0, 30);
		}
		if (decode_exact(buf, len, &m) == 0 && m.type == IDL_DCEP_OPEN) {
			int n;
			g_assert_cmpint(idl_dcep_decode(buf, len, &m), ==, 0);
			n = idl_dcep_encode_open(&m.open, again, sizeof(again));
			g_assert_cmpint(n, ==, (int)len);
			g_assert_cmpmem(again, len, buf, len);
		}
	}
	g_rand_free(rnd);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/dcep/open-wire", test_open_wire);
	g_test_add_func("/dcep/round-trips", test_round_trips);
	g_test_add_func("/dcep/longest-label", test_longest_label);
	g_test_add_func("/dcep/ack", test_ack);
	g_test_add_func("/dcep/ack-liberal", test_ack_liberal);
	g_test_add_func("/dcep/encode-rejects", test_encode_rejects);
	g_test_add_func("/dcep/truncated", test_truncated);
	g_test_add_func("/dcep/hostile", test_hostile);
	g_test_add_func("/dcep/random", test_random);
	return g_test_run();
}
