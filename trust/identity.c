/* identity: loads, or creates on first use, the device's ECDSA P-256 key and
 * self-signed certificate in the state directory. The certificate's
 * fingerprint is the device id, so files are checked before they are trusted
 * and are never replaced: creation publishes both files or neither. */

#include "trust/identity.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gnutls/crypto.h>

#include "base/error.h"

#define KEY_NAME "key.pem"
#define CERT_NAME "cert.pem"
#define CERT_CN "idrop-lan"
#define DAY_SECONDS (24 * 60 * 60)
#define CERT_LIFETIME_DAYS (20 * 365)
/* Our files are well under 1 KiB; the bound keeps a wrong file from being
 * read whole into memory. */
#define MAX_PEM_SIZE (64 * 1024)

/* Said wherever we suggest moving a file away, because that is the step
 * people regret: peers will no longer recognise the device. */
#define NEW_ID_HINT "this changes the device id, so peers will see a new device"

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

/* The state directory holds the key, the peers we know and resume
 * records: another user who can write in it could swap any of them. A
 * missing directory is fine here (nothing to load, or created 0700). */
static int check_dir(const char *dir, GError **err)
{
	struct stat st;

	if (stat(dir, &st) < 0)
		return errno == ENOENT ? 0 : idl_error_errno(err, -errno, "cannot check %s: %s", dir, g_strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return idl_error_errno(err, -ENOTDIR, "%s is not a directory: set IDROP_STATE_DIR (or --state-dir) to a directory", dir);
	if (st.st_uid != geteuid())
		return idl_error_errno(err, -EPERM,
				 "the state directory %s is owned by uid %u, not by the current user (uid %u): use your own with --state-dir",
				 dir, (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & 022)
		return idl_error_errno(err, -EACCES,
				 "the state directory %s is writable by other users (mode %04o), who could replace the identity or the known peers: run chmod 700 %s",
				 dir, (unsigned)(st.st_mode & 07777), dir);
	return 0;
}

static int path_exists(const char *path, bool *exists, GError **err)
{
	struct stat st;
	int e;

	/* lstat: a dangling symlink is still something we must not replace. */
	if (lstat(path, &st) == 0) {
		*exists = true;
		return 0;
	}
	e = errno;
	if (e == ENOENT) {
		*exists = false;
		return 0;
	}
	return idl_error_errno(err, -e, "cannot look for %s: %s; check the permissions of its directory",
			 path, g_strerror(e));
}

/* Reads a PEM file after checking that it is ours and, for the key, that
 * no one else can read it: a key others could read is no longer secret, so
 * we stop and say so rather than go on using it. */
static int read_pem(const char *dir, const char *path, bool secret, gnutls_datum_t *out, GError **err)
{
	struct stat st;
	unsigned char *buf = NULL;
	size_t len = 0, want = 0;
	int fd, r, e;

	out->data = NULL;
	out->size = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		e = errno;
		return idl_error_errno(err, -e, "cannot open %s: %s; check its permissions", path, g_strerror(e));
	}
	if (fstat(fd, &st) < 0) {
		e = errno;
		r = idl_error_errno(err, -e, "cannot check %s: %s", path, g_strerror(e));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		r = idl_error_errno(err, -EINVAL, "%s is not a regular file: move " KEY_NAME " and " CERT_NAME " out of %s to create a new identity (%s)",
			      path, dir, NEW_ID_HINT);
		goto fail;
	}
	if (st.st_uid != geteuid()) {
		r = idl_error_errno(err, -EPERM,
			      "%s is owned by uid %u, not by the current user (uid %u): if the file is really yours, run chown %u %s",
			      path, (unsigned)st.st_uid, (unsigned)geteuid(), (unsigned)geteuid(), path);
		goto fail;
	}
	if (secret && (st.st_mode & 077) != 0) {
		r = idl_error_errno(err, -EACCES,
			      "%s is accessible by other users (mode %04o), so the private key is not private: run chmod 600 %s",
			      path, (unsigned)(st.st_mode & 07777), path);
		goto fail;
	}
	if (st.st_size > MAX_PEM_SIZE) {
		r = idl_error_errno(err, -EBADMSG,
			      "%s is too large (%jd bytes) to be an identity file: move " KEY_NAME " and " CERT_NAME " out of %s to create a new identity (%s)",
			      path, (intmax_t)st.st_size, dir, NEW_ID_HINT);
		goto fail;
	}

	want = (size_t)st.st_size;
	buf = g_malloc(want + 1);
	r = idl_read_fd(fd, path, buf, want, -1, &len, err);
	if (r < 0)
		goto fail;
	buf[len] = '\0';
	close(fd);
	out->data = buf;
	out->size = (unsigned int)len;
	return 0;

fail:
	if (buf != NULL)
		gnutls_memset(buf, 0, want + 1);
	g_free(buf);
	close(fd);
	return r;
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
			      "%s is not a valid private key (%s): move " KEY_NAME " and " CERT_NAME " out of %s to create a new identity (%s)",
			      path, gnutls_strerror(r), dir, NEW_ID_HINT);
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
			      "%s is not a valid certificate (%s): move " KEY_NAME " and " CERT_NAME " out of %s to create a new identity (%s)",
			      path, gnutls_strerror(r), dir, NEW_ID_HINT);
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
				 cert_path, key_path, gnutls_strerror(r), dir, NEW_ID_HINT);
	if (crt_len != key_len || memcmp(crt_id, key_id, crt_len) != 0)
		return idl_error_errno(err, -EBADMSG,
				 "%s does not match %s (it holds another public key): restore the matching pair from a backup, or move both out of %s to create a new identity (%s)",
				 cert_path, key_path, dir, NEW_ID_HINT);
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

	r = read_pem(dir, key_path, true, &key_pem, err);
	if (r < 0)
		goto fail;
	r = read_pem(dir, cert_path, false, &crt_pem, err);
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

