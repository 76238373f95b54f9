/* table: see table.h. A handful of entries in a hash table by instance
 * name; every list and JSON is made when asked for. */
#include "discovery/table.h"

#include <errno.h>
#include <string.h>

#include "base/error.h"
#include "base/text.h"

struct idl_devtable {
	char self_fp[IDL_FINGERPRINT_HEX_LEN + 1];
	struct idl_devtable_callbacks cb;
	void *user;
	GHashTable *entries;         /* instance name (the entry's) -> struct idl_devtable_entry * */
	struct idl_mdns_browser *browser;
};

static void entry_free(gpointer p)
{
	struct idl_devtable_entry *e = p;

	g_free(e->name);
	g_free(e->host);
	g_strfreev(e->addresses);
	g_free(e);
}

const char *idl_devtable_entry_display_name(const struct idl_devtable_entry *e)
{
	return e->txt.name[0] ? e->txt.name : e->name;
}

struct idl_devtable *idl_devtable_new(const char *self_fp, const struct idl_devtable_callbacks *cb,
				      void *user)
{
	struct idl_devtable *t = g_new0(struct idl_devtable, 1);

	if (self_fp)
		g_strlcpy(t->self_fp, self_fp, sizeof(t->self_fp));
	if (cb)
		t->cb = *cb;
	t->user = user;
	t->entries = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, entry_free);
	return t;
}

void idl_devtable_free(struct idl_devtable *t)
{
	if (!t)
		return;
	idl_mdns_browser_free(t->browser);
	g_hash_table_destroy(t->entries);
	g_free(t);
}

static bool txt_equal(const struct idl_txt *a, const struct idl_txt *b)
{
	return a->version == b->version && a->caps == b->caps && a->kind == b->kind &&
	       strcmp(a->fingerprint, b->fingerprint) == 0 && strcmp(a->name, b->name) == 0 &&
	       strcmp(a->device, b->device) == 0 && strcmp(a->tab, b->tab) == 0;
}

static bool entry_equal(const struct idl_devtable_entry *a, const struct idl_devtable_entry *b)
{
	guint i;

	if (a->port != b->port || g_strcmp0(a->host, b->host) != 0 || !txt_equal(&a->txt, &b->txt))
		return false;
	for (i = 0; a->addresses[i] && b->addresses[i]; i++)
		if (strcmp(a->addresses[i], b->addresses[i]) != 0)
			return false;
	return !a->addresses[i] && !b->addresses[i];
}

void idl_devtable_seen(struct idl_devtable *t, const struct idl_mdns_service *svc)
{
	struct idl_devtable_entry *e, *old;
	GError *err = NULL;
	struct idl_txt txt;

	/* Only records that are idrop-lan's own: anything else is left out. */
	if (idl_txt_decode(svc->txt, svc->txt_len, &txt, &err) < 0) {
		char *q = idl_text_quote(svc->name, strlen(svc->name));

		g_debug("ignoring %s on %s: %s", q, svc->host, err->message);
		g_free(q);
		g_error_free(err);
		return;
	}
	e = g_new0(struct idl_devtable_entry, 1);
	e->name = g_strdup(svc->name);
	e->host = g_strdup(svc->host ? svc->host : "");
	e->addresses = svc->addresses ? g_strdupv((char **)svc->addresses) : g_new0(char *, 1);
	e->port = svc->port;
	e->txt = txt;
	/* A tab carries its own key, never this device's; "this device" is
	 * only ever a device. */
	e->this_device = t->self_fp[0] && txt.kind != 'b' && g_ascii_strcasecmp(t->self_fp, txt.fingerprint) == 0;

	old = g_hash_table_lookup(t->entries, svc->name);
	if (old && entry_equal(old, e)) {
		entry_free(e);
		return;
	}
	/* old stays alive (stolen) until the callback has seen it. */
	if (old)
		g_hash_table_steal(t->entries, old->name);
	g_hash_table_insert(t->entries, e->name, e);
	if (!old && t->cb.appeared)
		t->cb.appeared(e, t->user);
	if (old && t->cb.changed)
		t->cb.changed(old, e, t->user);
	if (old)
		entry_free(old);
}

void idl_devtable_gone(struct idl_devtable *t, const char *name)
{
	struct idl_devtable_entry *e = g_hash_table_lookup(t->entries, name);

	if (!e)
		return;
	g_hash_table_steal(t->entries, e->name);
	if (t->cb.left)
		t->cb.left(e, t->user);
	entry_free(e);
}

static void on_appeared(const struct idl_mdns_service *svc, void *user)
{
	idl_devtable_seen(user, svc);
}

static void on_left(const char *name, void *user)
{
	idl_devtable_gone(user, name);
}

