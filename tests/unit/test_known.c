/* Unit tests for trust/known: the known_peers parser refuses every
 * line it cannot read exactly (a dropped line may be a dropped pin), the
 * formatter round-trips, record/trust/forget keep names pinned to their
 * fingerprint, and the file is ours only: written atomically with mode
 * 0600, refused when others could change it, and not one entry lost when
 * processes record at the same time. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <gio/gio.h>

#include "tests/unit/fs_helpers.h"
#include "trust/known.h"

#define FP1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define FP2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define T1 "2026-11-20T10:31:02Z"
#define T2 "2026-11-24T09:00:00Z"
#define T1_UNIX G_GINT64_CONSTANT(1795170662)

static struct idl_known *parse_ok(const char *text)
{
	struct idl_known *k = NULL;
	GError *err = NULL;

	g_assert_cmpint(idl_known_parse(text, strlen(text), &k, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_nonnull(k);
	return k;
}

static void test_name_valid(void)
{
	static const struct {
		const char *s;
		size_t len;
		gboolean ok;
	} cases[] = {
		{ "Alice", 5, TRUE },
		{ "living room", 11, TRUE },
		{ "日本語", 9, TRUE },
		{ "", 0, FALSE },
		{ "tab\there", 8, FALSE },
		{ "new\nline", 8, FALSE },
		{ "cr\r", 3, FALSE },
		{ "nul\0x", 5, FALSE },
		/* Hidden characters: one name passing for another (0.1.0 took them). */
		{ "living\xe2\x80\x8broom", 13, FALSE },     /* U+200B zero-width space */
		{ "a\xe2\x80\xaetxt.exe", 10, FALSE },        /* U+202E right-to-left override */
		{ "\xef\xbb\xbf" "bom", 6, FALSE },           /* U+FEFF */
		{ "l\xd0\xbeving room", 12, TRUE },            /* Cyrillic o: a letter, flagged elsewhere */
		{ "\xc3", 1, FALSE },                 /* cut UTF-8 */
		{ "\xc2\x85", 2, FALSE },             /* U+0085, a C1 control */
		{ "\x7f", 1, FALSE },
	};
	char long_name[65];

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
		g_assert_cmpint(idl_name_valid(cases[i].s, cases[i].len), ==, cases[i].ok);
	memset(long_name, 'x', 64);
	long_name[64] = 0;
	g_assert_true(idl_name_valid(long_name, 63));
	g_assert_false(idl_name_valid(long_name, 64));
	g_assert_false(idl_name_valid(NULL, 0));
}

static void test_parse(void)
{
	const char *text = "# a comment\n\n"
			   FP1 " trusted " T1 " " T2 " Alice's laptop\n"
			   "#another\n"
			   "FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210 seen " T1 " " T1
			   "  spaced name ";   /* no final newline; spaces kept */
	struct idl_known *k = parse_ok(text);
	const struct idl_known_peer *p;

	g_assert_cmpuint(idl_known_count(k), ==, 2);
	p = idl_known_get(k, 0);
	g_assert_cmpstr(p->fingerprint, ==, FP1);
	g_assert_cmpstr(p->name, ==, "Alice's laptop");
	g_assert_true(p->trusted);
	g_assert_cmpint(p->first_seen, ==, T1_UNIX);
	g_assert_cmpint(p->last_seen, >, p->first_seen);
	p = idl_known_get(k, 1);
	g_assert_cmpstr(p->fingerprint, ==, FP2);   /* normalised to lowercase */
	g_assert_cmpstr(p->name, ==, " spaced name ");
	g_assert_false(p->trusted);
	g_assert_true(idl_known_find_name(k, "ALICE'S LAPTOP") == idl_known_get(k, 0));
	g_assert_null(idl_known_find_name(k, "Alice"));
	g_assert_true(idl_known_find_fingerprint(k, FP2) == idl_known_get(k, 1));
	g_assert_true(idl_known_trusted(k, FP1));
	g_assert_false(idl_known_trusted(k, FP2));
	idl_known_free(k);

	k = parse_ok("");
	g_assert_cmpuint(idl_known_count(k), ==, 0);
	idl_known_free(k);
}

