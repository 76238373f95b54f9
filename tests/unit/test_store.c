/* Unit tests for transfer/store: files land whole, verified and under a
 * name that replaces nothing; partial data is kept and resumed only when it
 * is provably ours; and no path, symlink or record puts a byte outside the
 * download folder. Each test runs in a fresh temporary folder. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>
#include <gio/gio.h>
#include <gnutls/crypto.h>

#include "tests/unit/fs_helpers.h"
#include "transfer/store.h"

static mode_t test_umask(void)
{
	mode_t m = umask(022);

	umask(m);
	return m;
}

#define FP "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define FP2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define MTIME UINT64_C(1700000000)
#define GIB (UINT64_C(1) << 30)

struct fixture {
	char *root, *dl, *state, *outside;
	struct idl_store *s;
};

static char *sub(const struct fixture *fx, const char *rel)
{
	return g_build_filename(fx->dl, rel, NULL);
}

static void setup(struct fixture *fx, gconstpointer data)
{
	GError *err = NULL;

	fx->root = g_dir_make_tmp("idl-store-XXXXXX", &err);
	g_assert_no_error(err);
	fx->dl = g_build_filename(fx->root, "downloads", NULL);
	fx->state = g_build_filename(fx->root, "state", "partial", NULL);
	fx->outside = g_build_filename(fx->root, "outside", NULL);
	g_assert_cmpint(mkdir(fx->dl, 0755), ==, 0);
	g_assert_cmpint(mkdir(fx->outside, 0755), ==, 0);
	g_assert_cmpint(idl_store_open(fx->dl, fx->state, &fx->s, &err), ==, 0);
	g_assert_no_error(err);
	/* Each test runs with small files unnamed (O_TMPFILE) and again with
	 * a .part for every file, as where the file system lacks O_TMPFILE. */
	idl_store_use_tmpfile(fx->s, data != NULL);
	/* 2: unnamed files get their names through /proc/self/fd, as for a
	 * user without the privilege on a kernel before 6.10. */
	idl_store_use_link_empty(fx->s, GPOINTER_TO_INT(data) != 2);
}

/* Removes what dir holds, keeping dir (the store holds it open). */
static void empty_dir(const char *dir)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;

	g_assert_nonnull(d);
	while ((name = g_dir_read_name(d))) {
		char *child = g_build_filename(dir, name, NULL);
		remove_all(child);
		g_free(child);
	}
	g_dir_close(d);
}

static void teardown(struct fixture *fx, gconstpointer data)
{
	(void)data;
	idl_store_free(fx->s);
	remove_all(fx->root);
	g_free(fx->root);
	g_free(fx->dl);
	g_free(fx->state);
	g_free(fx->outside);
}


static gboolean exists(const struct fixture *fx, const char *rel)
{
	char *p = sub(fx, rel);
	struct stat st;
	gboolean r = lstat(p, &st) == 0;

	g_free(p);
	return r;
}

static void sha256(const void *buf, size_t len, uint8_t out[32])
{
	g_assert_cmpint(gnutls_hash_fast(GNUTLS_DIG_SHA256, buf, len, out), ==, 0);
}

static uint8_t *pattern(size_t len, unsigned seed)
{
	uint8_t *b = g_malloc(len + 1);

	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)((i * 131 + seed * 7 + i / 251) & 0xff);
	return b;
}

/* Writes data[from..to) in chunks of chunk bytes. */
static void write_range(struct idl_store_file *f, const uint8_t *data, size_t from, size_t to, size_t chunk)
{
	GError *err = NULL;

	for (size_t at = from; at < to; at += chunk) {
		g_assert_cmpint(idl_store_write(f, data + at, MIN(chunk, to - at), &err), ==, 0);
		g_assert_no_error(err);
	}
	g_assert_cmpuint(idl_store_file_length(f), ==, to);
}

