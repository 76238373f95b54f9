/* sdp: parse a remote WebRTC data-channel SDP and build our own (see sdp.h).
 * The parser reads the text line by line into bounded buffers, checks every
 * field it keeps against its grammar (RFC 8866, 8839, 8841, 8122) and refuses
 * with a sentence a user can act on; fields it does not need are skipped.
 *
 * Choices the header leaves open:
 * - Audio/video (any non-application) m-sections are refused, and so is a
 *   second m=application: an answer must mirror every m-section of the offer
 *   and ours has exactly one, so the offerer would reject it anyway.
 * - TCP/DTLS/SCTP and m=application port 0 (a rejected section) are refused.
 * - Every a=candidate line is checked, even ones not kept; a malformed one
 *   refuses the whole SDP. TCP candidates and components other than 1 are
 *   dropped. After IDL_SDP_MAX_CANDIDATES kept ones, further candidates are
 *   ignored rather than refused (hosts with many interfaces list many; the
 *   input size bound caps the work). A kept candidate is re-joined with single
 *   spaces, so it has no trailing whitespace (what libnice wants).
 * - Single-valued attributes (ice-ufrag, ice-pwd, setup, mid, sctp-port,
 *   max-message-size) repeated within one level are refused as ambiguous.
 * - Fingerprints: exactly one a=fingerprint:sha-256 line in the whole SDP,
 *   and a=fingerprint lines (of any hash function) at one level only. A
 *   second sha-256 line, or lines at both session and media level, are
 *   refused as ambiguous: a browser checks the certificate against the
 *   media-level line while a reader of the first line would show another
 *   key (issue 11), so no reader may have to choose. Other hash functions
 *   beside the sha-256 line at the same level are ignored. */
#include "transport/sdp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <gio/gio.h>

#include "base/error.h"

#define MAX_LINE 4096                 /* longest line accepted, in bytes */
#define MAX_FIELDS 64                 /* space-separated fields of a candidate */
#define UFRAG_MIN 4
#define PWD_MIN 22
#define ICE_MAX 256
#define MID_MAX 32
#define FINGERPRINT_COLON_LEN (IDL_FINGERPRINT_SIZE * 3 - 1)
#define DEFAULT_SCTP_PORT 5000
#define DEFAULT_MAX_MESSAGE_SIZE 65536
#define OUR_MAX_MESSAGE_SIZE 262144

/* Attributes that may sit at session level or media level. */
struct level {
	char ufrag[ICE_MAX + 1];
	char pwd[ICE_MAX + 1];
	unsigned char fp[IDL_FINGERPRINT_SIZE];
	enum idl_sdp_setup setup;
	bool has_ufrag, has_pwd, has_fp, has_setup, other_fp, eoc;
};

struct parser {
	struct level session, media;
	struct level *cur;            /* session until the m=application line */
	unsigned line_no;
	bool in_app;
	bool has_mid, has_sctp_port, has_mms, legacy;
	char mid[MID_MAX + 1];
	uint16_t sctp_port;           /* a=sctp-port, or the legacy m= format */
	size_t mms;
	GPtrArray *cands;             /* kept "candidate:..." strings */
	GError **err;
};

static int fail_line(struct parser *p, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Peer text quoted in a message: printable ASCII only (the message may end
 * up in JSON or on a terminal), and callers bound its length with "%.40s". */
static const char *quoted(const char *s)
{
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			return "(not printable)";
	return s;
}


static int fail_line(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	idl_error_errno(p->err, -EINVAL, "line %u of the peer's SDP: %s", p->line_no, msg);
	g_free(msg);
	return -EINVAL;
}

/* RFC 8839 ice-char: ALPHA / DIGIT / "+" / "/". */
static bool ice_chars(const char *s, size_t min, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n < min || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_isalnum(s[i]) && s[i] != '+' && s[i] != '/')
			return false;
	return true;
}