static void test_parse_hostile(void)
{
	static const struct {
		const char *what, *text;
	} cases[] = {
		{ "short fingerprint", "0123 seen " T1 " " T1 " a\n" },
		{ "fingerprint not hex", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg seen " T1 " " T1 " a\n" },
		{ "65 hex digits", FP1 "0 seen " T1 " " T1 " a\n" },
		{ "colon form", "01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef seen " T1 " " T1 " a\n" },
		{ "tab separator", FP1 "\tseen " T1 " " T1 " a\n" },
		{ "unknown status", FP1 " Trusted " T1 " " T1 " a\n" },
		{ "no status", FP1 " " T1 " " T1 " a\n" },
		{ "two spaces", FP1 "  seen " T1 " " T1 " a\n" },
		{ "bad time", FP1 " seen 2026-11-20 10:31:02 " T1 " a\n" },
		{ "local time", FP1 " seen 2026-11-20T10:31:02+01 " T1 " a\n" },
		{ "not a date", FP1 " seen 2026-02-30T10:31:02Z " T1 " a\n" },
		{ "hour 24", FP1 " seen 2026-11-20T24:00:00Z " T1 " a\n" },
		{ "leap second", FP1 " seen 2026-12-31T23:59:60Z " T1 " a\n" },
		{ "year 0", FP1 " seen 0000-01-01T00:00:00Z " T1 " a\n" },
		{ "one time", FP1 " seen " T1 " a\n" },
		{ "no name", FP1 " seen " T1 " " T1 "\n" },
		{ "empty name", FP1 " seen " T1 " " T1 " \n" },
		{ "CRLF", FP1 " seen " T1 " " T1 " a\r\n" },
		{ "control in name", FP1 " seen " T1 " " T1 " a\x1b[31mred\n" },
		{ "C1 control in name", FP1 " seen " T1 " " T1 " a\xc2\x9b" "31m\n" },
		{ "bad UTF-8 name", FP1 " seen " T1 " " T1 " \xff\xfe\n" },
		{ "64-byte name", FP1 " seen " T1 " " T1 " 0123456789012345678901234567890123456789012345678901234567890123\n" },
		{ "duplicate name", FP1 " seen " T1 " " T1 " Alice\n" FP2 " seen " T1 " " T1 " alice\n" },
		{ "duplicate line", FP1 " seen " T1 " " T1 " Alice\n" FP1 " seen " T1 " " T1 " Alice\n" },
		{ "leading space", " " FP1 " seen " T1 " " T1 " a\n" },
		{ "garbage", "hello world\n" },
	};
	struct idl_known *k = NULL;
	GError *err = NULL;

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_test_message("%s", cases[i].what);
		g_assert_cmpint(idl_known_parse(cases[i].text, strlen(cases[i].text), &k, &err), ==, -EINVAL);
		g_assert_null(k);
		g_assert_nonnull(err);
		g_assert_true(g_str_has_prefix(err->message, "line "));
		g_clear_error(&err);
	}
	/* A NUL byte anywhere, even in a comment, and over-long input. */
	g_assert_cmpint(idl_known_parse("# a\0b\n", 6, &k, &err), ==, -EINVAL);
	g_assert_null(k);
	g_clear_error(&err);
	{
		gsize big = IDL_KNOWN_FILE_MAX + 1;
		char *text = g_malloc(big);

		memset(text, '#', big);
		g_assert_cmpint(idl_known_parse(text, big, &k, &err), ==, -EINVAL);
		g_clear_error(&err);
		g_free(text);
	}
}

static void test_too_many(void)
{
	GString *s = g_string_new(NULL);
	struct idl_known *k = NULL;
	GError *err = NULL;

	for (int i = 0; i <= IDL_KNOWN_PEERS_MAX; i++)
		g_string_append_printf(s, FP1 " seen " T1 " " T1 " peer %d\n", i);
	g_assert_cmpint(idl_known_parse(s->str, s->len, &k, &err), ==, -EINVAL);
	g_assert_nonnull(strstr(err->message, "more than"));
	g_clear_error(&err);
	/* One fewer parses, and the list is then full. */
	g_string_truncate(s, (gsize)(strrchr(s->str, '\n') - s->str));
	g_string_truncate(s, (gsize)(strrchr(s->str, '\n') - s->str + 1));
	k = parse_ok(s->str);
	g_assert_cmpuint(idl_known_count(k), ==, IDL_KNOWN_PEERS_MAX);
	g_assert_cmpint(idl_known_record(k, "one more", FP2, IDL_KNOWN_VERIFIED, 0), ==, -ENOSPC);
	idl_known_free(k);
	g_string_free(s, TRUE);
}

static void test_round_trip(void)
{
	const char *text = FP1 " trusted verified " T1 " " T2 " Alice\n"
			   FP2 " seen claimed 0001-01-01T00:00:00Z 9999-12-31T23:59:59Z 日本語 x\n";
	struct idl_known *k = parse_ok(text), *k2;
	char *out = idl_known_format(k), *out2;

	g_assert_true(g_str_has_prefix(out, "#"));
	g_assert_nonnull(strstr(out, text));
	k2 = parse_ok(out);
	out2 = idl_known_format(k2);
	g_assert_cmpstr(out, ==, out2);
	g_free(out);
	g_free(out2);
	idl_known_free(k);
	idl_known_free(k2);

	k = idl_known_new();
	out = idl_known_format(k);
	k2 = parse_ok(out);
	g_assert_cmpuint(idl_known_count(k2), ==, 0);
	g_free(out);
	idl_known_free(k);
	idl_known_free(k2);
}

static void test_record(void)
{
	struct idl_known *k = idl_known_new();
	const struct idl_known_peer *p;

	g_assert_cmpint(idl_known_record(k, "Alice", FP1, IDL_KNOWN_VERIFIED, 100), ==, 1);
	g_assert_cmpint(idl_known_record(k, "alice", FP1, IDL_KNOWN_VERIFIED, 200), ==, 0);   /* same name, any ASCII case */
	p = idl_known_find_name(k, "Alice");
	g_assert_cmpint(p->first_seen, ==, 100);
	g_assert_cmpint(p->last_seen, ==, 200);
	g_assert_cmpstr(p->name, ==, "Alice");
	g_assert_false(p->trusted);
	/* The pin: a known name with another fingerprint changes nothing. */
	g_assert_cmpint(idl_known_record(k, "ALICE", FP2, IDL_KNOWN_VERIFIED, 300), ==, -EEXIST);
	g_assert_cmpstr(idl_known_find_name(k, "Alice")->fingerprint, ==, FP1);
	g_assert_cmpint(idl_known_get(k, 0)->last_seen, ==, 200);
	/* Another name for the same key is a second entry. */
	g_assert_cmpint(idl_known_record(k, "nas", FP1, IDL_KNOWN_VERIFIED, 400), ==, 1);
	g_assert_cmpuint(idl_known_count(k), ==, 2);
	/* Fingerprints in any form, stored lowercase. */
	g_assert_cmpint(idl_known_record(k, "Bob", "FE:DC:BA:98:76:54:32:10:FE:DC:BA:98:76:54:32:10:"
					 "FE:DC:BA:98:76:54:32:10:FE:DC:BA:98:76:54:32:10", IDL_KNOWN_VERIFIED, 500), ==, 1);
	g_assert_cmpstr(idl_known_find_name(k, "bob")->fingerprint, ==, FP2);
	/* Unusable input. */
	g_assert_cmpint(idl_known_record(k, "", FP1, IDL_KNOWN_VERIFIED, 0), ==, -EINVAL);
	g_assert_cmpint(idl_known_record(k, "a\nb", FP1, IDL_KNOWN_VERIFIED, 0), ==, -EINVAL);
	g_assert_cmpint(idl_known_record(k, NULL, FP1, IDL_KNOWN_VERIFIED, 0), ==, -EINVAL);
	g_assert_cmpint(idl_known_record(k, "Carol", "1a2b 3c4d", IDL_KNOWN_VERIFIED, 0), ==, -EINVAL);
	g_assert_cmpint(idl_known_record(k, "Carol", NULL, IDL_KNOWN_VERIFIED, 0), ==, -EINVAL);
	g_assert_cmpuint(idl_known_count(k), ==, 3);
	idl_known_free(k);
}

