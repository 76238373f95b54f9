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
	/* Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt)
	 * beyond Cf, unassigned ones included: drawn as nothing. Mirrored
	 * exactly by web/page/common.js HIDDEN_RE; the table in
	 * tests/unit/hidden_chars.h is checked against both. */
	return c == 0x00ad                         /* soft hyphen */
	       || c == 0x034f                      /* combining grapheme joiner */
	       || c == 0x061c                      /* Arabic letter mark */
	       || c == 0x115f || c == 0x1160       /* Hangul fillers: blank letters */
	       || c == 0x17b4 || c == 0x17b5       /* Khmer inherent vowels */
	       || (c >= 0x180b && c <= 0x180f)     /* Mongolian variation selectors, vowel separator */
	       || (c >= 0x200b && c <= 0x200f)     /* zero-width space, joiners, bidi marks */
	       || (c >= 0x202a && c <= 0x202e)     /* bidi embeddings and overrides */
	       || (c >= 0x2060 && c <= 0x206f)     /* word joiner, invisible operators, isolates */
	       || c == 0x3164 || c == 0xffa0       /* Hangul fillers */
	       || (c >= 0xfe00 && c <= 0xfe0f)     /* variation selectors */
	       || c == 0xfeff                      /* byte order mark */
	       || (c >= 0xfff0 && c <= 0xfff8)     /* unassigned, ignorable */
	       || (c >= 0x1bca0 && c <= 0x1bca3)   /* shorthand format controls */
	       || (c >= 0x1d173 && c <= 0x1d17a)   /* musical formatting */
	       || (c >= 0xe0000 && c <= 0xe0fff);  /* tags, variation selectors supplement */
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

/* Characters that draw as a double quote: inside quotes, a name holding
 * one could seem to end there and go on with words of its own. */
static bool is_quote_like(gunichar c)
{
	switch (c) {
	case 0x00ab: case 0x00bb:                          /* « » */
	case 0x02ba: case 0x02ee:                          /* modifier letters double prime, apostrophe */
	case 0x05f4:                                       /* Hebrew gershayim */
	case 0x201c: case 0x201d: case 0x201e: case 0x201f: /* “ ” „ ‟ */
	case 0x2033: case 0x2036:                          /* double primes */
	case 0x301d: case 0x301e: case 0x301f:             /* CJK double prime quotation marks */
	case 0xff02:                                       /* full-width " */
		return true;
	default:
		return false;
	}
}

enum escape_mode {
	ESCAPE_TEXT,       /* idl_text_escape */
	ESCAPE_QUOTED,     /* idl_text_quote: '"' and its look-alikes too */
	ESCAPE_MESSAGE,    /* idl_text_escape_message: backslashes kept */
};

