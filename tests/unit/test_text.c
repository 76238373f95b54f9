/* Unit tests for base/text: terminal escaping of hostile text, hidden
 * characters, the name key and look-alike skeletons. */
#include <string.h>
#include <glib.h>

#include "base/text.h"
#include "hidden_chars.h"

static void check_escape(const char *in, size_t len, const char *want)
{
	char *got = idl_text_escape(in, len);

	g_assert_cmpstr(got, ==, want);
	/* Whatever came in, nothing a terminal acts on goes out. */
	for (const unsigned char *p = (const unsigned char *)got; *p; p++) {
		g_assert_cmpuint(*p, >=, 0x20);
		g_assert_cmpuint(*p, !=, 0x7f);
		if (p[0] == 0xc2)
			g_assert_false(p[1] >= 0x80 && p[1] <= 0x9f);
	}
	g_free(got);
}

/* Literals are measured by sizeof so that one may hold a NUL byte. */
#define ESC(lit, want) check_escape(lit, sizeof(lit) - 1, want)

static void test_escape(void)
{
	ESC("plain name", "plain name");
	ESC("Zoë's laptop", "Zoë's laptop");
	/* The label that redrew serve's question in 0.1.0. */
	ESC("\r\x1b[2KFAKE: Accept", "\\x0d\\x1b[2KFAKE: Accept");
	ESC("bell\a", "bell\\x07");
	ESC("del\x7f", "del\\x7f");
	ESC("c1 \xc2\x9b" "31m", "c1 \\x9b31m");       /* CSI as one C1 character */
	ESC("raw \x9b" "31m", "raw \\x9b31m");        /* CSI as a lone byte: not UTF-8 */
	ESC("osc \x1b]0;title\x07", "osc \\x1b]0;title\\x07");
	ESC("nul\0x", "nul\\x00x");
	ESC("back\\slash", "back\\\\slash");
	ESC("a\xe2\x80\xaetxt.exe", "a\\u{202E}txt.exe");
	ESC("zero\xe2\x80\x8bwidth", "zero\\u{200B}width");
	ESC("\xef\xbb\xbf" "bom", "\\u{FEFF}bom");
	ESC("cut \xe2\x80", "cut \\xe2\\x80");        /* truncated sequence */
	ESC("", "");
}

/* JSON generators escape C0 but leave C1 and hidden characters raw: the
 * same value with those as \u escapes, and the rest untouched. */
static void test_json_safe(void)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "{\"n\":\"plain\"}", "{\"n\":\"plain\"}" },
		{ "{\"n\":\"Zo\xc3\xab \\u001b[2K\\\"\"}", "{\"n\":\"Zo\xc3\xab \\u001b[2K\\\"\"}" },
		{ "[\"c1 \xc2\x9b" "31m\"]", "[\"c1 \\u009b31m\"]" },
		{ "[\"a\xe2\x80\xaetxt\"]", "[\"a\\u202etxt\"]" },
		{ "[\"vs \xf3\xa0\x84\x80\"]", "[\"vs \\udb40\\udd00\"]" },   /* U+E0100: a surrogate pair */
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *got = idl_text_json_safe(cases[i].in);

		g_assert_cmpstr(got, ==, cases[i].want);
		g_free(got);
	}
}

/* Controls only: C0, DEL and C1 (U+0085 here), not hidden format characters. */
static void test_control(void)
{
	g_assert_false(idl_text_has_control("plain name", 10));
	g_assert_true(idl_text_has_control("tab\there", 8));
	g_assert_true(idl_text_has_control("del\x7f", 4));
	g_assert_true(idl_text_has_control("nel\xc2\x85", 5));
	g_assert_false(idl_text_has_control("rlo\xe2\x80\xae", 6));
	/* len bounds the scan: a control past it is not seen. */
	g_assert_false(idl_text_has_control("ab\nc", 2));
}

static void test_hidden(void)
{
	static const char *const hidden[] = {
		"a\xe2\x80\xaetxt.exe",     /* U+202E right-to-left override */
		"a\xe2\x81\xa6" "b",        /* U+2066 left-to-right isolate */
		"a\xe2\x80\x8f" "b",        /* U+200F right-to-left mark */
		"living\xe2\x80\x8broom",   /* U+200B zero-width space */
		"a\xe2\x80\x8d" "b",        /* U+200D zero-width joiner */
		"a\xe2\x81\xa0" "b",        /* U+2060 word joiner */
		"\xef\xbb\xbf" "a",         /* U+FEFF byte order mark */
		"soft\xc2\xad" "hyphen",    /* U+00AD */
		"a\xef\xb8\x8f" "b",        /* U+FE0F variation selector */
		"a\xe2\x80\xa8" "b",        /* U+2028 line separator */
		"a\xe3\x85\xa4" "b",        /* U+3164 Hangul filler */
		"tab\there", "esc\x1b", "c1\xc2\x85",
	};
	static const char *const shown[] = {
		"living room", "Zoë", "Ann's iPhone", "東京の部屋", "Ελένη", "Саша", "emoji \xf0\x9f\x93\xb1",
	};

	for (size_t i = 0; i < G_N_ELEMENTS(hidden); i++)
		g_assert_true(idl_text_has_hidden(hidden[i], strlen(hidden[i])));
	for (size_t i = 0; i < G_N_ELEMENTS(shown); i++)
		g_assert_false(idl_text_has_hidden(shown[i], strlen(shown[i])));
}

