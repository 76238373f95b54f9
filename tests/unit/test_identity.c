/* test_identity: the device identity on disk and the fingerprint helpers.
 * Every refusal is checked for its error code, for advice that names the
 * file, and for leaving the directory exactly as it was. Where a value can
 * be computed without our code (openssl, GLib's SHA-256), it is. */

#include "trust/identity.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>

#define OPENSSL "/usr/bin/openssl"
#define DAY (24 * 60 * 60)
#define YEAR (365 * DAY)

/* --- helpers --- */

static char *make_tmpdir(void)
{
	GError *err = NULL;
	char *dir = g_dir_make_tmp("idl-identity-XXXXXX", &err);

	g_assert_no_error(err);
	return dir;
}

static void remove_tree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		GDir *d;
		const char *name;

		/* A test may have left it unreadable on purpose. */
		g_chmod(path, 0700);
		d = g_dir_open(path, 0, NULL);
		if (d != NULL) {
			while ((name = g_dir_read_name(d)) != NULL) {
				char *child = g_build_filename(path, name, NULL);

				remove_tree(child);
				g_free(child);
			}
			g_dir_close(d);
		}
		g_assert_cmpint(g_rmdir(path), ==, 0);
	} else {
		g_assert_cmpint(g_unlink(path), ==, 0);
	}
}

static unsigned count_entries(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	unsigned n = 0;

	g_assert_nonnull(d);
	while (g_dir_read_name(d) != NULL)
		n++;
	g_dir_close(d);
	return n;
}

static int cmp_strings(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every entry of dir with its mode, owner and exact bytes: two equal
 * snapshots mean nothing in dir was touched. */
static char *snapshot(const char *dir)
{
	GPtrArray *lines = g_ptr_array_new_with_free_func(g_free);
	GString *all = g_string_new(NULL);
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;
	guint i;

	g_assert_nonnull(d);
	while ((name = g_dir_read_name(d)) != NULL) {
		char *path = g_build_filename(dir, name, NULL);
		char *contents = NULL, *b64;
		gsize len = 0;
		struct stat st;

		g_assert_cmpint(lstat(path, &st), ==, 0);
		if (S_ISREG(st.st_mode))
			g_assert_true(g_file_get_contents(path, &contents, &len, NULL));
		b64 = g_base64_encode((const guchar *)contents, len);
		g_ptr_array_add(lines, g_strdup_printf("%s %o %u %s", name, (unsigned)st.st_mode,
						       (unsigned)st.st_uid, b64));
		g_free(b64);
		g_free(contents);
		g_free(path);
	}
	g_dir_close(d);
	g_ptr_array_sort(lines, cmp_strings);
	for (i = 0; i < lines->len; i++)
		g_string_append_printf(all, "%s\n", (const char *)g_ptr_array_index(lines, i));
	g_ptr_array_free(lines, TRUE);
	return g_string_free(all, FALSE);
}

static struct idl_identity *create_ok(const char *dir)
{
	struct idl_identity *id = NULL;
	GError *err = NULL;
	int r = idl_identity_load_or_create(dir, &id, &err);

	g_assert_no_error(err);
	g_assert_cmpint(r, ==, 0);
	g_assert_nonnull(id);
	return id;
}

static void write_file(const char *path, const char *data, gssize len, mode_t mode)
{
	GError *err = NULL;

	g_file_set_contents(path, data, len, &err);
	g_assert_no_error(err);
	g_assert_cmpint(g_chmod(path, mode), ==, 0);
}

static char *read_text(const char *path)
{
	char *s = NULL;
	GError *err = NULL;

	g_file_get_contents(path, &s, NULL, &err);
	g_assert_no_error(err);
	return s;
}

/* Both entry points must refuse the same way, and neither may change dir.
 * needles: strings the message must contain, NULL-terminated. */
static void assert_refused(const char *dir, int want_errno, GIOErrorEnum code, const char *const *needles)
{
	char *before = snapshot(dir);
	int create;

	for (create = 0; create < 2; create++) {
		struct idl_identity *id = NULL;
		GError *err = NULL;
		char *after;
		int r, i;

		if (create)
			r = idl_identity_load_or_create(dir, &id, &err);
		else
			r = idl_identity_load(dir, &id, &err);
		g_assert_cmpint(r, ==, -want_errno);
		g_assert_error(err, G_IO_ERROR, (gint)code);
		g_assert_null(id);
		g_test_message("refused: %s", err->message);
		for (i = 0; needles != NULL && needles[i] != NULL; i++) {
			if (strstr(err->message, needles[i]) == NULL)
				g_error("message \"%s\" lacks \"%s\"", err->message, needles[i]);
		}
		g_error_free(err);
		after = snapshot(dir);
		g_assert_cmpstr(after, ==, before);
		g_free(after);
	}
	g_free(before);
}

/* Runs openssl with args; NULL when it is not installed. */
static char *run_openssl(const char *const *args)
{
	const char *argv[16] = { OPENSSL };
	char *out = NULL, *errout = NULL;
	GError *err = NULL;
	int status, i;

	if (!g_file_test(OPENSSL, G_FILE_TEST_IS_EXECUTABLE))
		return NULL;
	for (i = 0; args[i] != NULL; i++) {
		g_assert_cmpint(i, <, 14);
		argv[i + 1] = args[i];
	}
	g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &errout, &status, &err);
	g_assert_no_error(err);
	if (!g_spawn_check_wait_status(status, &err))
		g_error("openssl failed: %s: %s", err->message, errout);
	g_free(errout);
	return out;
}