static void escape_into(GString *out, const char *s, size_t len, enum escape_mode mode)
{
	bool quoted = mode == ESCAPE_QUOTED;

	size_t i = 0;

	while (i < len) {
		unsigned char b = (unsigned char)s[i];
		gunichar c;
		size_t n;

		if (b < 0x80) {
			if (b < 0x20 || b == 0x7f)
				g_string_append_printf(out, "\\x%02x", b);
			else if ((b == '\\' && mode != ESCAPE_MESSAGE) || (quoted && b == '"'))
				g_string_append_printf(out, "\\%c", b);
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
		else if (idl_text_is_hidden_char(c) || (quoted && is_quote_like(c)))
			g_string_append_printf(out, "\\u{%04X}", (unsigned)c);
		else
			g_string_append_len(out, s + i, (gssize)n);
		i += n;
	}
}

char *idl_text_escape(const char *s, size_t len)
{
	GString *out = g_string_sized_new(len + 8);

	escape_into(out, s, len, ESCAPE_TEXT);
	return g_string_free(out, FALSE);
}

char *idl_text_escape_message(const char *s, size_t len)
{
	GString *out = g_string_sized_new(len + 8);

	escape_into(out, s, len, ESCAPE_MESSAGE);
	return g_string_free(out, FALSE);
}

char *idl_text_quote(const char *s, size_t len)
{
	GString *out = g_string_sized_new(len + 8);

	g_string_append_c(out, '"');
	escape_into(out, s, len, ESCAPE_QUOTED);
	g_string_append_c(out, '"');
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

/* Spaces a name may hold: after NFKC, ' ' and the few separators it does
 * not map to one (U+1680 ogham space mark). */
static bool is_space(gunichar c)
{
	return c == ' ' || g_unichar_type(c) == G_UNICODE_SPACE_SEPARATOR;
}

/* NFKC, hidden and control characters removed, white space trimmed and
 * each run of it made one ' ': a list, a table or a page shows
 * "living room ", " living room" and "living  room" alike. Not yet case
 * folded. */
static char *clean(const char *s)
{
	char *nfkc = g_utf8_normalize(s, -1, G_NORMALIZE_NFKC);
	GString *kept;
	bool space = false;

	if (!nfkc)
		return g_strdup("");
	kept = g_string_sized_new(strlen(nfkc));
	for (const char *p = nfkc; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (idl_text_is_hidden_char(c) || is_control(c))
			continue;
		if (is_space(c)) {
			space = kept->len > 0;
			continue;
		}
		if (space)
			g_string_append_c(kept, ' ');
		space = false;
		g_string_append_unichar(kept, c);
	}
	g_free(nfkc);
	return g_string_free(kept, FALSE);
}

/* Case folded, then NFKC again: folding may leave a string that is no
 * longer in NFKC. */
static char *fold(const char *s)
{
	char *folded = g_utf8_casefold(s, -1), *out = g_utf8_normalize(folded, -1, G_NORMALIZE_NFKC);

	g_free(folded);
	return out ? out : g_strdup("");
}

char *idl_text_name_key(const char *s)
{
	char *c = clean(s), *key = fold(c);

	g_free(c);
	return key;
}

/* Look-alikes and the Latin letter each draws as. Capitals are mapped
 * before case folding: Cyrillic "Т" draws as "T" but folds to "т", which
 * does not draw as "t" (and Greek "Ν" folds to "ν", which draws as "v").
 * Small letters are mapped after folding. */
struct look_alike {
	gunichar from;
	char to;
};

static const struct look_alike capitals[] = {
	/* Cyrillic */
	{ 0x0410, 'A' }, { 0x0412, 'B' }, { 0x0415, 'E' }, { 0x041a, 'K' }, { 0x041c, 'M' }, { 0x041d, 'H' },
	{ 0x041e, 'O' }, { 0x0420, 'P' }, { 0x0421, 'C' }, { 0x0422, 'T' }, { 0x0425, 'X' }, { 0x0405, 'S' },
	{ 0x0406, 'l' }, { 0x0408, 'J' }, { 0x04ae, 'Y' }, { 0x04c0, 'l' },
	/* Greek */
	{ 0x0391, 'A' }, { 0x0392, 'B' }, { 0x0395, 'E' }, { 0x0396, 'Z' }, { 0x0397, 'H' }, { 0x0399, 'l' },
	{ 0x039a, 'K' }, { 0x039c, 'M' }, { 0x039d, 'N' }, { 0x039f, 'O' }, { 0x03a1, 'P' }, { 0x03a4, 'T' },
	{ 0x03a5, 'Y' }, { 0x03a7, 'X' },
	/* capital I draws as small l in most sans-serif fonts (the page's too) */
	{ 'I', 'l' },
};

static const struct look_alike smalls[] = {
	/* Cyrillic */
	{ 0x0430, 'a' }, { 0x0435, 'e' }, { 0x043e, 'o' }, { 0x0440, 'p' }, { 0x0441, 'c' },
	{ 0x0443, 'y' }, { 0x0445, 'x' }, { 0x0456, 'l' }, { 0x0458, 'j' }, { 0x0455, 's' },
	{ 0x04bb, 'h' }, { 0x0501, 'd' }, { 0x051b, 'q' }, { 0x051d, 'w' }, { 0x04cf, 'l' },
	{ 0x043a, 'k' }, { 0x0475, 'v' },
	/* Greek */
	{ 0x03b1, 'a' }, { 0x03bf, 'o' }, { 0x03bd, 'v' }, { 0x03c1, 'p' }, { 0x03b9, 'l' },
	{ 0x03ba, 'k' }, { 0x03c5, 'u' }, { 0x03c7, 'x' }, { 0x03f2, 'c' }, { 0x03f3, 'j' },
	/* digits and signs that pass for letters */
	{ '0', 'o' }, { '1', 'l' }, { '|', 'l' },
	/* Capital I draws as l, and i is I in another case: so i, dotless ı
	 * and their look-alikes join l. The price is that "mail" and "mall"
	 * are flagged; the flag only asks for a second look. */
	{ 'i', 'l' }, { 0x0131, 'l' },
};

static gunichar look_alike(const struct look_alike *table, size_t n, gunichar c)
{
	for (size_t i = 0; i < n; i++)
		if (table[i].from == c)
			return (gunichar)table[i].to;
	return c;
}

char *idl_text_skeleton(const char *s)
{
	char *c = clean(s), *key;
	GString *out = g_string_sized_new(strlen(c));

	for (const char *p = c; *p; p = g_utf8_next_char(p))
		g_string_append_unichar(out, look_alike(capitals, G_N_ELEMENTS(capitals), g_utf8_get_char(p)));
	g_free(c);
	key = fold(out->str);
	g_string_truncate(out, 0);
	for (const char *p = key; *p; p = g_utf8_next_char(p)) {
		gunichar ch = look_alike(smalls, G_N_ELEMENTS(smalls), g_utf8_get_char(p));

		/* "rn" draws as "m" and "vv" as "w" in most fonts. */
		if ((ch == 'n' && out->len && out->str[out->len - 1] == 'r')
		    || (ch == 'v' && out->len && out->str[out->len - 1] == 'v')) {
			out->str[out->len - 1] = ch == 'n' ? 'm' : 'w';
			continue;
		}
		g_string_append_unichar(out, ch);
	}
	g_free(key);
	return g_string_free(out, FALSE);
}

bool idl_text_has_control(const char *s, size_t len)
{
	for (const char *p = s; p < s + len; p = g_utf8_next_char(p))
		if (g_unichar_iscntrl(g_utf8_get_char(p)))
			return true;
	return false;
}