static void test_trust_forget(void)
{
	struct idl_known *k = idl_known_new();

	g_assert_cmpint(idl_known_record(k, "Alice", FP1, IDL_KNOWN_VERIFIED, 1), ==, 1);
	g_assert_cmpint(idl_known_record(k, "nas", FP1, IDL_KNOWN_VERIFIED, 1), ==, 1);
	g_assert_cmpint(idl_known_record(k, "Bob", FP2, IDL_KNOWN_VERIFIED, 1), ==, 1);
	g_assert_cmpint(idl_known_trust(k, "nobody"), ==, -ENOENT);
	g_assert_cmpint(idl_known_trust(k, "1a2b 3c4d"), ==, -ENOENT);
	/* Trusting a name trusts its key, under every name. */
	g_assert_cmpint(idl_known_trust(k, "ALICE"), ==, 2);
	g_assert_true(idl_known_find_name(k, "nas")->trusted);
	g_assert_false(idl_known_find_name(k, "Bob")->trusted);
	g_assert_true(idl_known_trusted(k, FP1));
	/* A new name for a trusted key is trusted. */
	g_assert_cmpint(idl_known_record(k, "laptop", FP1, IDL_KNOWN_VERIFIED, 2), ==, 1);
	g_assert_true(idl_known_find_name(k, "laptop")->trusted);
	/* By fingerprint, upper case. */
	g_assert_cmpint(idl_known_trust(k, "FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210"), ==, 1);
	g_assert_true(idl_known_trusted(k, FP2));

	g_assert_cmpint(idl_known_forget(k, "nobody"), ==, -ENOENT);
	g_assert_cmpint(idl_known_forget(k, "NAS"), ==, 1);
	g_assert_null(idl_known_find_name(k, "nas"));
	g_assert_nonnull(idl_known_find_name(k, "Alice"));
	g_assert_cmpint(idl_known_forget(k, FP1), ==, 2);   /* every name of that key */
	g_assert_null(idl_known_find_fingerprint(k, FP1));
	g_assert_cmpuint(idl_known_count(k), ==, 1);
	/* Forgotten, the name is free for another key. */
	g_assert_cmpint(idl_known_record(k, "Alice", FP2, IDL_KNOWN_VERIFIED, 3), ==, 1);
	g_assert_true(idl_known_find_name(k, "Alice")->trusted);
	idl_known_free(k);
}


/* 0.1.0 wrote lines without a source: they still load, as pins, and are
 * written back with one. Names with hidden characters it let in load too. */
static void test_legacy(void)
{
	const char *text = FP1 " seen " T1 " " T2 " living room\n"
			   FP2 " seen " T1 " " T1 " living\xe2\x80\x8broom\n";
	struct idl_known *k = parse_ok(text);
	char *out;

	g_assert_cmpuint(idl_known_count(k), ==, 2);
	g_assert_cmpint(idl_known_get(k, 0)->source, ==, IDL_KNOWN_VERIFIED);
	g_assert_cmpint(idl_known_get(k, 1)->source, ==, IDL_KNOWN_VERIFIED);
	out = idl_known_format(k);
	g_assert_nonnull(strstr(out, FP1 " seen verified " T1 " " T2 " living room\n"));
	g_free(out);
	idl_known_free(k);
	/* A word there that is neither source nor time is refused. */
	{
		const char *bad = FP1 " seen pinned " T1 " " T1 " a\n";
		GError *err = NULL;

		g_assert_cmpint(idl_known_parse(bad, strlen(bad), &k, &err), ==, -EINVAL);
		g_assert_nonnull(strstr(err->message, "source"));
		g_clear_error(&err);
	}
	/* Claims may share a name; the same claim twice is refused. */
	k = parse_ok(FP1 " seen claimed " T1 " " T1 " Ann\n" FP2 " seen claimed " T1 " " T1 " ann\n"
		     FP1 " seen verified " T1 " " T1 " ann\n");
	g_assert_cmpuint(idl_known_count(k), ==, 3);
	idl_known_free(k);
	{
		const char *dup = FP1 " seen claimed " T1 " " T1 " Ann\n" FP1 " seen claimed " T1 " " T1 " ANN\n";
		GError *err = NULL;

		g_assert_cmpint(idl_known_parse(dup, strlen(dup), &k, &err), ==, -EINVAL);
		g_clear_error(&err);
	}
}

