/* Unit tests for transport/sdp: our own SDP round trip, offers shaped like
 * Chrome's, Firefox's and aiortc's, and a table of hostile descriptions. */
#include <string.h>
#include <gio/gio.h>

#include "transport/sdp.h"

#define FP_A "CA:97:81:12:CA:1B:BD:CA:FA:C2:31:B3:9A:23:DC:4D:A7:86:EF:F8:14:7C:4E:72:B9:80:77:85:AF:EE:48:BB"
#define FP_B "3E:23:E8:16:00:39:59:4A:33:89:4F:65:64:E1:B1:34:8B:BD:7A:00:88:D4:2C:4A:CB:73:EE:AE:D5:9C:00:9D"
#define FP_C "2E:7D:2C:03:A9:50:7A:E2:65:EC:F5:B5:35:68:85:A5:33:93:A2:02:9D:24:13:94:99:72:65:A1:A2:5A:EF:C6"
#define FP_384 "8A:C1:07:05:A7:8A:2D:CD:15:FA:57:7B:AC:70:76:27:08:59:7A:02:E1:30:D8:A6:19:2D:73:DA:BA:BD:" \
	"2B:14:50:2D:BE:EE:29:D0:E2:2B:C3:41:A0:C4:2A:F6:A4:FB"
#define FP_512 "87:C5:68:E0:37:A5:FA:50:B1:BC:91:1E:8E:E1:9A:77:C4:DD:3C:22:BC:E9:93:2F:86:FD:D8:A2:16:AF:" \
	"E1:68:1C:89:73:7F:AD:A6:85:9E:91:04:7E:EC:E7:11:EC:16:DA:62:D6:CC:B9:FD:0D:E2:C5:1F:13:23:47:35:0D:8C"

#define MDNS "7f0a6e1c-3b2d-4c5e-9f8a-1b2c3d4e5f60.local"

/* Chrome's data-channel-only offer once gathering is complete: host
 * addresses hidden behind mDNS names, a TCP candidate, no end-of-candidates. */
static const char chrome_offer[] =
	"v=0\r\n"
	"o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
	"s=-\r\n"
	"t=0 0\r\n"
	"a=group:BUNDLE 0\r\n"
	"a=extmap-allow-mixed\r\n"
	"a=msid-semantic: WMS\r\n"
	"m=application 58912 UDP/DTLS/SCTP webrtc-datachannel\r\n"
	"c=IN IP4 0.0.0.0\r\n"
	"a=candidate:3326064542 1 udp 2113937151 " MDNS " 58912 typ host generation 0 network-cost 999\r\n"
	"a=candidate:1157422522 1 tcp 1518157055 " MDNS " 9 typ host tcptype active generation 0 network-cost 999\r\n"
	"a=candidate:842163049 1 udp 1677729535 203.0.113.7 58912 typ srflx raddr 0.0.0.0 rport 0 "
	"generation 0 network-cost 999\r\n"
	"a=ice-ufrag:x9Qb\r\n"
	"a=ice-pwd:LbYt8Hq7rW2pN5sK3dF6gJ1z\r\n"
	"a=ice-options:trickle\r\n"
	"a=fingerprint:sha-256 " FP_A "\r\n"
	"a=setup:actpass\r\n"
	"a=mid:0\r\n"
	"a=sctp-port:5000\r\n"
	"a=max-message-size:262144\r\n";

/* Firefox: fingerprint at session level, ICE credentials at media level,
 * upper-case transports, end-of-candidates, a huge max-message-size. */
static const char firefox_offer[] =
	"v=0\r\n"
	"o=mozilla...THIS_IS_SDPARTA-128.0 7281943578402741025 0 IN IP4 0.0.0.0\r\n"
	"s=-\r\n"
	"t=0 0\r\n"
	"a=fingerprint:sha-256 " FP_B "\r\n"
	"a=group:BUNDLE 0\r\n"
	"a=ice-options:trickle\r\n"
	"a=msid-semantic:WMS *\r\n"
	"m=application 50123 UDP/DTLS/SCTP webrtc-datachannel\r\n"
	"c=IN IP4 203.0.113.9\r\n"
	"a=candidate:0 1 UDP 2122252543 a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d.local 50123 typ host\r\n"
	"a=candidate:2 1 TCP 2105524479 a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d.local 9 typ host tcptype active\r\n"
	"a=candidate:1 1 UDP 1686052863 203.0.113.9 50123 typ srflx raddr 0.0.0.0 rport 0\r\n"
	"a=candidate:3 1 UDP 2122187007 fd00::1:2 50124 typ host\r\n"
	"a=sendrecv\r\n"
	"a=end-of-candidates\r\n"
	"a=ice-pwd:4f1c0e2d3b5a69788796a5b4c3d2e1f0\r\n"
	"a=ice-ufrag:8d3e2f1a\r\n"
	"a=mid:0\r\n"
	"a=setup:actpass\r\n"
	"a=sctp-port:5000\r\n"
	"a=max-message-size:1073741823\r\n";

/* aiortc 1.4: the legacy m-line with the SCTP port as format, a=sctpmap,
 * real IPv4 candidates, three fingerprints of which only sha-256 is ours. */
