/* Unit tests for transfer/protocol: round trips of every message type and
 * tables of hostile messages a peer could send (the path rules alone:
 * test_path.c). */
#include <errno.h>
#include <string.h>
#include <gio/gio.h>

#include "transfer/path.h"
#include "transfer/protocol.h"

#define TID "0123456789abcdef0123456789abcdef"
#define SHA "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define OFFER(files) "{\"type\":\"offer\",\"transfer\":\"" TID "\",\"files\":[" files "]}"
#define FPATH(path) "{\"id\":0,\"path\":\"" path "\",\"size\":1,\"mtime\":2}"
#define FSIZE(size) "{\"id\":0,\"path\":\"a\",\"size\":" size ",\"mtime\":2}"
#define RUN(files) "{\"type\":\"run\",\"files\":[" files "]}"
#define RF(id, size) "{\"id\":" id ",\"size\":" size ",\"sha256\":\"" SHA "\"}"
#define RF64K(id) RF(id, "65536") ","
#define OKS(ids) "{\"type\":\"files-ok\",\"ids\":[" ids "]}"

/* Decodes text (copied to a buffer of exactly len bytes, so ASan sees any
 * over-read) and returns the result; *msg gets the error message or NULL. */
static int decode(const char *text, size_t len, struct idl_msg *m, char **msg)
{
	char *copy = g_memdup2(text, len);
	GError *err = NULL;
	int r = idl_msg_decode(copy, len, m, &err);

	g_free(copy);
	g_assert_true((r == 0) == (err == NULL));
	if (msg)
		*msg = err ? g_strdup(err->message) : NULL;
	if (err) {
		g_assert_true(err->domain == G_IO_ERROR);
		g_assert_cmpint(err->code, ==, r == -EPROTONOSUPPORT ? G_IO_ERROR_NOT_SUPPORTED : G_IO_ERROR_INVALID_DATA);
		g_error_free(err);
	}
	return r;
}

static void expect_refused(const char *why, const char *text, size_t len, int code, const char *needle)
{
	struct idl_msg m;
	char *msg = NULL;
	int r = decode(text, len, &m, &msg);

	if (r != code)
		g_error("%s: decode returned %d, expected %d (%s)", why, r, code, msg ? msg : "accepted");
	if (!strstr(msg, needle) || strlen(msg) < 12)
		g_error("%s: message \"%s\" does not say \"%s\"", why, msg, needle);
	if (g_test_verbose())
		g_printerr("# %-28s -> %s\n", why, msg);
	g_free(msg);
}

static void expect_accepted(const char *why, const char *text, size_t len, struct idl_msg *m)
{
	char *msg = NULL;

	if (decode(text, len, m, &msg) != 0)
		g_error("%s: refused: %s", why, msg);
}

/* Encodes m, checks the text decodes to an equal message, returns the text. */
static char *round_trip(const struct idl_msg *m)
{
	struct idl_msg back;
	GError *err = NULL;
	size_t len = 0;
	char *text = idl_msg_encode(m, &len, &err);

	g_assert_no_error(err);
	g_assert_nonnull(text);
	g_assert_cmpuint(len, ==, strlen(text));
	g_assert_cmpint(idl_msg_decode(text, len, &back, &err), ==, 0);
	g_assert_no_error(err);
	if (!idl_msg_equal(m, &back))
		g_error("%s does not decode to what was encoded", text);
	idl_msg_clear(&back);
	return text;
}

static void test_round_trip_all(void)
{
	struct idl_msg_file offer_files[] = {
		{ .id = 0, .path = (char *)"Photos 2024/été/Zoë's café ☕.jpg", .size = 123456, .mtime = 1700000000 },
		{ .id = 1, .path = (char *)"日本語/ファイル.txt", .size = 0, .mtime = 0 },
		{ .id = 2, .path = (char *)"big.iso", .size = IDL_MSG_INT_MAX, .mtime = IDL_MSG_INT_MAX },
	};
	struct idl_msg_file accept_files[] = { { .id = 2, .offset = 4096 }, { .id = 0, .offset = 0 } };
	struct idl_msg_file receipt_files[] = {
		{ .id = 0, .status = IDL_FILE_VERIFIED }, { .id = 1, .status = IDL_FILE_FAILED },
		{ .id = 2, .status = IDL_FILE_SKIPPED },
	};
	struct idl_msg_file run_files[] = {
		{ .id = 3, .size = 0 }, { .id = 4, .size = IDL_RUN_FILE_MAX }, { .id = 9999, .size = 1 },
	};
	struct idl_msg_file ok_files[] = { { .id = 0 }, { .id = 7 }, { .id = 9999 } };
	struct idl_msg msgs[] = {
		{ .type = IDL_MSG_HELLO, .version = 1, .name = "Zoë's laptop", .kind = IDL_PEER_DEVICE },
		{ .type = IDL_MSG_RUN, .files = run_files, .n_files = 3 },
		{ .type = IDL_MSG_FILES_OK, .files = ok_files, .n_files = 3 },
		{ .type = IDL_MSG_HELLO, .version = 7, .name = "Firefox", .kind = IDL_PEER_BROWSER },
		{ .type = IDL_MSG_OFFER, .transfer = TID, .files = offer_files, .n_files = 3 },
		{ .type = IDL_MSG_OFFER, .transfer = TID, .files = offer_files, .n_files = 3, .more = true },
		{ .type = IDL_MSG_ACCEPT, .transfer = TID, .files = accept_files, .n_files = 2 },
		{ .type = IDL_MSG_ACCEPT, .transfer = TID },
		{ .type = IDL_MSG_ACCEPT, .transfer = TID, .files = accept_files, .n_files = 2, .more = true },
		{ .type = IDL_MSG_RECEIPT, .transfer = TID, .files = receipt_files, .n_files = 3, .more = true },
		{ .type = IDL_MSG_DECLINE, .transfer = TID, .reason = (char *)"Not now, \"busy\" \\ sorry" },
		{ .type = IDL_MSG_FILE, .id = 2, .offset = 4096 },
		{ .type = IDL_MSG_FILE_END, .id = 9999 },
		{ .type = IDL_MSG_FILE_OK, .id = 0 },
		{ .type = IDL_MSG_FILE_ERROR, .id = 1, .reason = (char *)"hash mismatch" },
		{ .type = IDL_MSG_DONE },
		{ .type = IDL_MSG_RECEIPT, .transfer = TID, .files = receipt_files, .n_files = 3 },
		{ .type = IDL_MSG_CANCEL, .reason = (char *)"unsupported" },
		{ .type = IDL_MSG_CANCEL, .reason = (char *)"" },
		{ .type = IDL_MSG_SAS, .has_sas_nonce = true, .sas_nonce = { 1, 2, 3 } },
	};
	gboolean seen[IDL_MSG_FILES_OK + 1] = { FALSE };

	for (size_t i = 0; i < IDL_SHA256_SIZE; i++) {
		msgs[10].sha256[i] = (uint8_t)(i * 37);
		run_files[1].sha256[i] = (uint8_t)(i * 11);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(msgs); i++) {
		g_free(round_trip(&msgs[i]));
		seen[msgs[i].type] = TRUE;
	}
	for (size_t t = 0; t < G_N_ELEMENTS(seen); t++)
		g_assert_true(seen[t]);
}