static void check_key(const char *a, const char *b, bool same)
{
	char *ka = idl_text_name_key(a), *kb = idl_text_name_key(b);

	if (same)
		g_assert_cmpstr(ka, ==, kb);
	else
		g_assert_cmpstr(ka, !=, kb);
	g_free(ka);
	g_free(kb);
}

static void test_name_key(void)
{
	check_key("Living Room", "living room", true);
	check_key("living\xe2\x80\x8broom", "livingroom", true);                 /* zero-width space */
	check_key("\xef\xbc\xac\xef\xbd\x89ving room", "Living room", true);    /* full-width "Li" */
	check_key("Zoe\xcc\x88", "Zo\xc3\xab", true);                             /* decomposed ë */
	check_key("STRASSE", "stra\xc3\x9f" "e", true);                           /* ß folds to ss */
	check_key("living r\xd0\xbeom", "living room", false);                   /* Cyrillic о: another name */
	check_key("living room", "living room 2", false);
}

static void check_skeleton(const char *a, const char *b, bool same)
{
	char *sa = idl_text_skeleton(a), *sb = idl_text_skeleton(b);

	if (same)
		g_assert_cmpstr(sa, ==, sb);
	else
		g_assert_cmpstr(sa, !=, sb);
	g_free(sa);
	g_free(sb);
}

static void test_skeleton(void)
{
	check_skeleton("living r\xd0\xbeom", "living room", true);    /* Cyrillic о */
	check_skeleton("living r\xce\xbfom", "living room", true);    /* Greek ο */
	check_skeleton("\xd0\xa0\xd0\x90\xd0\xa1", "pac", true);          /* Cyrillic РАС, folded */
	check_skeleton("living r00m", "Living Room", true);
	check_skeleton("modern", "rnodern", true);
	check_skeleton("living room", "dining room", false);
	check_skeleton("Ann's iPhone", "Bob's iPhone", false);
}

/* Look-alikes in capitals (review of issue 11): a capital that draws like
 * a Latin one but folds to a small letter that does not (Cyrillic М Н Т
 * В, Greek Η Μ Τ Β Ν; Greek Ν even folds to ν, drawn like 'v') must be
 * caught, and so must capital I against small l (one glyph in sans-serif
 * fonts, the page's among them). */
static void test_skeleton_capitals(void)
{
	check_skeleton("HOME TV", "HOME \xd0\xa2V", true);                  /* Cyrillic Т */
	check_skeleton("HOME NAS", "HOME \xce\x9d" "AS", true);             /* Greek Ν */
	check_skeleton("MEDIA", "\xd0\x9c" "EDIA", true);                   /* Cyrillic М */
	check_skeleton("HTPC", "\xce\x97TPC", true);                        /* Greek Η */
	check_skeleton("BOX", "\xd0\x92OX", true);                          /* Cyrillic В */
	check_skeleton("KEA", "\xce\x9a\xce\x95\xce\x91", true);            /* Greek ΚΕΑ */
	check_skeleton("PC", "\xd0\xa0\xd0\xa1", true);                     /* Cyrillic РС */
	check_skeleton("living room", "Iiving room", true);                 /* capital I */
	check_skeleton("living room", "1iving room", true);
	check_skeleton("living room", "|iving room", true);
	check_skeleton("HOME NAS", "HOME VAS", false);                      /* Ν is not V */
	/* Case and look-alikes at once: I is l, and so is i, the same letter. */
	check_skeleton("living room", "LIVING ROO\xd0\x9c", true);          /* Cyrillic М */
	check_skeleton("Living Room", "LIVING R\xce\x9f\xce\x9fM", true);  /* Greek ΟΟ */
}

/* Leading, trailing and doubled spaces: another string that a list, a
 * table or a page shows the same. One name by key, not only a look-alike. */
static void test_name_key_spaces(void)
{
	check_key("living room", "living room ", true);
	check_key("living room", " living room", true);
	check_key("living room", "living  room", true);
	check_key("living room", "living\xe3\x80\x80room", true);           /* ideographic space */
	check_key("living room", "living\xe1\x9a\x80room", true);           /* ogham space mark */
	check_key("living room", "livingroom", false);
	check_skeleton("living room", "  living   room  ", true);
}

/* The hidden set is the fixed table hidden_chars.h, which the page's
 * HIDDEN_RE is held to as well (tests/browser/receiver_test.mjs). */