static bool is_lower_hex(const char *s, size_t len)
{
	size_t i;

	if (strlen(s) != len)
		return false;
	for (i = 0; i < len; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

/* --- identity on disk --- */

static void test_create(void)
{
	char *tmp = make_tmpdir();
	char *dir = g_build_filename(tmp, "a", "b", "idrop-lan", NULL);
	char *key = g_build_filename(dir, "key.pem", NULL);
	char *cert = g_build_filename(dir, "cert.pem", NULL);
	struct idl_identity *id;
	struct stat st;
	char *text;

	id = create_ok(dir);

	g_assert_cmpint(stat(dir, &st), ==, 0);
	g_assert_true(S_ISDIR(st.st_mode));
	g_assert_cmpint(st.st_mode & 07777, ==, 0700);

	g_assert_cmpint(lstat(key, &st), ==, 0);
	g_assert_true(S_ISREG(st.st_mode));
	g_assert_cmpint(st.st_mode & 07777, ==, 0600);
	g_assert_cmpuint(st.st_uid, ==, geteuid());

	g_assert_cmpint(lstat(cert, &st), ==, 0);
	g_assert_true(S_ISREG(st.st_mode));
	g_assert_true((st.st_mode & 07777) == 0600 || (st.st_mode & 07777) == 0644);
	g_assert_cmpuint(st.st_uid, ==, geteuid());

	/* No temp files left behind. */
	g_assert_cmpuint(count_entries(dir), ==, 2);

	text = read_text(key);
	g_assert_true(g_str_has_prefix(text, "-----BEGIN PRIVATE KEY-----\n"));
	g_free(text);
	text = read_text(cert);
	g_assert_true(g_str_has_prefix(text, "-----BEGIN CERTIFICATE-----\n"));
	g_free(text);

	g_assert_true(is_lower_hex(idl_identity_fingerprint(id), IDL_FINGERPRINT_HEX_LEN));
	g_assert_nonnull(idl_identity_crt(id));
	g_assert_nonnull(idl_identity_key(id));

	idl_identity_free(id);
	idl_identity_free(NULL);
	remove_tree(tmp);
	g_free(cert);
	g_free(key);
	g_free(dir);
	g_free(tmp);
}

static void test_reload(void)
{
	char *dir = make_tmpdir();
	struct idl_identity *id, *again = NULL;
	GError *err = NULL;
	char *fp, *before, *after;

	id = create_ok(dir);
	fp = g_strdup(idl_identity_fingerprint(id));
	idl_identity_free(id);
	before = snapshot(dir);

	id = create_ok(dir);
	g_assert_cmpstr(idl_identity_fingerprint(id), ==, fp);
	g_assert_cmpint(idl_identity_load(dir, &again, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpstr(idl_identity_fingerprint(again), ==, fp);

	/* Loading must not rewrite anything. */
	after = snapshot(dir);
	g_assert_cmpstr(after, ==, before);

	idl_identity_free(again);
	idl_identity_free(id);
	remove_tree(dir);
	g_free(after);
	g_free(before);
	g_free(fp);
	g_free(dir);
}

/* The id must be what anyone else computes from cert.pem, or peers checking
 * our DTLS certificate would not find the device they discovered. */
static void test_fingerprint_independent(void)
{
	char *dir = make_tmpdir();
	char *cert = g_build_filename(dir, "cert.pem", NULL);
	struct idl_identity *id = create_ok(dir);
	gnutls_datum_t pem, der = { NULL, 0 };
	char *text = read_text(cert), *sum, *out;
	const char *args[] = { "x509", "-noout", "-fingerprint", "-sha256", "-in", cert, NULL };

	/* PEM -> DER by plain base64, hashed by GLib: no X.509 code of ours
	 * or GnuTLS's in the way. */
	pem.data = (unsigned char *)text;
	pem.size = (unsigned int)strlen(text);
	g_assert_cmpint(gnutls_pem_base64_decode2("CERTIFICATE", &pem, &der), ==, 0);
	sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, der.data, der.size);
	g_assert_cmpstr(idl_identity_fingerprint(id), ==, sum);

	out = run_openssl(args);
	if (out != NULL) {
		/* "sha256 Fingerprint=AB:CD:..." */
		char *value = strchr(out, '=');
		char **pairs, *joined, *lower;

		g_assert_nonnull(value);
		pairs = g_strsplit(g_strstrip(value + 1), ":", -1);
		joined = g_strjoinv("", pairs);
		lower = g_ascii_strdown(joined, -1);
		g_assert_cmpstr(idl_identity_fingerprint(id), ==, lower);
		g_free(lower);
		g_free(joined);
		g_strfreev(pairs);
		g_free(out);
	} else {
		g_test_message("no %s: checked against GLib's SHA-256 only", OPENSSL);
	}

	idl_identity_free(id);
	remove_tree(dir);
	gnutls_free(der.data);
	g_free(sum);
	g_free(text);
	g_free(cert);
	g_free(dir);
}

static void test_key_and_cert_contents(void)
{
	char *dir = make_tmpdir(), *dir2 = make_tmpdir();
	char *key_path = g_build_filename(dir, "key.pem", NULL);
	char *cert_path = g_build_filename(dir, "cert.pem", NULL);
	struct idl_identity *id = create_ok(dir), *other = create_ok(dir2);
	gnutls_x509_privkey_t key = idl_identity_key(id);
	gnutls_x509_crt_t crt = idl_identity_crt(id);
	gnutls_ecc_curve_t curve;
	gnutls_datum_t x, y, k, sig = { NULL, 0 };
	const gnutls_datum_t msg = { (unsigned char *)"idrop-lan", 9 };
	gnutls_privkey_t priv;
	gnutls_pubkey_t pub;
	unsigned bits = 0;
	unsigned char serial[64], serial2[64];
	size_t serial_len = sizeof serial, serial2_len = sizeof serial2;
	char cn[64];
	size_t cn_len = sizeof cn;
	time_t now = time(NULL);
	char *out;
	const char *pkey_args[] = { "pkey", "-in", key_path, "-noout", "-text", NULL };
	const char *verify_args[] = { "verify", "-CAfile", cert_path, cert_path, NULL };

	g_assert_cmpint(gnutls_x509_privkey_get_pk_algorithm2(key, &bits), ==, GNUTLS_PK_ECDSA);
	g_assert_cmpuint(bits, ==, 256);
	g_assert_cmpint(gnutls_x509_privkey_export_ecc_raw(key, &curve, &x, &y, &k), ==, 0);
	g_assert_cmpint(curve, ==, GNUTLS_ECC_CURVE_SECP256R1);
	gnutls_memset(k.data, 0, k.size);
	gnutls_free(k.data);
	gnutls_free(x.data);
	gnutls_free(y.data);

	g_assert_cmpint(gnutls_x509_crt_get_pk_algorithm(crt, NULL), ==, GNUTLS_PK_ECDSA);
	g_assert_cmpint(gnutls_x509_crt_get_signature_algorithm(crt), ==, GNUTLS_SIGN_ECDSA_SHA256);
	g_assert_cmpint(gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &cn_len), ==, 0);
	g_assert_cmpstr(cn, ==, "idrop-lan");
	g_assert_cmpint(gnutls_x509_crt_get_activation_time(crt), <=, now - DAY + 60);
	g_assert_cmpint(gnutls_x509_crt_get_activation_time(crt), >=, now - 2 * DAY);
	g_assert_cmpint(gnutls_x509_crt_get_expiration_time(crt), >=, now + 19 * (time_t)YEAR);
	g_assert_cmpint(gnutls_x509_crt_get_expiration_time(crt), <=, now + 21 * (time_t)YEAR);

	/* Random serials: two identities never share one. */
	g_assert_cmpint(gnutls_x509_crt_get_serial(crt, serial, &serial_len), ==, 0);
	g_assert_cmpint(gnutls_x509_crt_get_serial(idl_identity_crt(other), serial2, &serial2_len), ==, 0);
	g_assert_cmpuint(serial_len, >=, 8);
	g_assert_false(serial_len == serial2_len && memcmp(serial, serial2, serial_len) == 0);

	/* The key and the certificate work as a pair, as DTLS will use them. */
	g_assert_cmpint(gnutls_privkey_init(&priv), ==, 0);
	g_assert_cmpint(gnutls_privkey_import_x509(priv, key, 0), ==, 0);
	g_assert_cmpint(gnutls_privkey_sign_data2(priv, GNUTLS_SIGN_ECDSA_SHA256, 0, &msg, &sig), ==, 0);
	g_assert_cmpint(gnutls_pubkey_init(&pub), ==, 0);
	g_assert_cmpint(gnutls_pubkey_import_x509(pub, crt, 0), ==, 0);
	g_assert_cmpint(gnutls_pubkey_verify_data2(pub, GNUTLS_SIGN_ECDSA_SHA256, 0, &msg, &sig), >=, 0);
	gnutls_free(sig.data);
	gnutls_pubkey_deinit(pub);
	gnutls_privkey_deinit(priv);

	out = run_openssl(pkey_args);
	if (out != NULL) {
		g_assert_nonnull(strstr(out, "ASN1 OID: prime256v1"));
		g_free(out);
		/* Self-signature verifies; exits non-zero otherwise. */
		out = run_openssl(verify_args);
		g_assert_nonnull(strstr(out, "OK"));
		g_free(out);
	}

	idl_identity_free(other);
	idl_identity_free(id);
	remove_tree(dir2);
	remove_tree(dir);
	g_free(cert_path);
	g_free(key_path);
	g_free(dir2);
	g_free(dir);
}

static void test_key_mode(void)
{
	static const struct {
		mode_t mode;
		bool accepted;
	} cases[] = {
		{ 0600, true }, { 0400, true }, { 0700, true },
		{ 0640, false }, { 0604, false }, { 0644, false }, { 0660, false },
		{ 0620, false }, { 0610, false }, { 0602, false }, { 0601, false }, { 0777, false },
	};
	char *dir = make_tmpdir();
	char *key = g_build_filename(dir, "key.pem", NULL);
	struct idl_identity *id = create_ok(dir);
	char *fp = g_strdup(idl_identity_fingerprint(id));
	char *advice = g_strdup_printf("run chmod 600 %s", key);
	const char *needles[] = { advice, NULL };
	size_t i;

	idl_identity_free(id);
	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct stat st;

		g_test_message("key.pem mode %04o", (unsigned)cases[i].mode);
		g_assert_cmpint(g_chmod(key, cases[i].mode), ==, 0);
		if (cases[i].accepted) {
			id = create_ok(dir);
			g_assert_cmpstr(idl_identity_fingerprint(id), ==, fp);
			idl_identity_free(id);
		} else {
			assert_refused(dir, EACCES, G_IO_ERROR_PERMISSION_DENIED, needles);
		}
		/* Never "fixed" behind the user's back. */
		g_assert_cmpint(stat(key, &st), ==, 0);
		g_assert_cmpint(st.st_mode & 07777, ==, cases[i].mode);
	}

	remove_tree(dir);
	g_free(advice);
	g_free(fp);
	g_free(key);
	g_free(dir);
}

static void test_not_owned(void)
{
	static const char *const names[] = { "key.pem", "cert.pem" };
	char *dir;
	size_t i;

	if (geteuid() != 0) {
		g_test_skip("needs root to give a file to another user");
		return;
	}
	dir = make_tmpdir();
	idl_identity_free(create_ok(dir));
	for (i = 0; i < G_N_ELEMENTS(names); i++) {
		char *path = g_build_filename(dir, names[i], NULL);
		const char *needles[] = { path, "chown", NULL };

		g_assert_cmpint(chown(path, 65534, 65534), ==, 0);
		assert_refused(dir, EPERM, G_IO_ERROR_PERMISSION_DENIED, needles);
		g_assert_cmpint(chown(path, 0, 0), ==, 0);
		g_free(path);
	}
	remove_tree(dir);
	g_free(dir);
}

/* Replaces one file of a valid identity with each bad content in turn. */
static void check_corrupt(const char *name, const char *const *contents, size_t n)
{
	char *dir = make_tmpdir();
	char *path = g_build_filename(dir, name, NULL);
	const char *needles[] = { path, "create a new identity", "changes the device id", NULL };
	char *good;
	size_t i;

	idl_identity_free(create_ok(dir));
	good = read_text(path);
	for (i = 0; i < n; i++) {
		g_test_message("%s case %zu", name, i);
		write_file(path, contents[i], -1, 0600);
		assert_refused(dir, EBADMSG, G_IO_ERROR_INVALID_DATA, needles);
	}
	/* The good file still loads, so the refusals were about content. */
	write_file(path, good, -1, 0600);
	idl_identity_free(create_ok(dir));

	remove_tree(dir);
	g_free(good);
	g_free(path);
	g_free(dir);
}

static void test_corrupt_key(void)
{
	char *dir = make_tmpdir();
	char *key = g_build_filename(dir, "key.pem", NULL);
	char *cert = g_build_filename(dir, "cert.pem", NULL);
	char *real_key, *real_cert, *half, *flipped;
	const char *contents[6];
	size_t mid;

	idl_identity_free(create_ok(dir));
	real_key = read_text(key);
	real_cert = read_text(cert);
	half = g_strndup(real_key, strlen(real_key) / 2);
	/* Still valid base64 and DER, but a different key. */
	flipped = g_strdup(real_key);
	mid = strlen(flipped) - 40;
	flipped[mid] = flipped[mid] == 'A' ? 'B' : 'A';

	contents[0] = "";
	contents[1] = "not a key at all\n";
	contents[2] = "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n";
	contents[3] = half;
	contents[4] = real_cert;
	contents[5] = flipped;
	check_corrupt("key.pem", contents, G_N_ELEMENTS(contents));

	remove_tree(dir);
	g_free(flipped);
	g_free(half);
	g_free(real_cert);
	g_free(real_key);
	g_free(cert);
	g_free(key);
	g_free(dir);
}

static void test_corrupt_cert(void)
{
	char *dir = make_tmpdir();
	char *key = g_build_filename(dir, "key.pem", NULL);
	char *cert = g_build_filename(dir, "cert.pem", NULL);
	char *real_key, *real_cert, *half;
	const char *contents[5];

	idl_identity_free(create_ok(dir));
	real_key = read_text(key);
	real_cert = read_text(cert);
	half = g_strndup(real_cert, strlen(real_cert) / 2);

	contents[0] = "";
	contents[1] = "not a certificate\n";
	contents[2] = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
	contents[3] = half;
	contents[4] = real_key;
	check_corrupt("cert.pem", contents, G_N_ELEMENTS(contents));

	remove_tree(dir);
	g_free(half);
	g_free(real_cert);
	g_free(real_key);
	g_free(cert);
	g_free(key);
	g_free(dir);
}

/* Half an identity is refused, and the missing half is not made up. */
static void test_half_identity(void)
{
	static const char *const names[] = { "cert.pem", "key.pem" };
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(names); i++) {
		char *dir = make_tmpdir();
		char *missing = g_build_filename(dir, names[i], NULL);
		const char *needles[] = { missing, "is missing", "restore", "changes the device id", NULL };

		idl_identity_free(create_ok(dir));
		g_assert_cmpint(g_unlink(missing), ==, 0);
		assert_refused(dir, EBADMSG, G_IO_ERROR_INVALID_DATA, needles);
		g_assert_cmpuint(count_entries(dir), ==, 1);

		remove_tree(dir);
		g_free(missing);
		g_free(dir);
	}
}