static void test_wire_form(void)
{
	/* What a browser or third party reads and writes: check it literally. */
	struct idl_msg m = { .type = IDL_MSG_HELLO, .version = 1, .name = "Ann", .kind = IDL_PEER_BROWSER };
	struct idl_msg_file f = { .id = 0, .path = (char *)"a b/c", .size = 5, .mtime = 6 };
	struct idl_msg o = { .type = IDL_MSG_OFFER, .transfer = "0123456789ABCDEF0123456789ABCDEF", .files = &f, .n_files = 1 };
	struct idl_msg d;
	char *text = round_trip(&m);

	g_assert_cmpstr(text, ==, "{\"type\":\"hello\",\"version\":1,\"name\":\"Ann\",\"kind\":\"browser\"}");
	g_free(text);
	text = round_trip(&o);   /* upper-case transfer ids go out lower-case */
	g_assert_cmpstr(text, ==, "{\"type\":\"offer\",\"transfer\":\"" TID "\",\"files\":"
			"[{\"id\":0,\"path\":\"a b/c\",\"size\":5,\"mtime\":6}]}");
	g_free(text);
	o.more = true;           /* version 2: a part, more files follow */
	f.id = 7;
	text = round_trip(&o);
	g_assert_cmpstr(text, ==, "{\"type\":\"offer\",\"transfer\":\"" TID "\",\"files\":"
			"[{\"id\":7,\"path\":\"a b/c\",\"size\":5,\"mtime\":6}],\"more\":true}");
	g_free(text);
	{
		/* version 2: an accept or a receipt in parts (issue 14) */
		struct idl_msg_file af = { .id = 1600, .offset = 9 }, rf = { .id = 1600, .status = IDL_FILE_VERIFIED };
		struct idl_msg a = { .type = IDL_MSG_ACCEPT, .transfer = TID, .files = &af, .n_files = 1, .more = true };
		struct idl_msg r = { .type = IDL_MSG_RECEIPT, .transfer = TID, .files = &rf, .n_files = 1, .more = true };

		text = round_trip(&a);
		g_assert_cmpstr(text, ==, "{\"type\":\"accept\",\"transfer\":\"" TID "\",\"files\":"
				"[{\"id\":1600,\"offset\":9}],\"more\":true}");
		g_free(text);
		text = round_trip(&r);
		g_assert_cmpstr(text, ==, "{\"type\":\"receipt\",\"transfer\":\"" TID "\",\"files\":"
				"[{\"id\":1600,\"status\":\"verified\"}],\"more\":true}");
		g_free(text);
		a.more = r.more = false;   /* the last part, or a whole answer: no member */
		text = round_trip(&a);
		g_assert_null(strstr(text, "more"));
		g_free(text);
		text = round_trip(&r);
		g_assert_null(strstr(text, "more"));
		g_free(text);
	}
	{
		static const char fe[] = "{\"type\":\"file-end\",\"id\":3,\"sha256\":\"" SHA "\"}";
		expect_accepted("file-end", fe, sizeof(fe) - 1, &d);
	}
	g_assert_cmpuint(d.sha256[1], ==, 0x11);
	g_assert_cmpuint(d.sha256[31], ==, 0xff);
	idl_msg_clear(&d);
	{
		static const char run[] = RUN(RF("2", "5") "," RF("3", "0"));
		static const char oks[] = OKS("0,1,5");
		struct idl_msg_file ids[] = { { .id = 0 }, { .id = 1 }, { .id = 5 } };
		struct idl_msg m2 = { .type = IDL_MSG_FILES_OK, .files = ids, .n_files = 3 };

		expect_accepted("run", run, sizeof(run) - 1, &d);
		g_assert_cmpuint(d.n_files, ==, 2);
		g_assert_cmpuint(d.files[0].id, ==, 2);
		g_assert_cmpuint(d.files[0].size, ==, 5);
		g_assert_cmpuint(d.files[1].sha256[31], ==, 0xff);
		text = round_trip(&d);
		g_assert_cmpstr(text, ==, run);
		g_free(text);
		idl_msg_clear(&d);
		text = round_trip(&m2);
		g_assert_cmpstr(text, ==, oks);
		g_free(text);
	}
}

