/* json_strict: one JSON value parsed by json-glib as RFC 8259 reads it.
 * json-glib alone is lenient where a peer could hide things: it takes
 * comments, single quotes, 0x10 and 01, truncates a string at \u0000, wraps
 * integers beyond 64 bits, keeps the last of two members of the same name,
 * recurses without limit, and accepts data after the value. A strict lexical
 * pass runs first and the parser's signals catch repeated members. Pure: no
 * I/O, no globals. */
#ifndef IDL_JSON_STRICT_H
#define IDL_JSON_STRICT_H

#include <stddef.h>
#include <glib.h>
#include <json-glib/json-glib.h>

/* Our messages nest three deep ({files: [{...}]}); unknown members may nest
 * a little more. The limit also bounds json-glib's recursion. */
#define IDL_JSON_DEPTH_MAX 16

/* Parses len bytes of text (no NUL needed) as exactly one JSON value.
 * Returns its root (caller json_node_unref()s), or NULL with *err
 * (G_IO_ERROR_INVALID_DATA) saying why: not UTF-8, a NUL byte or \u0000,
 * a raw control character in a string, a token that is not RFC 8259, an
 * integer beyond 2^63, nesting deeper than IDL_JSON_DEPTH_MAX, a member
 * named twice in one object, data after the value, or an empty text. */
JsonNode *idl_json_parse_strict(const char *text, size_t len, GError **err);

#endif