static void on_failed(const GError *err, void *user)
{
	struct idl_devtable *t = user;

	if (t->cb.failed)
		t->cb.failed(err, t->user);
}

bool idl_devtable_resolving(const struct idl_devtable *t)
{
	return t->browser && idl_mdns_browser_resolving(t->browser);
}

bool idl_devtable_all_for_now(const struct idl_devtable *t)
{
	return t->browser && idl_mdns_browser_all_for_now(t->browser);
}

int idl_devtable_browse(struct idl_devtable *t, struct idl_mdns *m, GError **err)
{
	static const struct idl_mdns_browse_callbacks bcb = { on_appeared, on_left, on_failed };

	if (t->browser)
		return idl_error_errno(err, -EALREADY, "already browsing for devices");
	return idl_mdns_browse(m, IDL_SERVICE_TYPE, &bcb, t, &t->browser, err);
}

int idl_devtable_oneshot(struct idl_devtable *t, GError **err)
{
	if (!t->browser)
		return idl_error_errno(err, -EINVAL, "not browsing for devices");
	return idl_mdns_browser_oneshot(t->browser, err);
}

const struct idl_devtable_entry *idl_devtable_lookup(const struct idl_devtable *t, const char *name)
{
	return g_hash_table_lookup(t->entries, name);
}

static gint by_name(gconstpointer a, gconstpointer b)
{
	const struct idl_devtable_entry *ea = *(const struct idl_devtable_entry *const *)a;
	const struct idl_devtable_entry *eb = *(const struct idl_devtable_entry *const *)b;

	return g_utf8_collate(ea->name, eb->name);
}

GPtrArray *idl_devtable_entries(const struct idl_devtable *t)
{
	GPtrArray *all = g_ptr_array_sized_new(g_hash_table_size(t->entries));
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, t->entries);
	while (g_hash_table_iter_next(&it, NULL, &v))
		g_ptr_array_add(all, v);
	g_ptr_array_sort(all, by_name);
	return all;
}

static void member_string(JsonBuilder *b, const char *name, const char *value)
{
	json_builder_set_member_name(b, name);
	json_builder_add_string_value(b, value);
}

static void member_int(JsonBuilder *b, const char *name, gint64 value)
{
	json_builder_set_member_name(b, name);
	json_builder_add_int_value(b, value);
}

JsonNode *idl_devtable_entry_json(const struct idl_devtable_entry *e, enum idl_devtable_event ev)
{
	static const char *const events[] = {
		[IDL_DEVTABLE_APPEARED] = "appeared",
		[IDL_DEVTABLE_CHANGED] = "updated",
		[IDL_DEVTABLE_LEFT] = "left",
	};
	JsonBuilder *b = json_builder_new();
	bool browser = e->txt.kind == 'b';
	JsonNode *n;

	json_builder_begin_object(b);
	if (ev != IDL_DEVTABLE_NO_EVENT)
		member_string(b, "event", events[ev]);
	member_string(b, "name", e->name);
	/* What left is gone: its name says which. */
	if (ev != IDL_DEVTABLE_LEFT) {
		member_string(b, "display_name", idl_devtable_entry_display_name(e));
		member_string(b, "host", e->host);
		/* "address": the first of "addresses" (IPv4 first), for readers
		 * that take one; "" when none is known. */
		member_string(b, "address", e->addresses[0] ? e->addresses[0] : "");
		json_builder_set_member_name(b, "addresses");
		json_builder_begin_array(b);
		for (char **a = e->addresses; *a; a++)
			json_builder_add_string_value(b, *a);
		json_builder_end_array(b);
		member_int(b, "port", e->port);
		member_string(b, "fingerprint", e->txt.fingerprint);
		member_int(b, "protocol", e->txt.version);
		member_string(b, "kind", browser ? "browser" : "device");
		json_builder_set_member_name(b, "this_device");
		json_builder_add_boolean_value(b, e->this_device);
		if (browser) {
			member_string(b, "device", e->txt.device);
			member_string(b, "tab", e->txt.tab);
		}
	}
	json_builder_end_object(b);
	n = json_builder_get_root(b);
	g_object_unref(b);
	return n;
}

JsonNode *idl_devtable_json(const struct idl_devtable *t)
{
	GPtrArray *all = idl_devtable_entries(t);
	JsonArray *arr = json_array_sized_new(all->len);
	JsonNode *root = json_node_new(JSON_NODE_ARRAY);

	for (guint i = 0; i < all->len; i++)
		json_array_add_element(arr, idl_devtable_entry_json(all->pdata[i], IDL_DEVTABLE_NO_EVENT));
	json_node_take_array(root, arr);
	g_ptr_array_unref(all);
	return root;
}