static void test_accepted(void)
{
	static const struct {
		const char *why, *text;
	} cases[] = {
		{ "multi-byte path with spaces", OFFER(FPATH("Photos 2024/été/Zoë's café ☕.jpg")) },
		{ "escaped UTF-8 path", OFFER(FPATH("\\u00e9t\\u00e9/\\ud83d\\ude00 x.txt")) },
		{ "dots inside names", OFFER(FPATH("...a/.b/c..")) },
		{ "largest size", OFFER(FSIZE("9007199254740991")) },
		{ "minus zero", OFFER(FSIZE("-0")) },
		{ "unknown members ignored", "{\"x\":{\"a\":[1,{\"b\":null},true,1.5e9]},\"type\":\"done\",\"y\":\"z\"}" },
		{ "whitespace", " \r\n\t{ \"type\" : \"done\" }\n" },
		{ "escaped slash and quote in reason", "{\"type\":\"cancel\",\"reason\":\"a\\/b \\\"c\\\"\"}" },
		{ "future hello version", "{\"type\":\"hello\",\"version\":2,\"name\":\"N\",\"kind\":\"device\"}" },
		{ "hello with a commitment", "{\"type\":\"hello\",\"version\":1,\"name\":\"N\",\"kind\":\"device\",\"sas_commit\":\"00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"}" },
		{ "hello with a nonce", "{\"type\":\"hello\",\"version\":1,\"name\":\"N\",\"kind\":\"browser\",\"sas_nonce\":\"00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"}" },
		{ "sas", "{\"type\":\"sas\",\"nonce\":\"00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\"}" },
		{ "upper-case transfer id", "{\"type\":\"decline\",\"transfer\":\"0123456789ABCDEF0123456789ABCDEF\",\"reason\":\"\"}" },
		{ "empty accept", "{\"type\":\"accept\",\"transfer\":\"" TID "\",\"files\":[]}" },
		{ "accept out of order", "{\"type\":\"accept\",\"transfer\":\"" TID "\",\"files\":[{\"id\":5,\"offset\":1},{\"id\":2,\"offset\":0}]}" },
		{ "run of one empty file", RUN(RF("9999", "0")) },
		{ "run with gaps in its ids", RUN(RF("1", "1") "," RF("7", "1")) },
		{ "run of 64 KiB files, 1 MiB exactly", RUN(RF64K("0") RF64K("1") RF64K("2") RF64K("3") RF64K("4") RF64K("5")
			RF64K("6") RF64K("7") RF64K("8") RF64K("9") RF64K("10") RF64K("11") RF64K("12") RF64K("13")
			RF64K("14") RF("15", "65536")) },
		{ "files-ok of one", OKS("9999") },
		{ "offer part going on from file 5", "{\"type\":\"offer\",\"transfer\":\"" TID "\",\"more\":true,\"files\":["
			"{\"id\":5,\"path\":\"a\",\"size\":1,\"mtime\":2},{\"id\":6,\"path\":\"b\",\"size\":1,\"mtime\":2}]}" },
		{ "offer more false", "{\"type\":\"offer\",\"transfer\":\"" TID "\",\"more\":false,\"files\":[" FPATH("a") "]}" },
		{ "accept part", "{\"type\":\"accept\",\"transfer\":\"" TID "\",\"more\":true,\"files\":[{\"id\":1600,\"offset\":0}]}" },
		{ "receipt part", "{\"type\":\"receipt\",\"transfer\":\"" TID "\",\"more\":true,\"files\":[{\"id\":1600,\"status\":\"failed\"}]}" },
	};
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct idl_msg m;
		char *text;

		expect_accepted(cases[i].why, cases[i].text, strlen(cases[i].text), &m);
		text = round_trip(&m);
		g_free(text);
		idl_msg_clear(&m);
	}
}

struct hostile {
	const char *why, *text;
	int code;
	const char *needle;   /* the message must say this */
};

