/* identity: the device's persistent identity, an ECDSA P-256 key and a
 * self-signed certificate kept in the state directory. The SHA-256
 * fingerprint of the certificate is the device id: it is advertised over
 * DNS-SD and is the DTLS certificate peers later check, so the device they
 * connect to is provably the device they discovered. */
#ifndef IDL_IDENTITY_H
#define IDL_IDENTITY_H

#include <glib.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define IDL_FINGERPRINT_SIZE 32            /* SHA-256 */
#define IDL_FINGERPRINT_HEX_LEN 64         /* lowercase hex, no separators */
#define IDL_FINGERPRINT_SHORT_LEN 9        /* "1a2b 3c4d" */

struct idl_identity;

/* Loads the identity kept in dir (key.pem + cert.pem), creating dir (0700)
 * and a new identity there when neither file exists. Refuses, with a
 * message that says what to do, when a file is group/other-accessible, not
 * owned by us, corrupt, or when only one of the two exists: an identity is
 * never silently replaced, because replacing it changes the device id.
 * On success *out is owned by the caller (idl_identity_free).
 * Returns 0 or a negative errno value with *err set (G_IO_ERROR domain). */
int idl_identity_load_or_create(const char *dir, struct idl_identity **out, GError **err);

/* Like idl_identity_load_or_create but never creates: -ENOENT when dir holds
 * no identity yet (for commands such as `list` that only read it). */
int idl_identity_load(const char *dir, struct idl_identity **out, GError **err);

/* NULL is a no-op. Wipes the key material. */
void idl_identity_free(struct idl_identity *id);

/* The device id: 64 lowercase hex digits. Borrowed, valid while id lives. */
const char *idl_identity_fingerprint(const struct idl_identity *id);

/* The certificate and key, borrowed, for the DTLS layer. */
gnutls_x509_crt_t idl_identity_crt(const struct idl_identity *id);
gnutls_x509_privkey_t idl_identity_key(const struct idl_identity *id);

/* Fingerprint helpers, pure. */

/* Formats 32 raw bytes as 64 lowercase hex digits into out[65]. */
void idl_fingerprint_to_hex(const unsigned char raw[IDL_FINGERPRINT_SIZE], char out[IDL_FINGERPRINT_HEX_LEN + 1]);

/* Parses a fingerprint written as 64 hex digits, with or without ':' between
 * byte pairs (the SDP form "AB:CD:..."), either case. Returns 0 or -EINVAL. */
int idl_fingerprint_parse(const char *text, unsigned char raw[IDL_FINGERPRINT_SIZE]);

/* The short form people read aloud and compare: the first 8 hex digits in
 * two groups of 4, "1a2b 3c4d", into out[10]. hex must be a valid id. */
void idl_fingerprint_short(const char *hex, char out[IDL_FINGERPRINT_SHORT_LEN + 1]);

/* Default state directory: $IDROP_STATE_DIR, else $XDG_STATE_HOME/idrop-lan,
 * else ~/.local/state/idrop-lan. Returned string is owned by the caller. */
char *idl_identity_default_dir(void);

#endif
