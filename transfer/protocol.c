/* protocol: decode and encode the transfer protocol's control messages (see
 * protocol.h and docs/PROTOCOL.md). json_strict.c turns the text into a
 * JsonNode; this file checks each member's JSON type, then the protocol's
 * rules (check_msg(), which encode applies too, so both agree); the rules
 * of an offer's paths are transfer/path.c. */
#include "transfer/protocol.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "transfer/path.h"
#include "base/json_strict.h"
#include "base/error.h"
#include "base/text.h"

static const char *const type_names[] = {
	[IDL_MSG_HELLO] = "hello", [IDL_MSG_OFFER] = "offer", [IDL_MSG_ACCEPT] = "accept",
	[IDL_MSG_DECLINE] = "decline", [IDL_MSG_FILE] = "file", [IDL_MSG_FILE_END] = "file-end",
	[IDL_MSG_FILE_OK] = "file-ok", [IDL_MSG_FILE_ERROR] = "file-error", [IDL_MSG_DONE] = "done",
	[IDL_MSG_RECEIPT] = "receipt", [IDL_MSG_CANCEL] = "cancel", [IDL_MSG_SAS] = "sas",
	[IDL_MSG_RUN] = "run", [IDL_MSG_FILES_OK] = "files-ok",
};
static const char *const kind_names[] = { [IDL_PEER_DEVICE] = "device", [IDL_PEER_BROWSER] = "browser" };
static const char *const status_names[] = {
	[IDL_FILE_VERIFIED] = "verified", [IDL_FILE_FAILED] = "failed", [IDL_FILE_SKIPPED] = "skipped",
};

const char *idl_msg_type_name(enum idl_msg_type type)
{
	return (unsigned)type < G_N_ELEMENTS(type_names) ? type_names[type] : NULL;
}

static int lookup(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (names[i] && strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}



/* ---- Strings ---------------------------------------------------------- */

/* The path rules (transfer/path.c) test control characters the same way. */
static int check_text(const char *where, const char *what, const char *s, size_t min, size_t max, GError **err)
{
	size_t len = s ? strlen(s) : 0;

	if (len < min)
		return idl_error_errno(err, -EINVAL, "%s %s is empty", where, what);
	if (len > max)
		return idl_error_errno(err, -EINVAL, "%s %s is %zu bytes long, over the limit of %zu", where, what, len, max);
	if (s && !g_utf8_validate(s, (gssize)len, NULL))
		return idl_error_errno(err, -EINVAL, "%s %s is not valid UTF-8", where, what);
	if (s && idl_text_has_control(s, strlen(s)))
		return idl_error_errno(err, -EINVAL, "%s %s contains a control character", where, what);
	return 0;
}

static gboolean is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_isxdigit(s[i]))
			return FALSE;
	return s[n] == 0;
}

/* ---- Semantic rules, shared by decode and encode ---------------------- */

/* The folders an offer's paths make: each costs an inode and a block on
 * the receiver's disk, and nests without bound where files do not. */
static int check_folders(const struct idl_msg *m, GError **err)
{
	GHashTable *folders = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	guint n = 0;

	for (size_t i = 0; i < m->n_files; i++)
		n += idl_path_folders_add(folders, m->files[i].path);
	g_hash_table_destroy(folders);
	if (n > IDL_OFFER_FOLDERS_MAX)
		return idl_error_errno(err, -EINVAL, "offer names %u folders, over the limit of %d: a sender splits more "
			    "into several offers", n, IDL_OFFER_FOLDERS_MAX);
	return 0;
}

