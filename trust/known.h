/* known: the peers this device has met, kept like SSH's known_hosts in the
 * file known_peers of the state directory. Each entry binds a display name
 * to a certificate fingerprint, and says where the name came from:
 *
 *   verified  the name a device advertised (DNS-SD) and proved by showing
 *             the advertised fingerprint in DTLS, recorded by `send` after a
 *             verified transfer; or a name the user vouched for: given with
 *             `trust --name`, or a claim the user trusted by that name
 *             (`trust NAME`). A pin: the name is refused with any other
 *             fingerprint.
 *   claimed   the name a sender put in its hello. Nothing vouches for it
 *             (anyone can claim any name), so it pins nothing: it only lets
 *             the consent question say "known since" for that key, and
 *             `trust` find it. Never recorded under `--accept all`. A claim
 *             stays a claim whoever made it: a trusted key's claims pin
 *             nothing either (trusting a colleague's laptop does not let it
 *             take the name "living room").
 *
 * The file is text, one peer a line, name last since it may hold spaces:
 *
 *   # comment
 *   FINGERPRINT STATUS SOURCE FIRST_SEEN LAST_SEEN NAME
 *   1a2b...(64 lowercase hex) trusted verified 2026-11-20T10:31:02Z 2026-11-24T09:00:00Z Alice's laptop
 *
 * STATUS is "trusted" or "seen"; SOURCE "verified" or "claimed"; times are
 * UTC. A line without SOURCE (written by 0.1.0, which could not tell) reads
 * as "verified": a pin is never dropped silently; `forget` removes one that
 * is wrong. Names are compared by their key (base/text.h idl_text_name_key:
 * NFKC, hidden characters removed, white space trimmed and collapsed, case
 * folded), and names with another key
 * but the same look-alike skeleton are flagged by the callers. A verified
 * name appears once; a claimed name once per fingerprint. Trust belongs to
 * the fingerprint (its offers are taken under --accept=trusted): trusting
 * any of its names marks all its entries trusted, but only the name the
 * user trusted by becomes a pin.
 *
 * The list is bounded without turning pinning off: past IDL_KNOWN_CLAIMS_MAX
 * claims (or the IDL_KNOWN_PEERS_MAX total), a new entry replaces the claim
 * seen least recently, a trusted key's claims included. Verified entries
 * (pins, and the names the user trusted by name) are never dropped to make
 * room: a new pin that finds no claim to replace is refused (-ENOSPC) with
 * a message to `forget` some.
 *
 * The parser and formatter are pure (unit tested and fuzzed); the file
 * functions add the permission checks, an exclusive lock around
 * load-modify-save, and atomic replacement. */
#ifndef IDL_KNOWN_H
#define IDL_KNOWN_H

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

#include "base/fingerprint.h"
#include "base/name.h"

#define IDL_KNOWN_FILE "known_peers"
#define IDL_KNOWN_PEERS_MAX 8192       /* entries; keeps a hostile file small in memory */
#define IDL_KNOWN_CLAIMS_MAX 1024      /* claims kept; the least recently seen goes first */
#define IDL_KNOWN_FILE_MAX (2 * 1024 * 1024)

enum idl_known_source {
	IDL_KNOWN_VERIFIED,    /* advertised and proved by DTLS, or given by the user: a pin */
	IDL_KNOWN_CLAIMED,     /* what a sender said it is called: no pin */
};

struct idl_known_peer {
	char fingerprint[IDL_FINGERPRINT_HEX_LEN + 1];  /* lowercase */
	char name[IDL_NAME_MAX + 1];
	bool trusted;
	enum idl_known_source source;
	gint64 first_seen, last_seen;                   /* Unix time, seconds */
};

struct idl_known;

/* An empty list. Owned by the caller; idl_known_free(NULL) is a no-op. */
struct idl_known *idl_known_new(void);
void idl_known_free(struct idl_known *k);

/* ---- pure: text <-> list ---- */

/* Parses the text of a known_peers file (len bytes, need not end in NUL).
 * Blank lines and lines starting with '#' are skipped. Any other line that
 * is not exactly an entry (with or without SOURCE), a second verified line
 * for a name or a second claimed line for a name and fingerprint (names
 * compared ASCII case-insensitively, as 0.1.0 did), a NUL byte, more than
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

/* The first entry whose name has the key of name (verified entries
 * first), or NULL. Borrowed. */