/* The poisoning of 0.1.0: a sender's claim became a pin. Now a claim pins
 * nothing, neither for send nor for the next sender; a verified name, or
 * one the user trusted by name, does. */
static void test_claims_do_not_pin(void)
{
	struct idl_known *k = idl_known_new();

	/* A hostile sender claimed "living room" and the user took its file. */
	g_assert_cmpint(idl_known_record(k, "living room", FP2, IDL_KNOWN_CLAIMED, 10), ==, 1);
	g_assert_null(idl_known_pin_conflict(k, "living room", FP1));
	/* The real device: send verifies and pins it, the claim is no obstacle. */
	g_assert_cmpint(idl_known_record(k, "Living Room", FP1, IDL_KNOWN_VERIFIED, 20), ==, 1);
	g_assert_cmpint(idl_known_record(k, "living room", FP1, IDL_KNOWN_CLAIMED, 30), ==, 1);
	g_assert_cmpuint(idl_known_count(k), ==, 3);
	/* Now the name is pinned to FP1, and the claimant's key conflicts. */
	g_assert_null(idl_known_pin_conflict(k, "living room", FP1));
	g_assert_cmpstr(idl_known_pin_conflict(k, "LIVING ROOM", FP2)->fingerprint, ==, FP1);
	g_assert_cmpint(idl_known_record(k, "living room", FP2, IDL_KNOWN_VERIFIED, 40), ==, -EEXIST);
	/* ...but it may go on claiming the name: a claim never fails. */
	g_assert_cmpint(idl_known_record(k, "living room", FP2, IDL_KNOWN_CLAIMED, 50), ==, 0);
	g_assert_cmpstr(idl_known_name_taken(k, "living room", FP1)->fingerprint, ==, FP2);
	g_assert_cmpstr(idl_known_find(k, "living room", FP2)->fingerprint, ==, FP2);
	g_assert_cmpint(idl_known_find(k, "living room", FP1)->source, ==, IDL_KNOWN_VERIFIED);
	/* Trusting the key does not make its claims pins (review of issue 11:
	 * a trusted key could take any name); trusting it BY the name does:
	 * the user vouched for that key under that name. */
	g_assert_cmpint(idl_known_record(k, "nas", FP2, IDL_KNOWN_CLAIMED, 60), ==, 1);
	g_assert_null(idl_known_pin_conflict(k, "nas", FP1));
	g_assert_cmpint(idl_known_trust(k, FP2), ==, 2);
	g_assert_true(idl_known_trusted(k, FP2));
	g_assert_null(idl_known_pin_conflict(k, "nas", FP1));
	g_assert_cmpint(idl_known_trust(k, "NAS"), ==, 2);
	g_assert_cmpint(idl_known_find_name(k, "nas")->source, ==, IDL_KNOWN_VERIFIED);
	g_assert_cmpstr(idl_known_pin_conflict(k, "nas", FP1)->fingerprint, ==, FP2);
	/* Trust by a name two keys claimed: which one? */
	g_assert_cmpint(idl_known_trust(k, "living room"), ==, -ENOTUNIQ);
	g_assert_cmpint(idl_known_forget(k, "living room"), ==, 3);
	idl_known_free(k);
}

/* Names are one name by their key (NFKC, hidden characters removed, case
 * folded); names that only look alike are found as look-alikes. */
static void test_name_keys(void)
{
	struct idl_known *k = parse_ok(FP1 " seen verified " T1 " " T1 " living room\n");

	/* Zero-width space, full-width letters, case: the same name, so the pin holds. */
	g_assert_nonnull(idl_known_pin_conflict(k, "living\xe2\x80\x8b room", FP2));
	g_assert_nonnull(idl_known_pin_conflict(k, "\xef\xbc\xac\xef\xbd\x89ving room", FP2));   /* "Ｌｉving" */
	g_assert_nonnull(idl_known_pin_conflict(k, "LIVING ROOM", FP2));
	g_assert_true(idl_known_peer_matches(idl_known_get(k, 0), "Living\xe2\x80\x8b Room"));
	g_assert_null(idl_known_lookalike(k, "LIVING ROOM"));
	/* Cyrillic o: another name that looks the same. */
	g_assert_null(idl_known_pin_conflict(k, "living r\xd0\xbe\xd0\xbem", FP2));
	g_assert_cmpstr(idl_known_lookalike(k, "living r\xd0\xbe\xd0\xbem")->name, ==, "living room");
	g_assert_cmpstr(idl_known_lookalike(k, "1iving r00m")->name, ==, "living room");
	g_assert_null(idl_known_lookalike(k, "kitchen"));
	/* A new name with a hidden character is not recorded. */
	g_assert_cmpint(idl_known_record(k, "kit\xe2\x80\x8b" "chen", FP2, IDL_KNOWN_CLAIMED, 1), ==, -EINVAL);
	idl_known_free(k);
}

/* The one pin decision send and serve both take: a pin refuses and says
 * nothing else; otherwise what the list knows of the name and the key. */