static void test_mismatch(void)
{
	char *a = make_tmpdir(), *b = make_tmpdir();
	char *a_cert = g_build_filename(a, "cert.pem", NULL);
	char *b_cert = g_build_filename(b, "cert.pem", NULL);
	const char *needles[] = { a_cert, "does not match", NULL };
	char *text;

	idl_identity_free(create_ok(a));
	idl_identity_free(create_ok(b));
	text = read_text(b_cert);
	write_file(a_cert, text, -1, 0600);
	assert_refused(a, EBADMSG, G_IO_ERROR_INVALID_DATA, needles);

	remove_tree(b);
	remove_tree(a);
	g_free(text);
	g_free(b_cert);
	g_free(a_cert);
	g_free(b);
	g_free(a);
}

static void test_load_creates_nothing(void)
{
	char *dir = make_tmpdir();
	char *absent = g_build_filename(dir, "not", "there", NULL);
	char *absent_parent = g_build_filename(dir, "not", NULL);
	struct idl_identity *id = NULL;
	GError *err = NULL;

	g_assert_cmpint(idl_identity_load(dir, &id, &err), ==, -ENOENT);
	g_assert_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
	g_assert_nonnull(strstr(err->message, dir));
	g_assert_null(id);
	g_clear_error(&err);
	g_assert_cmpuint(count_entries(dir), ==, 0);

	g_assert_cmpint(idl_identity_load(absent, &id, &err), ==, -ENOENT);
	g_assert_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
	g_assert_null(id);
	g_clear_error(&err);
	g_assert_false(g_file_test(absent_parent, G_FILE_TEST_EXISTS));

	remove_tree(dir);
	g_free(absent_parent);
	g_free(absent);
	g_free(dir);
}

