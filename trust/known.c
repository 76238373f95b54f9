/* known: the known_peers file (see known.h). The parser refuses rather
 * than skips: a line it could not read may have been a pin, and dropping a
 * pin silently is what an impostor wants. Writers serialise on a lock file
 * and replace the file by rename, so readers never see half a file and no
 * writer loses another's entry. */
#include "trust/known.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <gio/gio.h>

#include "trust/keyfile.h"
#include "base/text.h"
#include "base/error.h"

#define LOCK_NAME IDL_KNOWN_FILE ".lock"
#define LOCK_WAIT_MS 5000
#define TIME_LEN 20                      /* "2026-11-20T10:31:02Z" */
#define HEADER "# idrop-lan known peers: FINGERPRINT trusted|seen verified|claimed FIRST_SEEN LAST_SEEN NAME\n" \
	       "# Written by idrop-lan; see `idrop-lan peers`, `trust` and `forget`.\n"

struct idl_known {
	GArray *peers;                   /* struct idl_known_peer */
	GPtrArray *keys;                 /* char *: idl_text_name_key of each peer's name, same index */
};



const char *idl_known_source_name(enum idl_known_source source)
{
	return source == IDL_KNOWN_CLAIMED ? "claimed" : "verified";
}

struct idl_known *idl_known_new(void)
{
	struct idl_known *k = g_new0(struct idl_known, 1);

	k->peers = g_array_new(FALSE, TRUE, sizeof(struct idl_known_peer));
	k->keys = g_ptr_array_new_with_free_func(g_free);
	return k;
}

void idl_known_free(struct idl_known *k)
{
	if (k == NULL)
		return;
	g_array_unref(k->peers);
	g_ptr_array_unref(k->keys);
	g_free(k);
}

/* Every change of the list goes through these two, which keep the name
 * keys (compared on every lookup) computed once per entry. */
static void append(struct idl_known *k, const struct idl_known_peer *p)
{
	g_array_append_val(k->peers, *p);
	g_ptr_array_add(k->keys, idl_text_name_key(p->name));
}

static void remove_at(struct idl_known *k, guint i)
{
	g_array_remove_index(k->peers, i);
	g_ptr_array_remove_index(k->keys, i);
}

/* 64 lowercase hex digits from any form idl_fingerprint_parse takes. */
static int normalize_fp(const char *text, char out[IDL_FINGERPRINT_HEX_LEN + 1])
{
	unsigned char raw[IDL_FINGERPRINT_SIZE];

	if (text == NULL || idl_fingerprint_parse(text, raw) < 0)
		return -EINVAL;
	idl_fingerprint_to_hex(raw, out);
	return 0;
}

/* ---- time ---- */

void idl_known_format_time(gint64 t, char out[TIME_LEN + 1])
{
	GDateTime *dt = g_date_time_new_from_unix_utc(t);

	if (dt == NULL) {
		g_strlcpy(out, "1970-01-01T00:00:00Z", TIME_LEN + 1);
		return;
	}
	/* Not g_date_time_format's %Y, which does not pad years below 1000. */
	g_snprintf(out, TIME_LEN + 1, "%04d-%02d-%02dT%02d:%02d:%02dZ", g_date_time_get_year(dt),
		   g_date_time_get_month(dt), g_date_time_get_day_of_month(dt), g_date_time_get_hour(dt),
		   g_date_time_get_minute(dt), g_date_time_get_second(dt));
	g_date_time_unref(dt);
}

static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* Exactly the form idl_known_format_time writes, and a real date. */
static int parse_time(const char *s, gint64 *out)
{
	static const char pattern[] = "dddd-dd-ddTdd:dd:ddZ";
	GDateTime *dt;

	for (size_t i = 0; i < TIME_LEN; i++)
		if (pattern[i] == 'd' ? !g_ascii_isdigit(s[i]) : s[i] != pattern[i])
			return -EINVAL;
	if (digits(s, 4) < 1 || digits(s + 17, 2) > 59)
		return -EINVAL;
	dt = g_date_time_new_utc(digits(s, 4), digits(s + 5, 2), digits(s + 8, 2), digits(s + 11, 2),
				 digits(s + 14, 2), digits(s + 17, 2));
	if (dt == NULL)
		return -EINVAL;
	*out = g_date_time_to_unix(dt);
	g_date_time_unref(dt);
	return 0;
}

