/* name: the rule for display names (device names, browser names, DNS-SD
 * instance names), shared by known_peers, which keys on them and must
 * reject what would break its lines, by discovery (TXT n=, d=, instance
 * names) and by --name: one rule, not a copy per layer. */
#ifndef IDL_NAME_H
#define IDL_NAME_H

#include <stddef.h>
#include <glib.h>

#define IDL_NAME_MAX 63              /* bytes: a DNS label, like the instance name */

/* True when s (len bytes) is acceptable as a display name: 1..63 bytes of
 * valid UTF-8 without control characters and without hidden characters
 * (bidi controls, zero-width characters: base/text.h idl_text_has_hidden),
 * which would let one name pass for another. */
gboolean idl_name_valid(const char *s, size_t len);

/* The looser rule for names read back from a known_peers file: what 0.1.0
 * wrote (no control characters), so that its files still load; hidden
 * characters are then escaped when shown and stripped when compared. */
gboolean idl_name_readable(const char *s, size_t len);

#endif