static void test_judge(void)
{
	struct idl_known *k = parse_ok(FP1 " seen verified " T1 " " T1 " living room\n"
				       FP2 " trusted claimed " T1 " " T1 " nas\n");
	struct idl_known_verdict v;

	idl_known_judge(k, "LIVING ROOM", FP2, &v);
	g_assert_cmpstr(v.pin->fingerprint, ==, FP1);
	g_assert_null(v.same);
	g_assert_null(v.by_key);
	g_assert_false(v.trusted);
	idl_known_judge(k, "living room", FP1, &v);
	g_assert_null(v.pin);
	g_assert_true(v.same == v.by_key && v.same != NULL);
	g_assert_null(v.taken);
	g_assert_null(v.lookalike);
	g_assert_false(v.trusted);
	/* A claimed name is taken by its key but pins nothing. */
	idl_known_judge(k, "nas", FP1, &v);
	g_assert_null(v.pin);
	g_assert_null(v.same);
	g_assert_cmpstr(v.by_key->name, ==, "living room");
	g_assert_cmpstr(v.taken->fingerprint, ==, FP2);
	/* The trusted key under a new name that draws like a known one. */
	idl_known_judge(k, "1iving r00m", FP2, &v);
	g_assert_null(v.pin);
	g_assert_true(v.trusted);
	g_assert_cmpstr(v.by_key->name, ==, "nas");
	g_assert_null(v.taken);
	g_assert_cmpstr(v.lookalike->name, ==, "living room");
	idl_known_free(k);
}

/* 0.1.0 stopped pinning once the list was full. Now claims make room, the
 * least recently seen first; pins and trusted entries are never dropped. */
static void test_bounded(void)
{
	struct idl_known *k = idl_known_new();
	char name[32], fp[IDL_FINGERPRINT_HEX_LEN + 1];

	for (int i = 0; i < IDL_KNOWN_CLAIMS_MAX; i++) {
		g_snprintf(name, sizeof(name), "claim %d", i);
		g_assert_cmpint(idl_known_record(k, name, FP2, IDL_KNOWN_CLAIMED, 1000 + i), ==, 1);
	}
	g_assert_cmpint(idl_known_record(k, "claim 0", FP2, IDL_KNOWN_CLAIMED, 5000), ==, 0);   /* seen again */
	g_assert_cmpint(idl_known_record(k, "one more", FP2, IDL_KNOWN_CLAIMED, 6000), ==, 1);
	g_assert_cmpuint(idl_known_count(k), ==, IDL_KNOWN_CLAIMS_MAX);
	g_assert_nonnull(idl_known_find_name(k, "claim 0"));
	g_assert_null(idl_known_find_name(k, "claim 1"));            /* the least recently seen */
	/* Pins fill the rest; each new pin still lands, pushing out claims. */
	for (int i = 0; idl_known_count(k) < IDL_KNOWN_PEERS_MAX; i++) {
		g_snprintf(name, sizeof(name), "device %d", i);
		g_assert_cmpint(idl_known_record(k, name, FP1, IDL_KNOWN_VERIFIED, 7000), ==, 1);
	}
	g_assert_cmpint(idl_known_record(k, "device new", FP1, IDL_KNOWN_VERIFIED, 8000), ==, 1);
	g_assert_cmpuint(idl_known_count(k), ==, IDL_KNOWN_PEERS_MAX);
	g_assert_nonnull(idl_known_pin_conflict(k, "device 0", FP2));   /* still pinned */
	/* Full of pins only: refused, not dropped. */
	while (idl_known_find_fingerprint(k, FP2))
		idl_known_forget(k, FP2);
	for (int i = 0; idl_known_count(k) < IDL_KNOWN_PEERS_MAX; i++) {
		g_snprintf(name, sizeof(name), "more %d", i);
		g_assert_cmpint(idl_known_record(k, name, FP1, IDL_KNOWN_VERIFIED, 9000), ==, 1);
	}
	memset(fp, 'a', IDL_FINGERPRINT_HEX_LEN);
	fp[IDL_FINGERPRINT_HEX_LEN] = 0;
	g_assert_cmpint(idl_known_record(k, "last", fp, IDL_KNOWN_CLAIMED, 9999), ==, -ENOSPC);
	g_assert_cmpint(idl_known_record(k, "last", fp, IDL_KNOWN_VERIFIED, 9999), ==, -ENOSPC);
	g_assert_nonnull(idl_known_pin_conflict(k, "device 0", fp));
	idl_known_free(k);
}

/* The fingerprint of the pin a name conflicts with, of the other key that
 * took it, or the source of an entry: safe on NULL, so that a failing
 * case reports instead of crashing the rest (assertions are nonfatal). */
static const char *pin_of(const struct idl_known *k, const char *name, const char *fp)
{
	const struct idl_known_peer *p = idl_known_pin_conflict(k, name, fp);

	return p ? p->fingerprint : "(no pin)";
}

static const char *taken_by(const struct idl_known *k, const char *name, const char *fp)
{
	const struct idl_known_peer *p = idl_known_name_taken(k, name, fp);

	return p ? p->fingerprint : "(not taken)";
}

static int source_of(const struct idl_known *k, const char *name, const char *fp)
{
	const struct idl_known_peer *p = idl_known_find(k, name, fp);

	return p ? (int)p->source : -1;
}

/* Review of issue 11: a key the user trusted (under the name it was
 * trusted by) claims another device's name in a hello, and serve
 * --accept=trusted records the claim, trusted since its key is. A trusted
 * entry used to pin its name whatever its source: the real "living room"
 * was then declined and `send "living room"` refused (exit 5). */
static void test_trusted_key_claim_pins_nothing(void)
{
	struct idl_known *k = idl_known_new();

	g_assert_cmpint(idl_known_record(k, "Colleague", FP1, IDL_KNOWN_VERIFIED, 100), ==, 1);
	g_assert_cmpint(idl_known_trust(k, FP1), ==, 1);
	g_assert_cmpint(idl_known_record(k, "living room", FP1, IDL_KNOWN_CLAIMED, 200), ==, 1);
	g_assert_true(idl_known_find(k, "living room", FP1) && idl_known_find(k, "living room", FP1)->trusted);
	g_assert_cmpint(source_of(k, "living room", FP1), ==, IDL_KNOWN_CLAIMED);
	g_assert_null(idl_known_pin_conflict(k, "living room", FP2));
	/* The real device is then pinned by send, past the claim. */
	g_assert_cmpint(idl_known_record(k, "living room", FP2, IDL_KNOWN_VERIFIED, 300), ==, 1);
	g_assert_cmpstr(pin_of(k, "living room", FP1), ==, FP2);
	idl_known_free(k);
}