/* ---- parsing ---- */

/* One entry line (no '\n'). Returns 0, or -EINVAL with *why. */
static int parse_entry(const char *line, size_t len, struct idl_known_peer *p, const char **why)
{
	char fp[IDL_FINGERPRINT_HEX_LEN + 1];
	const char *cur = line, *end = line + len;

	memset(p, 0, sizeof(*p));
	if (len < IDL_FINGERPRINT_HEX_LEN + 1 || line[IDL_FINGERPRINT_HEX_LEN] != ' ') {
		*why = "it does not start with a fingerprint of 64 hex digits and a space";
		return -EINVAL;
	}
	memcpy(fp, line, IDL_FINGERPRINT_HEX_LEN);
	fp[IDL_FINGERPRINT_HEX_LEN] = '\0';
	if (normalize_fp(fp, p->fingerprint) < 0) {
		*why = "the fingerprint is not 64 hex digits";
		return -EINVAL;
	}
	cur += IDL_FINGERPRINT_HEX_LEN + 1;
	if ((size_t)(end - cur) > 8 && memcmp(cur, "trusted ", 8) == 0) {
		p->trusted = true;
		cur += 8;
	} else if ((size_t)(end - cur) > 5 && memcmp(cur, "seen ", 5) == 0) {
		cur += 5;
	} else {
		*why = "the status after the fingerprint is not \"trusted\" or \"seen\"";
		return -EINVAL;
	}
	/* Lines 0.1.0 wrote have no source: read as pins (see known.h). */
	p->source = IDL_KNOWN_VERIFIED;
	if ((size_t)(end - cur) > 9 && memcmp(cur, "verified ", 9) == 0) {
		cur += 9;
	} else if ((size_t)(end - cur) > 8 && memcmp(cur, "claimed ", 8) == 0) {
		p->source = IDL_KNOWN_CLAIMED;
		cur += 8;
	} else if ((size_t)(end - cur) > 0 && !g_ascii_isdigit(*cur)) {
		*why = "the source after the status is not \"verified\" or \"claimed\"";
		return -EINVAL;
	}
	if (end - cur < 2 * (TIME_LEN + 1) || cur[TIME_LEN] != ' ' || cur[2 * TIME_LEN + 1] != ' ' ||
	    parse_time(cur, &p->first_seen) < 0 || parse_time(cur + TIME_LEN + 1, &p->last_seen) < 0) {
		*why = "the first and last seen times are not two UTC times like 2026-11-20T10:31:02Z";
		return -EINVAL;
	}
	cur += 2 * (TIME_LEN + 1);
	if (!idl_name_readable(cur, (size_t)(end - cur))) {
		*why = "the name at the end is not 1 to 63 bytes of UTF-8 text without control characters";
		return -EINVAL;
	}
	memcpy(p->name, cur, (size_t)(end - cur));
	return 0;
}

/* Adds p to k unless its line is there already (seen: lowercased names,
 * with the fingerprint for claims, which may share a name). */
static int add_parsed(struct idl_known *k, GHashTable *seen, const struct idl_known_peer *p, const char **why)
{
	char *key, *lower;

	if (k->peers->len >= IDL_KNOWN_PEERS_MAX) {
		*why = "there are more than " G_STRINGIFY(IDL_KNOWN_PEERS_MAX) " peers";
		return -EINVAL;
	}
	lower = g_ascii_strdown(p->name, -1);
	key = p->source == IDL_KNOWN_CLAIMED ? g_strconcat("c ", p->fingerprint, " ", lower, NULL)
					     : g_strconcat("v ", lower, NULL);
	g_free(lower);
	if (!g_hash_table_add(seen, key)) {
		*why = p->source == IDL_KNOWN_CLAIMED
		       ? "an earlier line has the same claimed name and fingerprint (names are compared without regard to ASCII case)"
		       : "an earlier line has the same verified name (names are compared without regard to ASCII case)";
		return -EINVAL;
	}
	append(k, p);
	return 0;
}

