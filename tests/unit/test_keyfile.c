/* Unit tests for trust/keyfile: the identity's files on disk, each rule
 * called directly (test_identity covers them through the public API):
 * what is refused before a file is read, and that publishing never
 * replaces anything, a dangling symlink included. */
#include "trust/keyfile.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

static char *make_dir(void)
{
	char *dir = g_dir_make_tmp("idl-keyfile-XXXXXX", NULL);

	g_assert_nonnull(dir);
	return dir;
}

static void remove_dir(char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;

	while ((name = g_dir_read_name(d))) {
		char *p = g_build_filename(dir, name, NULL);
		g_assert_cmpint(g_remove(p), ==, 0);
		g_free(p);
	}
	g_dir_close(d);
	g_assert_cmpint(g_rmdir(dir), ==, 0);
	g_free(dir);
}

static char *put(const char *dir, const char *name, const char *text, mode_t mode)
{
	char *p = g_build_filename(dir, name, NULL);

	g_assert_true(g_file_set_contents(p, text, -1, NULL));
	g_assert_cmpint(chmod(p, mode), ==, 0);
	return p;
}

static void test_check_dir(void)
{
	char *dir = make_dir(), *missing = g_build_filename(dir, "none", NULL), *file = put(dir, "f", "x", 0600);
	GError *err = NULL;

	g_assert_cmpint(chmod(dir, 0700), ==, 0);
	g_assert_cmpint(idl_keyfile_check_dir(dir, NULL), ==, 0);
	g_assert_cmpint(idl_keyfile_check_dir(missing, NULL), ==, 0);
	g_assert_cmpint(idl_keyfile_check_dir(file, &err), ==, -ENOTDIR);
	g_clear_error(&err);
	g_assert_cmpint(chmod(dir, 0720), ==, 0);
	g_assert_cmpint(idl_keyfile_check_dir(dir, &err), ==, -EACCES);
	g_assert_nonnull(strstr(err->message, "chmod 700"));
	g_clear_error(&err);
	g_assert_cmpint(chmod(dir, 0755), ==, 0);   /* others may read and enter, not write */
	g_assert_cmpint(idl_keyfile_check_dir(dir, NULL), ==, 0);
	g_free(missing);
	g_free(file);
	remove_dir(dir);
}

static void test_exists(void)
{
	char *dir = make_dir(), *link = g_build_filename(dir, "l", NULL), *none = g_build_filename(dir, "n", NULL);
	bool exists = true;

	g_assert_cmpint(idl_keyfile_exists(none, &exists, NULL), ==, 0);
	g_assert_false(exists);
	g_assert_cmpint(symlink("nowhere", link), ==, 0);
	g_assert_cmpint(idl_keyfile_exists(link, &exists, NULL), ==, 0);
	g_assert_true(exists);
	g_free(link);
	g_free(none);
	remove_dir(dir);
}

static void test_read_pem(void)
{
	char *dir = make_dir(), *key = put(dir, "key.pem", "KEY", 0600), *big;
	char *filler = g_strnfill(64 * 1024 + 1, 'x');
	gnutls_datum_t d;
	GError *err = NULL;

	g_assert_cmpint(idl_keyfile_read_pem(dir, key, true, &d, NULL), ==, 0);
	g_assert_cmpuint(d.size, ==, 3);
	g_assert_cmpstr((char *)d.data, ==, "KEY");
	g_free(d.data);
	/* Readable by others: fine for a certificate, not for a key. */
	g_assert_cmpint(chmod(key, 0644), ==, 0);
	g_assert_cmpint(idl_keyfile_read_pem(dir, key, false, &d, NULL), ==, 0);
	g_free(d.data);
	g_assert_cmpint(idl_keyfile_read_pem(dir, key, true, &d, &err), ==, -EACCES);
	g_assert_null(d.data);
	g_assert_nonnull(strstr(err->message, "chmod 600"));
	g_clear_error(&err);
	/* Not a regular file; too large. */
	g_assert_cmpint(idl_keyfile_read_pem(dir, dir, false, &d, &err), ==, -EINVAL);
	g_clear_error(&err);
	big = put(dir, "big.pem", filler, 0600);
	g_assert_cmpint(idl_keyfile_read_pem(dir, big, false, &d, &err), ==, -EBADMSG);
	g_assert_null(d.data);
	g_clear_error(&err);
	g_free(filler);
	g_free(big);
	g_free(key);
	remove_dir(dir);
}

static void test_check_owner(void)
{
	struct stat st = { .st_uid = geteuid() };
	GError *err = NULL;

	g_assert_cmpint(idl_keyfile_check_owner("f", &st, NULL), ==, 0);
	st.st_uid = geteuid() + 1;
	g_assert_cmpint(idl_keyfile_check_owner("f", &st, &err), ==, -EPERM);
	g_assert_nonnull(strstr(err->message, "run chown"));
	g_clear_error(&err);
}

static void test_publish(void)
{
	char *dir = make_dir(), *tmp = NULL, *path = g_build_filename(dir, "cert.pem", NULL), *text = NULL;
	const gnutls_datum_t data = { (unsigned char *)"NEW", 3 };
	GError *err = NULL;
	struct stat st;

	g_assert_cmpint(idl_keyfile_write_temp(dir, "cert.pem", &data, &tmp, NULL), ==, 0);
	g_assert_true(g_str_has_prefix(strrchr(tmp, '/'), "/.cert.pem."));
	g_assert_cmpint(stat(tmp, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 07777, ==, 0600);
	/* Something is there already, a dangling symlink too: never replaced. */
	g_assert_cmpint(symlink("nowhere", path), ==, 0);
	g_assert_cmpint(idl_keyfile_publish(tmp, path, &err), ==, -EEXIST);
	g_clear_error(&err);
	g_assert_cmpint(lstat(path, &st), ==, 0);
	g_assert_true(S_ISLNK(st.st_mode));
	g_assert_cmpint(access(tmp, F_OK), ==, 0);
	g_assert_cmpint(unlink(path), ==, 0);
	g_assert_cmpint(idl_keyfile_publish(tmp, path, NULL), ==, 0);
	g_assert_cmpint(access(tmp, F_OK), ==, -1);
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	g_assert_cmpstr(text, ==, "NEW");
	g_free(text);
	g_free(tmp);
	g_free(path);
	remove_dir(dir);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/keyfile/check-dir", test_check_dir);
	g_test_add_func("/keyfile/exists", test_exists);
	g_test_add_func("/keyfile/read-pem", test_read_pem);
	g_test_add_func("/keyfile/check-owner", test_check_owner);
	g_test_add_func("/keyfile/publish", test_publish);
	return g_test_run();
}