/* RFC 8866 token: visible ASCII but for the separators below. */
static bool token_chars(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x21 || c > 0x7e || strchr("\"(),/:;<=>?@[\\]", c))
			return false;
	}
	return true;
}

/* Decimal without sign, spaces or overflow, at most max. */
static bool parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t x = 0;

	if (*s == 0)
		return false;
	for (; *s; s++) {
		unsigned d;

		if (*s < '0' || *s > '9')
			return false;
		d = (unsigned)(*s - '0');
		if (x > (max - d) / 10)
			return false;
		x = x * 10 + d;
	}
	*out = x;
	return true;
}

/* A host name as browsers use for mDNS candidates ("<uuid>.local"): dot
 * separated labels of letters, digits and '-', the last one not all digits
 * (so "1.2.3" is not taken for a name). */
static bool hostname_valid(const char *s)
{
	size_t n = strnlen(s, 254), label = 0;
	bool all_digits = true;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i <= n; i++) {
		char c = i < n ? s[i] : '.';

		if (c == '.') {
			if (label == 0 || label > 63)
				return false;
			if (i == n && all_digits)
				return false;
			label = 0;
			all_digits = true;
		} else if (g_ascii_isalnum(c) || c == '-') {
			label++;
			all_digits = all_digits && g_ascii_isdigit(c);
		} else {
			return false;
		}
	}
	return true;
}

static bool address_valid(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1 || hostname_valid(s);
}

/* Splits s in place on runs of spaces; returns the number of fields or -1
 * when there are more than max. */
static int split_fields(char *s, char **fields, int max)
{
	int n = 0;

	for (;;) {
		while (*s == ' ')
			s++;
		if (*s == 0)
			return n;
		if (n == max)
			return -1;
		fields[n++] = s;
		while (*s && *s != ' ')
			s++;
		if (*s)
			*s++ = 0;
	}
}

/* a=candidate:<foundation> <component> <transport> <priority> <address>
 * <port> typ <type> [<name> <value>]... (RFC 8839 section 5.1). */