static const char aiortc_offer[] =
	"v=0\r\n"
	"o=- 3868712345 3868712345 IN IP4 0.0.0.0\r\n"
	"s=-\r\n"
	"t=0 0\r\n"
	"a=group:BUNDLE 0\r\n"
	"a=msid-semantic:WMS *\r\n"
	"m=application 51234 DTLS/SCTP 5000\r\n"
	"c=IN IP4 192.168.1.10\r\n"
	"a=mid:0\r\n"
	"a=sctpmap:5000 webrtc-datachannel 65535\r\n"
	"a=max-message-size:65536\r\n"
	"a=candidate:5d2c9e0f1a3b4c6d7e8f9a0b1c2d3e4f 1 udp 2130706431 192.168.1.10 51234 typ host\r\n"
	"a=candidate:9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d 1 udp 1694498815 203.0.113.20 51234 typ srflx "
	"raddr 192.168.1.10 rport 51234\r\n"
	"a=end-of-candidates\r\n"
	"a=ice-ufrag:Ab3d\r\n"
	"a=ice-pwd:Zx9yW8vU7tS6rQ5pO4nM3l\r\n"
	"a=fingerprint:sha-384 " FP_384 "\r\n"
	"a=fingerprint:sha-256 " FP_C "\r\n"
	"a=fingerprint:sha-512 " FP_512 "\r\n"
	"a=setup:actpass\r\n";

/* The smallest offer we accept; the hostile cases edit one line of it. */
static const char base_offer[] =
	"v=0\r\n"
	"o=- 1 2 IN IP4 127.0.0.1\r\n"
	"s=-\r\n"
	"t=0 0\r\n"
	"a=group:BUNDLE 0\r\n"
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
	"c=IN IP4 0.0.0.0\r\n"
	"a=mid:0\r\n"
	"a=ice-ufrag:abcd\r\n"
	"a=ice-pwd:abcdefghijklmnopqrstuv\r\n"
	"a=fingerprint:sha-256 " FP_A "\r\n"
	"a=setup:actpass\r\n"
	"a=sctp-port:5000\r\n"
	"a=max-message-size:262144\r\n"
	"a=candidate:1 1 udp 2122260223 192.168.1.2 50000 typ host\r\n"
	"a=end-of-candidates\r\n";

static void fp_raw(const char *text, unsigned char raw[IDL_FINGERPRINT_SIZE])
{
	g_assert_cmpint(idl_fingerprint_parse(text, raw), ==, 0);
}

static int parse_str(const char *text, struct idl_sdp *out, GError **err)
{
	return idl_sdp_parse(text, strlen(text), out, err);
}

static guint ncandidates(const struct idl_sdp *s)
{
	return g_strv_length(s->candidates);
}

/* Replaces the first line that starts with prefix by repl (which may hold
 * several CRLF lines, or be "" to delete the line). */
static char *edit(const char *base, const char *prefix, const char *repl)
{
	const char *at = strstr(base, prefix), *end;

	g_assert_nonnull(at);
	end = strstr(at, "\r\n");
	g_assert_nonnull(end);
	return g_strdup_printf("%.*s%s%s%s", (int)(at - base), base, repl, *repl ? "\r\n" : "", end + 2);
}

static void test_format_fingerprint(void)
{
	unsigned char raw[IDL_FINGERPRINT_SIZE];
	char out[96];

	fp_raw(FP_A, raw);
	idl_sdp_format_fingerprint(raw, out);
	g_assert_cmpstr(out, ==, FP_A);
	memset(raw, 0x0f, sizeof(raw));
	idl_sdp_format_fingerprint(raw, out);
	g_assert_cmpuint(strlen(out), ==, 95);
	g_assert_true(g_str_has_prefix(out, "0F:0F:"));
}

/* Exactly the shape browsers accept (see the notes): golden text. */
static void test_build_golden(void)
{
	static const char *const cands[] = {
		"candidate:1 1 UDP 2130706431 192.168.1.5 50000 typ host",
		"candidate:2 1 UDP 2130706175 fd00::5 50001 typ host",
		NULL,
	};
	unsigned char raw[IDL_FINGERPRINT_SIZE];
	struct idl_sdp_local l = {
		.session_id = 18446744073709551615ULL,
		.ice_ufrag = "uF+/",
		.ice_pwd = "0123456789abcdefghijkl",
		.fingerprint = raw,
		.setup = IDL_SDP_SETUP_ACTIVE,
		.mid = "0",
		.candidates = cands,
		.address = "192.168.1.5",
		.port = 50000,
	};
	char *s;

	fp_raw(FP_A, raw);
	s = idl_sdp_build(&l);
	g_assert_cmpstr(s, ==,
		"v=0\r\n"
		"o=- 18446744073709551615 2 IN IP4 127.0.0.1\r\n"
		"s=-\r\n"
		"t=0 0\r\n"
		"a=group:BUNDLE 0\r\n"
		"m=application 50000 UDP/DTLS/SCTP webrtc-datachannel\r\n"
		"c=IN IP4 192.168.1.5\r\n"
		"a=mid:0\r\n"
		"a=ice-ufrag:uF+/\r\n"
		"a=ice-pwd:0123456789abcdefghijkl\r\n"
		"a=fingerprint:sha-256 " FP_A "\r\n"
		"a=setup:active\r\n"
		"a=sctp-port:5000\r\n"
		"a=max-message-size:262144\r\n"
		"a=candidate:1 1 UDP 2130706431 192.168.1.5 50000 typ host\r\n"
		"a=candidate:2 1 UDP 2130706175 fd00::5 50001 typ host\r\n"
		"a=end-of-candidates\r\n");
	g_free(s);

	/* Defaults, and the legacy form answering aiortc in its own dialect. */
	l.address = NULL;
	l.port = 0;
	l.candidates = NULL;
	l.legacy = true;
	l.setup = IDL_SDP_SETUP_ACTPASS;
	s = idl_sdp_build(&l);
	g_assert_nonnull(strstr(s, "\r\nm=application 9 DTLS/SCTP 5000\r\nc=IN IP4 0.0.0.0\r\n"));
	g_assert_nonnull(strstr(s, "\r\na=sctpmap:5000 webrtc-datachannel 1024\r\n"));
	g_assert_null(strstr(s, "sctp-port"));
	g_assert_null(strstr(s, "a=candidate"));
	g_assert_null(strstr(s, "trickle"));
	g_assert_nonnull(strstr(s, "a=setup:actpass\r\n"));
	g_assert_true(g_str_has_suffix(s, "a=end-of-candidates\r\n"));
	g_free(s);

	l.address = "fd00::5";
	l.mid = NULL;          /* no mid: neither BUNDLE nor a=mid */
	s = idl_sdp_build(&l);
	g_assert_nonnull(strstr(s, "\r\nc=IN IP6 fd00::5\r\n"));
	g_assert_null(strstr(s, "BUNDLE"));
	g_assert_null(strstr(s, "a=mid"));
	g_free(s);
}

