/* fingerprint: the device id, the SHA-256 fingerprint of a certificate,
 * as every layer handles it: raw bytes, 64 lowercase hex digits (TXT fp=,
 * known_peers, the API), the SDP form with colons, and the short form
 * people read aloud. Pure; no GnuTLS, so headers that carry an id do not
 * pull in the crypto library. */
#ifndef IDL_FINGERPRINT_H
#define IDL_FINGERPRINT_H

#define IDL_FINGERPRINT_SIZE 32            /* SHA-256 */
#define IDL_FINGERPRINT_HEX_LEN 64         /* lowercase hex, no separators */
#define IDL_FINGERPRINT_SHORT_LEN 9        /* "1a2b 3c4d" */

/* Formats 32 raw bytes as 64 lowercase hex digits into out[65]. */
void idl_fingerprint_to_hex(const unsigned char raw[IDL_FINGERPRINT_SIZE], char out[IDL_FINGERPRINT_HEX_LEN + 1]);

/* Parses a fingerprint written as 64 hex digits, with or without ':' between
 * byte pairs (the SDP form "AB:CD:..."), either case. Returns 0 or -EINVAL. */
int idl_fingerprint_parse(const char *text, unsigned char raw[IDL_FINGERPRINT_SIZE]);

/* The short form people read aloud and compare: the first 8 hex digits in
 * two groups of 4, "1a2b 3c4d", into out[10]. hex must be a valid id. */
void idl_fingerprint_short(const char *hex, char out[IDL_FINGERPRINT_SHORT_LEN + 1]);

#endif