int idl_known_parse(const char *text, size_t len, struct idl_known **out, GError **err)
{
	struct idl_known *k = idl_known_new();
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	const char *cur = text, *end = text + len, *why = NULL;
	struct idl_known_peer p;
	unsigned line = 0;
	int r = 0;

	*out = NULL;
	if (len > IDL_KNOWN_FILE_MAX || (len > 0 && memchr(text, '\0', len) != NULL)) {
		r = idl_error_errno(err, -EINVAL, "it is over %d bytes or holds a NUL byte: it is not a known_peers file",
			      IDL_KNOWN_FILE_MAX);
		goto fail;
	}
	while (cur < end) {
		const char *nl = memchr(cur, '\n', (size_t)(end - cur));
		size_t n = (size_t)((nl ? nl : end) - cur);

		line++;
		if (n > 0 && cur[0] != '#') {
			r = parse_entry(cur, n, &p, &why);
			if (r == 0)
				r = add_parsed(k, seen, &p, &why);
			if (r < 0) {
				r = idl_error_errno(err, -EINVAL, "line %u: %s", line, why);
				goto fail;
			}
		}
		cur = nl ? nl + 1 : end;
	}
	*out = k;
	k = NULL;
fail:
	g_hash_table_unref(seen);
	idl_known_free(k);
	return r;
}

char *idl_known_format(const struct idl_known *k)
{
	GString *s = g_string_new(HEADER);
	char first[TIME_LEN + 1], last[TIME_LEN + 1];

	for (guint i = 0; i < k->peers->len; i++) {
		const struct idl_known_peer *p = &g_array_index(k->peers, struct idl_known_peer, i);

		idl_known_format_time(p->first_seen, first);
		idl_known_format_time(p->last_seen, last);
		g_string_append_printf(s, "%s %s %s %s %s %s\n", p->fingerprint, p->trusted ? "trusted" : "seen",
				       idl_known_source_name(p->source), first, last, p->name);
	}
	return g_string_free(s, FALSE);
}

/* ---- lookups and edits ---- */

guint idl_known_count(const struct idl_known *k)
{
	return k->peers->len;
}

const struct idl_known_peer *idl_known_get(const struct idl_known *k, guint i)
{
	g_return_val_if_fail(i < k->peers->len, NULL);
	return &g_array_index(k->peers, struct idl_known_peer, i);
}

#define PEER(k, i) (&g_array_index((k)->peers, struct idl_known_peer, (i)))

/* Only a verified name pins: a sender's claim never does, whoever sent it
 * (a trusted key claiming another device's name must not lock that device
 * out). `trust NAME` makes the one claim the user named verified. */
static bool is_pin(const struct idl_known_peer *p)
{
	return p->source == IDL_KNOWN_VERIFIED;
}

/* The entries under the key of name, pins first, each group in list
 * order. The pointers are borrowed until k changes; free the array. */
static GPtrArray *entries_of(const struct idl_known *k, const char *name)
{
	GPtrArray *out = g_ptr_array_new();
	guint pins = 0;
	char *key;

	if (name == NULL || !g_utf8_validate(name, -1, NULL))
		return out;
	key = idl_text_name_key(name);
	for (guint i = 0; i < k->peers->len; i++) {
		if (strcmp(key, k->keys->pdata[i]) != 0)
			continue;
		if (is_pin(PEER(k, i)))
			g_ptr_array_insert(out, (gint)pins++, PEER(k, i));
		else
			g_ptr_array_add(out, PEER(k, i));
	}
	g_free(key);
	return out;
}

const struct idl_known_peer *idl_known_find_name(const struct idl_known *k, const char *name)
{
	GPtrArray *hits = entries_of(k, name);
	const struct idl_known_peer *p = hits->len ? hits->pdata[0] : NULL;

	g_ptr_array_free(hits, TRUE);
	return p;
}