/* Receives a whole file; returns the name it landed under (g_free). */
static char *receive(struct fixture *fx, const char *path, const uint8_t *data, size_t len, size_t chunk)
{
	struct idl_store_file *f = NULL;
	GError *err = NULL;
	uint8_t h[32];
	char *final = NULL;

	sha256(data, len, h);
	g_assert_cmpint(idl_store_begin(fx->s, FP, path, len, MTIME, 0, &f, &err), ==, 0);
	g_assert_no_error(err);
	write_range(f, data, 0, len, chunk);
	g_assert_cmpint(idl_store_finish(f, h, &final, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_nonnull(final);
	return final;
}

static void assert_content(const struct fixture *fx, const char *rel, const void *data, size_t len)
{
	char *p = sub(fx, rel), *got = NULL;
	gsize got_len = 0;
	GError *err = NULL;

	g_assert_true(g_file_get_contents(p, &got, &got_len, &err));
	g_assert_no_error(err);
	g_assert_cmpmem(got, got_len, data, len);
	g_free(got);
	g_free(p);
}

/* Makes base/rel: a file holding text, a folder, or a symlink to target. */
static void make_at(const char *base, const char *rel, const char *text, gboolean folder, const char *target)
{
	char *p = g_build_filename(base, rel, NULL);

	if (target)
		g_assert_cmpint(symlink(target, p), ==, 0);
	else if (folder)
		g_assert_cmpint(mkdir(p, 0755), ==, 0);
	else
		g_assert_true(g_file_set_contents(p, text, -1, NULL));
	g_free(p);
}

static void put_file(const struct fixture *fx, const char *rel, const char *text)
{
	make_at(fx->dl, rel, text, FALSE, NULL);
}

/* ---- Landing ------------------------------------------------------------ */

static void test_round_trip(struct fixture *fx, gconstpointer data)
{
	static const size_t chunks[] = { 1, 7, 4096, 65536, 1 << 20 };
	size_t len = 300001;
	uint8_t *buf = pattern(len, 1);

	(void)data;
	for (size_t i = 0; i < G_N_ELEMENTS(chunks); i++) {
		char *name = g_strdup_printf("file %zu.bin", i), *final = receive(fx, name, buf, len, chunks[i]);
		char *p = sub(fx, final), *part = g_strconcat(name, ".part", NULL);
		struct stat st;

		g_assert_cmpstr(final, ==, name);
		assert_content(fx, final, buf, len);
		g_assert_cmpint(stat(p, &st), ==, 0);
		g_assert_cmpint(st.st_mtime, ==, (time_t)MTIME);
		/* Data, never executable, readable as the umask says. */
		g_assert_cmpint(st.st_mode & 07777, ==, 0666 & ~test_umask());
		g_assert_false(exists(fx, part));
		g_assert_cmpuint(idl_store_held(fx->s, FP, name, len, MTIME), ==, 0);
		g_free(name);
		g_free(final);
		g_free(p);
		g_free(part);
	}
	g_assert_cmpuint(count_entries(fx->dl), ==, G_N_ELEMENTS(chunks));
	g_assert_cmpuint(count_entries(fx->state), ==, 0);     /* records removed */
	g_free(buf);
}

static void test_empty_file(struct fixture *fx, gconstpointer data)
{
	char *final;

	(void)data;
	final = receive(fx, "empty", (const uint8_t *)"", 0, 1);
	g_assert_cmpstr(final, ==, "empty");
	assert_content(fx, "empty", "", 0);
	g_free(final);
}

static void test_nested(struct fixture *fx, gconstpointer data)
{
	const char *text = "nested";
	char *final;
	struct stat st;
	char *p;

	(void)data;
	final = receive(fx, "a/b/c d/é.txt", (const uint8_t *)text, strlen(text), 3);
	g_assert_cmpstr(final, ==, "a/b/c d/é.txt");
	assert_content(fx, final, text, strlen(text));
	p = sub(fx, "a/b/c d");
	g_assert_cmpint(lstat(p, &st), ==, 0);
	g_assert_true(S_ISDIR(st.st_mode));
	g_free(p);
	g_free(final);
	/* A second file in the same, now existing, folders. */
	final = receive(fx, "a/b/other", (const uint8_t *)text, strlen(text), 100);
	g_assert_cmpstr(final, ==, "a/b/other");
	g_free(final);
}

static void test_name_taken(struct fixture *fx, gconstpointer data)
{
	static const struct {
		const char *path, *names[3];
	} cases[] = {
		{ "name.ext", { "name.ext", "name (1).ext", "name (2).ext" } },
		/* Never under a name starting with '.' (issue 11): '_' instead. */
		{ ".bashrc", { "_bashrc", "_bashrc (1)", "_bashrc (2)" } },
		{ "README", { "README", "README (1)", "README (2)" } },
		{ "archive.tar.gz", { "archive.tar.gz", "archive.tar (1).gz", "archive.tar (2).gz" } },
		{ ".config.json", { "_config.json", "_config (1).json", "_config (2).json" } },
		{ "d/x.txt", { "d/x.txt", "d/x (1).txt", "d/x (2).txt" } },
	};

	(void)data;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		for (size_t k = 0; k < 3; k++) {
			char *text = g_strdup_printf("copy %zu", k), *final;

			final = receive(fx, cases[i].path, (const uint8_t *)text, strlen(text), 2);
			g_assert_cmpstr(final, ==, cases[i].names[k]);
			g_free(final);
			g_free(text);
		}
		for (size_t k = 0; k < 3; k++) {   /* nothing was replaced */
			char *text = g_strdup_printf("copy %zu", k);
			assert_content(fx, cases[i].names[k], text, strlen(text));
			g_free(text);
		}
	}
}

static void test_long_name(struct fixture *fx, gconstpointer data)
{
	/* 255 bytes, of 2-byte characters and an extension: the .part and
	 * the numbered name must be shortened, at a character boundary. */
	GString *name = g_string_new(NULL);
	char *final;

	(void)data;
	while (name->len < 249)
		g_string_append(name, "é");
	g_string_append(name, "x.txt");
	g_assert_cmpuint(name->len, ==, 255);
	for (int k = 0; k < 2; k++) {
		final = receive(fx, name->str, (const uint8_t *)"x", 1, 1);
		g_assert_cmpuint(strlen(final), <=, 255);
		g_assert_true(g_utf8_validate(final, -1, NULL));
		g_assert_true(g_str_has_suffix(final, k ? " (1).txt" : "x.txt"));
		assert_content(fx, final, "x", 1);
		g_free(final);
	}
	g_string_free(name, TRUE);
}

/* ---- Staying inside the folder ------------------------------------------ */

static void test_symlinks(struct fixture *fx, gconstpointer data)
{
	static const struct {
		const char *path;
		int code;
	} cases[] = {
		{ "evil/x.txt", -ELOOP }, { "evil/deeper/x.txt", -ELOOP }, { "d/evil/x.txt", -ELOOP },
		{ "plain/x.txt", -ENOTDIR }, { "d/plain/x", -ENOTDIR },
	};
	struct idl_store_file *f = NULL;
	GError *err = NULL;
	char *final;

	(void)data;
	make_at(fx->dl, "evil", NULL, FALSE, fx->outside);
	make_at(fx->dl, "d", NULL, TRUE, NULL);
	make_at(fx->dl, "d/evil", NULL, FALSE, fx->outside);
	put_file(fx, "plain", "a file");
	put_file(fx, "d/plain", "a file");
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		int r = idl_store_begin(fx->s, FP, cases[i].path, 1, MTIME, 0, &f, &err);

		if (r != cases[i].code)
			g_error("%s: begin returned %d, expected %d", cases[i].path, r, cases[i].code);
		g_assert_null(f);
		g_assert_nonnull(err);
		g_assert_nonnull(strstr(err->message, fx->dl));
		if (g_test_verbose())
			g_printerr("# %s -> %s\n", cases[i].path, err->message);
		g_clear_error(&err);
		g_assert_cmpuint(idl_store_held(fx->s, FP, cases[i].path, 1, MTIME), ==, 0);
	}
	/* A symlink where the file lands is not replaced, nor written through. */
	make_at(fx->dl, "link", NULL, FALSE, "../outside/target");
	final = receive(fx, "link", (const uint8_t *)"data", 4, 4);
	g_assert_cmpstr(final, ==, "link (1)");
	g_free(final);
	/* Nor is one where the .part goes. */
	make_at(fx->dl, "x.part", NULL, FALSE, "../outside/target");
	final = receive(fx, "x", (const uint8_t *)"data", 4, 4);
	g_assert_cmpstr(final, ==, "x");
	g_free(final);
	g_assert_cmpuint(count_entries(fx->outside), ==, 0);
	g_assert_cmpuint(count_entries(fx->state), ==, 0);
}

static void test_hostile_paths(struct fixture *fx, gconstpointer data)
{
	static const char *const paths[] = {
		"../x", "/etc/x", "a//b", "a/./b", "", ".", "..", "a/", "a/..", "a/../../x", "a\\b", "a\nb",
		"\xff", "../../../../../../tmp/x",
	};
	struct idl_store_file *f = NULL;
	GError *err = NULL;

	(void)data;
	for (size_t i = 0; i < G_N_ELEMENTS(paths); i++) {
		g_assert_cmpint(idl_store_begin(fx->s, FP, paths[i], 1, MTIME, 0, &f, &err), ==, -EINVAL);
		g_assert_null(f);
		g_assert_true(g_utf8_validate(err->message, -1, NULL));
		g_clear_error(&err);
		g_assert_cmpuint(idl_store_held(fx->s, FP, paths[i], 1, MTIME), ==, 0);
	}
	g_assert_cmpint(idl_store_begin(fx->s, FP, NULL, 1, MTIME, 0, &f, &err), ==, -EINVAL);
	g_clear_error(&err);
	/* Other bad arguments: fingerprint, offset past the size. */
	g_assert_cmpint(idl_store_begin(fx->s, "abc", "ok", 1, MTIME, 0, &f, &err), ==, -EINVAL);
	g_clear_error(&err);
	g_assert_cmpint(idl_store_begin(fx->s, FP "0", "ok", 1, MTIME, 0, &f, &err), ==, -EINVAL);
	g_clear_error(&err);
	g_assert_cmpint(idl_store_begin(fx->s, FP, "ok", 1, MTIME, 2, &f, &err), ==, -EINVAL);
	g_clear_error(&err);
	g_assert_cmpuint(idl_store_held(fx->s, NULL, "ok", 1, MTIME), ==, 0);
	g_assert_cmpuint(count_entries(fx->dl), ==, 0);
	g_assert_cmpuint(count_entries(fx->outside), ==, 0);
	g_assert_cmpuint(count_entries(fx->root), ==, 3);
}

static void test_foreign_part(struct fixture *fx, gconstpointer data)
{
	struct idl_store_file *f = NULL;
	GError *err = NULL;
	uint8_t h[32];
	char *final = NULL;

	(void)data;
	put_file(fx, "name.txt.part", "someone else's");
	g_assert_cmpint(idl_store_begin(fx->s, FP, "name.txt", 3, MTIME, 0, &f, &err), ==, 0);
	g_assert_true(exists(fx, "name.txt (1).part"));
	write_range(f, (const uint8_t *)"abc", 0, 3, 3);
	sha256("abc", 3, h);
	g_assert_cmpint(idl_store_finish(f, h, &final, &err), ==, 0);
	g_assert_cmpstr(final, ==, "name.txt");
	assert_content(fx, "name.txt", "abc", 3);
	assert_content(fx, "name.txt.part", "someone else's", 14);
	g_assert_false(exists(fx, "name.txt (1).part"));
	g_free(final);
}

/* ---- Ending a file ------------------------------------------------------- */