static int check_file_entries(const struct idl_msg *m, const char *where, guint8 *seen, GError **err)
{
	int r;

	if (m->n_files > IDL_MSG_FILES_MAX)
		return idl_error_errno(err, -EINVAL, "%s names %zu files, over the limit of %d", where, m->n_files, IDL_MSG_FILES_MAX);
	if (m->n_files && !m->files)
		return idl_error_errno(err, -EINVAL, "%s has no files array", where);
	if (m->type == IDL_MSG_OFFER && m->n_files == 0)
		return idl_error_errno(err, -EINVAL, "offer names no files");
	for (size_t i = 0; i < m->n_files; i++) {
		const struct idl_msg_file *f = &m->files[i];
		GError *e = NULL;

		if (f->id >= IDL_MSG_FILES_MAX)
			return idl_error_errno(err, -EINVAL, "%s files[%zu].id %u is out of range: ids are indexes in an "
				    "offer of at most %d files", where, i, f->id, IDL_MSG_FILES_MAX);
		/* A part of an offer (version 2, "more") starts where the one
		 * before ended: ids follow each other from files[0].id. */
		if (m->type == IDL_MSG_OFFER && f->id != m->files[0].id + i)
			return idl_error_errno(err, -EINVAL, "offer files[%zu].id is %u: an id is the file's index in the offer",
				    i, f->id);
		if (seen[f->id / 8] & (1u << (f->id % 8)))
			return idl_error_errno(err, -EINVAL, "%s names file id %u twice", where, f->id);
		seen[f->id / 8] |= (guint8)(1u << (f->id % 8));
		switch (m->type) {
		case IDL_MSG_OFFER:
			if (idl_path_check(f->path, &e) < 0) {
				r = idl_error_errno(err, -EINVAL, "offer files[%zu]: %s", i, e->message);
				g_error_free(e);
				return r;
			}
			if (f->size > IDL_MSG_INT_MAX || f->mtime > IDL_MSG_INT_MAX)
				return idl_error_errno(err, -EINVAL, "offer files[%zu] size or mtime is above 2^53-1", i);
			break;
		case IDL_MSG_ACCEPT:
			if (f->offset > IDL_MSG_INT_MAX)
				return idl_error_errno(err, -EINVAL, "accept files[%zu].offset is above 2^53-1", i);
			break;
		default:
			if ((unsigned)f->status >= G_N_ELEMENTS(status_names) || !status_names[f->status])
				return idl_error_errno(err, -EINVAL, "receipt files[%zu].status is not verified, failed or skipped", i);
			break;
		}
	}
	return 0;
}

static int check_files(const struct idl_msg *m, const char *where, GError **err)
{
	guint8 seen[(IDL_MSG_FILES_MAX + 7) / 8] = { 0 };
	int r;

	r = check_file_entries(m, where, seen, err);
	if (r < 0)
		return r;
	return m->type == IDL_MSG_OFFER ? check_folders(m, err) : 0;
}

/* run and files-ok: ids strictly increasing (files go in offer order, and
 * a repeat can never be right), a bounded count; a run's sizes are bounded
 * one by one before they are added, so their sum cannot overflow. */
static int check_run(const struct idl_msg *m, const char *where, GError **err)
{
	size_t max = m->type == IDL_MSG_RUN ? IDL_RUN_FILES_MAX : IDL_FILES_OK_MAX;
	uint64_t bytes = 0;

	if (m->n_files == 0 || !m->files)
		return idl_error_errno(err, -EINVAL, "%s names no files", where);
	if (m->n_files > max)
		return idl_error_errno(err, -EINVAL, "%s names %zu files, over the limit of %zu", where, m->n_files, max);
	for (size_t i = 0; i < m->n_files; i++) {
		const struct idl_msg_file *f = &m->files[i];

		if (f->id >= IDL_MSG_FILES_MAX)
			return idl_error_errno(err, -EINVAL, "%s id %u is out of range: ids are indexes in an offer of at "
				    "most %d files", where, f->id, IDL_MSG_FILES_MAX);
		if (i && f->id <= m->files[i - 1].id)
			return idl_error_errno(err, -EINVAL, "%s ids are not in increasing order (%u after %u)", where,
				    f->id, m->files[i - 1].id);
		if (m->type != IDL_MSG_RUN)
			continue;
		if (f->size > IDL_RUN_FILE_MAX)
			return idl_error_errno(err, -EINVAL, "run file %u is %" G_GUINT64_FORMAT " bytes, over the limit of "
				    "%d for a file in a run", f->id, f->size, IDL_RUN_FILE_MAX);
		bytes += f->size;
		if (bytes > IDL_RUN_BYTES_MAX)
			return idl_error_errno(err, -EINVAL, "run holds more than %d bytes", IDL_RUN_BYTES_MAX);
	}
	return 0;
}