/* Whoever can write in the state directory can swap the key or the known
 * peers: a directory writable by group or others is refused, untouched. */
static void test_dir_mode(void)
{
	static const struct {
		mode_t mode;
		bool accepted;
	} cases[] = { { 0700, true }, { 0755, true }, { 0775, false }, { 0757, false }, { 0777, false } };
	char *dir = make_tmpdir();
	char *advice = g_strdup_printf("run chmod 700 %s", dir);
	const char *needles[] = { advice, NULL };
	struct idl_identity *id = create_ok(dir);

	idl_identity_free(id);
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct stat st;

		g_test_message("state dir mode %04o", (unsigned)cases[i].mode);
		g_assert_cmpint(g_chmod(dir, cases[i].mode), ==, 0);
		if (cases[i].accepted) {
			id = create_ok(dir);
			idl_identity_free(id);
		} else {
			assert_refused(dir, EACCES, G_IO_ERROR_PERMISSION_DENIED, needles);
		}
		g_assert_cmpint(stat(dir, &st), ==, 0);
		g_assert_cmpint(st.st_mode & 07777, ==, cases[i].mode);
	}
	g_assert_cmpint(g_chmod(dir, 0700), ==, 0);
	remove_tree(dir);
	g_free(advice);
	g_free(dir);
}