const struct idl_known_peer *idl_known_find(const struct idl_known *k, const char *name, const char *fp)
{
	char hex[IDL_FINGERPRINT_HEX_LEN + 1];
	const struct idl_known_peer *p = NULL;
	GPtrArray *hits;

	if (normalize_fp(fp, hex) < 0)
		return NULL;
	hits = entries_of(k, name);
	for (guint i = 0; p == NULL && i < hits->len; i++)
		if (strcmp(((struct idl_known_peer *)hits->pdata[i])->fingerprint, hex) == 0)
			p = hits->pdata[i];
	g_ptr_array_free(hits, TRUE);
	return p;
}

const struct idl_known_peer *idl_known_pin_conflict(const struct idl_known *k, const char *name, const char *fp)
{
	char hex[IDL_FINGERPRINT_HEX_LEN + 1];
	const struct idl_known_peer *pin = NULL;
	GPtrArray *hits = entries_of(k, name);
	bool match = false;

	if (normalize_fp(fp, hex) < 0)
		hex[0] = 0;
	for (guint i = 0; i < hits->len; i++) {
		const struct idl_known_peer *p = hits->pdata[i];

		if (!is_pin(p))
			continue;
		if (strcmp(p->fingerprint, hex) == 0)
			match = true;
		else if (pin == NULL)
			pin = p;
	}
	g_ptr_array_free(hits, TRUE);
	return match ? NULL : pin;
}

const struct idl_known_peer *idl_known_name_taken(const struct idl_known *k, const char *name, const char *fp)
{
	char hex[IDL_FINGERPRINT_HEX_LEN + 1];
	const struct idl_known_peer *p = NULL;
	GPtrArray *hits = entries_of(k, name);

	if (normalize_fp(fp, hex) < 0)
		hex[0] = 0;
	for (guint i = 0; p == NULL && i < hits->len; i++)
		if (strcmp(((struct idl_known_peer *)hits->pdata[i])->fingerprint, hex) != 0)
			p = hits->pdata[i];
	g_ptr_array_free(hits, TRUE);
	return p;
}

const struct idl_known_peer *idl_known_lookalike(const struct idl_known *k, const char *name)
{
	const struct idl_known_peer *hit = NULL;
	char *key, *skel;

	if (name == NULL || !g_utf8_validate(name, -1, NULL))
		return NULL;
	key = idl_text_name_key(name);
	skel = idl_text_skeleton(name);
	for (guint i = 0; i < k->peers->len && !(hit && is_pin(hit)); i++) {
		const struct idl_known_peer *p = PEER(k, i);
		char *pskel;

		if ((hit && !is_pin(p)) || strcmp(k->keys->pdata[i], key) == 0)
			continue;
		pskel = idl_text_skeleton(p->name);
		if (strcmp(pskel, skel) == 0)
			hit = p;
		g_free(pskel);
	}
	g_free(key);
	g_free(skel);
	return hit;
}

const struct idl_known_peer *idl_known_find_fingerprint(const struct idl_known *k, const char *fp)
{
	char hex[IDL_FINGERPRINT_HEX_LEN + 1];

	if (normalize_fp(fp, hex) < 0)
		return NULL;
	for (guint i = 0; i < k->peers->len; i++)
		if (strcmp(g_array_index(k->peers, struct idl_known_peer, i).fingerprint, hex) == 0)
			return &g_array_index(k->peers, struct idl_known_peer, i);
	return NULL;
}

bool idl_known_trusted(const struct idl_known *k, const char *fp)
{
	char hex[IDL_FINGERPRINT_HEX_LEN + 1];

	if (normalize_fp(fp, hex) < 0)
		return false;
	for (guint i = 0; i < k->peers->len; i++) {
		const struct idl_known_peer *p = &g_array_index(k->peers, struct idl_known_peer, i);
		if (p->trusted && strcmp(p->fingerprint, hex) == 0)
			return true;
	}
	return false;
}

void idl_known_judge(const struct idl_known *k, const char *name, const char *fp, struct idl_known_verdict *out)
{
	memset(out, 0, sizeof(*out));
	out->pin = idl_known_pin_conflict(k, name, fp);
	if (out->pin)
		return;
	out->trusted = idl_known_trusted(k, fp);
	out->same = idl_known_find(k, name, fp);
	out->by_key = out->same ? out->same : idl_known_find_fingerprint(k, fp);
	out->taken = out->same ? NULL : idl_known_name_taken(k, name, fp);
	out->lookalike = out->same ? NULL : idl_known_lookalike(k, name);
}

