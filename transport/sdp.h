/* sdp: the SDP of a WebRTC data-channel session (RFC 8866, 8839, 8841,
 * 8122), parsed from what a remote peer sent and built for what we send.
 * Pure functions over text, no I/O: unit tested with real browser offers and
 * hostile input, and fuzzed. Only the one application m-section matters; an
 * offer with audio/video sections is refused. */
#ifndef IDL_SDP_H
#define IDL_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "base/fingerprint.h"

#define IDL_SDP_MAX_SIZE (64 * 1024)   /* bigger bodies are refused before parsing */
#define IDL_SDP_MAX_CANDIDATES 64

enum idl_sdp_setup {
	IDL_SDP_SETUP_ACTPASS,
	IDL_SDP_SETUP_ACTIVE,
	IDL_SDP_SETUP_PASSIVE,
};

/* What we need from a remote description. Attributes are taken from the
 * media section, falling back to the session level (Firefox puts ice-ufrag,
 * ice-pwd and fingerprint there). The fingerprint must be unambiguous: one
 * a=fingerprint:sha-256 line in all, and fingerprint lines at one level
 * only; anything else is refused (see sdp.c). */
struct idl_sdp {
	char ice_ufrag[257];            /* RFC 8839: 4..256 ice-chars */
	char ice_pwd[257];              /* 22..256 ice-chars */
	unsigned char fingerprint[IDL_FINGERPRINT_SIZE];   /* sha-256 only */
	enum idl_sdp_setup setup;       /* absent: actpass for an offer */
	char mid[33];                   /* "" when absent */
	uint16_t sctp_port;             /* a=sctp-port, or the legacy m= format; 5000 when absent */
	size_t max_message_size;        /* a=max-message-size; 65536 when absent; 0 means "any" */
	bool legacy;                    /* "m=application PORT DTLS/SCTP 5000" form */
	char **candidates;              /* NULL-terminated "candidate:..." values (without
	                                   "a="), syntactically checked; .local ones included */
	bool end_of_candidates;
};

/* Parses text (len bytes, need not be NUL-terminated). On success *out holds
 * copies owned by out (free with idl_sdp_clear). Returns 0, or -EINVAL with
 * *err saying what is wrong in words a user can act on ("no a=fingerprint
 * with sha-256", "no application m-section", "ice-pwd too short"...). */
int idl_sdp_parse(const char *text, size_t len, struct idl_sdp *out, GError **err);

void idl_sdp_clear(struct idl_sdp *sdp);

/* What we put in our own offer or answer. */
struct idl_sdp_local {
	uint64_t session_id;
	const char *ice_ufrag;
	const char *ice_pwd;
	const unsigned char *fingerprint;   /* IDL_FINGERPRINT_SIZE bytes */
	enum idl_sdp_setup setup;           /* offer: actpass; answer: active */
	const char *mid;                    /* answer: exactly the offer's mid */
	const char *const *candidates;      /* "candidate:..." values, NULL-terminated */
	const char *address;                /* for the c= line; "0.0.0.0" if NULL */
	uint16_t port;                      /* for the m= line; 9 if 0 */
	bool legacy;                        /* answer a legacy offer in its own form */
};

/* Builds an SDP with one application m-section (UDP/DTLS/SCTP
 * webrtc-datachannel, sctp-port 5000, max-message-size 262144), BUNDLE on the
 * mid, all candidates and a=end-of-candidates. Lines end with CRLF.
 * Returns a string owned by the caller (g_free). */
char *idl_sdp_build(const struct idl_sdp_local *local);

/* Formats a fingerprint the SDP way: "AB:CD:..." (95 chars + NUL). */
void idl_sdp_format_fingerprint(const unsigned char fp[IDL_FINGERPRINT_SIZE], char out[96]);

#endif
