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

#include "base/fingerprint.h"


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

/* Default state directory: $IDROP_STATE_DIR, else $XDG_STATE_HOME/idrop-lan,
 * else ~/.local/state/idrop-lan. Returned string is owned by the caller. */
char *idl_identity_default_dir(void);

#endif