static void check_round_trip(bool legacy, enum idl_sdp_setup setup, const char *mid)
{
	static const char *const cands[] = {
		"candidate:1 1 UDP 2130706431 192.168.1.5 50000 typ host",
		"candidate:842163049 1 udp 1677729535 203.0.113.7 58912 typ srflx raddr 0.0.0.0 rport 0 generation 0",
		"candidate:3 1 udp 2113937151 " MDNS " 58912 typ host",
		NULL,
	};
	unsigned char raw[IDL_FINGERPRINT_SIZE];
	struct idl_sdp_local l = {
		.session_id = 42,
		.ice_ufrag = "AbCd1234",
		.ice_pwd = "Zx9yW8vU7tS6rQ5pO4nM3l+/Zx9yW8vU7tS6rQ5pO4nM3l",
		.fingerprint = raw,
		.setup = setup,
		.mid = mid,
		.candidates = cands,
		.legacy = legacy,
	};
	struct idl_sdp s;
	GError *err = NULL;
	char *text;

	fp_raw(FP_B, raw);
	text = idl_sdp_build(&l);
	g_assert_cmpint(parse_str(text, &s, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpstr(s.ice_ufrag, ==, l.ice_ufrag);
	g_assert_cmpstr(s.ice_pwd, ==, l.ice_pwd);
	g_assert_cmpmem(s.fingerprint, sizeof(s.fingerprint), raw, sizeof(raw));
	g_assert_cmpint(s.setup, ==, setup);
	g_assert_cmpstr(s.mid, ==, mid ? mid : "");
	g_assert_cmpuint(s.sctp_port, ==, 5000);
	g_assert_cmpuint(s.max_message_size, ==, 262144);
	g_assert_true(s.legacy == legacy);
	g_assert_true(s.end_of_candidates);
	g_assert_cmpuint(ncandidates(&s), ==, 3);
	for (guint i = 0; i < 3; i++)
		g_assert_cmpstr(s.candidates[i], ==, cands[i]);
	idl_sdp_clear(&s);
	g_free(text);
}

static void test_round_trip(void)
{
	check_round_trip(false, IDL_SDP_SETUP_ACTPASS, "0");
	check_round_trip(false, IDL_SDP_SETUP_ACTIVE, "data");
	check_round_trip(true, IDL_SDP_SETUP_PASSIVE, "0");
	check_round_trip(false, IDL_SDP_SETUP_ACTIVE, NULL);
}

static void test_chrome(void)
{
	unsigned char raw[IDL_FINGERPRINT_SIZE];
	struct idl_sdp s;
	GError *err = NULL;

	fp_raw(FP_A, raw);
	g_assert_cmpint(parse_str(chrome_offer, &s, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpstr(s.ice_ufrag, ==, "x9Qb");
	g_assert_cmpstr(s.ice_pwd, ==, "LbYt8Hq7rW2pN5sK3dF6gJ1z");
	g_assert_cmpmem(s.fingerprint, sizeof(s.fingerprint), raw, sizeof(raw));
	g_assert_cmpint(s.setup, ==, IDL_SDP_SETUP_ACTPASS);
	g_assert_cmpstr(s.mid, ==, "0");
	g_assert_cmpuint(s.sctp_port, ==, 5000);
	g_assert_cmpuint(s.max_message_size, ==, 262144);
	g_assert_false(s.legacy);
	g_assert_false(s.end_of_candidates);
	/* The TCP candidate is dropped; the .local one is kept as is. */
	g_assert_cmpuint(ncandidates(&s), ==, 2);
	g_assert_cmpstr(s.candidates[0], ==,
			"candidate:3326064542 1 udp 2113937151 " MDNS " 58912 typ host generation 0 network-cost 999");
	g_assert_cmpstr(s.candidates[1], ==,
			"candidate:842163049 1 udp 1677729535 203.0.113.7 58912 typ srflx raddr 0.0.0.0 rport 0 "
			"generation 0 network-cost 999");
	idl_sdp_clear(&s);
}

static void test_lf_only(void)
{
	char **lines = g_strsplit(chrome_offer, "\r\n", -1);
	char *lf = g_strjoinv("\n", lines);
	struct idl_sdp a, b;

	g_assert_cmpint(parse_str(chrome_offer, &a, NULL), ==, 0);
	g_assert_cmpint(parse_str(lf, &b, NULL), ==, 0);
	g_assert_cmpstr(a.ice_pwd, ==, b.ice_pwd);
	g_assert_cmpuint(ncandidates(&a), ==, ncandidates(&b));
	for (guint i = 0; a.candidates[i]; i++)
		g_assert_cmpstr(a.candidates[i], ==, b.candidates[i]);
	idl_sdp_clear(&a);
	idl_sdp_clear(&b);
	g_strfreev(lines);
	g_free(lf);
}

static void test_firefox(void)
{
	unsigned char raw[IDL_FINGERPRINT_SIZE];
	struct idl_sdp s;
	GError *err = NULL;

	fp_raw(FP_B, raw);
	g_assert_cmpint(parse_str(firefox_offer, &s, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpmem(s.fingerprint, sizeof(s.fingerprint), raw, sizeof(raw));
	g_assert_cmpstr(s.ice_ufrag, ==, "8d3e2f1a");
	g_assert_cmpstr(s.ice_pwd, ==, "4f1c0e2d3b5a69788796a5b4c3d2e1f0");
	g_assert_cmpstr(s.mid, ==, "0");
	g_assert_cmpuint(s.max_message_size, ==, 1073741823);
	g_assert_true(s.end_of_candidates);
	g_assert_cmpuint(ncandidates(&s), ==, 3);
	g_assert_true(g_str_has_prefix(s.candidates[0], "candidate:0 1 UDP "));
	g_assert_true(g_str_has_suffix(s.candidates[1], "raddr 0.0.0.0 rport 0"));
	g_assert_cmpstr(s.candidates[2], ==, "candidate:3 1 UDP 2122187007 fd00::1:2 50124 typ host");
	idl_sdp_clear(&s);
}

/* Older Firefox put the ICE credentials at session level too; media level
 * wins where both are given. */
static void test_session_level(void)
{
	char *a = edit(firefox_offer, "a=group:BUNDLE",
		       "a=group:BUNDLE 0\r\na=ice-ufrag:SeSs\r\na=ice-pwd:sessionsessionsession1\r\na=setup:passive");
	char *b = edit(a, "a=ice-pwd:4f1c", "");
	char *c = edit(b, "a=setup:actpass", "");
	struct idl_sdp s;

	GError *err = NULL;
	int r = parse_str(c, &s, &err);

	g_assert_no_error(err);
	g_assert_cmpint(r, ==, 0);
	g_assert_cmpstr(s.ice_ufrag, ==, "8d3e2f1a");             /* media */
	g_assert_cmpstr(s.ice_pwd, ==, "sessionsessionsession1");  /* session */
	g_assert_cmpint(s.setup, ==, IDL_SDP_SETUP_PASSIVE);       /* session */
	idl_sdp_clear(&s);
	g_free(a);
	g_free(b);
	g_free(c);
}

static void test_aiortc(void)
{
	unsigned char raw[IDL_FINGERPRINT_SIZE];
	struct idl_sdp s;
	GError *err = NULL;

	fp_raw(FP_C, raw);
	g_assert_cmpint(parse_str(aiortc_offer, &s, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpmem(s.fingerprint, sizeof(s.fingerprint), raw, sizeof(raw));
	g_assert_true(s.legacy);
	g_assert_cmpuint(s.sctp_port, ==, 5000);
	g_assert_cmpuint(s.max_message_size, ==, 65536);
	g_assert_cmpstr(s.ice_ufrag, ==, "Ab3d");
	g_assert_cmpstr(s.ice_pwd, ==, "Zx9yW8vU7tS6rQ5pO4nM3l");
	g_assert_cmpstr(s.mid, ==, "0");
	g_assert_true(s.end_of_candidates);
	g_assert_cmpuint(ncandidates(&s), ==, 2);
	g_assert_cmpstr(s.candidates[0], ==,
			"candidate:5d2c9e0f1a3b4c6d7e8f9a0b1c2d3e4f 1 udp 2130706431 192.168.1.10 51234 typ host");
	idl_sdp_clear(&s);

	/* The legacy format carries the SCTP port. */
	char *t = edit(aiortc_offer, "m=application", "m=application 9 DTLS/SCTP 5001");
	g_assert_cmpint(parse_str(t, &s, NULL), ==, 0);
	g_assert_cmpuint(s.sctp_port, ==, 5001);
	idl_sdp_clear(&s);
	g_free(t);
}

static void test_defaults_and_leniency(void)
{
	char *a = edit(base_offer, "a=setup:", "");
	char *b = edit(a, "a=sctp-port:", "");
	char *c = edit(b, "a=max-message-size:", "a=max-message-size:0");
	/* Double spaces and trailing blanks are normalised; component 2 and
	 * TCP candidates are dropped; an empty line is skipped. */
	char *d = edit(c, "a=candidate:",
		       "a=candidate:1  1 udp 2122260223 192.168.1.2   50000 typ host \t\r\n"
		       "\r\n"
		       "a=candidate:1 2 udp 2122260222 192.168.1.2 50001 typ host\r\n"
		       "a=candidate:2 1 tcp 2122260222 192.168.1.2 0 typ host tcptype active\r\n"
		       "a=candidate:3 1 UdP 1 host-name.example 1 typ relay raddr ::1 rport 0");
	struct idl_sdp s;
	GError *err = NULL;

	g_assert_cmpint(parse_str(d, &s, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpint(s.setup, ==, IDL_SDP_SETUP_ACTPASS);
	g_assert_cmpuint(s.sctp_port, ==, 5000);
	g_assert_cmpuint(s.max_message_size, ==, 0);
	g_assert_cmpuint(ncandidates(&s), ==, 2);
	g_assert_cmpstr(s.candidates[0], ==, "candidate:1 1 udp 2122260223 192.168.1.2 50000 typ host");
	g_assert_cmpstr(s.candidates[1], ==, "candidate:3 1 UdP 1 host-name.example 1 typ relay raddr ::1 rport 0");
	idl_sdp_clear(&s);
	/* Absent max-message-size means 64 KiB (RFC 8841). */
	g_free(a);
	a = edit(base_offer, "a=max-message-size:", "");
	g_assert_cmpint(parse_str(a, &s, NULL), ==, 0);
	g_assert_cmpuint(s.max_message_size, ==, 65536);
	idl_sdp_clear(&s);
	/* Case-insensitive hash name, lower-case hex; other hashes ignored. */
	g_free(b);
	b = edit(base_offer, "a=fingerprint:",
		 "a=fingerprint:sha-1 00:11\r\na=fingerprint:SHA-256 ca:97:81:12:ca:1b:bd:ca:fa:c2:31:b3:9a:23:dc:4d:"
		 "a7:86:ef:f8:14:7c:4e:72:b9:80:77:85:af:ee:48:bb");
	g_assert_cmpint(parse_str(b, &s, NULL), ==, 0);
	g_assert_cmpuint(s.fingerprint[0], ==, 0xca);
	idl_sdp_clear(&s);
	g_free(a);
	g_free(b);
	g_free(c);
	g_free(d);
}

struct hostile {
	const char *prefix;      /* the line of base_offer to replace */
	const char *repl;        /* its replacement */
	const char *expect;      /* part of the error message */
};

#define LONG257 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define CAND "a=candidate:1 1 udp 2122260223 "

static void test_hostile(void)
{
	static const struct hostile cases[] = {
		{ "v=0", "", "does not start with v=0" },
		{ "v=0", "v=1", "only v=0 exists" },
		{ "v=0", " v=0", "does not start with v=0" },
		{ "s=-", "garbage", "not of the form x=value" },
		{ "s=-", "S=-", "not of the form x=value" },
		{ "s=-", "s=\x01", "control character 0x01" },
		{ "s=-", "s=a\rb", "control character 0x0d" },
		/* m-sections */
		{ "m=", "", "no m=application section" },
		{ "m=", "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126", "only does data channels" },
		{ "m=", "m=video 9 UDP/TLS/RTP/SAVPF 96", "without audio or video" },
		{ "a=end-of-candidates", "a=end-of-candidates\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111", "offers audio" },
		{ "a=end-of-candidates", "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "second m=application" },
		{ "m=", "m=application 9 TCP/DTLS/SCTP webrtc-datachannel", "over TCP" },
		{ "m=", "m=application 0 UDP/DTLS/SCTP webrtc-datachannel", "rejected the data channel" },
		{ "m=", "m=application 9 UDP/DTLS/SCTP 5000", "format webrtc-datachannel" },
		{ "m=", "m=application 9 DTLS/SCTP abc", "SCTP port from 1 to 65535" },
		{ "m=", "m=application 9 DTLS/SCTP 0", "SCTP port from 1 to 65535" },
		{ "m=", "m=application 9 TCP/MSRP *", "not a data channel" },
		{ "m=", "m=application 99999 UDP/DTLS/SCTP webrtc-datachannel", "port \"99999\"" },
		{ "m=", "m=application 9", "needs a media type" },
		{ "m=", "m=application 9 UDP/DTLS/SCTP a b c d e f", "more than one format" },
		/* fingerprint */
		{ "a=fingerprint:", "", "no a=fingerprint:sha-256 line" },
		{ "a=fingerprint:", "a=fingerprint:sha-512 " FP_512, "only other hash functions" },
		{ "a=fingerprint:", "a=fingerprint:sha-256 CA:97:81", "32 colon-separated hex bytes" },
		{ "a=fingerprint:", "a=fingerprint:sha-256 " FP_A ":00", "32 colon-separated hex bytes" },
		{ "a=fingerprint:", "a=fingerprint:sha-256 ZZ:97:81:12:CA:1B:BD:CA:FA:C2:31:B3:9A:23:DC:4D:A7:86:"
		  "EF:F8:14:7C:4E:72:B9:80:77:85:AF:EE:48:BB", "32 colon-separated hex bytes" },
		{ "a=fingerprint:", "a=fingerprint:sha-256 CA978112CA1BBDCAFAC231B39A23DC4DA786EFF8147C4E72B9807785"
		  "AFEE48BB", "32 colon-separated hex bytes" },
		{ "a=fingerprint:", "a=fingerprint:sha-256 CA-97-81-12-CA-1B-BD-CA-FA-C2-31-B3-9A-23-DC-4D-A7-86-"
		  "EF-F8-14-7C-4E-72-B9-80-77-85-AF-EE-48-BB", "32 colon-separated hex bytes" },
		{ "a=fingerprint:", "a=fingerprint:sha-256 " FP_A " extra", "32 colon-separated hex bytes" },
		{ "a=fingerprint:", "a=fingerprint:sha-256", "32 colon-separated hex bytes" },
		{ "a=fingerprint:", "a=fingerprint:", "a=fingerprint is empty" },
		{ "a=fingerprint:", "a=fingerprint", "a=fingerprint has no value" },
		/* Ambiguous fingerprints (issue 11): a browser checks the media-level
		 * line, a naive reader shows the first one. Each names two keys. */
		{ "a=group:", "a=fingerprint:sha-256 " FP_B "\r\na=group:BUNDLE 0", "both at session level and" },
		{ "a=group:", "a=fingerprint:sha-512 " FP_512 "\r\na=group:BUNDLE 0", "both at session level and" },
		{ "a=fingerprint:", "a=fingerprint:sha-256 " FP_A "\r\na=fingerprint:sha-256 " FP_B,
		  "a second a=fingerprint:sha-256" },
		{ "a=fingerprint:", "a=fingerprint:sha-256 " FP_A "\r\na=fingerprint:sha-256 " FP_A,
		  "a second a=fingerprint:sha-256" },
		{ "a=fingerprint:", "a=fingerprint:SHA-256 " FP_B "\r\na=fingerprint:sha-256 " FP_A,
		  "a second a=fingerprint:sha-256" },
		/* ICE credentials */
		{ "a=ice-ufrag:", "", "no a=ice-ufrag line" },
		{ "a=ice-pwd:", "", "no a=ice-pwd line" },
		{ "a=ice-pwd:", "a=ice-pwd:abcdefghijklmnopqrstu", "ice-pwd is shorter than 22 characters" },
		{ "a=ice-pwd:", "a=ice-pwd:" LONG257, "ice-pwd is longer than 256 characters" },
		{ "a=ice-pwd:", "a=ice-pwd:abcdefghijklmnopqrstu=", "ice-pwd has characters other than" },
		{ "a=ice-ufrag:", "a=ice-ufrag:ab-d", "ice-ufrag has characters other than" },
		{ "a=ice-ufrag:", "a=ice-ufrag:ab\xc3\xa9", "ice-ufrag has characters other than" },
		{ "a=ice-ufrag:", "a=ice-ufrag:abc", "ice-ufrag is shorter than 4" },
		{ "a=ice-ufrag:", "a=ice-ufrag:" LONG257, "ice-ufrag is longer than 256" },
		{ "a=ice-ufrag:", "a=ice-ufrag:abcd\r\na=ice-ufrag:efgh", "appears twice" },
		/* setup, mid */
		{ "a=setup:", "a=setup:holdconn", "holdconn" },
		{ "a=setup:", "a=setup:ACTIVE", "not actpass, active or passive" },
		{ "a=setup:", "a=setup:active\r\na=setup:passive", "appears twice" },
		{ "a=mid:", "a=mid:", "a=mid is not 1 to 32" },
		{ "a=mid:", "a=mid:a/b", "a=mid is not 1 to 32" },
		{ "a=mid:", "a=mid:abcdefghijabcdefghijabcdefghijabc", "a=mid is not 1 to 32" },
		{ "a=mid:", "a=mid:0\r\na=mid:1", "appears twice" },
		/* sctp-port, max-message-size */
		{ "a=sctp-port:", "a=sctp-port:0", "sctp-port is not a number from 1 to 65535" },
		{ "a=sctp-port:", "a=sctp-port:99999", "sctp-port is not a number" },
		{ "a=sctp-port:", "a=sctp-port:50x0", "sctp-port is not a number" },
		{ "a=sctp-port:", "a=sctp-port:-1", "sctp-port is not a number" },
		{ "a=sctp-port:", "a=sctp-port:", "sctp-port is not a number" },
		{ "a=sctp-port:", "a=sctp-port", "sctp-port is not a number" },
		{ "a=max-message-size:", "a=max-message-size:12ab", "max-message-size is not a decimal" },
		{ "a=max-message-size:", "a=max-message-size:-1", "max-message-size is not a decimal" },
		{ "a=max-message-size:", "a=max-message-size:+1", "max-message-size is not a decimal" },
		{ "a=max-message-size:", "a=max-message-size:18446744073709551616", "max-message-size is not" },
		{ "a=max-message-size:", "a=max-message-size:99999999999999999999999999999", "max-message-size" },
		{ "a=max-message-size:", "a=max-message-size:", "max-message-size is not a decimal" },
		/* candidates */
		{ "a=candidate:", "a=candidate", "a=candidate has no value" },
		{ "a=candidate:", "a=candidate:", "has 0 fields" },
		{ "a=candidate:", CAND "192.168.1.2 50000 typ", "has 7 fields" },
		{ "a=candidate:", CAND "192.168.1.2 50000", "has 6 fields" },
		{ "a=candidate:", CAND "192.168.1.2 70000 typ host", "port \"70000\"" },
		{ "a=candidate:", CAND "192.168.1.2 5x typ host", "port \"5x\"" },
		{ "a=candidate:", CAND "192.168.1.2 0 typ host", "port \"0\"" },
		{ "a=candidate:", CAND "192.168.1.2 50000 typ local", "type \"local\"" },
		{ "a=candidate:", CAND "192.168.1.2 50000 type host", "where \"typ\" should follow" },
		{ "a=candidate:", CAND "300.1.1.1 50000 typ host", "address \"300.1.1.1\"" },
		{ "a=candidate:", CAND "fe80::1%eth0 50000 typ host", "address \"fe80::1%eth0\"" },
		{ "a=candidate:", CAND "bad_name.local 50000 typ host", "address \"bad_name.local\"" },
		{ "a=candidate:", CAND "a..local 50000 typ host", "address \"a..local\"" },
		{ "a=candidate:", CAND "192.168.1.2 50000 typ host generation", "extension \"generation\" has no" },
		{ "a=candidate:", CAND "192.168.1.2 50000 typ srflx raddr x_y rport 0", "raddr \"x_y\"" },
		{ "a=candidate:", CAND "192.168.1.2 50000 typ srflx raddr 0.0.0.0 rport 65536", "rport \"65536\"" },
		{ "a=candidate:", CAND "192.168.1.2 50000 typ host a=b c", "extension name \"a=b\"" },
		{ "a=candidate:", CAND "192.168.1.2 50000 typ host name caf\xc3\xa9", "not printable ASCII" },
		{ "a=candidate:", "a=candidate:1-2 1 udp 1 192.168.1.2 50000 typ host", "foundation \"1-2\"" },
		{ "a=candidate:", "a=candidate:123456789012345678901234567890123 1 udp 1 1.2.3.4 5 typ host", "foundation" },
		{ "a=candidate:", "a=candidate:1 0 udp 1 192.168.1.2 50000 typ host", "component \"0\"" },
		{ "a=candidate:", "a=candidate:1 1000 udp 1 192.168.1.2 50000 typ host", "component \"1000\"" },
		{ "a=candidate:", "a=candidate:1 1 sctp 1 192.168.1.2 50000 typ host", "transport \"sctp\"" },
		{ "a=candidate:", "a=candidate:1 1 udp 4294967296 192.168.1.2 50000 typ host", "priority" },
		{ "a=candidate:", "a=candidate:1 1 udp -1 192.168.1.2 50000 typ host", "priority" },
		{ "a=candidate:", "a=candidate:1 1 tcp 1 192.168.1.2 50000 typ bogus", "type \"bogus\"" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *text = edit(base_offer, cases[i].prefix, cases[i].repl);
		struct idl_sdp s;
		GError *err = NULL;

		if (parse_str(text, &s, &err) != -EINVAL)
			g_error("hostile SDP accepted: %s -> %s", cases[i].prefix, cases[i].repl);
		g_assert_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
		if (strstr(err->message, cases[i].expect) == NULL)
			g_error("case %zu: message \"%s\" lacks \"%s\"", i, err->message, cases[i].expect);
		/* A refused parse leaves nothing to free and a zeroed struct. */
		g_assert_null(s.candidates);
		g_assert_cmpuint(s.ice_pwd[0], ==, 0);
		g_test_message("%s", err->message);
		g_error_free(err);
		g_free(text);
	}
}

static void expect_refused(const char *text, size_t len, const char *expect)
{
	struct idl_sdp s;
	GError *err = NULL;

	g_assert_cmpint(idl_sdp_parse(text, len, &s, &err), ==, -EINVAL);
	g_assert_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
	if (strstr(err->message, expect) == NULL)
		g_error("message \"%s\" lacks \"%s\"", err->message, expect);
	g_error_free(err);
}

static void test_sizes_and_bytes(void)
{
	size_t big = 1024 * 1024;
	char *text = g_malloc(big), *t;
	size_t base_len = strlen(base_offer);
	struct idl_sdp s;

	expect_refused("", 0, "is empty");
	expect_refused(NULL, 0, "is empty");
	/* A 1 MB line: refused on size before any parsing. */
	memcpy(text, base_offer, base_len);
	memset(text + base_len, 'x', big - base_len);
	memcpy(text + base_len, "a=", 2);
	expect_refused(text, big, "more than the 65536 accepted");
	/* Exactly at the bound is parsed; one byte more is refused. */
	memset(text + base_len, '\n', IDL_SDP_MAX_SIZE - base_len);
	g_assert_cmpint(idl_sdp_parse(text, IDL_SDP_MAX_SIZE, &s, NULL), ==, 0);
	idl_sdp_clear(&s);
	expect_refused(text, IDL_SDP_MAX_SIZE + 1, "more than");
	/* A long line inside the bound: refused by the line bound. */
	memset(text + base_len, 'x', 5000);
	memcpy(text + base_len, "a=x:", 4);
	expect_refused(text, base_len + 5000, "longer than 4096 bytes");
	/* NUL bytes inside a line: the text is not a C string. */
	memcpy(text, base_offer, base_len);
	text[strstr(base_offer, "abcd") - base_offer + 2] = 0;
	expect_refused(text, base_len, "NUL byte");
	/* Binary junk. */
	expect_refused("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16, "does not start with v=0");
	expect_refused("v=0\r\n\xff\xfe", 7, "not of the form");
	expect_refused("v=0\r\n\xff\xfe\x00\x01", 9, "NUL byte");
	/* Old Mac line ends: one line full of CRs. */
	t = g_strdelimit(g_strdup(base_offer), "\n", ' ');
	expect_refused(t, base_len, "control character 0x0d");
	g_free(t);
	g_free(text);
}

static void check_any(const char *text, size_t len)
{
	struct idl_sdp s;
	GError *err = NULL;
	int r = idl_sdp_parse(text, len, &s, &err);

	g_assert_true(r == 0 || r == -EINVAL);
	g_assert_true((r == 0) == (err == NULL));
	if (r == 0) {
		g_assert_cmpuint(strlen(s.ice_ufrag), >=, 4);
		g_assert_cmpuint(strlen(s.ice_pwd), >=, 22);
		g_assert_nonnull(s.candidates);
		g_assert_cmpuint(ncandidates(&s), <=, IDL_SDP_MAX_CANDIDATES);
	} else {
		g_assert_cmpuint(strlen(err->message), >, 10);
	}
	g_clear_error(&err);
	idl_sdp_clear(&s);
}

/* Every prefix of a real offer, copied to an exact-size buffer so ASan
 * catches any read past the end: a valid parse or -EINVAL, never a crash. */
static void test_truncated(void)
{
	const char *offers[] = { chrome_offer, firefox_offer, aiortc_offer };

	for (size_t o = 0; o < G_N_ELEMENTS(offers); o++) {
		size_t len = strlen(offers[o]);
		for (size_t cut = 0; cut <= len; cut++) {
			char *copy = g_memdup2(offers[o], cut);
			check_any(copy, cut);
			g_free(copy);
		}
	}
}

static void test_random_junk(void)
{
	char junk[600];
	size_t base_len = strlen(base_offer);

	for (int round = 0; round < 3000; round++) {
		size_t n = (size_t)g_random_int_range(0, sizeof(junk));
		for (size_t i = 0; i < n; i++)
			junk[i] = (char)g_random_int_range(0, 256);
		check_any(junk, n);
		/* Valid text with a few bytes flipped. */
		char *t = g_memdup2(base_offer, base_len);
		for (int k = 0; k < 3; k++)
			t[g_random_int_range(0, (gint32)base_len)] = (char)g_random_int_range(0, 256);
		check_any(t, base_len);
		g_free(t);
	}
}

/* 1000 candidates: the first IDL_SDP_MAX_CANDIDATES are kept, the rest
 * checked and ignored; one bad line among them still refuses. */
static void test_many_candidates(void)
{
	GString *s = g_string_new(base_offer);
	struct idl_sdp sdp;
	GError *err = NULL;

	for (int i = 0; i < 1000; i++)
		g_string_append_printf(s, "a=candidate:%d 1 udp %d 10.0.%d.%d %d typ host\r\n",
				       i, 2000000000 - i, i / 256, i % 256, 1024 + i);
	g_assert_cmpuint(s->len, <=, IDL_SDP_MAX_SIZE);
	g_assert_cmpint(idl_sdp_parse(s->str, s->len, &sdp, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpuint(ncandidates(&sdp), ==, IDL_SDP_MAX_CANDIDATES);
	g_assert_cmpstr(sdp.candidates[0], ==, "candidate:1 1 udp 2122260223 192.168.1.2 50000 typ host");
	g_assert_cmpstr(sdp.candidates[63], ==, "candidate:62 1 udp 1999999938 10.0.0.62 1086 typ host");
	idl_sdp_clear(&sdp);
	g_string_append(s, "a=candidate:x 1 udp 1 10.0.0.1 0 typ host\r\n");
	expect_refused(s->str, s->len, "port \"0\"");
	g_string_free(s, TRUE);
}

static void test_clear(void)
{
	struct idl_sdp s;

	g_assert_cmpint(parse_str(chrome_offer, &s, NULL), ==, 0);
	idl_sdp_clear(&s);
	g_assert_null(s.candidates);
	g_assert_cmpuint(s.ice_ufrag[0], ==, 0);
	g_assert_cmpuint(s.sctp_port, ==, 0);
	idl_sdp_clear(&s);      /* twice is harmless */
	idl_sdp_clear(NULL);
}

/* Invalid local values are a bug in the caller, and must never put a line
 * of their own into the SDP. */
static void test_build_rejects(void)
{
	static const char *const bad_cands[] = { "candidate:1 1 udp 1 1.2.3.4 5 typ host\r\na=setup:passive", NULL };
	unsigned char raw[IDL_FINGERPRINT_SIZE] = { 0 };
	struct idl_sdp_local ok = {
		.ice_ufrag = "abcd", .ice_pwd = "abcdefghijklmnopqrstuv", .fingerprint = raw, .mid = "0",
	};
	struct idl_sdp_local l;
	char *s;

	s = idl_sdp_build(&ok);
	g_assert_nonnull(s);
	g_free(s);
	for (int i = 0; i < 5; i++) {
		l = ok;
		switch (i) {
		case 0: l.ice_ufrag = "ab\r\nc"; break;
		case 1: l.ice_pwd = "short"; break;
		case 2: l.mid = "0\r\na=setup:passive"; break;
		case 3: l.candidates = bad_cands; break;
		case 4: l.address = "0.0.0.0\r\nx=y"; break;
		}
		g_test_expect_message(NULL, G_LOG_LEVEL_CRITICAL, "*local_valid*");
		g_assert_null(idl_sdp_build(&l));
		g_test_assert_expected_messages();
	}
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sdp/format-fingerprint", test_format_fingerprint);
	g_test_add_func("/sdp/build-golden", test_build_golden);
	g_test_add_func("/sdp/build-rejects", test_build_rejects);
	g_test_add_func("/sdp/round-trip", test_round_trip);
	g_test_add_func("/sdp/chrome", test_chrome);
	g_test_add_func("/sdp/lf-only", test_lf_only);
	g_test_add_func("/sdp/firefox", test_firefox);
	g_test_add_func("/sdp/session-level", test_session_level);
	g_test_add_func("/sdp/aiortc-legacy", test_aiortc);
	g_test_add_func("/sdp/defaults-and-leniency", test_defaults_and_leniency);
	g_test_add_func("/sdp/hostile", test_hostile);
	g_test_add_func("/sdp/sizes-and-bytes", test_sizes_and_bytes);
	g_test_add_func("/sdp/truncated", test_truncated);
	g_test_add_func("/sdp/random-junk", test_random_junk);
	g_test_add_func("/sdp/many-candidates", test_many_candidates);
	g_test_add_func("/sdp/clear", test_clear);
	return g_test_run();
}