static void test_dir_is_a_file(void)
{
	char *tmp = make_tmpdir();
	char *file = g_build_filename(tmp, "state", NULL);
	struct idl_identity *id = NULL;
	GError *err = NULL;
	char *before, *after;

	write_file(file, "x", -1, 0600);
	before = snapshot(tmp);
	g_assert_cmpint(idl_identity_load_or_create(file, &id, &err), <, 0);
	g_assert_nonnull(err);
	g_assert_nonnull(strstr(err->message, file));
	g_assert_null(id);
	g_clear_error(&err);
	after = snapshot(tmp);
	g_assert_cmpstr(after, ==, before);

	remove_tree(tmp);
	g_free(after);
	g_free(before);
	g_free(file);
	g_free(tmp);
}

static off_t file_size(const char *path)
{
	struct stat st;

	g_assert_cmpint(stat(path, &st), ==, 0);
	return st.st_size;
}

/* A write that fails part way (here: RLIMIT_FSIZE, as a full disk would)
 * must leave no file behind, neither a temp file nor half an identity. */
static void test_create_failure_leaves_nothing(void)
{
	char *ref = make_tmpdir();
	char *ref_key = g_build_filename(ref, "key.pem", NULL);
	char *ref_cert = g_build_filename(ref, "cert.pem", NULL);
	off_t key_size, cert_size;
	rlim_t limits[2];
	size_t i;

	idl_identity_free(create_ok(ref));
	key_size = file_size(ref_key);
	cert_size = file_size(ref_cert);
	g_assert_cmpint(key_size + 8, <, cert_size);
	limits[0] = (rlim_t)key_size / 2;              /* the key fails */
	limits[1] = (rlim_t)key_size + 4;              /* the key fits, the cert fails */

	for (i = 0; i < G_N_ELEMENTS(limits); i++) {
		char *dir = make_tmpdir();
		struct idl_identity *id = NULL;
		GError *err = NULL;
		struct rlimit old, lim;
		void (*old_handler)(int);
		int r;

		fflush(stdout);
		fflush(stderr);
		g_assert_cmpint(getrlimit(RLIMIT_FSIZE, &old), ==, 0);
		lim = old;
		lim.rlim_cur = limits[i];
		old_handler = signal(SIGXFSZ, SIG_IGN);
		g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &lim), ==, 0);
		r = idl_identity_load_or_create(dir, &id, &err);
		g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &old), ==, 0);
		signal(SIGXFSZ, old_handler);

		g_assert_cmpint(r, ==, -EFBIG);
		g_assert_nonnull(err);
		g_test_message("limit %u: %s", (unsigned)limits[i], err->message);
		g_assert_nonnull(strstr(err->message, dir));
		g_assert_null(id);
		g_clear_error(&err);
		g_assert_cmpuint(count_entries(dir), ==, 0);

		/* Nothing half-made stands in the way of the next attempt. */
		idl_identity_free(create_ok(dir));
		remove_tree(dir);
		g_free(dir);
	}

	remove_tree(ref);
	g_free(ref_cert);
	g_free(ref_key);
	g_free(ref);
}