/* Writes data to a new file next to its final name, so that publishing it
 * is a rename within one directory: atomic, and a crash leaves at worst a
 * stray temp file, never a truncated key.pem or cert.pem. */
static int write_temp(const char *dir, const char *name, const gnutls_datum_t *data, char **tmp_out, GError **err)
{
	char *tmp = NULL;
	size_t off = 0;
	int fd = -1, tries, r, e;

	for (tries = 0; fd < 0 && tries < 16; tries++) {
		char *base = g_strdup_printf(".%s.%08x", name, g_random_int());

		g_free(tmp);
		tmp = g_build_filename(dir, base, NULL);
		g_free(base);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		e = errno;
		r = idl_error_errno(err, -e, "cannot create a file in %s: %s; check that the directory is writable",
			      dir, g_strerror(e));
		g_clear_pointer(&tmp, g_free);
		goto fail;
	}
	while (off < data->size) {
		ssize_t n = write(fd, data->data + off, data->size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = errno;
			r = idl_error_errno(err, -e, "cannot write %s: %s; check the free space in %s",
				      tmp, g_strerror(e), dir);
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) < 0) {
		e = errno;
		r = idl_error_errno(err, -e, "cannot write %s to disk: %s", tmp, g_strerror(e));
		goto fail;
	}
	r = close(fd);
	fd = -1;
	if (r < 0) {
		e = errno;
		r = idl_error_errno(err, -e, "cannot write %s: %s", tmp, g_strerror(e));
		goto fail;
	}
	*tmp_out = tmp;
	return 0;

fail:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL)
		unlink(tmp);
	g_free(tmp);
	return r;
}

/* Moves tmp to path without ever replacing path: if another process made
 * an identity since we looked, theirs wins and we stop. */
static int publish(const char *tmp, const char *path, GError **err)
{
	int e;

	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
		return 0;
	e = errno;
	/* Some file systems lack RENAME_NOREPLACE; link() refuses to
	 * overwrite too. */
	if (e == EINVAL || e == ENOSYS) {
		if (link(tmp, path) == 0) {
			unlink(tmp);
			return 0;
		}
		e = errno;
	}
	if (e == EEXIST)
		return idl_error_errno(err, -e, "%s appeared while a new identity was being created (is another idrop-lan starting?): run the command again",
				 path);
	return idl_error_errno(err, -e, "cannot create %s: %s; check that its directory is writable", path, g_strerror(e));
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
	r = write_temp(dir, KEY_NAME, &key_pem, &key_tmp, err);
	if (r < 0)
		goto fail;
	r = write_temp(dir, CERT_NAME, &crt_pem, &crt_tmp, err);
	if (r < 0)
		goto fail;
	r = publish(key_tmp, key_path, err);
	if (r < 0)
		goto fail;
	undo_key = true;
	g_clear_pointer(&key_tmp, g_free);
	r = publish(crt_tmp, cert_path, err);
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
	key_path = g_build_filename(dir, KEY_NAME, NULL);
	cert_path = g_build_filename(dir, CERT_NAME, NULL);

	if (create && g_mkdir_with_parents(dir, 0700) < 0) {
		e = errno;
		r = idl_error_errno(err, -e, "cannot create the state directory %s: %s; check the permissions of its parent, or set IDROP_STATE_DIR to a writable directory",
			      dir, g_strerror(e));
		goto fail;
	}
	r = check_dir(dir, err);
	if (r < 0)
		goto fail;
	r = path_exists(key_path, &have_key, err);
	if (r < 0)
		goto fail;
	r = path_exists(cert_path, &have_cert, err);
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
			      key_path, cert_path, cert_path, key_path, NEW_ID_HINT);
	} else if (!have_key) {
		r = idl_error_errno(err, -EBADMSG,
			      "%s exists but %s is missing: restore %s from a backup, or move %s away to create a new identity (%s)",
			      cert_path, key_path, key_path, cert_path, NEW_ID_HINT);
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
