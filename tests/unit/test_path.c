/* Unit tests for transfer/path: the rules of offer paths, as a table of
 * cases, the name a path is stored under, and the folders it makes. */
#include <errno.h>
#include <string.h>
#include <gio/gio.h>

#include "transfer/path.h"

static void test_path_check(void)
{
	static const struct {
		const char *path;
		gboolean ok;
	} cases[] = {
		{ "a", TRUE }, { "a/b/c.txt", TRUE }, { "été/ファイル 1.txt", TRUE }, { "...", TRUE },
		{ ".hidden", TRUE }, { "a..b", TRUE }, { "-rf", TRUE }, { "a b ", TRUE },
		{ "", FALSE }, { "/", FALSE }, { "/a", FALSE }, { "a/", FALSE }, { "a//b", FALSE },
		{ ".", FALSE }, { "..", FALSE }, { "a/..", FALSE }, { "./a", FALSE }, { "a\\b", FALSE },
		{ "C:\\x", FALSE }, { "a\tb", FALSE }, { "a\nb", FALSE }, { "a\x7f", FALSE },
		{ "a\xc2\x85", FALSE }, { "\xff", FALSE }, { "a\xc3", FALSE },
		/* issue 11: hidden characters, nesting */
		{ "a\xe2\x80\xaetxt.exe", FALSE }, { "a\xe2\x80\x8b", FALSE }, { "\xe2\x81\xa6x", FALSE },
		{ "a\xc2\xad" "b", FALSE }, { "x\xef\xb8\x8f", FALSE }, { "\xe2\x80\xa8", FALSE },
		{ "a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/x", TRUE },
		{ "a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/x", FALSE },
	};
	GError *err = NULL;

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		int r = idl_path_check(cases[i].path, &err);
		if ((r == 0) != cases[i].ok)
			g_error("path check of case %zu: %d", i, r);
		g_assert_true((r == 0) == (err == NULL));
		if (r < 0)
			g_assert_cmpint(r, ==, -EINVAL);
		g_clear_error(&err);
	}
	g_assert_cmpint(idl_path_check(NULL, NULL), ==, -EINVAL);
}

/* Issue 11: names starting with '.' are stored visibly, under '_'. */
static void test_path_visible(void)
{
	static const struct {
		const char *path, *visible;
	} cases[] = {
		{ "a", "a" }, { "a/b.c", "a/b.c" }, { "a..b/c.d", "a..b/c.d" },
		{ ".config/autostart/holiday.desktop", "_config/autostart/holiday.desktop" },
		{ "project/.gitignore", "project/_gitignore" }, { ".a/.b/.c", "_a/_b/_c" },
		{ "...", "_.." }, { "a/.../b", "a/_../b" }, { "_x/.x", "_x/_x" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *v = idl_path_visible(cases[i].path);
		g_assert_cmpstr(v, ==, cases[i].visible);
		g_assert_true(idl_path_is_hidden(cases[i].path) == (strcmp(v, cases[i].path) != 0));
		g_assert_cmpint(idl_path_check(v, NULL), ==, 0);
		g_free(v);
	}
}

/* Issue 11: the folders of an offer are counted once each. */
static void test_path_folders(void)
{
	GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	g_assert_cmpuint(idl_path_folders_add(set, "a/b/c"), ==, 2);
	g_assert_cmpuint(idl_path_folders_add(set, "a/b/d"), ==, 0);
	g_assert_cmpuint(idl_path_folders_add(set, "a/e/f/g"), ==, 2);
	g_assert_cmpuint(idl_path_folders_add(set, "top"), ==, 0);
	g_hash_table_destroy(set);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/path/check", test_path_check);
	g_test_add_func("/path/visible", test_path_visible);
	g_test_add_func("/path/folders", test_path_folders);
	return g_test_run();
}
