/* identity: loads, or creates on first use, the device's ECDSA P-256 key and
 * self-signed certificate in the state directory. The certificate's
 * fingerprint is the device id, so files are checked before they are trusted
 * and are never replaced: creation publishes both files or neither. The
 * files themselves (checks, reads, writes) are trust/keyfile.c. */

#include "trust/identity.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gnutls/crypto.h>

#include "trust/keyfile.h"
#include "base/error.h"

#define CERT_CN "idrop-lan"
#define DAY_SECONDS (24 * 60 * 60)
#define CERT_LIFETIME_DAYS (20 * 365)

struct idl_identity {
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
	char fingerprint[IDL_FINGERPRINT_HEX_LEN + 1];
};



static void free_secret(gnutls_datum_t *d)
{
	if (d->data != NULL)
		gnutls_memset(d->data, 0, d->size);
	g_free(d->data);
	d->data = NULL;
	d->size = 0;
}

static int import_key(const char *dir, const char *path, const gnutls_datum_t *pem, gnutls_x509_privkey_t *out, GError **err)
{
	gnutls_x509_privkey_t key = NULL;
	int r;

	r = gnutls_x509_privkey_init(&key);
	if (r < 0)
		return idl_error_errno(err, -ENOMEM, "cannot load %s: %s", path, gnutls_strerror(r));
	/* No password: we never write encrypted keys, and one that is
	 * encrypted is not ours, so it fails here like any other bad key. */
	r = gnutls_x509_privkey_import2(key, pem, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (r < 0) {
		r = idl_error_errno(err, -EBADMSG,
			      "%s is not a valid private key (%s): move " IDL_KEYFILE_KEY_NAME " and " IDL_KEYFILE_CERT_NAME " out of %s to create a new identity (%s)",
			      path, gnutls_strerror(r), dir, IDL_KEYFILE_NEW_ID_HINT);
		goto fail;
	}
	*out = key;
	return 0;

fail:
	gnutls_x509_privkey_deinit(key);
	return r;
}

static int import_crt(const char *dir, const char *path, const gnutls_datum_t *pem, gnutls_x509_crt_t *out, GError **err)
{
	gnutls_x509_crt_t crt = NULL;
	int r;

	r = gnutls_x509_crt_init(&crt);
	if (r < 0)
		return idl_error_errno(err, -ENOMEM, "cannot load %s: %s", path, gnutls_strerror(r));
	r = gnutls_x509_crt_import(crt, pem, GNUTLS_X509_FMT_PEM);
	if (r < 0) {
		r = idl_error_errno(err, -EBADMSG,
			      "%s is not a valid certificate (%s): move " IDL_KEYFILE_KEY_NAME " and " IDL_KEYFILE_CERT_NAME " out of %s to create a new identity (%s)",
			      path, gnutls_strerror(r), dir, IDL_KEYFILE_NEW_ID_HINT);
		goto fail;
	}
	*out = crt;
	return 0;

fail:
	gnutls_x509_crt_deinit(crt);
	return r;
}

/* A certificate for another key would make us advertise one id and prove
 * a different one in DTLS: peers would reject us, and rightly. */
static int check_pair(const struct idl_identity *id, const char *dir, const char *key_path, const char *cert_path,
		      GError **err)
{
	unsigned char crt_id[64], key_id[64];
	size_t crt_len = sizeof crt_id, key_len = sizeof key_id;
	int r;

	r = gnutls_x509_crt_get_key_id(id->crt, GNUTLS_KEYID_USE_SHA256, crt_id, &crt_len);
	if (r >= 0)
		r = gnutls_x509_privkey_get_key_id(id->key, GNUTLS_KEYID_USE_SHA256, key_id, &key_len);
	if (r < 0)
		return idl_error_errno(err, -EBADMSG,
				 "cannot compare %s with %s (%s): move both out of %s to create a new identity (%s)",
				 cert_path, key_path, gnutls_strerror(r), dir, IDL_KEYFILE_NEW_ID_HINT);
	if (crt_len != key_len || memcmp(crt_id, key_id, crt_len) != 0)
		return idl_error_errno(err, -EBADMSG,
				 "%s does not match %s (it holds another public key): restore the matching pair from a backup, or move both out of %s to create a new identity (%s)",
				 cert_path, key_path, dir, IDL_KEYFILE_NEW_ID_HINT);
	return 0;
}

static int compute_fingerprint(struct idl_identity *id, GError **err)
{
	unsigned char raw[IDL_FINGERPRINT_SIZE];
	size_t len = sizeof raw;
	int r;

	r = gnutls_x509_crt_get_fingerprint(id->crt, GNUTLS_DIG_SHA256, raw, &len);
	if (r < 0 || len != sizeof raw)
		return idl_error_errno(err, -EIO, "cannot compute the certificate fingerprint: %s",
				 r < 0 ? gnutls_strerror(r) : "unexpected length");
	idl_fingerprint_to_hex(raw, id->fingerprint);
	return 0;
}

static int load_identity(const char *dir, const char *key_path, const char *cert_path,
			 struct idl_identity **out, GError **err)
{
	gnutls_datum_t key_pem = { NULL, 0 }, crt_pem = { NULL, 0 };
	struct idl_identity *id = g_new0(struct idl_identity, 1);
	int r;

	r = idl_keyfile_read_pem(dir, key_path, true, &key_pem, err);
	if (r < 0)
		goto fail;
	r = idl_keyfile_read_pem(dir, cert_path, false, &crt_pem, err);
	if (r < 0)
		goto fail;
	r = import_key(dir, key_path, &key_pem, &id->key, err);
	if (r < 0)
		goto fail;
	r = import_crt(dir, cert_path, &crt_pem, &id->crt, err);
	if (r < 0)
		goto fail;
	r = check_pair(id, dir, key_path, cert_path, err);
	if (r < 0)
		goto fail;
	r = compute_fingerprint(id, err);
	if (r < 0)
		goto fail;
	*out = id;
	id = NULL;

fail:
	free_secret(&key_pem);
	g_free(crt_pem.data);
	idl_identity_free(id);
	return r;
}

static int generate(struct idl_identity *id, GError **err)
{
	unsigned char serial[16];
	time_t now = time(NULL);
	int r;

	r = gnutls_x509_privkey_init(&id->key);
	if (r >= 0)
		r = gnutls_x509_privkey_generate(id->key, GNUTLS_PK_ECDSA,
						 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
	if (r >= 0)
		r = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof serial);
	if (r >= 0)
		r = gnutls_x509_crt_init(&id->crt);
	if (r >= 0)
		r = gnutls_x509_crt_set_version(id->crt, 3);
	if (r >= 0) {
		/* DER integers are signed: clear the top bit so the serial stays
		 * positive, and set the next so it keeps its full length. */
		serial[0] = (unsigned char)((serial[0] & 0x7f) | 0x40);
		r = gnutls_x509_crt_set_serial(id->crt, serial, sizeof serial);
	}
	if (r >= 0)
		r = gnutls_x509_crt_set_dn_by_oid(id->crt, GNUTLS_OID_X520_COMMON_NAME, 0,
						  CERT_CN, (unsigned int)strlen(CERT_CN));
	/* A day back so a peer whose clock is behind ours still accepts it. */
	if (r >= 0)
		r = gnutls_x509_crt_set_activation_time(id->crt, now - DAY_SECONDS);
	if (r >= 0)
		r = gnutls_x509_crt_set_expiration_time(id->crt, now + (time_t)CERT_LIFETIME_DAYS * DAY_SECONDS);
	if (r >= 0)
		r = gnutls_x509_crt_set_key(id->crt, id->key);
	if (r >= 0)
		r = gnutls_x509_crt_sign2(id->crt, id->crt, id->key, GNUTLS_DIG_SHA256, 0);
	if (r < 0)
		return idl_error_errno(err, -EIO, "cannot generate a new identity: %s (GnuTLS); check that the system random source works",
				 gnutls_strerror(r));
	return 0;
}

static int create_identity(const char *dir, const char *key_path, const char *cert_path,
			   struct idl_identity **out, GError **err)
{
	struct idl_identity *id = g_new0(struct idl_identity, 1);
	gnutls_datum_t key_pem = { NULL, 0 }, crt_pem = { NULL, 0 };
	char *key_tmp = NULL, *crt_tmp = NULL;
	bool undo_key = false, undo_crt = false;
	int r;

	r = generate(id, err);
	if (r < 0)
		goto fail;
	r = compute_fingerprint(id, err);
	if (r < 0)
		goto fail;
	r = gnutls_x509_privkey_export2_pkcs8(id->key, GNUTLS_X509_FMT_PEM, NULL, GNUTLS_PKCS_PLAIN, &key_pem);
	if (r >= 0)
		r = gnutls_x509_crt_export2(id->crt, GNUTLS_X509_FMT_PEM, &crt_pem);
	if (r < 0) {
		r = idl_error_errno(err, -EIO, "cannot encode the new identity: %s (GnuTLS)", gnutls_strerror(r));
		goto fail;
	}

	/* Both files are complete on disk before either is published, so the
	 * only step left that can fail halfway is the second rename. */
	r = idl_keyfile_write_temp(dir, IDL_KEYFILE_KEY_NAME, &key_pem, &key_tmp, err);
	if (r < 0)
		goto fail;
	r = idl_keyfile_write_temp(dir, IDL_KEYFILE_CERT_NAME, &crt_pem, &crt_tmp, err);
	if (r < 0)
		goto fail;
	r = idl_keyfile_publish(key_tmp, key_path, err);
	if (r < 0)
		goto fail;
	undo_key = true;
	g_clear_pointer(&key_tmp, g_free);
	r = idl_keyfile_publish(crt_tmp, cert_path, err);
	if (r < 0)
		goto fail;
	undo_crt = true;
	g_clear_pointer(&crt_tmp, g_free);
	r = idl_sync_dir(dir);
	if (r < 0) {
		idl_error_errno(err, r, "cannot write the new identity in %s to disk: %s", dir, g_strerror(-r));
		goto fail;
	}

	undo_key = undo_crt = false;
	*out = id;
	id = NULL;

fail:
	/* Never leave half an identity: a key without its certificate would
	 * make every later start refuse to run. */
	if (undo_crt)
		unlink(cert_path);
	if (undo_key)
		unlink(key_path);
	if (key_tmp != NULL)
		unlink(key_tmp);
	if (crt_tmp != NULL)
		unlink(crt_tmp);
	g_free(key_tmp);
	g_free(crt_tmp);
	if (key_pem.data != NULL)
		gnutls_memset(key_pem.data, 0, key_pem.size);
	gnutls_free(key_pem.data);
	gnutls_free(crt_pem.data);
	idl_identity_free(id);
	return r;
}

static int load_common(const char *dir, bool create, struct idl_identity **out, GError **err)
{
	char *key_path = NULL, *cert_path = NULL;
	bool have_key = false, have_cert = false;
	int r, e;

	g_return_val_if_fail(dir != NULL && out != NULL, -EINVAL);
	g_return_val_if_fail(err == NULL || *err == NULL, -EINVAL);

	*out = NULL;
	key_path = g_build_filename(dir, IDL_KEYFILE_KEY_NAME, NULL);
	cert_path = g_build_filename(dir, IDL_KEYFILE_CERT_NAME, NULL);

	if (create && g_mkdir_with_parents(dir, 0700) < 0) {
		e = errno;
		r = idl_error_errno(err, -e, "cannot create the state directory %s: %s; check the permissions of its parent, or set IDROP_STATE_DIR to a writable directory",
			      dir, g_strerror(e));
		goto fail;
	}
	r = idl_keyfile_check_dir(dir, err);
	if (r < 0)
		goto fail;
	r = idl_keyfile_exists(key_path, &have_key, err);
	if (r < 0)
		goto fail;
	r = idl_keyfile_exists(cert_path, &have_cert, err);
	if (r < 0)
		goto fail;

	if (!have_key && !have_cert) {
		if (create)
			r = create_identity(dir, key_path, cert_path, out, err);
		else
			r = idl_error_errno(err, -ENOENT,
				      "no identity in %s yet: it is created the first time a command needs one, or set IDROP_STATE_DIR if it is kept elsewhere",
				      dir);
	} else if (!have_cert) {
		/* EBADMSG, not ENOENT: callers read -ENOENT as "nothing there
		 * yet", and half an identity must not pass for that. */
		r = idl_error_errno(err, -EBADMSG,
			      "%s exists but %s is missing: restore %s from a backup, or move %s away to create a new identity (%s)",
			      key_path, cert_path, cert_path, key_path, IDL_KEYFILE_NEW_ID_HINT);
	} else if (!have_key) {
		r = idl_error_errno(err, -EBADMSG,
			      "%s exists but %s is missing: restore %s from a backup, or move %s away to create a new identity (%s)",
			      cert_path, key_path, key_path, cert_path, IDL_KEYFILE_NEW_ID_HINT);
	} else {
		r = load_identity(dir, key_path, cert_path, out, err);
	}

fail:
	g_free(key_path);
	g_free(cert_path);
	return r;
}

int idl_identity_load_or_create(const char *dir, struct idl_identity **out, GError **err)
{
	return load_common(dir, true, out, err);
}

int idl_identity_load(const char *dir, struct idl_identity **out, GError **err)
{
	return load_common(dir, false, out, err);
}

void idl_identity_free(struct idl_identity *id)
{
	if (id == NULL)
		return;
	/* GnuTLS zeroes the key's numbers when it releases them. */
	if (id->key != NULL)
		gnutls_x509_privkey_deinit(id->key);
	if (id->crt != NULL)
		gnutls_x509_crt_deinit(id->crt);
	g_free(id);
}

const char *idl_identity_fingerprint(const struct idl_identity *id)
{
	g_return_val_if_fail(id != NULL, NULL);
	return id->fingerprint;
}

gnutls_x509_crt_t idl_identity_crt(const struct idl_identity *id)
{
	g_return_val_if_fail(id != NULL, NULL);
	return id->crt;
}

gnutls_x509_privkey_t idl_identity_key(const struct idl_identity *id)
{
	g_return_val_if_fail(id != NULL, NULL);
	return id->key;
}

char *idl_identity_default_dir(void)
{
	const char *env = g_getenv("IDROP_STATE_DIR");

	if (env != NULL && env[0] != '\0')
		return g_strdup(env);
	/* GLib applies $XDG_STATE_HOME and its ~/.local/state default. */
	return g_build_filename(g_get_user_state_dir(), "idrop-lan", NULL);
}
