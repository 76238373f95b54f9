/* json_strict: strict JSON on top of json-glib (see json_strict.h). */
#include "base/json_strict.h"

#include <stdarg.h>
#include <string.h>
#include <gio/gio.h>

#include "base/error.h"

/* Every failure here is data that is not strict JSON. */


static int check_token(const char *s, size_t n, GError **err)
{
	size_t p = 0, int_end;
	gboolean integral = TRUE;
	guint64 v = 0;

	if ((n == 4 && !memcmp(s, "true", 4)) || (n == 5 && !memcmp(s, "false", 5)) || (n == 4 && !memcmp(s, "null", 4)))
		return 0;
	if (p < n && s[p] == '-')
		p++;
	if (p < n && s[p] == '0')
		p++;
	else if (p < n && s[p] >= '1' && s[p] <= '9')
		while (p < n && g_ascii_isdigit(s[p]))
			p++;
	else
		goto bad;
	int_end = p;
	if (p < n && s[p] == '.') {
		integral = FALSE;
		if (++p >= n || !g_ascii_isdigit(s[p]))
			goto bad;
		while (p < n && g_ascii_isdigit(s[p]))
			p++;
	}
	if (p < n && (s[p] == 'e' || s[p] == 'E')) {
		integral = FALSE;
		if (++p < n && (s[p] == '+' || s[p] == '-'))
			p++;
		if (p >= n || !g_ascii_isdigit(s[p]))
			goto bad;
		while (p < n && g_ascii_isdigit(s[p]))
			p++;
	}
	if (p != n)
		goto bad;
	/* json-glib wraps integers beyond 64 bits: refuse them here, where they
	 * are still text. No value of this protocol comes near 2^63. */
	for (size_t i = s[0] == '-'; integral && i < int_end; i++) {
		if (v > (guint64)G_MAXINT64 / 10)
			return idl_error_errno(err, -EINVAL, "a number has %zu digits: integers here are at most 2^53-1",
				    int_end - (s[0] == '-'));
		v = v * 10 + (guint64)(s[i] - '0');
	}
	if (v > (guint64)G_MAXINT64)
		return idl_error_errno(err, -EINVAL, "a number is above 2^63: integers here are at most 2^53-1");
	return 0;
bad:
	return idl_error_errno(err, -EINVAL, "not JSON: \"%.*s\" is neither a number nor true, false or null",
		    (int)MIN(n, 24), s);
}