static void test_too_many(struct fixture *fx, gconstpointer data)
{
	struct idl_store_file *f = NULL;
	GError *err = NULL;

	(void)data;
	g_assert_cmpint(idl_store_begin(fx->s, FP, "f", 10, MTIME, 0, &f, &err), ==, 0);
	write_range(f, (const uint8_t *)"0123456789", 0, 8, 8);
	g_assert_cmpint(idl_store_write(f, (const uint8_t *)"abc", 3, &err), ==, -EFBIG);
	g_assert_nonnull(strstr(err->message, "more bytes than announced (10)"));
	g_clear_error(&err);
	g_assert_cmpuint(idl_store_file_length(f), ==, 8);
	write_range(f, (const uint8_t *)"0123456789", 8, 10, 2);
	g_assert_cmpint(idl_store_write(f, (const uint8_t *)"x", 1, &err), ==, -EFBIG);
	g_clear_error(&err);
	g_assert_cmpint(idl_store_write(f, (const uint8_t *)"", 0, &err), ==, 0);
	idl_store_abort(f);
	g_assert_cmpuint(idl_store_held(fx->s, FP, "f", 10, MTIME), ==, 10);
	/* What a receiver does with such a file: its data is wrong, none is kept. */
	g_assert_cmpint(idl_store_begin(fx->s, FP, "f", 10, MTIME, 10, &f, &err), ==, 0);
	g_assert_cmpint(idl_store_write(f, (const uint8_t *)"x", 1, &err), ==, -EFBIG);
	g_clear_error(&err);
	idl_store_discard(f);
	idl_store_discard(NULL);
	g_assert_cmpuint(count_entries(fx->dl), ==, 0);
	g_assert_cmpuint(count_entries(fx->state), ==, 0);
	g_assert_cmpuint(idl_store_held(fx->s, FP, "f", 10, MTIME), ==, 0);
}

static void test_too_few(struct fixture *fx, gconstpointer data)
{
	struct idl_store_file *f = NULL;
	GError *err = NULL;
	uint8_t h[32];
	char *final = NULL;

	(void)data;
	sha256("0123456789", 10, h);
	g_assert_cmpint(idl_store_begin(fx->s, FP, "d/f", 10, MTIME, 0, &f, &err), ==, 0);
	write_range(f, (const uint8_t *)"0123456789", 0, 6, 4);
	g_assert_cmpint(idl_store_finish(f, h, &final, &err), ==, -EPROTO);
	g_assert_null(final);
	g_assert_nonnull(strstr(err->message, "fewer bytes than announced"));
	g_clear_error(&err);
	g_assert_true(exists(fx, "d/f.part"));
	g_assert_false(exists(fx, "d/f"));
	g_assert_cmpuint(idl_store_held(fx->s, FP, "d/f", 10, MTIME), ==, 6);
	g_assert_cmpuint(count_entries(fx->state), ==, 1);
}

static void test_wrong_hash(struct fixture *fx, gconstpointer data)
{
	struct idl_store_file *f = NULL;
	GError *err = NULL;
	uint8_t h[32];
	char *final = NULL;

	(void)data;
	sha256("0123456789", 10, h);
	h[31] ^= 1;
	g_assert_cmpint(idl_store_begin(fx->s, FP, "f.txt", 10, MTIME, 0, &f, &err), ==, 0);
	write_range(f, (const uint8_t *)"0123456789", 0, 10, 3);
	g_assert_cmpint(idl_store_finish(f, h, &final, &err), ==, -EBADMSG);
	g_assert_null(final);
	g_assert_nonnull(strstr(err->message, "f.txt"));
	g_clear_error(&err);
	g_assert_cmpuint(count_entries(fx->dl), ==, 0);
	g_assert_cmpuint(count_entries(fx->state), ==, 0);
	g_assert_cmpuint(idl_store_held(fx->s, FP, "f.txt", 10, MTIME), ==, 0);
}

/* ---- Resume -------------------------------------------------------------- */