static const struct hostile hostile[] = {
	/* Paths */
	{ "dot-dot", OFFER(FPATH("../x")), -EINVAL, "\"..\"" },
	{ "dot-dot inside", OFFER(FPATH("a/../../x")), -EINVAL, "\"..\"" },
	{ "absolute", OFFER(FPATH("/etc/passwd")), -EINVAL, "absolute" },
	{ "double slash", OFFER(FPATH("a//b")), -EINVAL, "empty" },
	{ "trailing slash", OFFER(FPATH("a/")), -EINVAL, "empty" },
	{ "dot component", OFFER(FPATH("a/./b")), -EINVAL, "\".\"" },
	{ "lone dot", OFFER(FPATH(".")), -EINVAL, "\".\"" },
	{ "backslash", OFFER(FPATH("a\\\\b")), -EINVAL, "backslash" },
	{ "windows climb", OFFER(FPATH("..\\\\x")), -EINVAL, "backslash" },
	{ "escaped control char", OFFER(FPATH("a\\u0001b")), -EINVAL, "control" },
	{ "escaped newline", OFFER(FPATH("a\\nb")), -EINVAL, "control" },
	{ "escape sequence ESC", OFFER(FPATH("\\u001b[31mred")), -EINVAL, "control" },
	{ "DEL", OFFER(FPATH("a\x7f")), -EINVAL, "control" },
	{ "C1 control", OFFER(FPATH("a\\u0085b")), -EINVAL, "control" },
	{ "raw control char", OFFER(FPATH("a\x01")), -EINVAL, "raw control" },
	/* Issue 11: text that draws one name and is another. */
	{ "right-to-left override", OFFER(FPATH("a\\u202etxt.exe")), -EINVAL, "U+202E" },
	{ "raw right-to-left override", OFFER(FPATH("a\xe2\x80\xaetxt.exe")), -EINVAL, "hidden character" },
	{ "zero-width space", OFFER(FPATH("Holiday/1\\u200b.jpg")), -EINVAL, "U+200B" },
	{ "right-to-left isolate in a folder", OFFER(FPATH("a\\u2067b/c")), -EINVAL, "U+2067" },
	{ "BOM", OFFER(FPATH("\\ufeffa")), -EINVAL, "U+FEFF" },
	{ "33 levels", OFFER(FPATH("a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/a/x")), -EINVAL,
	  "more than 32 components" },
	{ "empty path", OFFER(FPATH("")), -EINVAL, "empty" },
	{ "NUL escape", OFFER(FPATH("a\\u0000b")), -EINVAL, "NUL" },
	{ "NUL escape upper", OFFER(FPATH("safe.txt\\u0000/../../x")), -EINVAL, "NUL" },
	{ "path not a string", OFFER("{\"id\":0,\"path\":[\"a\"],\"size\":1,\"mtime\":2}"), -EINVAL, "not an array" },
	{ "path missing", OFFER("{\"id\":0,\"size\":1,\"mtime\":2}"), -EINVAL, "\"path\"" },
	/* Numbers */
	{ "size 1e300", OFFER(FSIZE("1e300")), -EINVAL, "integer" },
	{ "size 2^53+1", OFFER(FSIZE("9007199254740993")), -EINVAL, "2^53-1" },
	{ "size 2^53", OFFER(FSIZE("9007199254740992")), -EINVAL, "2^53-1" },
	{ "size 2^64+1", OFFER(FSIZE("18446744073709551617")), -EINVAL, "digits" },
	{ "size 2^63", OFFER(FSIZE("9223372036854775808")), -EINVAL, "2^63" },
	{ "size -2^64", OFFER(FSIZE("-18446744073709551615")), -EINVAL, "digits" },
	{ "size negative", OFFER(FSIZE("-1")), -EINVAL, "negative" },
	{ "size 1.5", OFFER(FSIZE("1.5")), -EINVAL, "integer" },
	{ "size 1.0", OFFER(FSIZE("1.0")), -EINVAL, "integer" },
	{ "size string", OFFER(FSIZE("\"12\"")), -EINVAL, "not a string" },
	{ "size null", OFFER(FSIZE("null")), -EINVAL, "not null" },
	{ "size true", OFFER(FSIZE("true")), -EINVAL, "not a boolean" },
	{ "size object", OFFER(FSIZE("{}")), -EINVAL, "not an object" },
	{ "size hex", OFFER(FSIZE("0x10")), -EINVAL, "not JSON" },
	{ "size leading zero", OFFER(FSIZE("010")), -EINVAL, "not JSON" },
	{ "size plus", OFFER(FSIZE("+1")), -EINVAL, "not JSON" },
	{ "size NaN", OFFER(FSIZE("NaN")), -EINVAL, "not JSON" },
	{ "size Infinity", OFFER(FSIZE("Infinity")), -EINVAL, "not JSON" },
	{ "mtime missing", OFFER("{\"id\":0,\"path\":\"a\",\"size\":1}"), -EINVAL, "\"mtime\"" },
	{ "file offset 2^53", "{\"type\":\"file\",\"id\":0,\"offset\":9007199254740992}", -EINVAL, "2^53-1" },
	{ "accept offset negative", "{\"type\":\"accept\",\"transfer\":\"" TID "\",\"files\":[{\"id\":0,\"offset\":-5}]}", -EINVAL, "negative" },
	/* Ids */
	{ "offer duplicate id", OFFER(FPATH("a") "," FPATH("b")), -EINVAL, "index" },
	{ "offer id out of order", OFFER("{\"id\":1,\"path\":\"a\",\"size\":1,\"mtime\":2}," FPATH("b")), -EINVAL, "index" },
	{ "offer part ids with a gap", OFFER("{\"id\":5,\"path\":\"a\",\"size\":1,\"mtime\":2},"
		"{\"id\":7,\"path\":\"b\",\"size\":1,\"mtime\":2}"), -EINVAL, "index" },
	{ "offer more not a boolean", "{\"type\":\"offer\",\"transfer\":\"" TID "\",\"more\":1,\"files\":[" FPATH("a") "]}",
	  -EINVAL, "must be true or false" },
	{ "accept more not a boolean", "{\"type\":\"accept\",\"transfer\":\"" TID "\",\"more\":\"true\",\"files\":[]}",
	  -EINVAL, "must be true or false" },
	{ "receipt more not a boolean", "{\"type\":\"receipt\",\"transfer\":\"" TID "\",\"more\":null,\"files\":[]}",
	  -EINVAL, "must be true or false" },
	{ "offer id 10000", OFFER("{\"id\":10000,\"path\":\"a\",\"size\":1,\"mtime\":2}"), -EINVAL, "out of range" },
	{ "offer no files", OFFER(""), -EINVAL, "no files" },
	{ "offer files object", "{\"type\":\"offer\",\"transfer\":\"" TID "\",\"files\":{}}", -EINVAL, "must be an array" },
	{ "offer file not object", OFFER("\"a\""), -EINVAL, "must be an object" },
	{ "accept duplicate id", "{\"type\":\"accept\",\"transfer\":\"" TID "\",\"files\":[{\"id\":3,\"offset\":0},{\"id\":3,\"offset\":9}]}", -EINVAL, "twice" },
	{ "receipt duplicate id", "{\"type\":\"receipt\",\"transfer\":\"" TID "\",\"files\":[{\"id\":0,\"status\":\"verified\"},{\"id\":0,\"status\":\"failed\"}]}", -EINVAL, "twice" },
	{ "receipt bad status", "{\"type\":\"receipt\",\"transfer\":\"" TID "\",\"files\":[{\"id\":0,\"status\":\"ok\"}]}", -EINVAL, "verified, failed, skipped" },
	{ "file id 10000", "{\"type\":\"file-ok\",\"id\":10000}", -EINVAL, "out of range" },
	{ "file id 2^32", "{\"type\":\"file-ok\",\"id\":4294967296}", -EINVAL, "out of range" },
	{ "file id missing", "{\"type\":\"file\",\"offset\":0}", -EINVAL, "\"id\"" },
	/* Hex */
	{ "transfer short", "{\"type\":\"decline\",\"transfer\":\"0123\",\"reason\":\"\"}", -EINVAL, "32 hex" },
	{ "transfer long", "{\"type\":\"decline\",\"transfer\":\"" TID "0\",\"reason\":\"\"}", -EINVAL, "32 hex" },
	{ "transfer non-hex", "{\"type\":\"decline\",\"transfer\":\"g123456789abcdef0123456789abcdef\",\"reason\":\"\"}", -EINVAL, "32 hex" },
	{ "transfer number", "{\"type\":\"decline\",\"transfer\":12,\"reason\":\"\"}", -EINVAL, "must be a string" },
	{ "sha256 short", "{\"type\":\"file-end\",\"id\":0,\"sha256\":\"0011\"}", -EINVAL, "64 hex" },
	{ "sha256 non-hex", "{\"type\":\"file-end\",\"id\":0,\"sha256\":\"z0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}", -EINVAL, "64 hex" },
	{ "sas_commit short", "{\"type\":\"hello\",\"version\":1,\"name\":\"N\",\"kind\":\"device\",\"sas_commit\":\"0011\"}", -EINVAL, "64 hex" },
	{ "sas_nonce a number", "{\"type\":\"hello\",\"version\":1,\"name\":\"N\",\"kind\":\"device\",\"sas_nonce\":7}", -EINVAL, "must be a string" },
	{ "sas without nonce", "{\"type\":\"sas\"}", -EINVAL, "\"nonce\"" },
	{ "sas nonce non-hex", "{\"type\":\"sas\",\"nonce\":\"x0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}", -EINVAL, "64 hex" },
	/* Strings */
	{ "hello version 0", "{\"type\":\"hello\",\"version\":0,\"name\":\"N\",\"kind\":\"device\"}", -EINVAL, "version" },
	{ "hello empty name", "{\"type\":\"hello\",\"version\":1,\"name\":\"\",\"kind\":\"device\"}", -EINVAL, "empty" },
	{ "hello name 64 bytes", "{\"type\":\"hello\",\"version\":1,\"name\":\"0123456789012345678901234567890123456789012345678901234567890123\",\"kind\":\"device\"}", -EINVAL, "64 bytes" },
	{ "hello name newline", "{\"type\":\"hello\",\"version\":1,\"name\":\"a\\nb\",\"kind\":\"device\"}", -EINVAL, "control" },
	{ "hello bad kind", "{\"type\":\"hello\",\"version\":1,\"name\":\"N\",\"kind\":\"phone\"}", -EINVAL, "device, browser" },
	{ "hello no name", "{\"type\":\"hello\",\"version\":1,\"kind\":\"device\"}", -EINVAL, "\"name\"" },
	{ "reason with ESC", "{\"type\":\"cancel\",\"reason\":\"\\u001b]0;pwned\\u0007\"}", -EINVAL, "control" },
	{ "reason missing", "{\"type\":\"cancel\"}", -EINVAL, "\"reason\"" },
	{ "invalid UTF-8", "{\"type\":\"cancel\",\"reason\":\"\xff\xfe\"}", -EINVAL, "UTF-8" },
	{ "overlong UTF-8 slash", OFFER(FPATH("a\xc0\xaf..")), -EINVAL, "UTF-8" },
	{ "lone surrogate", "{\"type\":\"cancel\",\"reason\":\"\\ud800\"}", -EINVAL, "not JSON" },
	{ "bad escape", "{\"type\":\"cancel\",\"reason\":\"\\x41\"}", -EINVAL, "escape" },
	/* Structure */
	{ "empty text", "", -EINVAL, "empty" },
	{ "blank text", "  \n", -EINVAL, "empty" },
	{ "array", "[{\"type\":\"done\"}]", -EINVAL, "not a JSON object" },
	{ "string", "\"done\"", -EINVAL, "not a JSON object" },
	{ "number", "42", -EINVAL, "not a JSON object" },
	{ "words", "hello there", -EINVAL, "not JSON" },
	{ "open brace", "{", -EINVAL, "not JSON" },
	{ "unterminated", "{\"type\":\"done\"", -EINVAL, "not JSON" },
	{ "single quotes", "{'type':'done'}", -EINVAL, "not JSON" },
	{ "comment", "/**/{\"type\":\"done\"}", -EINVAL, "not JSON" },
	{ "trailing object", "{\"type\":\"done\"}{\"type\":\"cancel\",\"reason\":\"\"}", -EINVAL, "follows" },
	{ "trailing junk", "{\"type\":\"done\"} x", -EINVAL, "follows" },
	{ "trailing comma", "{\"type\":\"done\",}", -EINVAL, "not JSON" },
	{ "unbalanced", "{\"type\":\"done\"]}", -EINVAL, "unbalanced" },
	{ "bare word member", "{type:\"done\"}", -EINVAL, "not JSON" },
	{ "nested garbage", "{\"type\":\"done\",\"x\":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]}", -EINVAL, "deeper" },
	{ "no type", "{\"name\":\"x\"}", -EINVAL, "no \"type\"" },
	{ "type not string", "{\"type\":1}", -EINVAL, "must be a string" },
	{ "type null", "{\"type\":null}", -EINVAL, "must be a string" },
	{ "duplicate type", "{\"type\":\"done\",\"type\":\"cancel\",\"reason\":\"\"}", -EINVAL, "twice" },
	{ "duplicate member in file", OFFER("{\"id\":0,\"path\":\"a\",\"path\":\"../b\",\"size\":1,\"mtime\":2}"), -EINVAL, "twice" },
	/* Version 2: runs and files-ok */
	{ "run no files", RUN(""), -EINVAL, "no files" },
	{ "run files missing", "{\"type\":\"run\"}", -EINVAL, "\"files\"" },
	{ "run ids out of order", RUN(RF("2", "1") "," RF("1", "1")), -EINVAL, "increasing" },
	{ "run id repeated", RUN(RF("2", "1") "," RF("2", "1")), -EINVAL, "increasing" },
	{ "run id 10000", RUN(RF("10000", "1")), -EINVAL, "out of range" },
	{ "run file over 64 KiB", RUN(RF("0", "65537")), -EINVAL, "over the limit" },
	{ "run size 2^53-1", RUN(RF("0", "9007199254740991")), -EINVAL, "over the limit" },
	{ "run sizes summing past 2^64", RUN(RF("0", "9007199254740991") "," RF("1", "9007199254740991")), -EINVAL,
	  "over the limit" },
	{ "run size negative", RUN(RF("0", "-1")), -EINVAL, "negative" },
	{ "run over 1 MiB", RUN(RF64K("0") RF64K("1") RF64K("2") RF64K("3") RF64K("4") RF64K("5") RF64K("6")
		RF64K("7") RF64K("8") RF64K("9") RF64K("10") RF64K("11") RF64K("12") RF64K("13") RF64K("14")
		RF64K("15") RF("16", "1")), -EINVAL, "more than 1048576 bytes" },
	{ "run file without hash", RUN("{\"id\":0,\"size\":1}"), -EINVAL, "\"sha256\"" },
	{ "run file without size", RUN("{\"id\":0,\"sha256\":\"" SHA "\"}"), -EINVAL, "\"size\"" },
	{ "run hash short", RUN("{\"id\":0,\"size\":1,\"sha256\":\"00\"}"), -EINVAL, "64 hex" },
	{ "run file not object", RUN("3"), -EINVAL, "must be an object" },
	{ "files-ok empty", OKS(""), -EINVAL, "no files" },
	{ "files-ok ids out of order", OKS("3,2"), -EINVAL, "increasing" },
	{ "files-ok id repeated", OKS("3,3"), -EINVAL, "increasing" },
	{ "files-ok id 10000", OKS("10000"), -EINVAL, "out of range" },
	{ "files-ok id negative", OKS("-1"), -EINVAL, "out of range" },
	{ "files-ok id a string", OKS("\"1\""), -EINVAL, "must be an integer" },
	{ "files-ok id fraction", OKS("1.5"), -EINVAL, "must be an integer" },
	{ "files-ok ids an object", "{\"type\":\"files-ok\",\"ids\":{}}", -EINVAL, "must be an array" },
	{ "unknown type", "{\"type\":\"frobnicate\"}", -EPROTONOSUPPORT, "\"frobnicate\" is not one of protocol version 2" },
	{ "unknown type escaped", "{\"type\":\"x\\u001b[2J\"}", -EPROTONOSUPPORT, "\"x\\033[2J\"" },
	{ "type wrong case", "{\"type\":\"HELLO\",\"version\":1}", -EPROTONOSUPPORT, "unsupported" },
};