static int parse_candidate(struct parser *p, char *value)
{
	static const char *const types[] = { "host", "srflx", "prflx", "relay" };
	char *f[MAX_FIELDS];
	int n = split_fields(value, f, MAX_FIELDS);
	uint64_t component, priority, port;
	bool udp, type_ok = false;
	GString *s;

	if (n < 0)
		return fail_line(p, "a=candidate has more than %d fields", MAX_FIELDS);
	if (n < 8)
		return fail_line(p, "a=candidate has %d fields; it needs at least foundation, component, "
				 "transport, priority, address, port, \"typ\" and a type", n);
	for (int i = 0; i < n; i++)
		for (const char *c = f[i]; *c; c++)
			if ((unsigned char)*c < 0x21 || (unsigned char)*c > 0x7e)
				return fail_line(p, "a=candidate contains a character that is not printable ASCII");
	if (!ice_chars(f[0], 1, 32))
		return fail_line(p, "the a=candidate foundation \"%.40s\" is not 1 to 32 letters, digits, '+' or '/'", f[0]);
	if (strlen(f[1]) > 3 || !parse_uint(f[1], 256, &component) || component == 0)
		return fail_line(p, "the a=candidate component \"%.40s\" is not a number from 1 to 256", f[1]);
	udp = g_ascii_strcasecmp(f[2], "udp") == 0;
	if (!udp && g_ascii_strcasecmp(f[2], "tcp") != 0)
		return fail_line(p, "the a=candidate transport \"%.40s\" is neither UDP nor TCP", f[2]);
	if (strlen(f[3]) > 10 || !parse_uint(f[3], UINT32_MAX, &priority))
		return fail_line(p, "the a=candidate priority \"%.40s\" is not a number from 0 to 4294967295", f[3]);
	if (!address_valid(f[4]))
		return fail_line(p, "the a=candidate address \"%.64s\" is not an IPv4 or IPv6 address or a host name", f[4]);
	if (!parse_uint(f[5], 65535, &port) || (udp && port == 0))
		return fail_line(p, "the a=candidate port \"%.40s\" is not a number from 1 to 65535", f[5]);
	if (strcmp(f[6], "typ") != 0)
		return fail_line(p, "a=candidate has \"%.40s\" where \"typ\" should follow the port", f[6]);
	for (size_t i = 0; i < G_N_ELEMENTS(types); i++)
		type_ok = type_ok || strcmp(f[7], types[i]) == 0;
	if (!type_ok)
		return fail_line(p, "the a=candidate type \"%.40s\" is not host, srflx, prflx or relay", f[7]);
	if ((n - 8) % 2)
		return fail_line(p, "the a=candidate extension \"%.40s\" has no value", f[n - 1]);
	for (int i = 8; i < n; i += 2) {
		if (!token_chars(f[i], MAX_LINE))
			return fail_line(p, "the a=candidate extension name \"%.40s\" is not a token", f[i]);
		if (strcmp(f[i], "raddr") == 0 && !address_valid(f[i + 1]))
			return fail_line(p, "the a=candidate raddr \"%.64s\" is not an address", f[i + 1]);
		if (strcmp(f[i], "rport") == 0 && !parse_uint(f[i + 1], 65535, &port))
			return fail_line(p, "the a=candidate rport \"%.40s\" is not a number from 0 to 65535", f[i + 1]);
	}

	if (!udp || component != 1 || p->cands->len >= IDL_SDP_MAX_CANDIDATES)
		return 0;
	s = g_string_new("candidate:");
	for (int i = 0; i < n; i++) {
		if (i)
			g_string_append_c(s, ' ');
		g_string_append(s, f[i]);
	}
	g_ptr_array_add(p->cands, g_string_free(s, FALSE));
	return 0;
}

static int parse_fingerprint(struct parser *p, char *value)
{
	char *f[3];
	int n = split_fields(value, f, 3);

	if (n == 0)
		return fail_line(p, "a=fingerprint is empty; it needs a hash function and a value");
	/* Media lines come after session lines: the second level seen is this one. */
	if (p->cur == &p->media && (p->session.has_fp || p->session.other_fp))
		return fail_line(p, "a=fingerprint lines both at session level and in the m=application "
				 "section: which certificate the peer presents is ambiguous; refusing it (a "
				 "peer that writes this is broken, or someone in between added a line)");
	if (g_ascii_strcasecmp(f[0], "sha-256") != 0) {
		p->cur->other_fp = true;           /* sha-1, sha-384, sha-512...: not ours */
		return 0;
	}
	if (n != 2 || strlen(f[1]) != FINGERPRINT_COLON_LEN)
		return fail_line(p, "a=fingerprint:sha-256 is not 32 colon-separated hex bytes (AB:CD:...)");
	if (p->session.has_fp || p->media.has_fp)
		return fail_line(p, "a second a=fingerprint:sha-256 line: the SDP names two certificates, "
				 "so which one the peer presents is ambiguous; refusing it (a peer that "
				 "writes this is broken, or someone in between added a line)");
	if (idl_fingerprint_parse(f[1], p->cur->fp) < 0)
		return fail_line(p, "a=fingerprint:sha-256 is not 32 colon-separated hex bytes (AB:CD:...)");
	p->cur->has_fp = true;
	return 0;
}