const struct idl_known_peer *idl_known_find_name(const struct idl_known *k, const char *name);
/* The entry of fingerprint fp under the key of name, verified first, or
 * NULL. Borrowed. */
const struct idl_known_peer *idl_known_find(const struct idl_known *k, const char *name, const char *fp);
/* When name is pinned (a verified entry has its key) and no pin
 * of that key has fingerprint fp: that pin. Else NULL. Borrowed. */
const struct idl_known_peer *idl_known_pin_conflict(const struct idl_known *k, const char *name, const char *fp);
/* An entry under the key of name with another fingerprint than fp (pinned
 * or not), or NULL: someone else used this name before. Borrowed. */
const struct idl_known_peer *idl_known_name_taken(const struct idl_known *k, const char *name, const char *fp);
/* An entry whose name draws like name (one idl_text_skeleton) but has
 * another key (other letters, hidden characters stripped), pins first, or
 * NULL. Borrowed. */
const struct idl_known_peer *idl_known_lookalike(const struct idl_known *k, const char *name);
/* The first entry with fingerprint fp (64 hex digits, any case, colons
 * allowed), or NULL. Borrowed. */
const struct idl_known_peer *idl_known_find_fingerprint(const struct idl_known *k, const char *fp);
/* True when fp has an entry marked trusted. */
bool idl_known_trusted(const struct idl_known *k, const char *fp);

/* What known_peers says of a peer that shows name with key fp: the one
 * pin decision, made for `send` (its target) and for serve (a sender). All
 * entries borrowed from k. A set pin refuses; the others only inform
 * (claims pin nothing, and a look-alike name is the user's to judge). */
struct idl_known_verdict {
	const struct idl_known_peer *pin;       /* name pinned to another key: refuse */
	const struct idl_known_peer *same;      /* this name with this key */
	const struct idl_known_peer *by_key;    /* this key, under this name or another */
	const struct idl_known_peer *taken;     /* name used by another key, not pinned */
	const struct idl_known_peer *lookalike; /* another name that draws like this one */
	bool trusted;                           /* fp is marked trusted */
};

/* Pure: reads k only. With a pin set, the other fields are left empty. */
void idl_known_judge(const struct idl_known *k, const char *name, const char *fp, struct idl_known_verdict *out);

/* True when p is what key names: key is a fingerprint when it parses as
 * one (64 hex digits, colons allowed), else a name (compared by key). */
bool idl_known_peer_matches(const struct idl_known_peer *p, const char *key);

/* After a verified transfer with name at fp, at time now: adds the entry
 * of that source (trusted when fp already is) or moves its last-seen time.
 * A verified name is refused when idl_known_pin_conflict finds a pin; a
 * claimed name never is (it pins nothing). When full, the least recently
 * seen claim makes room (see the top of this file). Returns 1
 * when added, 0 when updated, -EEXIST for a conflicting pin (nothing
 * changed), -EINVAL for an unusable name (idl_name_valid) or
 * fingerprint, -ENOSPC when only pins fill the list. */
int idl_known_record(struct idl_known *k, const char *name, const char *fp, enum idl_known_source source,
		     gint64 now);

/* Marks trusted every entry with the fingerprint key names (a name stands
 * for its entries' fingerprint). When key is a name, the user vouches for
 * that key under that name: its entry of that name becomes verified (a
 * pin); the fingerprint's other claims stay claims. Returns how many
 * entries that fingerprint has, -ENOENT when key matches nothing, or
 * -ENOTUNIQ when key is a name that several fingerprints have (claims):
 * then only a fingerprint says which one. */
int idl_known_trust(struct idl_known *k, const char *key);

/* Removes every entry key matches (a name: every entry with its key; a
 * fingerprint: all its names). Returns how many, or -ENOENT. */
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
int idl_known_remember(const char *dir, const char *name, const char *fp, enum idl_known_source source,
		       GError **err);

/* "verified" or "claimed". Static. */
const char *idl_known_source_name(enum idl_known_source source);

/* Formats t (Unix seconds) as UTC "2026-11-20T10:31:02Z" into out[21]. */
void idl_known_format_time(gint64 t, char out[21]);

#endif