static void test_resume(struct fixture *fx, gconstpointer data)
{
	size_t len = 1000003, half = 400000;
	uint8_t *buf = pattern(len, 2), h[32];
	struct idl_store_file *f = NULL;
	GError *err = NULL;
	char *final = NULL;

	(void)data;
	sha256(buf, len, h);
	g_assert_cmpint(idl_store_begin(fx->s, FP, "r/big.bin", len, MTIME, 0, &f, &err), ==, 0);
	write_range(f, buf, 0, half, 65536);
	idl_store_abort(f);
	idl_store_abort(NULL);
	g_assert_cmpuint(idl_store_held(fx->s, FP, "r/big.bin", len, MTIME), ==, half);
	/* The fingerprint's case does not matter. */
	g_assert_cmpuint(idl_store_held(fx->s, "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF",
					"r/big.bin", len, MTIME), ==, half);
	/* More than is held cannot be resumed from. */
	g_assert_cmpint(idl_store_begin(fx->s, FP, "r/big.bin", len, MTIME, half + 1, &f, &err), ==, -ESTALE);
	g_clear_error(&err);
	g_assert_null(f);
	g_assert_cmpuint(idl_store_held(fx->s, FP, "r/big.bin", len, MTIME), ==, half);
	/* Resume twice, the second time from less than was held. */
	g_assert_cmpint(idl_store_begin(fx->s, FP, "r/big.bin", len, MTIME, half, &f, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpuint(idl_store_file_length(f), ==, half);
	write_range(f, buf, half, half + 1000, 999);
	idl_store_abort(f);
	g_assert_cmpuint(idl_store_held(fx->s, FP, "r/big.bin", len, MTIME), ==, half + 1000);
	g_assert_cmpint(idl_store_begin(fx->s, FP, "r/big.bin", len, MTIME, half + 10, &f, &err), ==, 0);
	write_range(f, buf, half + 10, len, 100000);
	g_assert_cmpint(idl_store_finish(f, h, &final, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpstr(final, ==, "r/big.bin");
	assert_content(fx, final, buf, len);
	g_assert_cmpuint(count_entries(fx->state), ==, 0);
	g_assert_cmpuint(count_entries(fx->dl), ==, 1);
	g_free(final);
	g_free(buf);
}

/* Starting again from 0 reuses the recorded part rather than leaving it. */
static void test_restart(struct fixture *fx, gconstpointer data)
{
	struct idl_store_file *f = NULL;
	GError *err = NULL;
	char *final;

	(void)data;
	g_assert_cmpint(idl_store_begin(fx->s, FP, "f", 4, MTIME, 0, &f, &err), ==, 0);
	write_range(f, (const uint8_t *)"xxxx", 0, 3, 3);
	idl_store_abort(f);
	final = receive(fx, "f", (const uint8_t *)"data", 4, 1);
	g_assert_cmpstr(final, ==, "f");
	assert_content(fx, "f", "data", 4);
	g_assert_cmpuint(count_entries(fx->dl), ==, 1);
	g_free(final);
}

/* Leaves 5 bytes of "f" (size 10) held, for a test to spoil. */
static void hold_five(struct fixture *fx, const char *path)
{
	struct idl_store_file *f = NULL;
	GError *err = NULL;

	g_assert_cmpint(idl_store_begin(fx->s, FP, path, 10, MTIME, 0, &f, &err), ==, 0);
	write_range(f, (const uint8_t *)"0123456789", 0, 5, 5);
	idl_store_abort(f);
	g_assert_cmpuint(idl_store_held(fx->s, FP, path, 10, MTIME), ==, 5);
}

/* Issue 11: ".config/autostart/holiday.desktop" from a sender lands as
 * "_config/autostart/holiday.desktop": nothing is ever written under a
 * name starting with '.', and a resume still finds its .part. */
static void test_hidden_names(struct fixture *fx, gconstpointer data)
{
	const char *text = "[Desktop Entry]\nExec=evil\n";
	struct idl_store_file *f = NULL;
	GError *err = NULL;
	char *final;
	uint8_t h[32];

	(void)data;
	final = receive(fx, ".config/autostart/holiday.desktop", (const uint8_t *)text, strlen(text), 5);
	g_assert_cmpstr(final, ==, "_config/autostart/holiday.desktop");
	assert_content(fx, final, text, strlen(text));
	g_assert_false(exists(fx, ".config"));
	g_free(final);
	final = receive(fx, "project/.gitignore", (const uint8_t *)"*.o\n", 4, 1);
	g_assert_cmpstr(final, ==, "project/_gitignore");
	g_free(final);
	/* "_x" and ".x" land on one name: the second is numbered, nothing replaced. */
	put_file(fx, "_bashrc", "mine");
	final = receive(fx, ".bashrc", (const uint8_t *)"theirs", 6, 6);
	g_assert_cmpstr(final, ==, "_bashrc (1)");
	assert_content(fx, "_bashrc", "mine", 4);
	g_free(final);
	/* Resume of a hidden name: its .part is "_..." too. */
	sha256("0123456789", 10, h);
	hold_five(fx, ".h/.f");
	g_assert_true(exists(fx, "_h/_f.part"));
	g_assert_false(exists(fx, ".h"));
	g_assert_cmpint(idl_store_begin(fx->s, FP, ".h/.f", 10, MTIME, 5, &f, &err), ==, 0);
	g_assert_no_error(err);
	write_range(f, (const uint8_t *)"0123456789", 5, 10, 5);
	g_assert_cmpint(idl_store_finish(f, h, &final, &err), ==, 0);
	g_assert_cmpstr(final, ==, "_h/_f");
	assert_content(fx, final, "0123456789", 10);
	g_free(final);
}

/* Issue 11: folders are charged in the free-space check, a block each,
 * counted once, only when they do not exist yet, under their stored names. */
static void test_folder_cost(struct fixture *fx, gconstpointer data)
{
	static const char *const paths[] = { "a/b/c", "a/b/d", "x/y", "top", ".h/z", "_h/w" };
	GError *err = NULL;
	struct statvfs v;
	uint64_t bytes;
	guint n;

	(void)data;
	g_assert_cmpint(statvfs(fx->dl, &v), ==, 0);
	g_assert_cmpint(idl_store_folder_cost(fx->s, paths, G_N_ELEMENTS(paths), &n, &bytes, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpuint(n, ==, 4);                 /* a, a/b, x, _h */
	g_assert_cmpuint(bytes, ==, 4 * (uint64_t)v.f_bsize);
	make_at(fx->dl, "a", NULL, TRUE, NULL);
	make_at(fx->dl, "_h", NULL, TRUE, NULL);
	g_assert_cmpint(idl_store_folder_cost(fx->s, paths, G_N_ELEMENTS(paths), &n, &bytes, &err), ==, 0);
	g_assert_cmpuint(n, ==, 2);                 /* a/b, x */
	g_assert_cmpint(idl_store_folder_cost(fx->s, paths + 3, 1, &n, &bytes, &err), ==, 0);
	g_assert_cmpuint(n, ==, 0);
	g_assert_cmpuint(bytes, ==, 0);
}

/* Sets a file's modification time to t. */
static void age(const char *path, time_t t)
{
	struct timespec ts[2] = { { .tv_sec = t }, { .tv_sec = t } };

	g_assert_cmpint(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), ==, 0);
}

/* Holds 5 bytes of path and returns its resume record, the one record in
 * the state folder not in seen (which gets it). */
static char *hold_record(struct fixture *fx, const char *path, GHashTable *seen)
{
	const char *name;
	char *found = NULL;
	GDir *d;

	hold_five(fx, path);
	d = g_dir_open(fx->state, 0, NULL);
	while ((name = g_dir_read_name(d)))
		if (!g_hash_table_contains(seen, name)) {
			g_assert_null(found);
			found = g_build_filename(fx->state, name, NULL);
			g_hash_table_add(seen, g_strdup(name));
		}
	g_dir_close(d);
	g_assert_nonnull(found);
	return found;
}

static void age_part(struct fixture *fx, const char *rel, time_t t)
{
	char *p = sub(fx, rel);

	age(p, t);
	g_free(p);
}

static gboolean swept_has(GPtrArray *swept, const char *what)
{
	for (guint i = 0; i < swept->len; i++)
		if (strstr(swept->pdata[i], what))
			return TRUE;
	return FALSE;
}

/* Issue 11: .part files and resume records untouched for 30 days are
 * expired (fake mtimes); what is younger, what is written to lately, and
 * .part files no record names are kept. */
static void test_sweep(struct fixture *fx, gconstpointer data)
{
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	GPtrArray *swept = g_ptr_array_new_with_free_func(g_free);
	time_t now = time(NULL), old = now - IDL_STORE_EXPIRE_S - 3600, young = now - IDL_STORE_EXPIRE_S + 3600;
	char *r_old, *r_young, *r_busy, *r_gone, *r_swapped, *p;
	GError *err = NULL;

	(void)data;
	g_assert_cmpint(idl_store_sweep(fx->s, now, IDL_STORE_EXPIRE_S, swept, &err), ==, 0);
	g_assert_cmpuint(swept->len, ==, 0);
	/* Record and .part untouched for 30 days and an hour: both go. */
	r_old = hold_record(fx, "old/f", seen);
	age(r_old, old);
	age_part(fx, "old/f.part", old);
	/* A record not quite 30 days old: kept, with its old .part. */
	r_young = hold_record(fx, "young/f", seen);
	age(r_young, young);
	age_part(fx, "young/f.part", old);
	/* An old record whose .part was written to lately: kept. */
	r_busy = hold_record(fx, "busy/f", seen);
	age(r_busy, old);
	/* An old record whose .part is gone: the record goes. */
	r_gone = hold_record(fx, "gone/f", seen);
	p = sub(fx, "gone/f.part");
	g_assert_cmpint(unlink(p), ==, 0);
	g_free(p);
	age(r_gone, old);
	/* An old record whose .part was replaced by another file: the record
	 * goes, the file (not ours) stays. */
	r_swapped = hold_record(fx, "swapped/f", seen);
	p = sub(fx, "swapped/f.part");
	g_assert_cmpint(unlink(p), ==, 0);
	put_file(fx, "swapped/f.part", "someone else's");
	age(p, old);
	g_free(p);
	age(r_swapped, old);
	/* A stranger's old ".part" that no record names (a browser's download). */
	put_file(fx, "foreign.part", "not ours");
	age_part(fx, "foreign.part", old);
	/* Something else in the state folder. */
	p = g_build_filename(fx->state, "notes", NULL);
	g_assert_true(g_file_set_contents(p, "x", 1, NULL));
	age(p, old);

	g_assert_cmpint(idl_store_sweep(fx->s, now, IDL_STORE_EXPIRE_S, swept, &err), ==, 0);
	g_assert_no_error(err);
	for (guint i = 0; i < swept->len; i++)
		g_test_message("swept: %s", (const char *)swept->pdata[i]);
	g_assert_cmpuint(swept->len, ==, 4);
	g_assert_true(swept_has(swept, "old/f.part"));
	g_assert_true(swept_has(swept, r_old));
	g_assert_true(swept_has(swept, r_gone));
	g_assert_true(swept_has(swept, r_swapped));
	g_assert_false(exists(fx, "old/f.part"));
	g_assert_false(g_file_test(r_old, G_FILE_TEST_EXISTS));
	g_assert_false(g_file_test(r_gone, G_FILE_TEST_EXISTS));
	g_assert_false(g_file_test(r_swapped, G_FILE_TEST_EXISTS));
	g_assert_true(exists(fx, "swapped/f.part"));
	g_assert_true(exists(fx, "foreign.part"));
	g_assert_true(g_file_test(p, G_FILE_TEST_EXISTS));
	g_assert_cmpuint(idl_store_held(fx->s, FP, "young/f", 10, MTIME), ==, 5);
	g_assert_cmpuint(idl_store_held(fx->s, FP, "busy/f", 10, MTIME), ==, 5);
	g_assert_cmpuint(idl_store_held(fx->s, FP, "old/f", 10, MTIME), ==, 0);
	/* A second sweep finds nothing more. */
	g_ptr_array_set_size(swept, 0);
	g_assert_cmpint(idl_store_sweep(fx->s, now, IDL_STORE_EXPIRE_S, swept, &err), ==, 0);
	g_assert_cmpuint(swept->len, ==, 0);
	g_free(p);
	g_free(r_old);
	g_free(r_young);
	g_free(r_busy);
	g_free(r_gone);
	g_free(r_swapped);
	g_ptr_array_unref(swept);
	g_hash_table_destroy(seen);
}

static void test_held_other(struct fixture *fx, gconstpointer data)
{
	struct idl_store *other = NULL;
	GError *err = NULL;
	char *dir2 = g_build_filename(fx->root, "downloads2", NULL), *alias = g_build_filename(fx->root, "alias", NULL);

	(void)data;
	hold_five(fx, "d/f");
	g_assert_cmpuint(idl_store_held(fx->s, FP2, "d/f", 10, MTIME), ==, 0);
	g_assert_cmpuint(idl_store_held(fx->s, FP, "d/f", 11, MTIME), ==, 0);
	g_assert_cmpuint(idl_store_held(fx->s, FP, "d/f", 10, MTIME + 1), ==, 0);
	g_assert_cmpuint(idl_store_held(fx->s, FP, "d/g", 10, MTIME), ==, 0);
	/* Another download folder sharing the state folder, with a look-alike
	 * part at the same place. */
	make_at(fx->root, "downloads2", NULL, TRUE, NULL);
	make_at(dir2, "d", NULL, TRUE, NULL);
	make_at(dir2, "d/f.part", "01234", FALSE, NULL);
	g_assert_cmpint(idl_store_open(dir2, fx->state, &other, &err), ==, 0);
	g_assert_cmpuint(idl_store_held(other, FP, "d/f", 10, MTIME), ==, 0);
	idl_store_free(other);
	/* The same folder by another name is the same folder. */
	make_at(fx->root, "alias", NULL, FALSE, fx->dl);
	g_assert_cmpint(idl_store_open(alias, fx->state, &other, &err), ==, 0);
	g_assert_cmpuint(idl_store_held(other, FP, "d/f", 10, MTIME), ==, 5);
	idl_store_free(other);
	g_free(alias);
	/* None of those looks removed the record. */
	g_assert_cmpuint(idl_store_held(fx->s, FP, "d/f", 10, MTIME), ==, 5);
	g_free(dir2);
}

static void spoil_delete(const char *part)
{
	g_assert_cmpint(unlink(part), ==, 0);
}

static void spoil_replace(const char *part)
{
	/* Same name and length, another file (inode). */
	g_assert_cmpint(unlink(part), ==, 0);
	g_assert_true(g_file_set_contents(part, "01234", 5, NULL));
}

static void spoil_rename_over(const char *part)
{
	char *other = g_strconcat(part, ".new", NULL);

	g_assert_true(g_file_set_contents(other, "01234", 5, NULL));
	g_assert_cmpint(rename(other, part), ==, 0);
	g_free(other);
}

static void spoil_grow(const char *part)
{
	g_assert_cmpint(truncate(part, 11), ==, 0);
}

static void spoil_symlink(const char *part)
{
	char *moved = g_strconcat(part, ".moved", NULL);

	g_assert_cmpint(rename(part, moved), ==, 0);
	g_assert_cmpint(symlink(moved, part), ==, 0);
	g_free(moved);
}

static void spoil_folder(const char *part)
{
	g_assert_cmpint(unlink(part), ==, 0);
	g_assert_cmpint(mkdir(part, 0755), ==, 0);
}

static void test_held_spoiled(struct fixture *fx, gconstpointer data)
{
	static void (*const spoil[])(const char *) = {
		spoil_delete, spoil_replace, spoil_rename_over, spoil_grow, spoil_symlink, spoil_folder,
	};

	(void)data;
	for (size_t i = 0; i < G_N_ELEMENTS(spoil); i++) {
		char *path = g_strdup_printf("s%zu/f", i), *rel = g_strconcat(path, ".part", NULL), *part = sub(fx, rel);
		struct idl_store_file *f = NULL;
		GError *err = NULL;

		hold_five(fx, path);
		spoil[i](part);
		g_assert_cmpuint(idl_store_held(fx->s, FP, path, 10, MTIME), ==, 0);
		g_assert_cmpuint(count_entries(fx->state), ==, 0);   /* record removed */
		g_assert_cmpint(idl_store_begin(fx->s, FP, path, 10, MTIME, 5, &f, &err), ==, -ESTALE);
		g_clear_error(&err);
		/* Starting again works, and does not touch what took the place. */
		g_assert_cmpint(idl_store_begin(fx->s, FP, path, 10, MTIME, 0, &f, &err), ==, 0);
		idl_store_abort(f);
		g_assert_cmpuint(idl_store_held(fx->s, FP, path, 10, MTIME), ==, 0);
		g_assert_cmpuint(count_entries(fx->state), ==, 1);
		empty_dir(fx->state);
		g_free(path);
		g_free(rel);
		g_free(part);
	}
	g_assert_cmpuint(count_entries(fx->outside), ==, 0);
}

/* The genuine record with the first `find` replaced by `repl` (NULL: the
 * whole record is `repl`, of len bytes). */
static char *mutate(const char *real, const char *find, const char *repl, size_t *len)
{
	const char *at = find ? strstr(real, find) : NULL;
	GString *t = g_string_new(NULL);

	if (!find) {
		g_string_append_len(t, repl, (gssize)*len);
	} else {
		g_assert_nonnull(at);
		g_string_append_len(t, real, at - real);
		g_string_append(t, repl);
		g_string_append(t, at + strlen(find));
		*len = t->len;
	}
	return g_string_free(t, FALSE);
}

static void test_garbage_record(struct fixture *fx, gconstpointer data)
{
	static const struct {
		const char *find, *repl;
		size_t len;                 /* of repl when find is NULL */
	} cases[] = {
#define M(find, repl) { find, repl, 0 }
#define W(text) { NULL, text, sizeof(text) - 1 }
		M("part=f.part", "part=../f.part"), M("part=f.part", "part=/tmp/f.part"), M("part=f.part", "part=f"),
		M("part=f.part", "part=x/f.part"), M("part=f.part", "part="), M("part=f.part", "part=f.part\nx"),
		M("part=", "path="), M("dev=", "dev=-"), M("ino=", "ino=99999999999999999999999"), M("ino=", "ino=1"),
		M("gen=", "gen=x"), M("gen=", "gen= "), M("partial 1", "partial 2"), M("\ngen=", "\nextra=1\ngen="),
		M("\ngen=", "\n\ngen="), M("\n", "\r\n"), M("dev=", "dev=0x"),
		W(""), W("x"), W("\n\n\n\n\n"), W("\xff\xfe\n\n\n\n\n"), W("idrop-lan partial 1\0part=f.part\n"),
#undef M
#undef W
	};
	char *real = NULL, *rec = NULL, *part = sub(fx, "f.part");
	gsize real_len;

	(void)data;
	for (size_t i = 0; i < G_N_ELEMENTS(cases) + 3; i++) {
		GDir *d;
		char *text;
		size_t len = i < G_N_ELEMENTS(cases) ? cases[i].len : 0;

		hold_five(fx, "f");
		d = g_dir_open(fx->state, 0, NULL);
		g_free(rec);
		rec = g_build_filename(fx->state, g_dir_read_name(d), NULL);
		g_dir_close(d);
		g_free(real);
		g_assert_true(g_file_get_contents(rec, &real, &real_len, NULL));
		if (i < G_N_ELEMENTS(cases)) {
			text = mutate(real, cases[i].find, cases[i].repl, &len);
		} else if (i == G_N_ELEMENTS(cases)) {       /* cut short */
			len = real_len - 3;
			text = g_strndup(real, len);
		} else if (i == G_N_ELEMENTS(cases) + 1) {   /* over the size limit */
			text = g_strnfill(10000, '\n');
			memcpy(text, real, real_len);
			len = 10000;
		} else {                                     /* as it was: kept */
			text = g_strdup(real);
			len = real_len;
		}
		g_assert_true(g_file_set_contents(rec, text, (gssize)len, NULL));
		g_free(text);
		if (i == G_N_ELEMENTS(cases) + 2) {
			g_assert_cmpuint(idl_store_held(fx->s, FP, "f", 10, MTIME), ==, 5);
			break;
		}
		if (idl_store_held(fx->s, FP, "f", 10, MTIME) != 0)
			g_error("garbage record %zu was taken for a record", i);
		g_assert_cmpuint(count_entries(fx->state), ==, 0);
		g_assert_true(exists(fx, "f.part"));     /* a part not known for ours is left alone */
		g_assert_cmpint(unlink(part), ==, 0);
	}
	g_free(real);
	g_free(rec);
	g_free(part);
}

/* ---- The disk ------------------------------------------------------------- */

static void test_free_space(struct fixture *fx, gconstpointer data)
{
	uint64_t bytes = 0;
	GError *err = NULL;

	(void)data;
	g_assert_cmpint(idl_store_free_space(fx->s, &bytes, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpuint(bytes, >, 0);
}

static void test_open_errors(struct fixture *fx, gconstpointer data)
{
	struct idl_store *s = NULL;
	GError *err = NULL;
	char *missing = g_build_filename(fx->root, "missing", NULL), *file = sub(fx, "file");

	(void)data;
	g_assert_cmpint(idl_store_open(missing, fx->state, &s, &err), ==, -ENOENT);
	g_assert_nonnull(strstr(err->message, missing));
	g_clear_error(&err);
	put_file(fx, "file", "x");
	g_assert_cmpint(idl_store_open(file, fx->state, &s, &err), ==, -ENOTDIR);
	g_clear_error(&err);
	g_assert_cmpint(idl_store_open(fx->dl, file, &s, &err), <, 0);
	g_clear_error(&err);
	g_assert_null(s);
	idl_store_free(NULL);
	g_free(missing);
	g_free(file);
}

/* A write the file system cuts short (here by RLIMIT_FSIZE, which needs no
 * privilege: the write stops at the limit, then fails with EFBIG) leaves a
 * .part of exactly the bytes written, from which a resume is correct. */
static void test_write_cut_short(struct fixture *fx, gconstpointer data)
{
	size_t len = 300000, limit = 100000;
	uint8_t *buf = pattern(len, 3), h[32];
	struct idl_store_file *f = NULL;
	struct rlimit old, lim;
	GError *err = NULL;
	char *final = NULL, *part = sub(fx, "cut.part");
	struct stat st;
	void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);

	(void)data;
	sha256(buf, len, h);
	g_assert_cmpint(idl_store_begin(fx->s, FP, "cut", len, MTIME, 0, &f, &err), ==, 0);
	g_assert_cmpint(getrlimit(RLIMIT_FSIZE, &old), ==, 0);
	lim = old;
	lim.rlim_cur = limit;
	g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &lim), ==, 0);
	write_range(f, buf, 0, 60000, 60000);
	g_assert_cmpint(idl_store_write(f, buf + 60000, 60000, &err), ==, -EFBIG);
	g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &old), ==, 0);
	signal(SIGXFSZ, old_handler);
	g_assert_nonnull(strstr(err->message, "cut"));
	if (g_test_verbose())
		g_printerr("# %s\n", err->message);
	g_clear_error(&err);
	g_assert_cmpuint(idl_store_file_length(f), ==, limit);
	g_assert_cmpint(stat(part, &st), ==, 0);
	g_assert_cmpint(st.st_size, ==, (off_t)limit);
	idl_store_abort(f);
	g_assert_cmpuint(idl_store_held(fx->s, FP, "cut", len, MTIME), ==, limit);
	g_assert_cmpint(idl_store_begin(fx->s, FP, "cut", len, MTIME, limit, &f, &err), ==, 0);
	write_range(f, buf, limit, len, 65536);
	g_assert_cmpint(idl_store_finish(f, h, &final, &err), ==, 0);
	g_assert_no_error(err);
	assert_content(fx, final, buf, len);
	g_free(final);
	g_free(part);
	g_free(buf);
}

static void test_disk_full(struct fixture *fx, gconstpointer data)
{
	(void)fx;
	(void)data;
	g_test_skip("a full disk needs a small file system mounted for the test; the simulated LAN "
		    "tests fill one");
}

/* Offsets past 4 GiB: a sparse .part of 4 GiB + 5 bytes is held and resumed
 * (hashing 4 GiB of holes takes a few seconds, so the resume runs with -m slow). */
static void test_beyond_4gib(struct fixture *fx, gconstpointer data)
{
	uint64_t size = 4 * GIB + 10, held = 4 * GIB + 5;
	struct idl_store_file *f = NULL;
	GError *err = NULL;
	gnutls_hash_hd_t h;
	uint8_t *zeros, digest[32];
	char *part = sub(fx, "big.part"), *final = NULL;

	(void)data;
	g_assert_cmpint(idl_store_begin(fx->s, FP, "big", size, MTIME, 0, &f, &err), ==, 0);
	write_range(f, (const uint8_t *)"01234", 0, 5, 5);
	idl_store_abort(f);
	g_assert_cmpint(truncate(part, (off_t)held), ==, 0);
	g_assert_cmpuint(idl_store_held(fx->s, FP, "big", size, MTIME), ==, held);
	g_assert_cmpuint(idl_store_held(fx->s, FP, "big", held - 1, MTIME), ==, 0);
	g_free(part);
	if (!g_test_slow()) {
		g_test_message("resuming at 4 GiB skipped: run with -m slow");
		return;
	}
	g_assert_cmpint(idl_store_begin(fx->s, FP, "big", size, MTIME, held, &f, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpuint(idl_store_file_length(f), ==, held);
	g_assert_cmpint(idl_store_write(f, (const uint8_t *)"abcdefg", 7, &err), ==, -EFBIG);
	g_clear_error(&err);
	g_assert_cmpint(idl_store_write(f, (const uint8_t *)"abcde", 5, &err), ==, 0);
	g_assert_cmpuint(idl_store_file_length(f), ==, size);
	/* The file: "01234", a hole up to 4 GiB + 5, "abcde". */
	zeros = g_malloc0(1 << 20);
	g_assert_cmpint(gnutls_hash_init(&h, GNUTLS_DIG_SHA256), ==, 0);
	gnutls_hash(h, "01234", 5);
	for (uint64_t at = 5; at < held; at += 1 << 20)
		gnutls_hash(h, zeros, (size_t)MIN((uint64_t)1 << 20, held - at));
	gnutls_hash(h, "abcde", 5);
	gnutls_hash_deinit(h, digest);
	g_free(zeros);
	g_assert_cmpint(idl_store_finish(f, digest, &final, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpstr(final, ==, "big");
	g_free(final);
}

/* A batch of verified files lands whole, in several folders and at a
 * taken name; a file that fails verification is not in it; no record is
 * left, and no small file ever had one while it was written. */
static void test_commit_batch(struct fixture *fx, gconstpointer data)
{
	enum { N = 40 };
	struct idl_store_file *files[N], *bad = NULL;
	struct idl_store_result res[N];
	char *paths[N], *taken = sub(fx, "d0/f0.txt"), *d0 = sub(fx, "d0");
	uint8_t h[32];
	GError *err = NULL;

	(void)data;
	g_assert_cmpint(mkdir(d0, 0755), ==, 0);
	g_assert_true(g_file_set_contents(taken, "mine", -1, NULL));
	for (int i = 0; i < N; i++) {
		paths[i] = g_strdup_printf("d%d/f%d.txt", i % 3, i);
		g_assert_cmpint(idl_store_begin(fx->s, FP, paths[i], strlen(paths[i]), MTIME, 0, &files[i], &err), ==, 0);
		write_range(files[i], (const uint8_t *)paths[i], 0, strlen(paths[i]), 3);
		sha256(paths[i], strlen(paths[i]), h);
		g_assert_cmpint(idl_store_verify(files[i], h, &err), ==, 0);
		g_assert_no_error(err);
	}
	/* Small files begun at 0: no record on disk while they are written. */
	g_assert_cmpuint(count_entries(fx->state), ==, 0);
	g_assert_cmpint(idl_store_begin(fx->s, FP, "d1/bad", 3, MTIME, 0, &bad, &err), ==, 0);
	write_range(bad, (const uint8_t *)"abc", 0, 3, 3);
	g_assert_cmpint(idl_store_verify(bad, h, &err), ==, -EBADMSG);
	g_clear_error(&err);
	idl_store_commit(files, N, res);
	for (int i = 0; i < N; i++) {
		char *want = i == 0 ? g_strdup("d0/f0 (1).txt") : g_strdup(paths[i]), *full = sub(fx, want), *text = NULL;

		g_assert_cmpint(res[i].result, ==, 0);
		g_assert_null(res[i].error);
		g_assert_cmpstr(res[i].final_path, ==, want);
		g_assert_true(g_file_get_contents(full, &text, NULL, NULL));
		g_assert_cmpstr(text, ==, paths[i]);
		g_free(text);
		g_free(full);
		g_free(want);
		g_free(res[i].final_path);
		g_free(paths[i]);
	}
	g_assert_true(g_file_get_contents(taken, (char **)&paths[0], NULL, NULL));
	g_assert_cmpstr(paths[0], ==, "mine");
	g_free(paths[0]);
	g_assert_cmpuint(count_entries(fx->state), ==, 0);
	g_assert_cmpuint(count_entries(d0), ==, 15);      /* 14 files and "mine", no .part */
	g_free(taken);
	g_free(d0);
}

static guint count_fds(void)
{
	return count_entries("/proc/self/fd");
}

/* The files of a batch share their folder's descriptor: one descriptor each
 * (its data), not two, so a batch of hundreds stays far from the open-file
 * limit. A file still open when a commit drops the store's folder (a big
 * file under way beside a batch) keeps its own hold on it and lands. */
static void test_one_fd_per_file(struct fixture *fx, gconstpointer data)
{
	enum { N = 64 };
	struct idl_store_file *files[N], *open_across = NULL;
	struct idl_store_result res[N];
	guint before;
	uint8_t h[32];
	char *final = NULL;
	GError *err = NULL;

	(void)data;
	sha256("x", 1, h);
	g_assert_cmpint(idl_store_begin(fx->s, FP, "a/across", 1, MTIME, 0, &open_across, &err), ==, 0);
	before = count_fds();
	for (int i = 0; i < N; i++) {
		char *path = g_strdup_printf("%s/f%d", i < N / 2 ? "a" : "b/c", i);

		g_assert_cmpint(idl_store_begin(fx->s, FP, path, 1, MTIME, 0, &files[i], &err), ==, 0);
		g_assert_no_error(err);
		write_range(files[i], (const uint8_t *)"x", 0, 1, 1);
		g_assert_cmpint(idl_store_verify(files[i], h, &err), ==, 0);
		g_free(path);
	}
	/* N data descriptors, and b/c's folder (a's was open already) */
	g_assert_cmpuint(count_fds(), <=, before + N + 1);
	idl_store_commit(files, N, res);
	for (int i = 0; i < N; i++) {
		g_assert_cmpint(res[i].result, ==, 0);
		g_free(res[i].final_path);
	}
	g_assert_cmpuint(count_fds(), <=, before);
	write_range(open_across, (const uint8_t *)"x", 0, 1, 1);
	g_assert_cmpint(idl_store_finish(open_across, h, &final, &err), ==, 0);
	g_assert_cmpstr(final, ==, "a/across");
	assert_content(fx, "a/across", "x", 1);
	assert_content(fx, "b/c/f63", "x", 1);
	g_free(final);
}

/* A small file gets its record when it is interrupted, so it resumes;
 * one over 1 MiB as it begins, so a crash loses little. */
static void test_record_when_needed(struct fixture *fx, gconstpointer data)
{
	size_t big = (2u << 20);
	uint8_t *buf = g_malloc0(big);
	struct idl_store_file *f = NULL;
	GError *err = NULL;

	(void)data;
	g_assert_cmpint(idl_store_begin(fx->s, FP, "small", 10, MTIME, 0, &f, &err), ==, 0);
	write_range(f, (const uint8_t *)"0123456789", 0, 4, 4);
	g_assert_cmpuint(count_entries(fx->state), ==, 0);
	idl_store_abort(f);
	g_assert_cmpuint(count_entries(fx->state), ==, 1);
	g_assert_cmpuint(idl_store_held(fx->s, FP, "small", 10, MTIME), ==, 4);

	g_assert_cmpint(idl_store_begin(fx->s, FP, "big", big, MTIME, 0, &f, &err), ==, 0);
	g_assert_cmpuint(count_entries(fx->state), ==, 2);  /* over 1 MiB: recorded as it begins */
	idl_store_abort(f);
	g_assert_cmpint(idl_store_begin(fx->s, FP, "grows", 1u << 20, MTIME, 0, &f, &err), ==, 0);
	g_assert_cmpuint(count_entries(fx->state), ==, 2);
	g_assert_cmpint(idl_store_write(f, buf, (1u << 20) - 1, &err), ==, 0);
	g_assert_cmpuint(count_entries(fx->state), ==, 2);
	idl_store_abort(f);
	g_assert_cmpuint(count_entries(fx->state), ==, 3);
	g_assert_cmpuint(idl_store_held(fx->s, FP, "grows", 1u << 20, MTIME), ==, (1u << 20) - 1);
	g_free(buf);
}

/* The folder of the file before is not walked again for the next file in
 * it, but only within a batch: after a commit, a folder replaced by a
 * symlink is refused as before. And a store that was told there is no
 * resume record (has_records) still finds the one it saved itself. */
static void test_folder_reuse(struct fixture *fx, gconstpointer data)
{
	struct idl_store_file *f[3] = { NULL };
	struct idl_store_result res[3];
	GError *err = NULL;
	char *final, *from, *to;
	uint8_t h[32];

	(void)data;
	sha256("x", 1, h);
	for (int i = 0; i < 3; i++) {
		char path[16];

		g_snprintf(path, sizeof(path), "a/b/%d", i);
		g_assert_cmpint(idl_store_begin(fx->s, FP, path, 1, MTIME, 0, &f[i], &err), ==, 0);
		g_assert_no_error(err);
		write_range(f[i], (const uint8_t *)"x", 0, 1, 1);
		g_assert_cmpint(idl_store_verify(f[i], h, &err), ==, 0);
	}
	idl_store_commit(f, 3, res);
	for (int i = 0; i < 3; i++) {
		g_assert_cmpint(res[i].result, ==, 0);
		g_free(res[i].final_path);
	}
	assert_content(fx, "a/b/2", "x", 1);
	from = sub(fx, "a/b");
	to = sub(fx, "a/moved");
	g_assert_cmpint(rename(from, to), ==, 0);
	make_at(fx->dl, "a/b", NULL, FALSE, fx->outside);
	g_assert_cmpint(idl_store_begin(fx->s, FP, "a/b/3", 1, MTIME, 0, &f[0], &err), ==, -ELOOP);
	g_clear_error(&err);
	g_assert_cmpuint(count_entries(fx->outside), ==, 0);
	g_free(from);
	g_free(to);

	g_assert_false(idl_store_has_records(fx->s));
	g_assert_cmpint(idl_store_begin(fx->s, FP, "c", 4, MTIME, 0, &f[0], &err), ==, 0);
	write_range(f[0], (const uint8_t *)"data", 0, 2, 2);
	idl_store_abort(f[0]);                    /* saves its record */
	g_assert_cmpint(idl_store_begin(fx->s, FP, "c", 4, MTIME, 0, &f[0], &err), ==, 0);
	write_range(f[0], (const uint8_t *)"data", 0, 4, 4);
	sha256("data", 4, h);
	g_assert_cmpint(idl_store_finish(f[0], h, &final, &err), ==, 0);
	g_assert_cmpstr(final, ==, "c");
	g_free(final);
	g_assert_false(exists(fx, "c.part"));
	g_assert_false(exists(fx, "c (1).part"));
	g_assert_cmpuint(count_entries(fx->state), ==, 0);
}

/* A small file begun at 0 is unnamed until kept: nothing of it shows in
 * the folder while it is written, so a crash leaves no .part that no
 * record would ever expire. Kept, it takes its name (or "name (1)" when
 * taken, never replacing); interrupted, it gets a .part and a record and
 * resumes; wrong, it leaves nothing. */
static void test_unnamed(struct fixture *fx, gconstpointer data)
{
	struct idl_store_file *f = NULL;
	GError *err = NULL;
	uint8_t h[32];
	char *final = NULL;

	(void)data;
	sha256("0123456789", 10, h);
	g_assert_cmpint(idl_store_begin(fx->s, FP, "d/f", 10, MTIME, 0, &f, &err), ==, 0);
	write_range(f, (const uint8_t *)"0123456789", 0, 10, 4);
	g_assert_cmpuint(count_entries(fx->dl), ==, 1);       /* d/ */
	g_assert_false(exists(fx, "d/f.part"));
	g_assert_cmpint(idl_store_finish(f, h, &final, &err), ==, 0);
	g_assert_cmpstr(final, ==, "d/f");
	assert_content(fx, "d/f", "0123456789", 10);
	g_clear_pointer(&final, g_free);

	/* the name is taken: the next one, nothing replaced */
	g_assert_cmpint(idl_store_begin(fx->s, FP, "d/f", 10, MTIME + 1, 0, &f, &err), ==, 0);
	write_range(f, (const uint8_t *)"0123456789", 0, 10, 10);
	g_assert_cmpint(idl_store_finish(f, h, &final, &err), ==, 0);
	g_assert_cmpstr(final, ==, "d/f (1)");
	g_clear_pointer(&final, g_free);

	/* interrupted: a .part and its record, and a resume from them */
	g_assert_cmpint(idl_store_begin(fx->s, FP, "e", 10, MTIME, 0, &f, &err), ==, 0);
	write_range(f, (const uint8_t *)"0123456789", 0, 6, 6);
	g_assert_false(exists(fx, "e.part"));
	idl_store_abort(f);
	g_assert_true(exists(fx, "e.part"));
	g_assert_cmpuint(idl_store_held(fx->s, FP, "e", 10, MTIME), ==, 6);
	g_assert_cmpint(idl_store_begin(fx->s, FP, "e", 10, MTIME, 6, &f, &err), ==, 0);
	write_range(f, (const uint8_t *)"0123456789", 6, 10, 4);
	g_assert_cmpint(idl_store_finish(f, h, &final, &err), ==, 0);
	g_assert_cmpstr(final, ==, "e");
	g_assert_false(exists(fx, "e.part"));
	g_clear_pointer(&final, g_free);
	g_assert_cmpuint(count_entries(fx->state), ==, 0);

	/* a wrong hash: nothing left */
	h[0] ^= 1;
	g_assert_cmpint(idl_store_begin(fx->s, FP, "g", 10, MTIME, 0, &f, &err), ==, 0);
	write_range(f, (const uint8_t *)"0123456789", 0, 10, 10);
	g_assert_cmpint(idl_store_finish(f, h, &final, &err), ==, -EBADMSG);
	g_clear_error(&err);
	g_assert_false(exists(fx, "g"));
	g_assert_cmpuint(count_entries(fx->dl), ==, 2);       /* d/ and e: nothing of g */
	g_assert_cmpuint(count_entries(fx->state), ==, 0);

	/* over 1 MiB: a .part from the start, with its record */
	g_assert_cmpint(idl_store_begin(fx->s, FP, "big", 2 << 20, MTIME, 0, &f, &err), ==, 0);
	g_assert_true(exists(fx, "big.part"));
	idl_store_abort(f);
}

int main(int argc, char *argv[])
{
	static const struct {
		const char *name;
		void (*fn)(struct fixture *, gconstpointer);
	} tests[] = {
		{ "/store/round-trip", test_round_trip },
		{ "/store/empty-file", test_empty_file },
		{ "/store/nested", test_nested },
		{ "/store/name-taken", test_name_taken },
		{ "/store/long-name", test_long_name },
		{ "/store/symlinks", test_symlinks },
		{ "/store/hostile-paths", test_hostile_paths },
		{ "/store/foreign-part", test_foreign_part },
		{ "/store/too-many", test_too_many },
		{ "/store/too-few", test_too_few },
		{ "/store/wrong-hash", test_wrong_hash },
		{ "/store/resume", test_resume },
		{ "/store/restart", test_restart },
		{ "/store/held-other", test_held_other },
		{ "/store/hidden-names", test_hidden_names },
		{ "/store/folder-cost", test_folder_cost },
		{ "/store/sweep", test_sweep },
		{ "/store/held-spoiled", test_held_spoiled },
		{ "/store/garbage-record", test_garbage_record },
		{ "/store/free-space", test_free_space },
		{ "/store/open-errors", test_open_errors },
		{ "/store/write-cut-short", test_write_cut_short },
		{ "/store/disk-full", test_disk_full },
		{ "/store/beyond-4gib", test_beyond_4gib },
		{ "/store/commit-batch", test_commit_batch },
		{ "/store/record-when-needed", test_record_when_needed },
		{ "/store/folder-reuse", test_folder_reuse },
		{ "/store/one-fd-per-file", test_one_fd_per_file },
	};
	/* These look at the .part while the file is written. */
	static const char *const part_only[] = { "/store/foreign-part", "/store/write-cut-short" };

	g_test_init(&argc, &argv, NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(tests); i++) {
		gboolean part = FALSE;
		char *name = g_strconcat("/store/tmpfile", tests[i].name + strlen("/store"), NULL);

		for (size_t k = 0; k < G_N_ELEMENTS(part_only); k++)
			part = part || !strcmp(tests[i].name, part_only[k]);
		g_test_add(tests[i].name, struct fixture, NULL, setup, tests[i].fn, teardown);
		if (!part)
			g_test_add(name, struct fixture, GINT_TO_POINTER(1), setup, tests[i].fn, teardown);
		g_free(name);
	}
	g_test_add("/store/tmpfile/unnamed", struct fixture, GINT_TO_POINTER(1), setup, test_unnamed, teardown);
	g_test_add("/store/tmpfile-proc/unnamed", struct fixture, GINT_TO_POINTER(2), setup, test_unnamed, teardown);
	g_test_add("/store/tmpfile-proc/commit-batch", struct fixture, GINT_TO_POINTER(2), setup, test_commit_batch,
		   teardown);
	return g_test_run();
}