static int parse_setup(struct parser *p, const char *value)
{
	static const struct {
		const char *name;
		enum idl_sdp_setup setup;
	} roles[] = {
		{ "actpass", IDL_SDP_SETUP_ACTPASS },
		{ "active", IDL_SDP_SETUP_ACTIVE },
		{ "passive", IDL_SDP_SETUP_PASSIVE },
	};

	if (p->cur->has_setup)
		return fail_line(p, "a=setup appears twice in one section");
	if (strcmp(value, "holdconn") == 0)
		return fail_line(p, "a=setup:holdconn: the peer does not want a connection now");
	for (size_t i = 0; i < G_N_ELEMENTS(roles); i++) {
		if (strcmp(value, roles[i].name) == 0) {
			p->cur->setup = roles[i].setup;
			p->cur->has_setup = true;
			return 0;
		}
	}
	return fail_line(p, "a=setup:%.40s is not actpass, active or passive", quoted(value));
}

/* Attributes allowed at session or media level. Returns 1 when name is not
 * one of them. */
static int parse_level_attribute(struct parser *p, const char *name, char *value)
{
	struct level *l = p->cur;

	if (strcmp(name, "end-of-candidates") == 0) {
		l->eoc = true;
		return 0;
	}
	if (strcmp(name, "ice-ufrag") != 0 && strcmp(name, "ice-pwd") != 0 &&
	    strcmp(name, "fingerprint") != 0 && strcmp(name, "setup") != 0)
		return 1;
	if (value == NULL)
		return fail_line(p, "a=%s has no value", name);
	if (strcmp(name, "fingerprint") == 0)
		return parse_fingerprint(p, value);
	if (strcmp(name, "setup") == 0)
		return parse_setup(p, value);
	if (strcmp(name, "ice-ufrag") == 0) {
		if (l->has_ufrag)
			return fail_line(p, "a=ice-ufrag appears twice in one section");
		if (strlen(value) < UFRAG_MIN)
			return fail_line(p, "ice-ufrag is shorter than %d characters", UFRAG_MIN);
		if (strlen(value) > ICE_MAX)
			return fail_line(p, "ice-ufrag is longer than %d characters", ICE_MAX);
		if (!ice_chars(value, UFRAG_MIN, ICE_MAX))
			return fail_line(p, "ice-ufrag has characters other than letters, digits, '+' and '/'");
		g_strlcpy(l->ufrag, value, sizeof(l->ufrag));
		l->has_ufrag = true;
		return 0;
	}
	if (l->has_pwd)
		return fail_line(p, "a=ice-pwd appears twice in one section");
	if (strlen(value) < PWD_MIN)
		return fail_line(p, "ice-pwd is shorter than %d characters", PWD_MIN);
	if (strlen(value) > ICE_MAX)
		return fail_line(p, "ice-pwd is longer than %d characters", ICE_MAX);
	if (!ice_chars(value, PWD_MIN, ICE_MAX))
		return fail_line(p, "ice-pwd has characters other than letters, digits, '+' and '/'");
	g_strlcpy(l->pwd, value, sizeof(l->pwd));
	l->has_pwd = true;
	return 0;
}

static int parse_media_attribute(struct parser *p, const char *name, char *value)
{
	uint64_t x;

	if (strcmp(name, "candidate") == 0) {
		if (value == NULL)
			return fail_line(p, "a=candidate has no value");
		return parse_candidate(p, value);
	}
	if (strcmp(name, "mid") == 0) {
		if (p->has_mid)
			return fail_line(p, "a=mid appears twice in one section");
		if (value == NULL || !token_chars(value, MID_MAX))
			return fail_line(p, "a=mid is not 1 to %d token characters", MID_MAX);
		g_strlcpy(p->mid, value, sizeof(p->mid));
		p->has_mid = true;
		return 0;
	}
	if (strcmp(name, "sctp-port") == 0) {
		if (p->has_sctp_port)
			return fail_line(p, "a=sctp-port appears twice in one section");
		if (value == NULL || !parse_uint(value, 65535, &x) || x == 0)
			return fail_line(p, "a=sctp-port is not a number from 1 to 65535");
		if (!p->legacy)
			p->sctp_port = (uint16_t)x;
		p->has_sctp_port = true;
		return 0;
	}
	if (strcmp(name, "max-message-size") == 0) {
		if (p->has_mms)
			return fail_line(p, "a=max-message-size appears twice in one section");
		if (value == NULL || !parse_uint(value, SIZE_MAX, &x))
			return fail_line(p, "a=max-message-size is not a decimal number of bytes that fits in memory");
		p->mms = (size_t)x;
		p->has_mms = true;
		return 0;
	}
	return 0;                                  /* sctpmap, rtcp-mux...: not needed */
}