static int check_msg(const struct idl_msg *m, GError **err)
{
	const char *where = idl_msg_type_name(m->type);
	int r = 0;

	if (!where)
		return idl_error_errno(err, -EINVAL, "message type %d does not exist", (int)m->type);
	switch (m->type) {
	case IDL_MSG_HELLO:
		if (m->version < 1 || m->version > IDL_MSG_INT_MAX)
			return idl_error_errno(err, -EINVAL, "hello version %" G_GUINT64_FORMAT " is not a version number", m->version);
		if ((r = check_text(where, "name", m->name, 1, IDL_MSG_NAME_MAX, err)) < 0)
			return r;
		if (m->kind != IDL_PEER_DEVICE && m->kind != IDL_PEER_BROWSER)
			return idl_error_errno(err, -EINVAL, "hello kind is not device or browser");
		return 0;
	case IDL_MSG_OFFER:
	case IDL_MSG_ACCEPT:
	case IDL_MSG_DECLINE:
	case IDL_MSG_RECEIPT:
		if (!is_hex(m->transfer, IDL_TRANSFER_ID_HEX_LEN))
			return idl_error_errno(err, -EINVAL, "%s transfer is not %d hex digits", where, IDL_TRANSFER_ID_HEX_LEN);
		if (m->type == IDL_MSG_DECLINE)
			return check_text(where, "reason", m->reason, 0, IDL_MSG_REASON_MAX, err);
		return check_files(m, where, err);
	case IDL_MSG_FILE:
	case IDL_MSG_FILE_END:
	case IDL_MSG_FILE_OK:
	case IDL_MSG_FILE_ERROR:
		if (m->id >= IDL_MSG_FILES_MAX)
			return idl_error_errno(err, -EINVAL, "%s id %u is out of range: ids are indexes in an offer of at most %d files",
				    where, m->id, IDL_MSG_FILES_MAX);
		if (m->type == IDL_MSG_FILE && m->offset > IDL_MSG_INT_MAX)
			return idl_error_errno(err, -EINVAL, "file offset is above 2^53-1");
		if (m->type == IDL_MSG_FILE_ERROR)
			return check_text(where, "reason", m->reason, 0, IDL_MSG_REASON_MAX, err);
		return 0;
	case IDL_MSG_CANCEL:
		return check_text(where, "reason", m->reason, 0, IDL_MSG_REASON_MAX, err);
	case IDL_MSG_RUN:
	case IDL_MSG_FILES_OK:
		return check_run(m, where, err);
	case IDL_MSG_DONE:
	case IDL_MSG_SAS:
		return 0;
	}
	return 0;
}

/* ---- Members ----------------------------------------------------------- */

static const char *node_kind(JsonNode *n)
{
	switch (json_node_get_node_type(n)) {
	case JSON_NODE_OBJECT:
		return "an object";
	case JSON_NODE_ARRAY:
		return "an array";
	case JSON_NODE_NULL:
		return "null";
	case JSON_NODE_VALUE:
		break;
	}
	switch (json_node_get_value_type(n)) {
	case G_TYPE_STRING:
		return "a string";
	case G_TYPE_BOOLEAN:
		return "a boolean";
	default:
		return "a number";
	}
}

static JsonNode *member(JsonObject *o, const char *where, const char *name, GError **err)
{
	JsonNode *n = json_object_get_member(o, name);

	if (!n)
		idl_error_errno(err, -EINVAL, "%s has no \"%s\" member", where, name);
	return n;
}

static int get_uint(JsonObject *o, const char *where, const char *name, guint64 *out, GError **err)
{
	JsonNode *n = member(o, where, name, err);
	gint64 v;

	if (!n)
		return -EINVAL;
	if (!JSON_NODE_HOLDS_VALUE(n) || (json_node_get_value_type(n) != G_TYPE_INT64 &&
					  json_node_get_value_type(n) != G_TYPE_DOUBLE))
		return idl_error_errno(err, -EINVAL, "%s.%s must be a number, not %s", where, name, node_kind(n));
	if (json_node_get_value_type(n) == G_TYPE_DOUBLE)
		return idl_error_errno(err, -EINVAL, "%s.%s must be an integer, written without fraction or exponent", where, name);
	v = json_node_get_int(n);
	if (v < 0)
		return idl_error_errno(err, -EINVAL, "%s.%s is negative", where, name);
	if ((guint64)v > IDL_MSG_INT_MAX)
		return idl_error_errno(err, -EINVAL, "%s.%s is above 2^53-1", where, name);
	*out = (guint64)v;
	return 0;
}

/* Ids are checked against IDL_MSG_FILES_MAX by check_msg(); this only keeps
 * the value from being truncated into uint32_t. */
static int get_id(JsonObject *o, const char *where, guint32 *out, GError **err)
{
	guint64 v;
	int r = get_uint(o, where, "id", &v, err);

	if (r < 0)
		return r;
	if (v >= IDL_MSG_FILES_MAX)
		return idl_error_errno(err, -EINVAL, "%s.id %" G_GUINT64_FORMAT " is out of range: ids are indexes in an "
			    "offer of at most %d files", where, v, IDL_MSG_FILES_MAX);
	*out = (guint32)v;
	return 0;
}