static void test_default_dir(void)
{
	char *saved = g_strdup(g_getenv("IDROP_STATE_DIR"));
	char *fallback = g_build_filename(g_get_user_state_dir(), "idrop-lan", NULL);
	char *dir;

	g_setenv("IDROP_STATE_DIR", "/somewhere/else", TRUE);
	dir = idl_identity_default_dir();
	g_assert_cmpstr(dir, ==, "/somewhere/else");
	g_free(dir);

	g_setenv("IDROP_STATE_DIR", "", TRUE);
	dir = idl_identity_default_dir();
	g_assert_cmpstr(dir, ==, fallback);
	g_free(dir);

	g_unsetenv("IDROP_STATE_DIR");
	dir = idl_identity_default_dir();
	g_assert_cmpstr(dir, ==, fallback);
	g_free(dir);

	if (saved != NULL)
		g_setenv("IDROP_STATE_DIR", saved, TRUE);
	g_free(fallback);
	g_free(saved);
}

/* --- fingerprint helpers --- */

static const unsigned char known[IDL_FINGERPRINT_SIZE] = {
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
	0x00, 0xff, 0x0a, 0xa0, 0x5f, 0xf5, 0x9c, 0xc9, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
};

/* Written out by hand, so the test does not rely on idl_fingerprint_to_hex. */
#define KNOWN_LOWER "0123456789abcdeffedcba987654321000ff0aa05ff59cc91122334455667788"
#define KNOWN_UPPER "0123456789ABCDEFFEDCBA987654321000FF0AA05FF59CC91122334455667788"
#define KNOWN_MIXED "0123456789AbCdEfFeDcBa987654321000Ff0aA05fF59cC91122334455667788"
#define KNOWN_COLON_UPPER "01:23:45:67:89:AB:CD:EF:FE:DC:BA:98:76:54:32:10:" \
	"00:FF:0A:A0:5F:F5:9C:C9:11:22:33:44:55:66:77:88"