static int parse_attribute(struct parser *p, char *line)
{
	char *name = line + 2, *value = strchr(name, ':');
	int r;

	if (value != NULL)
		*value++ = 0;
	r = parse_level_attribute(p, name, value);
	if (r <= 0 || !p->in_app)
		return r < 0 ? r : 0;
	return parse_media_attribute(p, name, value);
}

/* m=<media> <port> <proto> <fmt>... */
static int parse_media(struct parser *p, char *line)
{
	char *f[8];
	int n = split_fields(line + 2, f, 8);   /* f[0..7] are set when n < 0 */
	uint64_t port, sctp_port;

	if (n >= 0 && n < 4)
		return fail_line(p, "the m= line needs a media type, a port, a protocol and a format");
	if (strcmp(f[0], "application") != 0)
		return fail_line(p, "the peer offers %s: idrop-lan only does data channels, so the peer "
				 "must offer a data channel alone, without audio or video",
				 token_chars(f[0], 16) ? f[0] : "a media section");
	if (n < 0)
		return fail_line(p, "the m=application line has more than one format");
	if (p->in_app)
		return fail_line(p, "a second m=application section: one data-channel section is expected");
	if (!parse_uint(f[1], 65535, &port))
		return fail_line(p, "the m=application port \"%.40s\" is not a number from 0 to 65535", quoted(f[1]));
	if (port == 0)
		return fail_line(p, "the m=application port is 0: the peer rejected the data channel");
	if (strcmp(f[2], "UDP/DTLS/SCTP") == 0) {
		if (n != 4 || strcmp(f[3], "webrtc-datachannel") != 0)
			return fail_line(p, "m=application UDP/DTLS/SCTP must have the format webrtc-datachannel");
	} else if (strcmp(f[2], "DTLS/SCTP") == 0) {
		if (n != 4 || !parse_uint(f[3], 65535, &sctp_port) || sctp_port == 0)
			return fail_line(p, "m=application DTLS/SCTP must have an SCTP port from 1 to 65535 as format");
		p->legacy = true;
		p->sctp_port = (uint16_t)sctp_port;
	} else if (strcmp(f[2], "TCP/DTLS/SCTP") == 0) {
		return fail_line(p, "the data channel runs over TCP (TCP/DTLS/SCTP); idrop-lan needs UDP/DTLS/SCTP");
	} else {
		return fail_line(p, "m=application uses the protocol \"%.32s\", which is not a data channel "
				 "(UDP/DTLS/SCTP)", quoted(f[2]));
	}
	p->in_app = true;
	p->cur = &p->media;
	return 0;
}

static int parse_line(struct parser *p, char *line, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c == 0)
			return fail_line(p, "the line contains a NUL byte: this is not text");
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return fail_line(p, "the line contains the control character 0x%02x", c);
	}
	if (p->line_no == 1) {
		if (strcmp(line, "v=0") == 0)
			return 0;
		if (strncmp(line, "v=", 2) == 0)
			return idl_error_errno(p->err, -EINVAL, "the peer's SDP has version \"%.16s\"; only v=0 exists",
				    quoted(line + 2));
		return idl_error_errno(p->err, -EINVAL, "the peer's data is not an SDP: it does not start with v=0");
	}
	if (n < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z')
		return fail_line(p, "the line is not of the form x=value");
	if (line[0] == 'm')
		return parse_media(p, line);
	if (line[0] == 'a')
		return parse_attribute(p, line);
	return 0;
}