static const char *get_str(JsonObject *o, const char *where, const char *name, GError **err)
{
	JsonNode *n = member(o, where, name, err);

	if (!n)
		return NULL;
	if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING) {
		idl_error_errno(err, -EINVAL, "%s.%s must be a string, not %s", where, name, node_kind(n));
		return NULL;
	}
	return json_node_get_string(n);
}

static int get_enum(JsonObject *o, const char *where, const char *name, const char *const *names,
		    size_t n_names, int *out, GError **err)
{
	const char *s = get_str(o, where, name, err);

	if (!s)
		return -EINVAL;
	*out = lookup(names, n_names, s);
	if (*out < 0) {
		GString *known = g_string_new(NULL);
		int r;
		for (size_t i = 0; i < n_names; i++)
			if (names[i])
				g_string_append_printf(known, "%s%s", known->len ? ", " : "", names[i]);
		r = idl_error_errno(err, -EINVAL, "%s.%s is not one of: %s", where, name, known->str);
		g_string_free(known, TRUE);
		return r;
	}
	return 0;
}

static int get_hex(JsonObject *o, const char *where, const char *name, size_t digits, char *out, GError **err)
{
	const char *s = get_str(o, where, name, err);

	if (!s)
		return -EINVAL;
	if (strlen(s) != digits || !is_hex(s, digits))
		return idl_error_errno(err, -EINVAL, "%s.%s is not %zu hex digits", where, name, digits);
	for (size_t i = 0; i <= digits; i++)
		out[i] = g_ascii_tolower(s[i]);
	return 0;
}

/* A SHA-256-sized value written as 64 hex digits, into raw bytes. */
static int get_raw32(JsonObject *o, const char *where, const char *name, uint8_t out[IDL_SHA256_SIZE],
		     GError **err)
{
	char hex[2 * IDL_SHA256_SIZE + 1];
	int r;

	if ((r = get_hex(o, where, name, 2 * IDL_SHA256_SIZE, hex, err)) < 0)
		return r;
	for (size_t i = 0; i < IDL_SHA256_SIZE; i++)
		out[i] = (uint8_t)(g_ascii_xdigit_value(hex[2 * i]) << 4 | g_ascii_xdigit_value(hex[2 * i + 1]));
	return 0;
}

/* The same, for a member that may be absent. */
static int get_raw32_opt(JsonObject *o, const char *where, const char *name, bool *has,
			 uint8_t out[IDL_SHA256_SIZE], GError **err)
{
	*has = json_object_has_member(o, name);
	return *has ? get_raw32(o, where, name, out, err) : 0;
}

/* A boolean member that may be absent (false then). */
static int get_bool_opt(JsonObject *o, const char *where, const char *name, bool *out, GError **err)
{
	JsonNode *n = json_object_get_member(o, name);

	*out = false;
	if (!n)
		return 0;
	if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_BOOLEAN)
		return idl_error_errno(err, -EINVAL, "%s.%s must be true or false, not %s", where, name, node_kind(n));
	*out = json_node_get_boolean(n);
	return 0;
}

static int get_files(JsonObject *o, struct idl_msg *m, GError **err)
{
	const char *where = idl_msg_type_name(m->type);
	JsonNode *n = member(o, where, "files", err);
	JsonArray *a;
	guint len;

	if (!n)
		return -EINVAL;
	if (!JSON_NODE_HOLDS_ARRAY(n))
		return idl_error_errno(err, -EINVAL, "%s.files must be an array, not %s", where, node_kind(n));
	a = json_node_get_array(n);
	len = json_array_get_length(a);
	if (len > IDL_MSG_FILES_MAX)
		return idl_error_errno(err, -EINVAL, "%s names %u files, over the limit of %d", where, len, IDL_MSG_FILES_MAX);
	m->files = g_new0(struct idl_msg_file, MAX(len, 1));
	for (guint i = 0; i < len; i++) {
		JsonNode *e = json_array_get_element(a, i);
		struct idl_msg_file *f = &m->files[i];
		char at[48];
		const char *path;
		int r, st;
		JsonObject *fo;

		g_snprintf(at, sizeof(at), "%s files[%u]", where, i);
		if (!JSON_NODE_HOLDS_OBJECT(e))
			return idl_error_errno(err, -EINVAL, "%s must be an object, not %s", at, node_kind(e));
		fo = json_node_get_object(e);
		m->n_files = i + 1;
		if ((r = get_id(fo, at, &f->id, err)) < 0)
			return r;
		switch (m->type) {
		case IDL_MSG_OFFER:
			if (!(path = get_str(fo, at, "path", err)))
				return -EINVAL;
			f->path = g_strdup(path);
			if ((r = get_uint(fo, at, "size", &f->size, err)) < 0 ||
			    (r = get_uint(fo, at, "mtime", &f->mtime, err)) < 0)
				return r;
			break;
		case IDL_MSG_ACCEPT:
			if ((r = get_uint(fo, at, "offset", &f->offset, err)) < 0)
				return r;
			break;
		default:
			if ((r = get_enum(fo, at, "status", status_names, G_N_ELEMENTS(status_names), &st, err)) < 0)
				return r;
			f->status = (enum idl_file_status)st;
			break;
		}
	}
	return 0;
}

