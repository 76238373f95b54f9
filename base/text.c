/* text: escaping and comparing text a peer chose (see text.h). The
 * look-alike table is deliberately small: the letters of Cyrillic and Greek
 * that a Latin reader cannot tell apart, and the digit/letter pairs of
 * everyday fonts. It flags a name for a second look; it decides nothing on
 * its own. */
#include "base/text.h"

#include <string.h>

bool idl_text_is_hidden_char(gunichar c)
{
	switch (g_unichar_type(c)) {
	case G_UNICODE_FORMAT:
	case G_UNICODE_LINE_SEPARATOR:
	case G_UNICODE_PARAGRAPH_SEPARATOR:
		return true;
	default:
		break;
	}
	return (c >= 0xfe00 && c <= 0xfe0f)        /* variation selectors */
	       || (c >= 0xe0100 && c <= 0xe01ef)   /* variation selectors supplement */
	       || c == 0x034f                      /* combining grapheme joiner */
	       || c == 0x115f || c == 0x1160       /* Hangul fillers: blank letters */
	       || c == 0x3164 || c == 0xffa0
	       || c == 0x180e;                     /* Mongolian vowel separator */
}

static bool is_control(gunichar c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

bool idl_text_has_hidden(const char *s, size_t len)
{
	for (const char *p = s; p < s + len; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (is_control(c) || idl_text_is_hidden_char(c))
			return true;
	}
	return false;
}

char *idl_text_escape(const char *s, size_t len)
{
	GString *out = g_string_sized_new(len + 8);
	size_t i = 0;

	while (i < len) {
		unsigned char b = (unsigned char)s[i];
		gunichar c;
		size_t n;

		if (b < 0x80) {
			if (b < 0x20 || b == 0x7f)
				g_string_append_printf(out, "\\x%02x", b);
			else if (b == '\\')
				g_string_append(out, "\\\\");
			else
				g_string_append_c(out, (char)b);
			i++;
			continue;
		}
		c = g_utf8_get_char_validated(s + i, (gssize)(len - i));
		if (c == (gunichar)-1 || c == (gunichar)-2) {
			g_string_append_printf(out, "\\x%02x", b);
			i++;
			continue;
		}
		n = (size_t)(g_utf8_next_char(s + i) - (s + i));
		if (is_control(c))
			g_string_append_printf(out, "\\x%02x", (unsigned)c);
		else if (idl_text_is_hidden_char(c))
			g_string_append_printf(out, "\\u{%04X}", (unsigned)c);
		else
			g_string_append_len(out, s + i, (gssize)n);
		i += n;
	}
	return g_string_free(out, FALSE);
}

char *idl_text_json_safe(const char *json)
{
	GString *out = g_string_sized_new(strlen(json) + 8);

	for (const char *p = json; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		/* C0 is the generator's (and may be whitespace between tokens). */
		if (!(c >= 0x7f && is_control(c)) && !idl_text_is_hidden_char(c)) {
			g_string_append_len(out, p, g_utf8_next_char(p) - p);
		} else if (c <= 0xffff) {
			g_string_append_printf(out, "\\u%04x", (unsigned)c);
		} else {
			c -= 0x10000;
			g_string_append_printf(out, "\\u%04x\\u%04x", 0xd800u + (unsigned)(c >> 10),
					       0xdc00u + (unsigned)(c & 0x3ff));
		}
	}
	return g_string_free(out, FALSE);
}

char *idl_text_name_key(const char *s)
{
	char *nfkc = g_utf8_normalize(s, -1, G_NORMALIZE_NFKC);
	GString *kept;
	char *folded, *key;

	if (!nfkc)
		return g_strdup("");
	kept = g_string_sized_new(strlen(nfkc));
	for (const char *p = nfkc; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (!idl_text_is_hidden_char(c) && !is_control(c))
			g_string_append_unichar(kept, c);
	}
	g_free(nfkc);
	folded = g_utf8_casefold(kept->str, (gssize)kept->len);
	g_string_free(kept, TRUE);
	/* Case folding may leave a string that is no longer in NFKC. */
	key = g_utf8_normalize(folded, -1, G_NORMALIZE_NFKC);
	g_free(folded);
	return key ? key : g_strdup("");
}

/* Case-folded look-alikes and the Latin letter each draws as. */
static const struct {
	gunichar from;
	char to;
} look_alike[] = {
	/* Cyrillic */
	{ 0x0430, 'a' }, { 0x0435, 'e' }, { 0x043e, 'o' }, { 0x0440, 'p' }, { 0x0441, 'c' },
	{ 0x0443, 'y' }, { 0x0445, 'x' }, { 0x0456, 'i' }, { 0x0458, 'j' }, { 0x0455, 's' },
	{ 0x04bb, 'h' }, { 0x0501, 'd' }, { 0x051b, 'q' }, { 0x051d, 'w' }, { 0x04cf, 'l' },
	{ 0x043a, 'k' }, { 0x0475, 'v' },
	/* Greek */
	{ 0x03b1, 'a' }, { 0x03bf, 'o' }, { 0x03bd, 'v' }, { 0x03c1, 'p' }, { 0x03b9, 'i' },
	{ 0x03ba, 'k' }, { 0x03c5, 'u' }, { 0x03c7, 'x' }, { 0x03f2, 'c' }, { 0x03f3, 'j' },
	/* digits and signs that pass for letters */
	{ '0', 'o' }, { '1', 'l' }, { '|', 'l' }, { 0x0131, 'i' },
};

char *idl_text_skeleton(const char *s)
{
	char *key = idl_text_name_key(s);
	GString *out = g_string_sized_new(strlen(key));

	for (const char *p = key; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		size_t i;

		for (i = 0; i < G_N_ELEMENTS(look_alike); i++)
			if (look_alike[i].from == c)
				break;
		if (i < G_N_ELEMENTS(look_alike))
			c = (gunichar)look_alike[i].to;
		/* "rn" draws as "m" and "vv" as "w" in most fonts. */
		if ((c == 'n' && out->len && out->str[out->len - 1] == 'r')
		    || (c == 'v' && out->len && out->str[out->len - 1] == 'v')) {
			out->str[out->len - 1] = c == 'n' ? 'm' : 'w';
			continue;
		}
		g_string_append_unichar(out, c);
	}
	g_free(key);
	return g_string_free(out, FALSE);
}