static int finish(struct parser *p, struct idl_sdp *out)
{
	const struct level *m = &p->media, *s = &p->session;

	if (!p->in_app)
		return idl_error_errno(p->err, -EINVAL, "the peer's SDP has no m=application section: it offers no data "
			    "channel, and idrop-lan only transfers over data channels");
	if (!m->has_ufrag && !s->has_ufrag)
		return idl_error_errno(p->err, -EINVAL, "the peer's SDP has no a=ice-ufrag line, so ICE cannot start");
	if (!m->has_pwd && !s->has_pwd)
		return idl_error_errno(p->err, -EINVAL, "the peer's SDP has no a=ice-pwd line, so ICE cannot start");
	if (!m->has_fp && !s->has_fp)
		return idl_error_errno(p->err, -EINVAL, "the peer's SDP has no a=fingerprint:sha-256 line%s, so its DTLS "
			    "certificate cannot be checked",
			    m->other_fp || s->other_fp ? " (only other hash functions)" : "");

	g_strlcpy(out->ice_ufrag, m->has_ufrag ? m->ufrag : s->ufrag, sizeof(out->ice_ufrag));
	g_strlcpy(out->ice_pwd, m->has_pwd ? m->pwd : s->pwd, sizeof(out->ice_pwd));
	memcpy(out->fingerprint, m->has_fp ? m->fp : s->fp, IDL_FINGERPRINT_SIZE);   /* only one has it */
	out->setup = m->has_setup ? m->setup : s->has_setup ? s->setup : IDL_SDP_SETUP_ACTPASS;
	g_strlcpy(out->mid, p->mid, sizeof(out->mid));
	out->sctp_port = p->sctp_port;
	out->max_message_size = p->mms;
	out->legacy = p->legacy;
	out->end_of_candidates = m->eoc || s->eoc;
	g_ptr_array_add(p->cands, NULL);
	out->candidates = (char **)g_ptr_array_free(p->cands, FALSE);
	p->cands = NULL;
	return 0;
}

int idl_sdp_parse(const char *text, size_t len, struct idl_sdp *out, GError **err)
{
	struct parser *p;
	size_t pos = 0;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (text == NULL || len == 0)
		return idl_error_errno(err, -EINVAL, "the peer's SDP is empty");
	if (len > IDL_SDP_MAX_SIZE)
		return idl_error_errno(err, -EINVAL, "the peer's SDP is %zu bytes, more than the %d accepted", len, IDL_SDP_MAX_SIZE);

	p = g_new0(struct parser, 1);
	p->cur = &p->session;
	p->sctp_port = DEFAULT_SCTP_PORT;
	p->mms = DEFAULT_MAX_MESSAGE_SIZE;
	p->cands = g_ptr_array_new_with_free_func(g_free);
	p->err = err;

	while (pos < len && r == 0) {
		const char *start = text + pos, *nl = memchr(start, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - start) : len - pos;
		char line[MAX_LINE + 1];

		pos += n + (nl != NULL);
		p->line_no++;
		if (n > MAX_LINE) {
			r = fail_line(p, "the line is longer than %d bytes", MAX_LINE);
			break;
		}
		/* CRLF or LF; trailing blanks are not part of any value. */
		while (n > 0 && (start[n - 1] == '\r' || start[n - 1] == ' ' || start[n - 1] == '\t'))
			n--;
		if (n == 0 && p->line_no > 1)
			continue;
		memcpy(line, start, n);
		line[n] = 0;
		r = parse_line(p, line, n);
	}
	if (r == 0)
		r = finish(p, out);
	if (p->cands != NULL)
		g_ptr_array_free(p->cands, TRUE);
	/* The password is not much of a secret, but do not leave copies about. */
	memset(p, 0, sizeof(*p));
	g_free(p);
	if (r < 0)
		idl_sdp_clear(out);
	return r;
}