/* The array of a run or files-ok, bounded before m->files is allocated
 * for its entries. NULL on failure. */
static JsonArray *get_array(JsonObject *o, struct idl_msg *m, const char *name, guint max, GError **err)
{
	const char *where = idl_msg_type_name(m->type);
	JsonNode *n = member(o, where, name, err);
	JsonArray *a;

	if (!n)
		return NULL;
	if (!JSON_NODE_HOLDS_ARRAY(n)) {
		idl_error_errno(err, -EINVAL, "%s.%s must be an array, not %s", where, name, node_kind(n));
		return NULL;
	}
	a = json_node_get_array(n);
	if (json_array_get_length(a) > max) {
		idl_error_errno(err, -EINVAL, "%s names %u files, over the limit of %u", where, json_array_get_length(a), max);
		return NULL;
	}
	m->files = g_new0(struct idl_msg_file, MAX(json_array_get_length(a), 1));
	return a;
}

/* One entry of run.files: {id, size, sha256}. */
static int get_run_file(JsonNode *e, guint i, struct idl_msg_file *f, GError **err)
{
	char at[32];
	int r;

	g_snprintf(at, sizeof(at), "run files[%u]", i);
	if (!JSON_NODE_HOLDS_OBJECT(e))
		return idl_error_errno(err, -EINVAL, "%s must be an object, not %s", at, node_kind(e));
	if ((r = get_id(json_node_get_object(e), at, &f->id, err)) < 0 ||
	    (r = get_uint(json_node_get_object(e), at, "size", &f->size, err)) < 0)
		return r;
	return get_raw32(json_node_get_object(e), at, "sha256", f->sha256, err);
}

/* One entry of files-ok.ids: a bare id. */
static int get_ok_id(JsonNode *e, guint i, struct idl_msg_file *f, GError **err)
{
	gint64 v;

	if (!JSON_NODE_HOLDS_VALUE(e) || json_node_get_value_type(e) != G_TYPE_INT64)
		return idl_error_errno(err, -EINVAL, "files-ok ids[%u] must be an integer, not %s", i, node_kind(e));
	v = json_node_get_int(e);
	if (v < 0 || v >= IDL_MSG_FILES_MAX)
		return idl_error_errno(err, -EINVAL, "files-ok ids[%u] is out of range: ids are indexes in an offer "
			    "of at most %d files", i, IDL_MSG_FILES_MAX);
	f->id = (uint32_t)v;
	return 0;
}

/* run.files or files-ok.ids, into m->files. */
static int get_entries(JsonObject *o, struct idl_msg *m, GError **err)
{
	bool run = m->type == IDL_MSG_RUN;
	JsonArray *a = get_array(o, m, run ? "files" : "ids", run ? IDL_RUN_FILES_MAX : IDL_FILES_OK_MAX, err);

	if (!a)
		return -EINVAL;
	for (guint i = 0; i < json_array_get_length(a); i++) {
		JsonNode *e = json_array_get_element(a, i);
		int r = run ? get_run_file(e, i, &m->files[i], err) : get_ok_id(e, i, &m->files[i], err);

		if (r < 0)
			return r;
		m->n_files = i + 1;
	}
	return 0;
}

static int get_reason(JsonObject *o, struct idl_msg *m, GError **err)
{
	const char *s = get_str(o, idl_msg_type_name(m->type), "reason", err);

	if (!s)
		return -EINVAL;
	m->reason = g_strdup(s);
	return 0;
}

