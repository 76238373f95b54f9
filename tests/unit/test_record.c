/* Unit tests for transfer/record: the resume record's text and key, pure
 * (issue 13 moved them out of the store): what is written reads back, a
 * record names only a sibling .part, and the key tells files apart. */
#include <errno.h>
#include <string.h>
#include <glib.h>

#include "transfer/record.h"

#define FP "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static void test_round_trip(void)
{
	static const struct {
		const char *path, *part, *name;
	} cases[] = {
		{ "f", "f.part", "f.part" },
		{ "f", "f (3).part", "f (3).part" },
		{ "a/b/c d.txt", "a/b/c d.txt.part", "c d.txt.part" },
		{ "é/ü", "é/ü (1).part", "ü (1).part" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *text = idl_record_format(cases[i].part, 2049, G_MAXUINT64, 7), *part = NULL;
		uint64_t dev = 0, ino = 0, gen = 0;

		g_assert_cmpint(idl_record_parse(text, strlen(text), cases[i].path, &part, &dev, &ino, &gen), ==, 0);
		g_assert_cmpstr(part, ==, cases[i].name);
		g_assert_cmpuint(dev, ==, 2049);
		g_assert_cmpuint(ino, ==, G_MAXUINT64);
		g_assert_cmpuint(gen, ==, 7);
		g_free(part);
		g_free(text);
	}
}

/* A record naming a .part anywhere but beside its file is refused. */
static void test_not_sibling(void)
{
	static const struct {
		const char *path, *part;
	} cases[] = {
		{ "f", "x/f.part" }, { "a/f", "f.part" }, { "a/f", "b/f.part" }, { "a/b/f", "a/f.part" },
		{ "ab/f", "a/f.part" }, { "f", "../f.part" }, { "f", "/f.part" }, { "f", "f" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *text = idl_record_format(cases[i].part, 1, 2, 3), *part = (char *)"x";
		uint64_t dev, ino, gen;

		g_assert_cmpint(idl_record_parse(text, strlen(text), cases[i].path, &part, &dev, &ino, &gen), ==, -EINVAL);
		g_assert_null(part);
		g_free(text);
	}
}

static void test_too_long(void)
{
	char *text = idl_record_format("f.part", 1, 2, 3), *big, *part;
	size_t len = strlen(text);
	uint64_t dev, ino, gen;

	big = g_malloc(IDL_RECORD_MAX + 1);
	memset(big, '\n', IDL_RECORD_MAX + 1);
	memcpy(big, text, len);
	g_assert_cmpint(idl_record_parse(big, IDL_RECORD_MAX + 1, "f", &part, &dev, &ino, &gen), ==, -EINVAL);
	g_assert_null(part);
	g_free(big);
	g_free(text);
}

static void test_key(void)
{
	char *k = idl_record_key("/home/u/Downloads", FP, "a/b", 10, 20);
	char *upper = g_ascii_strup(FP, -1);
	const char *const differ[][2] = { { "/home/u/Download", "sa/b" }, { "/home/u/Downloads", "a/c" } };
	char *other;

	g_assert_true(idl_record_is_key(k));
	other = idl_record_key("/home/u/Downloads", upper, "a/b", 10, 20);   /* either case: one file */
	g_assert_cmpstr(other, ==, k);
	g_free(other);
	for (size_t i = 0; i < G_N_ELEMENTS(differ); i++) {
		/* Fields are length-prefixed: moving a byte from one to the next is another file. */
		other = idl_record_key(differ[i][0], FP, differ[i][1], 10, 20);
		g_assert_true(idl_record_is_key(other));
		g_assert_cmpstr(other, !=, k);
		g_free(other);
	}
	other = idl_record_key("/home/u/Downloads", FP, "a/b", 102, 0);
	g_assert_cmpstr(other, !=, k);
	g_free(other);
	other = idl_record_key("/home/u/Downloads", FP, "a/b", 10, 21);
	g_assert_cmpstr(other, !=, k);
	g_free(other);
	g_free(upper);
	g_free(k);
}

static void test_is_key(void)
{
	g_assert_true(idl_record_is_key("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
	g_assert_false(idl_record_is_key("0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
	g_assert_false(idl_record_is_key("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"));
	g_assert_false(idl_record_is_key("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0"));
	g_assert_false(idl_record_is_key("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde.part"));
	g_assert_false(idl_record_is_key(""));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/record/round-trip", test_round_trip);
	g_test_add_func("/record/not-sibling", test_not_sibling);
	g_test_add_func("/record/too-long", test_too_long);
	g_test_add_func("/record/key", test_key);
	g_test_add_func("/record/is-key", test_is_key);
	return g_test_run();
}