bool idl_known_peer_matches(const struct idl_known_peer *p, const char *key)
{
	char hex[IDL_FINGERPRINT_HEX_LEN + 1];
	char *a, *b;
	bool same;

	if (key == NULL)
		return false;
	if (normalize_fp(key, hex) == 0)
		return strcmp(p->fingerprint, hex) == 0;
	if (!g_utf8_validate(key, -1, NULL))
		return false;
	a = idl_text_name_key(p->name);
	b = idl_text_name_key(key);
	same = strcmp(a, b) == 0;
	g_free(a);
	g_free(b);
	return same;
}

/* Makes room for one entry of source: drops the claim seen least recently
 * (a trusted key's claims too: they pin nothing) when claims or the whole
 * list are at their bound. Returns 0, or -ENOSPC when the list is full of
 * pins. */
static int make_room(struct idl_known *k, enum idl_known_source source)
{
	guint claims = 0, oldest = G_MAXUINT;

	for (guint i = 0; i < k->peers->len; i++) {
		const struct idl_known_peer *p = PEER(k, i);

		if (is_pin(p))
			continue;
		claims++;
		if (oldest == G_MAXUINT || p->last_seen < PEER(k, oldest)->last_seen)
			oldest = i;
	}
	if (k->peers->len < IDL_KNOWN_PEERS_MAX && (source != IDL_KNOWN_CLAIMED || claims < IDL_KNOWN_CLAIMS_MAX))
		return 0;
	if (oldest == G_MAXUINT)
		return -ENOSPC;
	remove_at(k, oldest);
	return 0;
}

int idl_known_record(struct idl_known *k, const char *name, const char *fp, enum idl_known_source source,
		     gint64 now)
{
	struct idl_known_peer p = { .first_seen = now, .last_seen = now, .source = source };
	struct idl_known_peer *old;
	GPtrArray *hits;

	if (normalize_fp(fp, p.fingerprint) < 0 || name == NULL || !idl_name_valid(name, strlen(name)) ||
	    (source != IDL_KNOWN_VERIFIED && source != IDL_KNOWN_CLAIMED))
		return -EINVAL;
	if (source == IDL_KNOWN_VERIFIED && idl_known_pin_conflict(k, name, fp) != NULL)
		return -EEXIST;
	/* Moves the last-seen time of this key's entry of that source. */
	hits = entries_of(k, name);
	old = NULL;
	for (guint i = 0; old == NULL && i < hits->len; i++) {
		struct idl_known_peer *h = hits->pdata[i];
		if (h->source == source && strcmp(h->fingerprint, p.fingerprint) == 0)
			old = h;
	}
	g_ptr_array_free(hits, TRUE);
	if (old != NULL) {
		old->last_seen = MAX(old->last_seen, now);
		return 0;
	}
	if (make_room(k, source) < 0)
		return -ENOSPC;
	g_strlcpy(p.name, name, sizeof(p.name));
	/* Trust is the fingerprint's: a new name for it inherits it. */
	p.trusted = idl_known_trusted(k, p.fingerprint);
	append(k, &p);
	return 1;
}

int idl_known_trust(struct idl_known *k, const char *key)
{
	struct idl_known_peer *hit = NULL, *named = NULL;
	char fp[IDL_FINGERPRINT_HEX_LEN + 1];
	bool by_name = normalize_fp(key, fp) < 0;
	int n = 0;

	for (guint i = 0; i < k->peers->len; i++) {
		struct idl_known_peer *p = PEER(k, i);

		if (!idl_known_peer_matches(p, key))
			continue;
		/* A name several keys claimed: which one is meant? */
		if (hit != NULL && strcmp(hit->fingerprint, p->fingerprint) != 0)
			return -ENOTUNIQ;
		hit = p;
		/* The entry the user vouched for: its verified one if it has one. */
		if (named == NULL || (named->source != IDL_KNOWN_VERIFIED && p->source == IDL_KNOWN_VERIFIED))
			named = p;
	}
	if (hit == NULL)
		return -ENOENT;
	/* By name, the user vouches for this key under this name: a pin. By
	 * fingerprint, for the key only: the names it claimed stay claims. */
	if (by_name)
		named->source = IDL_KNOWN_VERIFIED;
	memcpy(fp, hit->fingerprint, sizeof(fp));
	for (guint i = 0; i < k->peers->len; i++) {
		struct idl_known_peer *p = PEER(k, i);

		if (strcmp(p->fingerprint, fp) == 0) {
			p->trusted = true;
			n++;
		}
	}
	return n;
}