static int decode_members(JsonObject *o, struct idl_msg *m, GError **err)
{
	const char *where = idl_msg_type_name(m->type), *s;
	guint64 v;
	int r = 0, k;

	switch (m->type) {
	case IDL_MSG_HELLO:
		if ((r = get_uint(o, where, "version", &m->version, err)) < 0)
			return r;
		if (!(s = get_str(o, where, "name", err)))
			return -EINVAL;
		if ((r = check_text(where, "name", s, 1, IDL_MSG_NAME_MAX, err)) < 0)
			return r;
		g_strlcpy(m->name, s, sizeof(m->name));
		if ((r = get_enum(o, where, "kind", kind_names, G_N_ELEMENTS(kind_names), &k, err)) < 0)
			return r;
		m->kind = (enum idl_peer_kind)k;
		if ((r = get_raw32_opt(o, where, "sas_commit", &m->has_sas_commit, m->sas_commit, err)) < 0)
			return r;
		return get_raw32_opt(o, where, "sas_nonce", &m->has_sas_nonce, m->sas_nonce, err);
	case IDL_MSG_SAS:
		m->has_sas_nonce = true;
		return get_raw32(o, where, "nonce", m->sas_nonce, err);
	case IDL_MSG_OFFER:
	case IDL_MSG_ACCEPT:
	case IDL_MSG_RECEIPT:
		if ((r = get_hex(o, where, "transfer", IDL_TRANSFER_ID_HEX_LEN, m->transfer, err)) < 0)
			return r;
		if ((r = get_bool_opt(o, where, "more", &m->more, err)) < 0)
			return r;
		return get_files(o, m, err);
	case IDL_MSG_DECLINE:
		if ((r = get_hex(o, where, "transfer", IDL_TRANSFER_ID_HEX_LEN, m->transfer, err)) < 0)
			return r;
		return get_reason(o, m, err);
	case IDL_MSG_FILE:
		if ((r = get_id(o, where, &m->id, err)) < 0 || (r = get_uint(o, where, "offset", &v, err)) < 0)
			return r;
		m->offset = v;
		return 0;
	case IDL_MSG_FILE_END:
		if ((r = get_id(o, where, &m->id, err)) < 0)
			return r;
		return get_raw32(o, where, "sha256", m->sha256, err);
	case IDL_MSG_FILE_OK:
		return get_id(o, where, &m->id, err);
	case IDL_MSG_FILE_ERROR:
		if ((r = get_id(o, where, &m->id, err)) < 0)
			return r;
		return get_reason(o, m, err);
	case IDL_MSG_CANCEL:
		return get_reason(o, m, err);
	case IDL_MSG_RUN:
	case IDL_MSG_FILES_OK:
		return get_entries(o, m, err);
	case IDL_MSG_DONE:
		return 0;
	}
	return 0;
}

int idl_msg_decode(const char *text, size_t len, struct idl_msg *out, GError **err)
{
	JsonObject *o;
	JsonNode *root, *tn;
	const char *type;
	int r, t;

	memset(out, 0, sizeof(*out));
	if (len > IDL_MSG_MAX)
		return idl_error_errno(err, -EINVAL, "message is %zu bytes long, over the limit of %d", len, IDL_MSG_MAX);
	root = idl_json_parse_strict(text, len, err);
	if (!root)
		return -EINVAL;
	if (!JSON_NODE_HOLDS_OBJECT(root)) {
		r = idl_error_errno(err, -EINVAL, "message is %s, not a JSON object", node_kind(root));
		goto out;
	}
	o = json_node_get_object(root);
	tn = json_object_get_member(o, "type");
	if (!tn) {
		r = idl_error_errno(err, -EINVAL, "message has no \"type\" member");
		goto out;
	}
	if (!JSON_NODE_HOLDS_VALUE(tn) || json_node_get_value_type(tn) != G_TYPE_STRING) {
		r = idl_error_errno(err, -EINVAL, "message type must be a string, not %s", node_kind(tn));
		goto out;
	}
	type = json_node_get_string(tn);
	t = lookup(type_names, G_N_ELEMENTS(type_names), type);
	if (t < 0) {
		/* Escaped and cut short: the peer's text goes into a log line. */
		char *shown = g_strescape(type, NULL);
		r = idl_error_errno(err, -EPROTONOSUPPORT, "message type \"%.40s\" is not one of protocol version 2 "
			 "(answer: cancel, reason \"unsupported\")", shown);
		g_free(shown);
		goto out;
	}
	out->type = (enum idl_msg_type)t;
	if ((r = decode_members(o, out, err)) < 0 || (r = check_msg(out, err)) < 0)
		goto out;
	r = 0;
out:
	json_node_unref(root);
	if (r < 0)
		idl_msg_clear(out);
	return r;
}

/* ---- Encode ------------------------------------------------------------ */

