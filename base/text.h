/* text: the rules for text a peer chose (device and sender names, DNS-SD
 * instance names, channel labels, file paths) before it reaches a terminal,
 * a prompt or a comparison. One place, so every printer escapes the same
 * characters and every comparison of names sees the same letters.
 * Pure functions over UTF-8 strings; no I/O. */
#ifndef IDL_TEXT_H
#define IDL_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

/* True for a character that draws nothing or reorders what follows:
 * Unicode format characters (Cf: bidi embeddings, overrides and isolates,
 * zero-width space/joiners, word joiner, BOM, soft hyphen, ...), the line
 * and paragraph separators, and every other Default_Ignorable_Code_Point
 * (variation selectors, Hangul fillers, Khmer inherent vowels, Mongolian
 * free variation selectors, tags, the unassigned ignorables). A name or
 * path holding one can look like another or hide its real end
 * ("a\u202Etxt.exe" shows as "aexe.txt"). web/page/common.js HIDDEN_RE
 * is the same set. */
bool idl_text_is_hidden_char(gunichar c);

/* True when s (len bytes of valid UTF-8) holds a control character (C0,
 * DEL or C1): what no name or path may carry. */
bool idl_text_has_control(const char *s, size_t len);

/* True when s (len bytes of valid UTF-8) holds a hidden character or a
 * control character (C0, DEL, C1). */
bool idl_text_has_hidden(const char *s, size_t len);

/* A copy of s (len bytes, any bytes at all) safe to print on a terminal:
 * control characters (C0, DEL, C1: ESC among them) and bytes that are not
 * UTF-8 become \xHH, hidden characters \u{XXXX}, a backslash \\; all else
 * is kept. The result never holds a byte below 0x20, 0x7f or a C1 code, so
 * it cannot move the cursor, recolour or retitle a terminal. Returns a new
 * string: free with g_free. */
char *idl_text_escape(const char *s, size_t len);

/* idl_text_escape for a message composed of our words and peer-chosen
 * ones (a log line, an error message): the same, except that backslashes
 * are kept, so that names quoted in it by idl_text_quote come through as
 * quoted (escaping their \" again would give a backslash and a closing
 * quote). Controls and hidden characters are still escaped. Returns a new
 * string: free with g_free. */
char *idl_text_escape_message(const char *s, size_t len);

/* s (len bytes, any bytes at all) inside ASCII double quotes, escaped as
 * by idl_text_escape and further: '"' becomes \" and the characters that
 * draw like one (“ ” „ ‟ « » ″ ＂ 〝 〞 〟 ...) \u{XXXX}, so a name can
 * never seem to end before it does and go on with words that look like
 * ours ("Ann" [fingerprint ..., trusted]). For every peer-chosen name
 * printed in quotes. Returns a new string: free with g_free. */
char *idl_text_quote(const char *s, size_t len);

/* A copy of json (a JSON text, valid UTF-8) with every character that JSON
 * lets through raw but a terminal acts on or hides (C1 controls, DEL,
 * hidden characters) written as a \uXXXX escape (a surrogate pair above
 * U+FFFF): the same JSON value, safe to print. Generators already escape
 * C0 controls, quotes and backslashes; outside strings JSON has only ASCII.
 * Returns a new string: free with g_free. */
char *idl_text_json_safe(const char *json);

/* The form in which two names are the same name: NFKC (full-width and
 * compatibility letters folded), hidden and control characters removed,
 * white space trimmed and each run of it one space, case folded.
 * "Living Room", "LIVING\u200B ROOM", " living  room " and full-width
 * "Ｌｉｖｉｎｇ Ｒｏｏｍ" share one key. s must be valid UTF-8. Returns a
 * new string: free with g_free. */
char *idl_text_name_key(const char *s);

/* The name key with letters of other scripts that draw like Latin ones
 * (Cyrillic "о" and "Т", Greek "ο" and "Η", ...; capitals mapped before
 * case folding), i and capital I, 1 and | as l, 0 as o, "rn" as m: two names
 * with one skeleton and different keys look alike on a screen but are not
 * the same name. s must be valid UTF-8. Returns a new string: free with
 * g_free. */
char *idl_text_skeleton(const char *s);

#endif