static void test_hostile(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(hostile); i++)
		expect_refused(hostile[i].why, hostile[i].text, strlen(hostile[i].text), hostile[i].code, hostile[i].needle);
}

/* The count bounds of version 2, at the limit and one past it, both ways:
 * decode refuses what encode would never write. */
static void test_run_bounds(void)
{
	struct { enum idl_msg_type type; size_t max; } cases[] = {
		{ IDL_MSG_RUN, IDL_RUN_FILES_MAX }, { IDL_MSG_FILES_OK, IDL_FILES_OK_MAX },
	};

	for (size_t c = 0; c < G_N_ELEMENTS(cases); c++) {
		for (size_t n = cases[c].max; n <= cases[c].max + 1; n++) {
			GString *t = g_string_new(cases[c].type == IDL_MSG_RUN ? "{\"type\":\"run\",\"files\":[" :
						  "{\"type\":\"files-ok\",\"ids\":[");
			struct idl_msg m = { .type = cases[c].type, .n_files = n };
			GError *err = NULL;
			char *text;

			m.files = g_new0(struct idl_msg_file, n);
			for (size_t i = 0; i < n; i++) {
				m.files[i].id = (uint32_t)i;
				m.files[i].size = cases[c].type == IDL_MSG_RUN;
				if (cases[c].type == IDL_MSG_RUN)
					g_string_append_printf(t, "%s{\"id\":%zu,\"size\":1,\"sha256\":\"" SHA "\"}", i ? "," : "", i);
				else
					g_string_append_printf(t, "%s%zu", i ? "," : "", i);
			}
			g_string_append(t, "]}");
			text = idl_msg_encode(&m, NULL, &err);
			if (n == cases[c].max) {
				g_assert_no_error(err);
				g_assert_cmpuint(strlen(text), <, IDL_MSG_MAX / 2);   /* far from the message limit */
				g_free(text);
				g_free(round_trip(&m));
				g_free(m.files);
				m.files = NULL;
				expect_accepted("at the bound", t->str, t->len, &m);
				idl_msg_clear(&m);
			} else {
				g_assert_null(text);
				g_clear_error(&err);
				expect_refused("past the bound", t->str, t->len, -EINVAL, "over the limit");
				g_free(m.files);
			}
			g_string_free(t, TRUE);
		}
	}
}

