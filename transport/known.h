/* known: the peers this device has met, kept like SSH's known_hosts in the
 * file known_peers of the state directory. Each entry binds a display name
 * to the certificate fingerprint that name had at the first verified
 * transfer, so a device or sender that later shows up under a known name
 * with another fingerprint can be refused (pinning), and a fingerprint the
 * user vouched for can be accepted without asking (trusted).
 *
 * The file is text, one peer a line, name last since it may hold spaces:
 *
 *   # comment
 *   FINGERPRINT STATUS FIRST_SEEN LAST_SEEN NAME
 *   1a2b...(64 lowercase hex) trusted 2026-11-20T10:31:02Z 2026-11-24T09:00:00Z Alice's laptop
 *
 * STATUS is "trusted" or "seen"; times are UTC. A name appears on one line
 * at most (ASCII case-insensitively, as DNS-SD compares names); one
 * fingerprint may carry several names (a device that serves as "living
 * room" and sends as "nas"). Trust belongs to the fingerprint: trusting
 * any of its names trusts all of them.
 *
 * The parser and formatter are pure (unit tested and fuzzed); the file
 * functions add the permission checks, an exclusive lock around
 * load-modify-save, and atomic replacement. */
#ifndef IDL_KNOWN_H
#define IDL_KNOWN_H

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

#include "transport/identity.h"

#define IDL_KNOWN_FILE "known_peers"
#define IDL_KNOWN_NAME_MAX 63          /* bytes: a DNS label, like the instance name */
#define IDL_KNOWN_PEERS_MAX 4096       /* entries; keeps a hostile file small in memory */
#define IDL_KNOWN_FILE_MAX (1024 * 1024)

struct idl_known_peer {
	char fingerprint[IDL_FINGERPRINT_HEX_LEN + 1];  /* lowercase */
	char name[IDL_KNOWN_NAME_MAX + 1];
	bool trusted;
	gint64 first_seen, last_seen;                   /* Unix time, seconds */
};

struct idl_known;

/* True when s (len bytes) is acceptable as a display name: 1..63 bytes of
 * valid UTF-8 without control characters. The one rule for names, here at
 * the bottom layer because known_peers keys on them and it must reject what
 * would break its lines; discovery (TXT n=, instance names) uses it too. */
gboolean idl_known_name_valid(const char *s, size_t len);

/* An empty list. Owned by the caller; idl_known_free(NULL) is a no-op. */
struct idl_known *idl_known_new(void);
void idl_known_free(struct idl_known *k);

/* ---- pure: text <-> list ---- */

/* Parses the text of a known_peers file (len bytes, need not end in NUL).
 * Blank lines and lines starting with '#' are skipped. Any other line that
 * is not exactly an entry, a second line for a name, a NUL byte, more than
 * IDL_KNOWN_PEERS_MAX entries or more than IDL_KNOWN_FILE_MAX bytes make
 * the whole text refused: a pin silently dropped would let an impostor in.
 * Returns 0 with *out owned by the caller, or -EINVAL with *err naming the
 * line and what is wrong with it. */
int idl_known_parse(const char *text, size_t len, struct idl_known **out, GError **err);

/* The text of a known_peers file for k (a header comment, then one line per
 * entry in list order); comments read from a file are not kept. Owned by
 * the caller. Parsing it gives k back. */
char *idl_known_format(const struct idl_known *k);

/* ---- pure: lookups and edits ---- */

guint idl_known_count(const struct idl_known *k);
/* Entry i < count, borrowed until k is next changed. */
const struct idl_known_peer *idl_known_get(const struct idl_known *k, guint i);

/* The entry for name (ASCII case-insensitive), or NULL. Borrowed. */
const struct idl_known_peer *idl_known_find_name(const struct idl_known *k, const char *name);
/* The first entry with fingerprint fp (64 hex digits, any case, colons
 * allowed), or NULL. Borrowed. */
const struct idl_known_peer *idl_known_find_fingerprint(const struct idl_known *k, const char *fp);
/* True when fp has an entry marked trusted. */
bool idl_known_trusted(const struct idl_known *k, const char *fp);

/* True when p is what key names: key is a fingerprint when it parses as
 * one (64 hex digits, colons allowed), else a name. */
bool idl_known_peer_matches(const struct idl_known_peer *p, const char *key);

/* After a verified transfer with name at fp, at time now: adds the entry
 * (trusted when fp already is) or moves its last-seen time. Returns 1 when
 * added, 0 when updated, -EEXIST when name is known with another
 * fingerprint (nothing changed: that is the pin), -EINVAL for an unusable
 * name or fingerprint, -ENOSPC when the list is full. */
int idl_known_record(struct idl_known *k, const char *name, const char *fp, gint64 now);

/* Marks trusted every entry with the fingerprint key names (a name stands
 * for its entry's fingerprint). Returns how many entries that fingerprint
 * has, or -ENOENT when key matches nothing. */
int idl_known_trust(struct idl_known *k, const char *key);

/* Removes every entry key matches (a name: its entry; a fingerprint: all
 * its names). Returns how many, or -ENOENT. */
int idl_known_forget(struct idl_known *k, const char *key);

/* ---- the file in a state directory ---- */

/* dir/known_peers. Owned by the caller. */
char *idl_known_path(const char *dir);

/* Loads dir/known_peers; a missing file (or directory) is an empty list.
 * Refuses, with a message that says what to do, a file that is not a
 * regular file, not owned by us, writable by group or others (whoever can
 * write it can unpin any peer), too large or malformed. Returns 0 with *out
 * owned by the caller, or a negative errno with *err. */
int idl_known_load(const char *dir, struct idl_known **out, GError **err);

/* Changes the list, called by idl_known_update with the list just loaded.
 * Returns > 0 to save it, 0 to leave the file alone, < 0 (a negative errno,
 * with *err set) to stop without saving. */
typedef int (*idl_known_edit_fn)(struct idl_known *k, void *user, GError **err);

/* Load, edit, save under an exclusive lock (flock on dir/known_peers.lock,
 * waited for up to 5 s), so a serve and a send that record at the same time
 * both keep their entries. The state directory is created (0700) when
 * missing. The file is replaced atomically: written to a temporary file
 * (mode 0600) in dir, flushed to disk, renamed over known_peers, and the
 * directory flushed. Returns edit's value, or a negative errno with *err. */
int idl_known_update(const char *dir, idl_known_edit_fn edit, void *user, GError **err);

/* idl_known_record on the file, at the current time. Returns as
 * idl_known_record (with *err for -EEXIST and -ENOSPC too), or a negative
 * errno from loading or saving. */
int idl_known_remember(const char *dir, const char *name, const char *fp, GError **err);

/* Formats t (Unix seconds) as UTC "2026-11-20T10:31:02Z" into out[21]. */
void idl_known_format_time(gint64 t, char out[21]);

#endif