static void test_hidden_table(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(hidden_chars); i++) {
		if (idl_text_is_hidden_char(hidden_chars[i].cp) != (hidden_chars[i].hidden != 0)) {
			g_test_message("U+%04X: hidden should be %d", hidden_chars[i].cp, hidden_chars[i].hidden);
			g_test_fail();
		}
	}
}

/* Default-ignorable characters that are not format characters (Cf) draw
 * nothing, so "living\u17B4 room" looks exactly like "living room": the
 * U+200B attack of issue 11 with another character. Each must be refused
 * as hidden, and stripped from the key. */
static void test_default_ignorable_hidden(void)
{
	static const gunichar chars[] = { 0x17b4, 0x17b5, 0x180b, 0x180c, 0x180d, 0x2065, 0xfff0, 0xe0080 };

	for (size_t i = 0; i < G_N_ELEMENTS(chars); i++) {
		char name[32], *kn, *kr;
		int n = g_snprintf(name, sizeof(name), "living");

		n += g_unichar_to_utf8(chars[i], name + n);
		g_strlcpy(name + n, " room", sizeof(name) - (size_t)n);
		kn = idl_text_name_key(name);
		kr = idl_text_name_key("living room");
		if (!idl_text_has_hidden(name, strlen(name)) || strcmp(kn, kr) != 0) {
			g_test_message("\"living<U+%04X> room\" draws as \"living room\" but is not hidden, or not "
				       "the same key", (unsigned)chars[i]);
			g_test_fail();
		}
		g_free(kn);
		g_free(kr);
	}
}

/* A peer-chosen name inside quotes cannot close them (review of issue 11:
 * 'Ann" [fingerprint 1111 2222, trusted, code 123 456]' forged the facts
 * serve prints after the name). */
static void check_quote(const char *in, const char *want)
{
	char *got = idl_text_quote(in, strlen(in));

	g_assert_cmpstr(got, ==, want);
	/* Only the two quotes we add are quote characters. */
	for (const char *p = got + 1; p[1]; p++)
		g_assert_true(*p != '"' || p[-1] == '\\');
	g_free(got);
}

static void test_quote(void)
{
	check_quote("living room", "\"living room\"");
	check_quote("Ann\" [fingerprint 1111 2222, trusted, code 123 456]",
		    "\"Ann\\\" [fingerprint 1111 2222, trusted, code 123 456]\"");
	check_quote("Ann\xe2\x80\x9d [key", "\"Ann\\u{201D} [key\"");                 /* ” */
	check_quote("\xe2\x80\x9c" "a\xe2\x80\x9e" "b\xe2\x80\x9f", "\"\\u{201C}a\\u{201E}b\\u{201F}\"");
	check_quote("\xc2\xab" "a\xc2\xbb", "\"\\u{00AB}a\\u{00BB}\"");                /* « » */
	check_quote("a\xe2\x80\xb3" "b\xef\xbc\x82" "c", "\"a\\u{2033}b\\u{FF02}c\"");  /* ″ ＂ */
	check_quote("\xe3\x80\x9d" "a\xe3\x80\x9e" "b\xe3\x80\x9f", "\"\\u{301D}a\\u{301E}b\\u{301F}\"");
	check_quote("back\\\"slash", "\"back\\\\\\\"slash\"");
	check_quote("esc\x1b[2K\xe2\x80\xae", "\"esc\\x1b[2K\\u{202E}\"");
	check_quote("trailing ", "\"trailing \"");
	check_quote("", "\"\"");
	/* A message holding a quoted name keeps its escapes (a log line, an
	 * error): its \" must not become \\" (a backslash, then a closing
	 * quote); controls and hidden characters are still escaped. */
	{
		char *q = idl_text_quote("Ann\" [trusted", 13), *m = g_strdup_printf("tab %s\x1b\xe2\x80\xae left", q);
		char *e = idl_text_escape_message(m, strlen(m));

		g_assert_cmpstr(e, ==, "tab \"Ann\\\" [trusted\"\\x1b\\u{202E} left");
		g_free(e);
		g_free(m);
		g_free(q);
	}
	/* Outside quotes, escaping leaves quotes alone. */
	{
		char *e = idl_text_escape("a\"b", 3);

		g_assert_cmpstr(e, ==, "a\"b");
		g_free(e);
	}
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();   /* every case reports, not just the first */
	g_test_add_func("/text/escape", test_escape);
	g_test_add_func("/text/json-safe", test_json_safe);
	g_test_add_func("/text/control", test_control);
	g_test_add_func("/text/hidden", test_hidden);
	g_test_add_func("/text/name-key", test_name_key);
	g_test_add_func("/text/skeleton", test_skeleton);
	g_test_add_func("/text/skeleton-capitals", test_skeleton_capitals);
	g_test_add_func("/text/name-key-spaces", test_name_key_spaces);
	g_test_add_func("/text/hidden-table", test_hidden_table);
	g_test_add_func("/text/default-ignorable-hidden", test_default_ignorable_hidden);
	g_test_add_func("/text/quote", test_quote);
	return g_test_run();
}
