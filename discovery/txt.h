/* txt: the DNS-SD TXT record of an idrop-lan service (RFC 6763 section 6),
 * encoded and decoded as the wire format: a run of length-prefixed
 * "key=value" strings. Pure functions over byte buffers, no I/O, so they are
 * unit tested and fuzzed directly. Keys (documented in README.md):
 *   v   protocol version (decimal, required)
 *   fp  device fingerprint, 64 hex digits (required): the device id
 *   n   display name, UTF-8 without control or hidden characters
 *   c   capabilities, comma-separated tokens; unknown tokens are ignored
 *   k   kind: "d" a device, "b" a browser attached to a device
 *   d   browsers: the display name of the device the tab is attached to
 *   t   browsers: the tab's id on that device, 16 lowercase hex digits */
#ifndef IDL_TXT_H
#define IDL_TXT_H

#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "base/fingerprint.h"
#include "base/name.h"

#define IDL_PROTOCOL_VERSION 1
#define IDL_TXT_NAME_MAX IDL_NAME_MAX /* bytes: a DNS label, like the instance name */
#define IDL_TXT_WIRE_MAX 1300        /* a record that fits one mDNS packet */
#define IDL_TXT_TAB_LEN 16           /* hex digits of a tab id */

enum idl_caps {
	IDL_CAP_INFO = 1u << 0,      /* GET /api/info */
	IDL_CAP_WEBRTC = 1u << 1,    /* POST /api/offer: WebRTC data channels, "echo" and "sink" */
};

struct idl_txt {
	unsigned version;
	char fingerprint[IDL_FINGERPRINT_HEX_LEN + 1];
	char name[IDL_TXT_NAME_MAX + 1];
	unsigned caps;               /* enum idl_caps bits */
	char kind;                   /* 'd' or 'b' */
	char device[IDL_TXT_NAME_MAX + 1]; /* 'b': the device attached to ("" if not said) */
	char tab[IDL_TXT_TAB_LEN + 1];     /* 'b': its id there; required for 'b' */
};

/* Encodes t into buf (wire format). Returns the length written, or
 * -EINVAL when a field cannot be encoded (bad fingerprint, over-long or
 * non-UTF-8 name), or -ENOSPC when cap is too small. */
int idl_txt_encode(const struct idl_txt *t, uint8_t *buf, size_t cap);

/* Decodes a TXT record in wire format into *out. As RFC 6763 says, keys are
 * case-insensitive, the first occurrence of a key wins, and unknown keys are
 * ignored; d and t are kept only for browsers. Returns 0, or -EINVAL with *err saying why the record is not a
 * usable idrop-lan record (truncated, missing v or fp, malformed value). */
int idl_txt_decode(const uint8_t *buf, size_t len, struct idl_txt *out, GError **err);

/* True when s is a tab id: exactly 16 lowercase hex digits. */
gboolean idl_txt_tab_valid(const char *s, size_t len);

#endif