/* `trust NAME` of one name a key claimed used to mark every entry of that
 * key trusted, and so turned every other name it ever claimed into a pin.
 * Now exactly the named entry becomes verified (a pin); the others stay
 * claims, even though the key is trusted. */
static void test_trust_by_name_pins_that_name(void)
{
	struct idl_known *k = idl_known_new();

	g_assert_cmpint(idl_known_record(k, "Printer scans", FP1, IDL_KNOWN_CLAIMED, 100), ==, 1);
	g_assert_cmpint(idl_known_record(k, "living room", FP1, IDL_KNOWN_CLAIMED, 110), ==, 1);
	g_assert_cmpint(idl_known_trust(k, "printer  scans "), ==, 2);
	g_assert_true(idl_known_trusted(k, FP1));
	g_assert_null(idl_known_pin_conflict(k, "living room", FP2));
	g_assert_cmpint(source_of(k, "living room", FP1), ==, IDL_KNOWN_CLAIMED);
	g_assert_cmpint(source_of(k, "Printer scans", FP1), ==, IDL_KNOWN_VERIFIED);
	g_assert_cmpstr(pin_of(k, "Printer scans", FP2), ==, FP1);
	/* Later claims of the trusted key stay claims too. */
	g_assert_cmpint(idl_known_record(k, "kitchen", FP1, IDL_KNOWN_CLAIMED, 120), ==, 1);
	g_assert_null(idl_known_pin_conflict(k, "kitchen", FP2));
	/* Trusting by a name that has a verified entry already keeps one line. */
	g_assert_cmpint(idl_known_record(k, "Printer scans", FP1, IDL_KNOWN_CLAIMED, 130), ==, 1);
	g_assert_cmpint(idl_known_trust(k, "Printer scans"), ==, 4);
	{
		char *text = idl_known_format(k);
		struct idl_known *back = NULL;
		GError *err = NULL;

		g_assert_cmpint(idl_known_parse(text, strlen(text), &back, &err), ==, 0);
		g_assert_no_error(err);
		idl_known_free(back);
		g_free(text);
	}
	idl_known_free(k);
}

/* A trusted key's claims are bounded like anyone's: a trusted key that
 * claims thousands of names cannot fill the list with entries that are
 * never dropped. */
static void test_trusted_claims_bounded(void)
{
	struct idl_known *k = idl_known_new();
	char name[32];

	g_assert_cmpint(idl_known_record(k, "Colleague", FP1, IDL_KNOWN_VERIFIED, 1), ==, 1);
	g_assert_cmpint(idl_known_trust(k, "Colleague"), ==, 1);
	for (int i = 0; i < IDL_KNOWN_CLAIMS_MAX + 10; i++) {
		g_snprintf(name, sizeof(name), "claim %d", i);
		g_assert_cmpint(idl_known_record(k, name, FP1, IDL_KNOWN_CLAIMED, 1000 + i), ==, 1);
	}
	g_assert_cmpuint(idl_known_count(k), ==, IDL_KNOWN_CLAIMS_MAX + 1);
	g_assert_null(idl_known_find_name(k, "claim 0"));
	g_assert_nonnull(idl_known_find_name(k, "Colleague"));        /* trusted by name: kept */
	idl_known_free(k);
}

/* "living room " and "living room" are one name (a table shows them
 * alike): the pin holds for both, and they are one entry. */
static void test_name_spaces(void)
{
	struct idl_known *k = idl_known_new();

	g_assert_cmpint(idl_known_record(k, "living room", FP1, IDL_KNOWN_VERIFIED, 1), ==, 1);
	g_assert_cmpstr(pin_of(k, "living room ", FP2), ==, FP1);
	g_assert_cmpstr(pin_of(k, " living  room", FP2), ==, FP1);
	g_assert_cmpint(idl_known_record(k, "living  room ", FP2, IDL_KNOWN_VERIFIED, 2), ==, -EEXIST);
	g_assert_cmpint(idl_known_record(k, "living room ", FP1, IDL_KNOWN_VERIFIED, 3), ==, 0);
	g_assert_true(idl_known_peer_matches(idl_known_get(k, 0), " living room"));
	g_assert_cmpint(idl_known_record(k, "living room  ", FP2, IDL_KNOWN_CLAIMED, 4), ==, 1);
	g_assert_cmpstr(taken_by(k, "living room", FP1), ==, FP2);
	idl_known_free(k);
}

/* ---- the file ---- */

static char *make_dir(void)
{
	GError *err = NULL;
	char *dir = g_dir_make_tmp("idl-known-XXXXXX", &err);

	g_assert_no_error(err);
	return dir;
}

static void write_file(const char *dir, const char *text, mode_t mode)
{
	char *path = idl_known_path(dir);

	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	g_assert_cmpint(chmod(path, mode), ==, 0);
	g_free(path);
}

static void load_fails(const char *dir, int code, const char *needle)
{
	struct idl_known *k = NULL;
	GError *err = NULL;

	g_assert_cmpint(idl_known_load(dir, &k, &err), ==, code);
	g_assert_null(k);
	g_assert_nonnull(err);
	g_test_message("refused: %s", err->message);
	g_assert_nonnull(strstr(err->message, needle));
	g_error_free(err);
}