/* Messages too big to write as literals. */
static void test_hostile_sizes(void)
{
	GString *s = g_string_new(NULL);
	char comp[300], *text;
	struct idl_msg m;

	/* A 4096-byte path is fine, 4097 is not. */
	memset(comp, 'c', 255);
	comp[255] = 0;
	g_string_assign(s, "{\"type\":\"offer\",\"transfer\":\"" TID "\",\"files\":[{\"id\":0,\"size\":1,\"mtime\":2,\"path\":\"");
	for (int i = 0; i < 16; i++)
		g_string_append_printf(s, "%.254s/", comp);          /* 16 * 255 = 4080 */
	g_string_append(s, "xxxxxxxxxxxxxxxx\"}]}");             /* + 16 = 4096 */
	expect_accepted("4096-byte path", s->str, s->len, &m);
	g_assert_cmpuint(strlen(m.files[0].path), ==, 4096);
	idl_msg_clear(&m);
	g_string_insert_c(s, s->len - 5, 'y');
	expect_refused("4097-byte path", s->str, s->len, -EINVAL, "4097 bytes");

	/* A 256-byte component. */
	comp[255] = 'c';
	comp[256] = 0;
	text = g_strdup_printf(OFFER(FPATH("a/%s/b")), comp);
	expect_refused("256-byte component", text, strlen(text), -EINVAL, "component 2 is 256 bytes");
	g_free(text);

	/* A reason of 1024 bytes is fine, 1025 is not. */
	g_string_assign(s, "{\"type\":\"cancel\",\"reason\":\"");
	for (int i = 0; i < 1024; i++)
		g_string_append_c(s, 'r');
	g_string_append(s, "\"}");
	expect_accepted("1024-byte reason", s->str, s->len, &m);
	idl_msg_clear(&m);
	g_string_insert_c(s, 30, 'r');
	expect_refused("1025-byte reason", s->str, s->len, -EINVAL, "1025 bytes");

	/* 64 KiB exactly is fine; one byte more is refused before parsing. */
	g_string_assign(s, "{\"type\":\"done\"}");
	while (s->len < IDL_MSG_MAX)
		g_string_append_c(s, ' ');
	expect_accepted("64 KiB", s->str, s->len, &m);
	g_string_append_c(s, ' ');
	expect_refused("64 KiB + 1", s->str, s->len, -EINVAL, "65537 bytes");

	/* 10001 files cannot fit in 64 KiB: refused by size, never allocated. */
	g_string_assign(s, "{\"type\":\"accept\",\"transfer\":\"" TID "\",\"files\":[");
	for (int i = 0; i <= IDL_MSG_FILES_MAX; i++)
		g_string_append_printf(s, "%s{\"id\":%d,\"offset\":0}", i ? "," : "", i % 10);
	g_string_append(s, "]}");
	expect_refused("10001 files", s->str, s->len, -EINVAL, "over the limit");

	/* Deep nesting up to the size limit never recurses far. */
	g_string_assign(s, "{\"type\":\"done\",\"x\":");
	while (s->len < IDL_MSG_MAX - 2)
		g_string_append_c(s, '[');
	expect_refused("65000 brackets", s->str, s->len, -EINVAL, "deeper");
	g_string_free(s, TRUE);
}