#define KNOWN_COLON_LOWER "01:23:45:67:89:ab:cd:ef:fe:dc:ba:98:76:54:32:10:" \
	"00:ff:0a:a0:5f:f5:9c:c9:11:22:33:44:55:66:77:88"

static void test_fingerprint_parse(void)
{
	static const struct {
		const char *text;
		int ret;
	} cases[] = {
		{ KNOWN_LOWER, 0 },
		{ KNOWN_UPPER, 0 },
		{ KNOWN_MIXED, 0 },
		{ KNOWN_COLON_UPPER, 0 },
		{ KNOWN_COLON_LOWER, 0 },
		{ "", -EINVAL },
		{ "0", -EINVAL },
		/* too short / too long */
		{ "0123456789abcdeffedcba987654321000ff0aa05ff59cc9112233445566778", -EINVAL },
		{ "0123456789abcdeffedcba987654321000ff0aa05ff59cc91122334455667788" "0", -EINVAL },
		{ "0123456789abcdeffedcba987654321000ff0aa05ff59cc91122334455667788" "99", -EINVAL },
		{ "01:23:45:67:89:AB:CD:EF:FE:DC:BA:98:76:54:32:10:00:FF:0A:A0:5F:F5:9C:C9:11:22:33:44:55:66:77", -EINVAL },
		{ KNOWN_COLON_UPPER ":99", -EINVAL },
		/* bad characters */
		{ "g123456789abcdeffedcba987654321000ff0aa05ff59cc91122334455667788", -EINVAL },
		{ "0123456789abcdeffedcba987654321000ff0aa05ff59cc9112233445566778z", -EINVAL },
		{ "0123456789abcdef fedcba987654321000ff0aa05ff59cc9112233445566778", -EINVAL },
		{ "0x23456789abcdeffedcba987654321000ff0aa05ff59cc91122334455667788", -EINVAL },
		{ "01-23-45-67-89-AB-CD-EF-FE-DC-BA-98-76-54-32-10-00-FF-0A-A0-5F-F5-9C-C9-11-22-33-44-55-66-77-88", -EINVAL },
		{ "01:23:45:67:89:AB:CD:EF:FE:DC:BA:98:76:54:32:10:00:FF:0A:A0:5F:F5:9C:C9:11:22:33:44:55:66:77:8G", -EINVAL },
		/* colons in the wrong places (right length) */
		{ "0:123:45:67:89:AB:CD:EF:FE:DC:BA:98:76:54:32:10:00:FF:0A:A0:5F:F5:9C:C9:11:22:33:44:55:66:77:88", -EINVAL },
		{ "012:3:45:67:89:AB:CD:EF:FE:DC:BA:98:76:54:32:10:00:FF:0A:A0:5F:F5:9C:C9:11:22:33:44:55:66:77:88", -EINVAL },
		{ ":0123:45:67:89:AB:CD:EF:FE:DC:BA:98:76:54:32:10:00:FF:0A:A0:5F:F5:9C:C9:11:22:33:44:55:66:7788", -EINVAL },
		{ "0123:45:67:89:AB:CD:EF:FE:DC:BA:98:76:54:32:10:00:FF:0A:A0:5F:F5:9C:C9:11:22:33:44:55:66:77:88:", -EINVAL },
		{ "01::3:45:67:89:AB:CD:EF:FE:DC:BA:98:76:54:32:10:00:FF:0A:A0:5F:F5:9C:C9:11:22:33:44:55:66:77:88", -EINVAL },
		/* some colons only */
		{ "01:23456789abcdeffedcba987654321000ff0aa05ff59cc91122334455667788", -EINVAL },
		/* junk around it */
		{ KNOWN_LOWER "\n", -EINVAL },
		{ KNOWN_LOWER " ", -EINVAL },
		{ " " KNOWN_LOWER, -EINVAL },
		{ KNOWN_COLON_UPPER "\n", -EINVAL },
		{ "sha-256 " KNOWN_COLON_UPPER, -EINVAL },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(cases); i++) {
		unsigned char raw[IDL_FINGERPRINT_SIZE];
		int r;

		memset(raw, 0xee, sizeof raw);
		r = idl_fingerprint_parse(cases[i].text, raw);
		if (r != cases[i].ret)
			g_error("case %zu \"%s\": got %d, want %d", i, cases[i].text, r, cases[i].ret);
		if (r == 0)
			g_assert_cmpmem(raw, sizeof raw, known, sizeof known);
	}
	g_assert_cmpint(idl_fingerprint_parse(NULL, (unsigned char[IDL_FINGERPRINT_SIZE]){ 0 }), ==, -EINVAL);
}