static void test_file_missing(void)
{
	char *dir = make_dir(), *missing = g_build_filename(dir, "not", "there", NULL);
	struct idl_known *k = NULL;
	GError *err = NULL;

	g_assert_cmpint(idl_known_load(missing, &k, &err), ==, 0);
	g_assert_no_error(err);
	g_assert_cmpuint(idl_known_count(k), ==, 0);
	idl_known_free(k);
	/* Recording creates the directory (0700) and the file (0600). */
	g_assert_cmpint(idl_known_remember(missing, "Alice", FP1, IDL_KNOWN_VERIFIED, &err), ==, 1);
	g_assert_no_error(err);
	{
		struct stat st;
		char *path = idl_known_path(missing);

		g_assert_cmpint(stat(missing, &st), ==, 0);
		g_assert_cmpint(st.st_mode & 07777, ==, 0700);
		g_assert_cmpint(stat(path, &st), ==, 0);
		g_assert_cmpint(st.st_mode & 07777, ==, 0600);
		g_free(path);
	}
	remove_all(dir);
	g_free(missing);
	g_free(dir);
}

static void test_file_save(void)
{
	char *dir = make_dir(), *path = idl_known_path(dir), *text = NULL;
	struct idl_known *k = NULL;
	GError *err = NULL;
	struct stat st;

	g_assert_cmpint(idl_known_remember(dir, "Alice", FP1, IDL_KNOWN_VERIFIED, &err), ==, 1);
	g_assert_cmpint(idl_known_remember(dir, "Alice", FP1, IDL_KNOWN_VERIFIED, &err), ==, 0);
	g_assert_cmpint(idl_known_remember(dir, "Bob", FP2, IDL_KNOWN_VERIFIED, &err), ==, 1);
	g_assert_no_error(err);
	g_assert_cmpint(idl_known_remember(dir, "alice", FP2, IDL_KNOWN_VERIFIED, &err), ==, -EEXIST);
	g_assert_nonnull(strstr(err->message, FP1));
	g_clear_error(&err);
	g_assert_cmpint(idl_known_remember(dir, "bad\tname", FP2, IDL_KNOWN_VERIFIED, &err), ==, -EINVAL);
	g_clear_error(&err);

	g_assert_cmpint(stat(path, &st), ==, 0);
	g_assert_cmpint(st.st_mode & 07777, ==, 0600);
	/* Only the file and its lock file: no temporary file left behind. */
	g_assert_cmpuint(count_entries(dir), ==, 2);
	g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
	g_assert_nonnull(strstr(text, FP1 " seen "));
	g_assert_true(g_str_has_suffix(text, " Bob\n"));
	g_free(text);

	g_assert_cmpint(idl_known_load(dir, &k, &err), ==, 0);
	g_assert_cmpuint(idl_known_count(k), ==, 2);
	g_assert_cmpstr(idl_known_find_name(k, "Alice")->fingerprint, ==, FP1);
	idl_known_free(k);
	remove_all(dir);
	g_free(path);
	g_free(dir);
}

static int edit_fail(struct idl_known *k, void *user, GError **err)
{
	(void)user;
	g_assert_cmpint(idl_known_record(k, "Carol", FP2, IDL_KNOWN_VERIFIED, 1), ==, 1);
	g_set_error_literal(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "stop");
	return -ENOENT;
}

static int edit_nothing(struct idl_known *k, void *user, GError **err)
{
	(void)k;
	(void)user;
	(void)err;
	return 0;
}

static void test_update_no_save(void)
{
	char *dir = make_dir(), *path = idl_known_path(dir);
	struct idl_known *k = NULL;
	GError *err = NULL;

	/* Nothing to save: no file appears. */
	g_assert_cmpint(idl_known_update(dir, edit_nothing, NULL, &err), ==, 0);
	g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
	/* An edit that fails saves nothing of what it changed. */
	g_assert_cmpint(idl_known_remember(dir, "Alice", FP1, IDL_KNOWN_VERIFIED, &err), ==, 1);
	g_assert_cmpint(idl_known_update(dir, edit_fail, NULL, &err), ==, -ENOENT);
	g_assert_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
	g_clear_error(&err);
	g_assert_cmpint(idl_known_load(dir, &k, &err), ==, 0);
	g_assert_cmpuint(idl_known_count(k), ==, 1);
	idl_known_free(k);
	remove_all(dir);
	g_free(path);
	g_free(dir);
}

static void test_file_refused(void)
{
	char *dir = make_dir(), *path = idl_known_path(dir), *target = g_build_filename(dir, "elsewhere", NULL);
	const char *good = FP1 " seen " T1 " " T1 " Alice\n";
	GError *err = NULL;

	write_file(dir, good, 0664);
	load_fails(dir, -EACCES, "chmod 600");
	/* Nor may a refused file be replaced behind the user's back. */
	g_assert_cmpint(idl_known_remember(dir, "Bob", FP2, IDL_KNOWN_VERIFIED, &err), ==, -EACCES);
	g_clear_error(&err);
	write_file(dir, good, 0602);
	load_fails(dir, -EACCES, "other users");
	write_file(dir, good, 0644);   /* readable by others is fine */
	{
		struct idl_known *k = NULL;

		g_assert_cmpint(idl_known_load(dir, &k, &err), ==, 0);
		idl_known_free(k);
	}
	write_file(dir, FP1 " seen " T1 " " T1 " Alice\nbroken\n", 0600);
	load_fails(dir, -EINVAL, "line 2");
	g_assert_cmpint(idl_known_remember(dir, "Bob", FP2, IDL_KNOWN_VERIFIED, &err), ==, -EINVAL);
	g_clear_error(&err);

	g_assert_cmpint(unlink(path), ==, 0);
	g_assert_true(g_file_set_contents(target, good, -1, NULL));
	g_assert_cmpint(chmod(target, 0600), ==, 0);
	g_assert_cmpint(symlink(target, path), ==, 0);
	load_fails(dir, -ELOOP, "symbolic link");
	g_assert_cmpint(unlink(path), ==, 0);
	g_assert_cmpint(mkdir(path, 0700), ==, 0);
	load_fails(dir, -EINVAL, "not a regular file");
	g_assert_cmpint(rmdir(path), ==, 0);

	if (geteuid() == 0) {
		write_file(dir, good, 0600);
		g_assert_cmpint(chown(path, 65534, 65534), ==, 0);
		load_fails(dir, -EPERM, "owned by uid 65534");
	} else {
		g_test_message("not root: the foreign-owner case is not tried");
	}
	remove_all(dir);
	g_free(target);
	g_free(path);
	g_free(dir);
}