/* A part of IDL_ANSWER_PART_FILES files fits one message, an accept at
 * its longest (ids of four digits, offsets of 2^53-1) and a receipt; and
 * 10,000 files take at most IDL_OFFER_PARTS_MAX parts. */
static void test_answer_part_bound(void)
{
	struct idl_msg_file *files = g_new0(struct idl_msg_file, IDL_ANSWER_PART_FILES);
	struct idl_msg m = { .type = IDL_MSG_ACCEPT, .transfer = TID, .files = files, .n_files = IDL_ANSWER_PART_FILES,
			     .more = true };
	size_t len = 0;
	char *text;

	for (size_t i = 0; i < IDL_ANSWER_PART_FILES; i++) {
		files[i].id = (uint32_t)(IDL_MSG_FILES_MAX - IDL_ANSWER_PART_FILES + i);
		files[i].offset = IDL_MSG_INT_MAX;
		files[i].status = IDL_FILE_SKIPPED;
	}
	text = idl_msg_encode(&m, &len, NULL);
	g_assert_nonnull(text);
	g_assert_cmpuint(len, <=, IDL_MSG_MAX);
	g_free(text);
	m.type = IDL_MSG_RECEIPT;
	text = idl_msg_encode(&m, &len, NULL);
	g_assert_nonnull(text);
	g_free(text);
	g_assert_cmpuint((IDL_MSG_FILES_MAX + IDL_ANSWER_PART_FILES - 1) / IDL_ANSWER_PART_FILES, <=, IDL_OFFER_PARTS_MAX);
	g_free(files);
}

static void test_encode_refuses(void)
{
	struct idl_msg_file *files = g_new0(struct idl_msg_file, IDL_MSG_FILES_MAX + 1);
	struct idl_msg m = { .type = IDL_MSG_OFFER, .transfer = TID, .files = files };
	struct idl_msg_file bad = { .id = 0, .path = (char *)"../etc" };
	GError *err = NULL;

	for (size_t i = 0; i <= IDL_MSG_FILES_MAX; i++) {
		files[i].id = (uint32_t)i;
		files[i].path = (char *)"f";
	}
	/* More files than the protocol allows. */
	m.n_files = IDL_MSG_FILES_MAX + 1;
	g_assert_null(idl_msg_encode(&m, NULL, &err));
	g_assert_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
	g_assert_nonnull(strstr(err->message, "over the limit of 10000"));
	g_clear_error(&err);
	/* Within the file limit but not within one 64 KiB message. */
	m.n_files = IDL_MSG_FILES_MAX;
	g_assert_null(idl_msg_encode(&m, NULL, &err));
	g_assert_error(err, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE);
	g_clear_error(&err);
	/* What fits is accepted. */
	m.n_files = 1000;
	g_free(round_trip(&m));
	/* Each rule of decode holds for encode. */
	m.files = &bad;
	m.n_files = 1;
	g_assert_null(idl_msg_encode(&m, NULL, &err));
	g_assert_nonnull(strstr(err->message, "\"..\""));
	g_clear_error(&err);
	m = (struct idl_msg){ .type = IDL_MSG_DECLINE, .transfer = "xyz" };
	g_assert_null(idl_msg_encode(&m, NULL, &err));
	g_clear_error(&err);
	m = (struct idl_msg){ .type = IDL_MSG_HELLO, .version = 1, .name = "a\tb", .kind = IDL_PEER_DEVICE };
	g_assert_null(idl_msg_encode(&m, NULL, &err));
	g_clear_error(&err);
	m = (struct idl_msg){ .type = IDL_MSG_HELLO, .version = 1, .name = "ok" };
	g_assert_null(idl_msg_encode(&m, NULL, &err));
	g_clear_error(&err);
	m = (struct idl_msg){ .type = IDL_MSG_CANCEL, .reason = (char *)"\xff" };
	g_assert_null(idl_msg_encode(&m, NULL, &err));
	g_clear_error(&err);
	m = (struct idl_msg){ .type = (enum idl_msg_type)42 };
	g_assert_null(idl_msg_encode(&m, NULL, &err));
	g_clear_error(&err);
	g_free(files);
}

/* Issue 11: an offer makes at most IDL_OFFER_FOLDERS_MAX folders. */
static void test_offer_folders(void)
{
	struct idl_msg_file *files = g_new0(struct idl_msg_file, 3);
	struct idl_msg m = { .type = IDL_MSG_OFFER, .transfer = TID, .files = files, .n_files = 3 };
	GString *s = g_string_new(NULL);
	GError *err = NULL;
	char *paths[3];
	struct idl_msg out;

	/* The attack of issue 11 within the depth rule: three empty files,
	 * each in 31 folders of its own... 93 folders is fine; 1,001 is not. */
	for (int i = 0; i < 3; i++) {
		g_string_truncate(s, 0);
		for (int d = 0; d < IDL_PATH_DEPTH_MAX - 1; d++)
			g_string_append_printf(s, "%c%d/", 'a' + i, d);
		g_string_append(s, "f");
		paths[i] = g_strdup(s->str);
		files[i] = (struct idl_msg_file){ .id = (uint32_t)i, .path = paths[i] };
	}
	g_free(round_trip(&m));
	for (int i = 0; i < 3; i++)
		g_free(paths[i]);
	g_free(files);

	/* 1,001 folders, one file in each, sent by a peer. */
	g_string_assign(s, "{\"type\":\"offer\",\"transfer\":\"" TID "\",\"files\":[");
	for (int i = 0; i <= IDL_OFFER_FOLDERS_MAX; i++)
		g_string_append_printf(s, "%s{\"id\":%d,\"path\":\"%x/f\",\"size\":0,\"mtime\":0}", i ? "," : "", i, i);
	g_string_append(s, "]}");
	g_assert_cmpint(idl_msg_decode(s->str, s->len, &out, &err), ==, -EINVAL);
	g_assert_nonnull(strstr(err->message, "1001 folders, over the limit of 1000"));
	g_clear_error(&err);
	/* One fewer is an offer like any other. */
	g_string_assign(s, "{\"type\":\"offer\",\"transfer\":\"" TID "\",\"files\":[");
	for (int i = 0; i < IDL_OFFER_FOLDERS_MAX; i++)
		g_string_append_printf(s, "%s{\"id\":%d,\"path\":\"%x/f\",\"size\":0,\"mtime\":0}", i ? "," : "", i, i);
	g_string_append(s, "]}");
	g_assert_cmpint(idl_msg_decode(s->str, s->len, &out, &err), ==, 0);
	idl_msg_clear(&out);
	g_string_free(s, TRUE);
}

