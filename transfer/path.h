/* path: the rules every file path of an offer obeys (docs/PROTOCOL.md),
 * and the name a receiver stores it under. Pure functions over strings, no
 * I/O and no globals, fuzzed as "path" (tests/fuzz/fuzz_path.c): the
 * decoder of offers (transfer/protocol.c), the store and the sender's file
 * list all apply these, so a path means the same thing to each.
 * Strings passed in are borrowed; every string returned is owned by the
 * caller (g_free). */
#ifndef IDL_PATH_H
#define IDL_PATH_H

#include <stdbool.h>
#include <glib.h>

#define IDL_PATH_MAX 4096                    /* bytes: a whole offer path */
#define IDL_PATH_COMPONENT_MAX 255           /* bytes: one component of it */
#define IDL_PATH_DEPTH_MAX 32                /* components of one offer path */

/* Checks an offer path against docs/PROTOCOL.md: non-empty, at most 4096
 * bytes, valid UTF-8, relative, '/'-separated components of 1..255 bytes
 * that are not "." or "..", at most IDL_PATH_DEPTH_MAX of them, without
 * control characters (C0, DEL, C1) or hidden ones (base/text.h: bidi
 * controls, zero-width characters: "a\u202Etxt.exe" shows as "aexe.txt")
 * and without backslashes. Returns 0 or -EINVAL with *err saying which
 * rule. Passing this check does not make a path safe to open: the receiver
 * still confines writes to its download folder (openat/O_NOFOLLOW, no
 * symlinks) and stores it under idl_path_visible(). */
int idl_path_check(const char *path, GError **err);

/* The name a receiver stores path under: every component that starts with
 * '.' (hidden by file managers and `ls`, and the place of configuration
 * such as .config/autostart or .bashrc) starts with '_' instead, so a
 * received ".gitignore" lands as "_gitignore", visibly. The rest is kept.
 * Returns a new string (g_free); path is one idl_path_check() accepts. */
char *idl_path_visible(const char *path);

/* True when idl_path_visible(path) differs from path. */
bool idl_path_is_hidden(const char *path);

/* Adds the folders of path ("a" and "a/b" for "a/b/c") to folders, a set
 * made with g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL),
 * and returns how many were not in it yet: an offer's folders are counted
 * with it (IDL_OFFER_FOLDERS_MAX, transfer/protocol.h). */
guint idl_path_folders_add(GHashTable *folders, const char *path);

#endif