static int lex_check(const char *s, size_t len, GError **err)
{
	char open[IDL_JSON_DEPTH_MAX];   /* the brackets still open */
	unsigned depth = 0;
	gboolean top_done = FALSE;
	size_t i = 0;
	int r;

	if (len == 0)
		return 0;   /* json-glib then finds no root: "empty" */
	if (memchr(s, 0, len))
		return idl_error_errno(err, -EINVAL, "not JSON: the text contains a NUL byte");
	if (!g_utf8_validate(s, (gssize)len, NULL))
		return idl_error_errno(err, -EINVAL, "not JSON: the text is not valid UTF-8");
	while (i < len) {
		unsigned char c = (unsigned char)s[i];

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			i++;
			continue;
		}
		if (top_done)
			return idl_error_errno(err, -EINVAL, "not JSON: data follows the end of the object at byte %zu", i);
		if (c == '"') {
			for (i++;; i++) {
				if (i >= len)
					return idl_error_errno(err, -EINVAL, "not JSON: a string is not terminated");
				c = (unsigned char)s[i];
				if (c == '"')
					break;
				if (c < 0x20)
					return idl_error_errno(err, -EINVAL, "not JSON: a string holds a raw control character (0x%02x)", c);
				if (c != '\\')
					continue;
				if (i + 1 >= len)
					return idl_error_errno(err, -EINVAL, "not JSON: a string is not terminated");
				if (s[i + 1] == 'u') {
					unsigned v = 0;
					if (len - i < 6)
						return idl_error_errno(err, -EINVAL, "not JSON: a \\u escape is cut short");
					for (size_t k = 2; k < 6; k++) {
						if (!g_ascii_isxdigit(s[i + k]))
							return idl_error_errno(err, -EINVAL, "not JSON: a \\u escape has a non-hex digit");
						v = v * 16 + (unsigned)g_ascii_xdigit_value(s[i + k]);
					}
					if (v == 0)
						return idl_error_errno(err, -EINVAL, "a string holds \\u0000 (NUL), which no member may contain");
					i += 5;
				} else if (s[i + 1] && strchr("\"\\/bfnrt", s[i + 1])) {
					i++;
				} else {
					return idl_error_errno(err, -EINVAL, "not JSON: a string has an unknown escape");
				}
			}
			i++;
			top_done = depth == 0;
		} else if (c == '{' || c == '[') {
			if (depth == IDL_JSON_DEPTH_MAX)
				return idl_error_errno(err, -EINVAL, "JSON nests deeper than %d levels", IDL_JSON_DEPTH_MAX);
			open[depth++] = (char)c;
			i++;
		} else if (c == '}' || c == ']') {
			if (depth == 0 || open[depth - 1] != (c == '}' ? '{' : '['))
				return idl_error_errno(err, -EINVAL, "not JSON: unbalanced '%c' at byte %zu", c, i);
			top_done = --depth == 0;
			i++;
		} else if (c == ':' || c == ',') {
			i++;
		} else if (c == '-' || g_ascii_isalnum(c)) {
			size_t start = i;
			while (i < len && (g_ascii_isalnum(s[i]) || s[i] == '-' || s[i] == '+' || s[i] == '.'))
				i++;
			if ((r = check_token(s + start, i - start, err)) < 0)
				return r;
			top_done = depth == 0;
		} else {
			return idl_error_errno(err, -EINVAL, "not JSON: unexpected character at byte %zu", i);
		}
	}
	return 0;
}

/* json-glib keeps the last of two members of the same name; a second parser
 * might keep the first. Count members as they are parsed and compare with
 * the object's size at its end. */
struct dup_watch {
	unsigned depth;
	guint count[IDL_JSON_DEPTH_MAX + 1];
	gboolean dup;
};

static void on_object_start(JsonParser *p, gpointer data)
{
	struct dup_watch *w = data;
	(void)p;
	if (w->depth < G_N_ELEMENTS(w->count))
		w->count[w->depth] = 0;
	w->depth++;
}

static void on_object_member(JsonParser *p, JsonObject *o, const char *name, gpointer data)
{
	struct dup_watch *w = data;
	(void)p, (void)o, (void)name;
	if (w->depth && w->depth <= G_N_ELEMENTS(w->count))
		w->count[w->depth - 1]++;
}

static void on_object_end(JsonParser *p, JsonObject *o, gpointer data)
{
	struct dup_watch *w = data;
	(void)p;
	if (w->depth && w->depth <= G_N_ELEMENTS(w->count) && w->count[w->depth - 1] != json_object_get_size(o))
		w->dup = TRUE;
	if (w->depth)
		w->depth--;
}

JsonNode *idl_json_parse_strict(const char *text, size_t len, GError **err)
{
	struct dup_watch watch = { 0 };
	JsonParser *parser;
	JsonNode *root = NULL;
	GError *jerr = NULL;

	if (lex_check(text, len, err) < 0)
		return NULL;
	parser = json_parser_new();
	g_signal_connect(parser, "object-start", G_CALLBACK(on_object_start), &watch);
	g_signal_connect(parser, "object-member", G_CALLBACK(on_object_member), &watch);
	g_signal_connect(parser, "object-end", G_CALLBACK(on_object_end), &watch);
	if (!json_parser_load_from_data(parser, len ? text : "", (gssize)len, &jerr)) {
		idl_error_errno(err, -EINVAL, "not JSON: %s", jerr->message);
		g_error_free(jerr);
	} else if (watch.dup) {
		idl_error_errno(err, -EINVAL, "an object names the same member twice: its meaning is ambiguous");
	} else if (!json_parser_get_root(parser)) {
		idl_error_errno(err, -EINVAL, "the text is empty");
	} else {
		root = json_node_ref(json_parser_get_root(parser));
	}
	g_object_unref(parser);
	return root;
}