/* What a sender adds up to fill an offer: never less than the encoder
 * writes, and exact for plain ASCII (so an offer is not needlessly small). */
static void test_offer_entry_max(void)
{
	static const char *paths[] = {
		"a", "tree/d000/e0000/f000000.bin", "quote\"d \"name\"", "ünïcödé ✓/file with spaces.txt",
		"日本語/写真.jpg", "emoji/\xf0\x9f\x98\x80.png", "x/y/z/w",
	};
	static const uint64_t nums[] = { 0, 9, 10, 4096, 1700000000, IDL_MSG_INT_MAX };
	struct idl_msg_file files[2] = { { .id = 0, .path = (char *)"first", .size = 1, .mtime = 1 } };
	struct idl_msg m = { .type = IDL_MSG_OFFER, .transfer = TID, .files = files };

	for (size_t p = 0; p < G_N_ELEMENTS(paths); p++) {
		for (size_t k = 0; k < G_N_ELEMENTS(nums); k++) {
			GError *err = NULL;
			size_t one, two;
			char *t;

			files[1] = (struct idl_msg_file){ .id = 1, .path = (char *)paths[p], .size = nums[k],
							  .mtime = nums[G_N_ELEMENTS(nums) - 1 - k] };
			m.n_files = 1;
			t = idl_msg_encode(&m, &one, &err);
			g_assert_no_error(err);
			g_free(t);
			m.n_files = 2;
			t = idl_msg_encode(&m, &two, &err);
			g_assert_no_error(err);
			g_free(t);
			g_assert_cmpuint(idl_msg_offer_entry_max(&files[1]), >=, two - one);
			if (!strpbrk(paths[p], "\"\\\x80\xc3\xe6\xf0"))
				g_assert_cmpuint(idl_msg_offer_entry_max(&files[1]), ==, two - one);
		}
	}
	/* Ids of two digits and more. */
	{
		struct idl_msg_file many[12];
		char names[12][8];
		size_t prev = 0, len;

		for (uint32_t i = 0; i < G_N_ELEMENTS(many); i++) {
			GError *err = NULL;
			char *t;

			g_snprintf(names[i], sizeof(names[i]), "n%u", i);
			many[i] = (struct idl_msg_file){ .id = i, .path = names[i], .size = i, .mtime = 100 * i };
			m.files = many;
			m.n_files = i + 1;
			t = idl_msg_encode(&m, &len, &err);
			g_assert_no_error(err);
			g_free(t);
			if (i > 0)
				g_assert_cmpuint(idl_msg_offer_entry_max(&many[i]), ==, len - prev);
			prev = len;
		}
	}
}

static void test_truncated_and_random(void)
{
	static const char offer[] = OFFER(FPATH("dir/a b.txt") ",{\"id\":1,\"path\":\"é\",\"size\":9007199254740991,\"mtime\":0}");
	size_t len = sizeof(offer) - 1;
	char junk[512];
	struct idl_msg m;

	expect_accepted("the whole offer", offer, len, &m);
	idl_msg_clear(&m);
	/* Every proper prefix is refused, never over-read. */
	for (size_t cut = 0; cut < len; cut++) {
		char *msg = NULL;
		if (decode(offer, cut, &m, &msg) != -EINVAL)
			g_error("prefix of %zu bytes accepted", cut);
		g_free(msg);
	}
	/* Random bytes and random mutations of a valid offer: always a
	 * definite answer, an error exactly when refused, no leak. */
	for (int round = 0; round < 5000; round++) {
		size_t n;
		int r;

		if (round % 2) {
			n = (size_t)g_random_int_range(0, sizeof(junk));
			for (size_t i = 0; i < n; i++)
				junk[i] = (char)g_random_int_range(0, 256);
		} else {
			n = len;
			memcpy(junk, offer, len);
			for (int k = g_random_int_range(1, 4); k > 0; k--)
				junk[g_random_int_range(0, (gint32)n)] = (char)g_random_int_range(0, 256);
		}
		r = decode(junk, n, &m, NULL);
		g_assert_true(r == 0 || r == -EINVAL || r == -EPROTONOSUPPORT);
		if (r == 0) {
			g_free(round_trip(&m));
			idl_msg_clear(&m);
		}
	}
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/protocol/round-trip", test_round_trip_all);
	g_test_add_func("/protocol/wire-form", test_wire_form);
	g_test_add_func("/protocol/accepted", test_accepted);
	g_test_add_func("/protocol/hostile", test_hostile);
	g_test_add_func("/protocol/hostile-sizes", test_hostile_sizes);
	g_test_add_func("/protocol/run-bounds", test_run_bounds);
	g_test_add_func("/protocol/encode-refuses", test_encode_refuses);
	g_test_add_func("/protocol/answer-part-bound", test_answer_part_bound);
	g_test_add_func("/protocol/offer-folders", test_offer_folders);
	g_test_add_func("/protocol/offer-entry-max", test_offer_entry_max);
	g_test_add_func("/protocol/truncated-and-random", test_truncated_and_random);
	return g_test_run();
}