int idl_known_forget(struct idl_known *k, const char *key)
{
	int n = 0;

	for (guint i = k->peers->len; i-- > 0;) {
		if (idl_known_peer_matches(&g_array_index(k->peers, struct idl_known_peer, i), key)) {
			remove_at(k, i);
			n++;
		}
	}
	return n > 0 ? n : -ENOENT;
}

/* ---- the file ---- */

char *idl_known_path(const char *dir)
{
	return g_build_filename(dir, IDL_KNOWN_FILE, NULL);
}

/* Whoever can write known_peers can unpin any peer or trust their own key:
 * only we may. */
static int check_file(const char *path, const struct stat *st, GError **err)
{
	int r;

	if (!S_ISREG(st->st_mode))
		return idl_error_errno(err, -EINVAL, "%s is not a regular file: move it away (this forgets every known peer)",
				 path);
	r = idl_keyfile_check_owner(path, st, err);
	if (r < 0)
		return r;
	if (st->st_mode & 022)
		return idl_error_errno(err, -EACCES,
				 "%s can be changed by other users (mode %04o), who could then unpin or trust any peer: "
				 "check it, then run chmod 600 %s",
				 path, (unsigned)(st->st_mode & 07777), path);
	if (st->st_size > IDL_KNOWN_FILE_MAX)
		return idl_error_errno(err, -EFBIG, "%s is larger than %d bytes: it is not a known_peers file; move it away",
				 path, IDL_KNOWN_FILE_MAX);
	return 0;
}

/* Reads path whole after check_file. -ENOENT (no *err) when missing. */
static int read_checked(const char *path, char **text, size_t *len, GError **err)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, r, e;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	if (fd < 0) {
		e = errno;
		if (e == ENOENT)
			return -ENOENT;
		if (e == ELOOP)
			return idl_error_errno(err, -e, "%s is a symbolic link: idrop-lan only reads a regular file there; "
					 "replace the link with the file", path);
		return idl_error_errno(err, -e, "cannot open %s: %s; check its permissions", path, g_strerror(e));
	}
	if (fstat(fd, &st) < 0) {
		e = errno;
		r = idl_error_errno(err, -e, "cannot check %s: %s", path, g_strerror(e));
		goto fail;
	}
	r = check_file(path, &st, err);
	if (r < 0)
		goto fail;
	buf = g_malloc((size_t)st.st_size + 1);
	r = idl_read_fd(fd, path, buf, (size_t)st.st_size, -1, &got, err);
	if (r < 0)
		goto fail;
	close(fd);
	*text = buf;
	*len = got;
	return 0;
fail:
	g_free(buf);
	close(fd);
	return r;
}

int idl_known_load(const char *dir, struct idl_known **out, GError **err)
{
	char *path = idl_known_path(dir), *text = NULL;
	GError *perr = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	r = read_checked(path, &text, &len, err);
	if (r == -ENOENT) {
		*out = idl_known_new();
		r = 0;
	} else if (r == 0 && idl_known_parse(text, len, out, &perr) < 0) {
		r = idl_error_errno(err, -EINVAL, "%s, %s: fix or delete that line (deleting it forgets that peer)", path,
			      perr->message);
		g_error_free(perr);
	}
	g_free(text);
	g_free(path);
	return r;
}

/* GLib's durable replace (a temporary file, fsync, rename) and an fsync of
 * the directory: after a crash the file is the old one or the new one,
 * never a mix, and the rename itself is on disk. */