void idl_sdp_clear(struct idl_sdp *sdp)
{
	if (sdp == NULL)
		return;
	g_strfreev(sdp->candidates);
	memset(sdp, 0, sizeof(*sdp));
}

void idl_sdp_format_fingerprint(const unsigned char fp[IDL_FINGERPRINT_SIZE], char out[96])
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < IDL_FINGERPRINT_SIZE; i++) {
		out[i * 3] = hex[fp[i] >> 4];
		out[i * 3 + 1] = hex[fp[i] & 15];
		out[i * 3 + 2] = i + 1 < IDL_FINGERPRINT_SIZE ? ':' : 0;
	}
}

/* A string we put on a line of our own: printable ASCII, no CR/LF. */
static bool line_safe(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

static bool local_valid(const struct idl_sdp_local *l)
{
	unsigned char buf[sizeof(struct in6_addr)];

	if (l->ice_ufrag == NULL || !ice_chars(l->ice_ufrag, UFRAG_MIN, ICE_MAX) ||
	    l->ice_pwd == NULL || !ice_chars(l->ice_pwd, PWD_MIN, ICE_MAX) || l->fingerprint == NULL)
		return false;
	if (l->mid != NULL && l->mid[0] && !token_chars(l->mid, MID_MAX))
		return false;
	if (l->address != NULL && inet_pton(AF_INET, l->address, buf) != 1 &&
	    inet_pton(AF_INET6, l->address, buf) != 1)
		return false;
	for (size_t i = 0; l->candidates != NULL && l->candidates[i]; i++)
		if (strncmp(l->candidates[i], "candidate:", 10) != 0 || !line_safe(l->candidates[i]))
			return false;
	return (unsigned)l->setup <= IDL_SDP_SETUP_PASSIVE;
}

char *idl_sdp_build(const struct idl_sdp_local *l)
{
	static const char *const setups[] = { "actpass", "active", "passive" };
	const char *address;
	bool has_mid;
	char fp[96];
	GString *s;

	/* Everything here comes from our own code (the mid via idl_sdp_parse):
	 * invalid input is a bug, and must never inject a line. */
	g_return_val_if_fail(l != NULL && local_valid(l), NULL);
	address = l->address ? l->address : "0.0.0.0";
	has_mid = l->mid != NULL && l->mid[0];

	idl_sdp_format_fingerprint(l->fingerprint, fp);
	s = g_string_sized_new(1024);
	g_string_append_printf(s, "v=0\r\no=- %" G_GUINT64_FORMAT " 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",
			       l->session_id);
	if (has_mid)
		g_string_append_printf(s, "a=group:BUNDLE %s\r\n", l->mid);
	g_string_append_printf(s, "m=application %u %s\r\n", l->port ? l->port : 9u,
			       l->legacy ? "DTLS/SCTP 5000" : "UDP/DTLS/SCTP webrtc-datachannel");
	g_string_append_printf(s, "c=IN %s %s\r\n", strchr(address, ':') ? "IP6" : "IP4", address);
	if (has_mid)
		g_string_append_printf(s, "a=mid:%s\r\n", l->mid);
	g_string_append_printf(s, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", l->ice_ufrag, l->ice_pwd);
	g_string_append_printf(s, "a=fingerprint:sha-256 %s\r\na=setup:%s\r\n", fp, setups[l->setup]);
	if (l->legacy)
		g_string_append(s, "a=sctpmap:5000 webrtc-datachannel 1024\r\n");
	else
		g_string_append(s, "a=sctp-port:5000\r\n");
	g_string_append_printf(s, "a=max-message-size:%d\r\n", OUR_MAX_MESSAGE_SIZE);
	for (size_t i = 0; l->candidates != NULL && l->candidates[i]; i++)
		g_string_append_printf(s, "a=%s\r\n", l->candidates[i]);
	g_string_append(s, "a=end-of-candidates\r\n");
	return g_string_free(s, FALSE);
}