static void add_int(JsonBuilder *b, const char *name, guint64 v)
{
	json_builder_set_member_name(b, name);
	json_builder_add_int_value(b, (gint64)v);
}

static void add_str(JsonBuilder *b, const char *name, const char *v)
{
	json_builder_set_member_name(b, name);
	json_builder_add_string_value(b, v ? v : "");
}

static void add_raw32(JsonBuilder *b, const char *name, const uint8_t raw[IDL_SHA256_SIZE])
{
	char hex[2 * IDL_SHA256_SIZE + 1];

	for (size_t i = 0; i < IDL_SHA256_SIZE; i++)
		g_snprintf(hex + 2 * i, 3, "%02x", raw[i]);
	add_str(b, name, hex);
}

static void add_files(JsonBuilder *b, const struct idl_msg *m)
{
	json_builder_set_member_name(b, "files");
	json_builder_begin_array(b);
	for (size_t i = 0; i < m->n_files; i++) {
		const struct idl_msg_file *f = &m->files[i];

		json_builder_begin_object(b);
		add_int(b, "id", f->id);
		if (m->type == IDL_MSG_OFFER) {
			add_str(b, "path", f->path);
			add_int(b, "size", f->size);
			add_int(b, "mtime", f->mtime);
		} else if (m->type == IDL_MSG_ACCEPT) {
			add_int(b, "offset", f->offset);
		} else {
			add_str(b, "status", status_names[f->status]);
		}
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
}

static size_t digits(uint64_t v)
{
	size_t n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

size_t idl_msg_offer_entry_max(const struct idl_msg_file *f)
{
	/* {"id":,"path":"","size":,"mtime":}, */
	size_t n = 35 + digits(f->id) + digits(f->size) + digits(f->mtime);

	for (const unsigned char *p = (const unsigned char *)(f->path ? f->path : ""); *p; p++) {
		if (*p == '"' || *p == '\\')
			n += 2;
		else if (*p < 0x20 || *p == 0x7f)
			n += 6;                  /* \u00XX */
		else if (*p >= 0x80)
			n += 3;                  /* as \uXXXX: at most 6 bytes for 2 (12 for 4) */
		else
			n += 1;
	}
	return n;
}

char *idl_msg_encode(const struct idl_msg *m, size_t *len, GError **err)
{
	JsonBuilder *b;
	JsonGenerator *gen;
	JsonNode *root;
	char *text, transfer[IDL_TRANSFER_ID_HEX_LEN + 1] = "";
	gsize n;

	if (check_msg(m, err) < 0)
		return NULL;
	/* check_msg() found 32 hex digits wherever the type has a transfer. */
	for (size_t i = 0; i < IDL_TRANSFER_ID_HEX_LEN && m->transfer[i]; i++)
		transfer[i] = g_ascii_tolower(m->transfer[i]);
	b = json_builder_new();
	json_builder_begin_object(b);
	add_str(b, "type", idl_msg_type_name(m->type));
	switch (m->type) {
	case IDL_MSG_HELLO:
		add_int(b, "version", m->version);
		add_str(b, "name", m->name);
		add_str(b, "kind", kind_names[m->kind]);
		if (m->has_sas_commit)
			add_raw32(b, "sas_commit", m->sas_commit);
		if (m->has_sas_nonce)
			add_raw32(b, "sas_nonce", m->sas_nonce);
		break;
	case IDL_MSG_SAS:
		add_raw32(b, "nonce", m->sas_nonce);
		break;
	case IDL_MSG_OFFER:
	case IDL_MSG_ACCEPT:
	case IDL_MSG_RECEIPT:
		add_str(b, "transfer", transfer);
		add_files(b, m);
		if (m->more) {
			json_builder_set_member_name(b, "more");
			json_builder_add_boolean_value(b, TRUE);
		}
		break;
	case IDL_MSG_DECLINE:
		add_str(b, "transfer", transfer);
		add_str(b, "reason", m->reason);
		break;
	case IDL_MSG_FILE:
		add_int(b, "id", m->id);
		add_int(b, "offset", m->offset);
		break;
	case IDL_MSG_FILE_END:
		add_int(b, "id", m->id);
		add_raw32(b, "sha256", m->sha256);
		break;
	case IDL_MSG_FILE_OK:
		add_int(b, "id", m->id);
		break;
	case IDL_MSG_FILE_ERROR:
		add_int(b, "id", m->id);
		add_str(b, "reason", m->reason);
		break;
	case IDL_MSG_CANCEL:
		add_str(b, "reason", m->reason);
		break;
	case IDL_MSG_RUN:
		json_builder_set_member_name(b, "files");
		json_builder_begin_array(b);
		for (size_t i = 0; i < m->n_files; i++) {
			json_builder_begin_object(b);
			add_int(b, "id", m->files[i].id);
			add_int(b, "size", m->files[i].size);
			add_raw32(b, "sha256", m->files[i].sha256);
			json_builder_end_object(b);
		}
		json_builder_end_array(b);
		break;
	case IDL_MSG_FILES_OK:
		json_builder_set_member_name(b, "ids");
		json_builder_begin_array(b);
		for (size_t i = 0; i < m->n_files; i++)
			json_builder_add_int_value(b, m->files[i].id);
		json_builder_end_array(b);
		break;
	case IDL_MSG_DONE:
		break;
	}
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	gen = json_generator_new();
	json_generator_set_root(gen, root);
	text = json_generator_to_data(gen, &n);
	json_node_unref(root);
	g_object_unref(gen);
	g_object_unref(b);
	if (n > IDL_MSG_MAX) {
		idl_error_errno(err, -EMSGSIZE, "%s would be %zu bytes, over the message limit of %d: send fewer files "
		     "per offer", idl_msg_type_name(m->type), (size_t)n, IDL_MSG_MAX);
		g_free(text);
		return NULL;
	}
	if (len)
		*len = n;
	return text;
}

void idl_msg_clear(struct idl_msg *m)
{
	if (!m)
		return;
	for (size_t i = 0; m->files && i < m->n_files; i++)
		g_free(m->files[i].path);
	g_free(m->files);
	g_free(m->reason);
	memset(m, 0, sizeof(*m));
}

gboolean idl_msg_equal(const struct idl_msg *a, const struct idl_msg *b)
{
	if (a->type != b->type)
		return FALSE;
	switch (a->type) {
	case IDL_MSG_HELLO:
		return a->version == b->version && strcmp(a->name, b->name) == 0 && a->kind == b->kind &&
		       a->has_sas_commit == b->has_sas_commit && a->has_sas_nonce == b->has_sas_nonce &&
		       (!a->has_sas_commit || !memcmp(a->sas_commit, b->sas_commit, IDL_SHA256_SIZE)) &&
		       (!a->has_sas_nonce || !memcmp(a->sas_nonce, b->sas_nonce, IDL_SHA256_SIZE));
	case IDL_MSG_SAS:
		return memcmp(a->sas_nonce, b->sas_nonce, IDL_SHA256_SIZE) == 0;
	case IDL_MSG_OFFER:
	case IDL_MSG_ACCEPT:
	case IDL_MSG_RECEIPT:
		if (g_ascii_strcasecmp(a->transfer, b->transfer) || a->n_files != b->n_files || a->more != b->more)
			return FALSE;
		for (size_t i = 0; i < a->n_files; i++) {
			const struct idl_msg_file *x = &a->files[i], *y = &b->files[i];
			if (x->id != y->id || x->size != y->size || x->mtime != y->mtime ||
			    x->offset != y->offset || x->status != y->status ||
			    g_strcmp0(x->path, y->path))
				return FALSE;
		}
		return TRUE;
	case IDL_MSG_DECLINE:
		return !g_ascii_strcasecmp(a->transfer, b->transfer) &&
		       !strcmp(a->reason ? a->reason : "", b->reason ? b->reason : "");
	case IDL_MSG_FILE:
		return a->id == b->id && a->offset == b->offset;
	case IDL_MSG_FILE_END:
		return a->id == b->id && memcmp(a->sha256, b->sha256, IDL_SHA256_SIZE) == 0;
	case IDL_MSG_FILE_OK:
		return a->id == b->id;
	case IDL_MSG_FILE_ERROR:
		return a->id == b->id && !strcmp(a->reason ? a->reason : "", b->reason ? b->reason : "");
	case IDL_MSG_CANCEL:
		return !strcmp(a->reason ? a->reason : "", b->reason ? b->reason : "");
	case IDL_MSG_RUN:
	case IDL_MSG_FILES_OK:
		if (a->n_files != b->n_files)
			return FALSE;
		for (size_t i = 0; i < a->n_files; i++)
			if (a->files[i].id != b->files[i].id || a->files[i].size != b->files[i].size ||
			    memcmp(a->files[i].sha256, b->files[i].sha256, IDL_SHA256_SIZE) != 0)
				return FALSE;
		return TRUE;
	case IDL_MSG_DONE:
		return TRUE;
	}
	return FALSE;
}