/* Several processes record at once, as a serve and a few sends would: the
 * lock around load-modify-save keeps every entry. */
static void test_concurrent(void)
{
	enum { WRITERS = 6, EACH = 15 };
	char *dir = make_dir();
	struct idl_known *k = NULL;
	GError *err = NULL;
	pid_t pids[WRITERS];

	for (int w = 0; w < WRITERS; w++) {
		pids[w] = fork();
		g_assert_cmpint(pids[w], >=, 0);
		if (pids[w] == 0) {
			int bad = 0;

			for (int i = 0; i < EACH; i++) {
				char name[32];

				g_snprintf(name, sizeof(name), "w%d-%d", w, i);
				if (idl_known_remember(dir, name, (w & 1) ? FP1 : FP2, IDL_KNOWN_VERIFIED, NULL) != 1)
					bad++;
			}
			_exit(bad ? 1 : 0);
		}
	}
	for (int w = 0; w < WRITERS; w++) {
		int st = 0;

		g_assert_cmpint(waitpid(pids[w], &st, 0), ==, pids[w]);
		g_assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	g_assert_cmpint(idl_known_load(dir, &k, &err), ==, 0);
	g_assert_cmpuint(idl_known_count(k), ==, WRITERS * EACH);
	idl_known_free(k);
	g_assert_cmpuint(count_entries(dir), ==, 2);
	remove_all(dir);
	g_free(dir);
}

static void test_lock_timeout(void)
{
	char *dir = make_dir(), *lock = g_build_filename(dir, IDL_KNOWN_FILE ".lock", NULL);
	GError *err = NULL;
	int ready[2], go[2], fd;
	pid_t pid;
	char c;

	/* A child holds the lock (flock locks belong to the open file, so it
	 * must be another open, here in another process) until told to go. */
	g_assert_cmpint(pipe(ready), ==, 0);
	g_assert_cmpint(pipe(go), ==, 0);
	pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		fd = open(lock, O_RDWR | O_CREAT, 0600);
		if (fd < 0 || flock(fd, LOCK_EX) < 0 || write(ready[1], "x", 1) != 1)
			_exit(1);
		_exit(read(go[0], &c, 1) == 1 ? 0 : 1);
	}
	g_assert_cmpint(read(ready[0], &c, 1), ==, 1);
	g_assert_cmpint(idl_known_remember(dir, "Alice", FP1, IDL_KNOWN_VERIFIED, &err), ==, -ETIMEDOUT);
	g_assert_nonnull(strstr(err->message, "another idrop-lan"));
	g_clear_error(&err);
	g_assert_cmpint(write(go[1], "x", 1), ==, 1);
	g_assert_cmpint(waitpid(pid, NULL, 0), ==, pid);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
	g_assert_cmpint(idl_known_remember(dir, "Alice", FP1, IDL_KNOWN_VERIFIED, &err), ==, 1);
	g_assert_no_error(err);
	remove_all(dir);
	g_free(lock);
	g_free(dir);
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_set_nonfatal_assertions();   /* every case reports, not just the first */
	g_test_add_func("/known/name-valid", test_name_valid);
	g_test_add_func("/known/parse", test_parse);
	g_test_add_func("/known/parse-hostile", test_parse_hostile);
	g_test_add_func("/known/too-many", test_too_many);
	g_test_add_func("/known/round-trip", test_round_trip);
	g_test_add_func("/known/record", test_record);
	g_test_add_func("/known/trust-forget", test_trust_forget);
	g_test_add_func("/known/legacy", test_legacy);
	g_test_add_func("/known/claims-do-not-pin", test_claims_do_not_pin);
	g_test_add_func("/known/name-keys", test_name_keys);
	g_test_add_func("/known/judge", test_judge);
	g_test_add_func("/known/bounded", test_bounded);
	g_test_add_func("/known/trusted-key-claim-pins-nothing", test_trusted_key_claim_pins_nothing);
	g_test_add_func("/known/trust-by-name-pins-that-name", test_trust_by_name_pins_that_name);
	g_test_add_func("/known/trusted-claims-bounded", test_trusted_claims_bounded);
	g_test_add_func("/known/name-spaces", test_name_spaces);
	g_test_add_func("/known/file-missing", test_file_missing);
	g_test_add_func("/known/file-save", test_file_save);
	g_test_add_func("/known/update-no-save", test_update_no_save);
	g_test_add_func("/known/file-refused", test_file_refused);
	g_test_add_func("/known/concurrent", test_concurrent);
	g_test_add_func("/known/lock-timeout", test_lock_timeout);
	return g_test_run();
}