static void test_fingerprint_hex_round_trip(void)
{
	char hex[IDL_FINGERPRINT_HEX_LEN + 1];
	unsigned char raw[IDL_FINGERPRINT_SIZE], back[IDL_FINGERPRINT_SIZE];
	int round, i;

	idl_fingerprint_to_hex(known, hex);
	g_assert_cmpstr(hex, ==, KNOWN_LOWER);

	for (round = 0; round < 200; round++) {
		char expect[IDL_FINGERPRINT_HEX_LEN + 1];

		for (i = 0; i < IDL_FINGERPRINT_SIZE; i++) {
			raw[i] = (unsigned char)g_test_rand_int_range(0, 256);
			g_snprintf(expect + 2 * i, 3, "%02x", raw[i]);
		}
		idl_fingerprint_to_hex(raw, hex);
		g_assert_cmpstr(hex, ==, expect);
		g_assert_cmpint(idl_fingerprint_parse(hex, back), ==, 0);
		g_assert_cmpmem(back, sizeof back, raw, sizeof raw);
	}
}

static void test_fingerprint_short(void)
{
	char out[IDL_FINGERPRINT_SHORT_LEN + 1];
	char *dir = make_tmpdir();
	struct idl_identity *id;
	const char *fp;

	memset(out, 'x', sizeof out);
	idl_fingerprint_short(KNOWN_LOWER, out);
	g_assert_cmpstr(out, ==, "0123 4567");
	g_assert_cmpuint(strlen(out), ==, IDL_FINGERPRINT_SHORT_LEN);

	id = create_ok(dir);
	fp = idl_identity_fingerprint(id);
	idl_fingerprint_short(fp, out);
	g_assert_cmpint(strncmp(out, fp, 4), ==, 0);
	g_assert_cmpint(out[4], ==, ' ');
	g_assert_cmpint(strncmp(out + 5, fp + 4, 4), ==, 0);
	g_assert_cmpuint(strlen(out), ==, IDL_FINGERPRINT_SHORT_LEN);

	idl_identity_free(id);
	remove_tree(dir);
	g_free(dir);
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/identity/create", test_create);
	g_test_add_func("/identity/reload", test_reload);
	g_test_add_func("/identity/fingerprint-independent", test_fingerprint_independent);
	g_test_add_func("/identity/key-and-cert-contents", test_key_and_cert_contents);
	g_test_add_func("/identity/key-mode", test_key_mode);
	g_test_add_func("/identity/not-owned", test_not_owned);
	g_test_add_func("/identity/corrupt-key", test_corrupt_key);
	g_test_add_func("/identity/corrupt-cert", test_corrupt_cert);
	g_test_add_func("/identity/half-identity", test_half_identity);
	g_test_add_func("/identity/mismatch", test_mismatch);
	g_test_add_func("/identity/load-creates-nothing", test_load_creates_nothing);
	g_test_add_func("/identity/dir-mode", test_dir_mode);
	g_test_add_func("/identity/dir-is-a-file", test_dir_is_a_file);
	g_test_add_func("/identity/create-failure-leaves-nothing", test_create_failure_leaves_nothing);
	g_test_add_func("/identity/default-dir", test_default_dir);
	g_test_add_func("/fingerprint/parse", test_fingerprint_parse);
	g_test_add_func("/fingerprint/hex-round-trip", test_fingerprint_hex_round_trip);
	g_test_add_func("/fingerprint/short", test_fingerprint_short);

	return g_test_run();
}