static int save(const char *dir, const struct idl_known *k, GError **err)
{
	char *path = idl_known_path(dir), *text = idl_known_format(k);
	GError *e = NULL;
	int r = 0;

	if (!g_file_set_contents_full(path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
				      0600, &e)) {
		r = idl_error_errno(err, -EIO, "%s; check the free space and permissions of %s", e->message, dir);
		g_error_free(e);
	} else if ((r = idl_sync_dir(dir)) < 0) {
		idl_error_errno(err, r, "cannot flush %s to disk: %s", dir, g_strerror(-r));
	}
	g_free(path);
	g_free(text);
	return r;
}

/* An exclusive flock on dir/known_peers.lock, waited for a bounded time so
 * a stuck process cannot hang a serve that wants to record. The lock file
 * stays: removing it would let two writers lock two different files. */
static int lock_dir(const char *dir, int *out, GError **err)
{
	char *path = g_build_filename(dir, LOCK_NAME, NULL);
	gint64 end = g_get_monotonic_time() + (gint64)LOCK_WAIT_MS * 1000;
	int fd, r = 0;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0) {
		r = -errno;
		idl_error_errno(err, r, "cannot open %s: %s; check the permissions of %s", path, g_strerror(-r), dir);
		goto fail;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			r = -errno;
			idl_error_errno(err, r, "cannot lock %s: %s", path, g_strerror(-r));
			break;
		}
		if (g_get_monotonic_time() >= end) {
			r = idl_error_errno(err, -ETIMEDOUT,
				      "%s stayed locked for %d s: another idrop-lan is changing the known peers; "
				      "try again, or look for a stuck idrop-lan process",
				      path, LOCK_WAIT_MS / 1000);
			break;
		}
		g_usleep(10 * 1000);
	}
	if (r < 0) {
		close(fd);
		fd = -1;
	}
	*out = fd;
fail:
	g_free(path);
	return r;
}

int idl_known_update(const char *dir, idl_known_edit_fn edit, void *user, GError **err)
{
	struct idl_known *k = NULL;
	int lock = -1, r;

	if (g_mkdir_with_parents(dir, 0700) < 0) {
		r = -errno;
		return idl_error_errno(err, r, "cannot create the state directory %s: %s; check the permissions of its parent",
				 dir, g_strerror(-r));
	}
	r = lock_dir(dir, &lock, err);
	if (r < 0)
		goto fail;
	r = idl_known_load(dir, &k, err);
	if (r < 0)
		goto fail;
	r = edit(k, user, err);
	if (r > 0) {
		int s = save(dir, k, err);
		if (s < 0)
			r = s;
	}
fail:
	if (lock >= 0)
		close(lock);   /* releases the flock */
	idl_known_free(k);
	return r;
}

struct remember {
	const char *name, *fp;
	enum idl_known_source source;
	int result;
};

static int remember_edit(struct idl_known *k, void *user, GError **err)
{
	struct remember *m = user;
	const struct idl_known_peer *old;
	char *quoted;
	int r;

	m->result = idl_known_record(k, m->name, m->fp, m->source, g_get_real_time() / G_USEC_PER_SEC);
	if (m->result >= 0)
		return 1;
	/* The name may be a peer's: quoted so that it cannot end early. */
	quoted = idl_text_quote(m->name, strlen(m->name));
	switch (m->result) {
	case -EEXIST:
		old = idl_known_pin_conflict(k, m->name, m->fp);
		r = idl_error_errno(err, -EEXIST, "%s is known with another fingerprint (%s), not %s", quoted,
			      old ? old->fingerprint : "?", m->fp);
		break;
	case -ENOSPC:
		r = idl_error_errno(err, -ENOSPC, "the list of known peers holds %d pinned peers, and no claimed name to "
			      "make room: forget some with `idrop-lan forget`", IDL_KNOWN_PEERS_MAX);
		break;
	default:
		r = idl_error_errno(err, -EINVAL, "%s cannot be remembered: not a usable name (1 to 63 bytes, no control "
			      "or hidden characters) or fingerprint", quoted);
		break;
	}
	g_free(quoted);
	return r;
}

int idl_known_remember(const char *dir, const char *name, const char *fp, enum idl_known_source source,
		       GError **err)
{
	struct remember m = { name, fp, source, 0 };
	int r = idl_known_update(dir, remember_edit, &m, err);

	return r < 0 ? r : m.result;
}
