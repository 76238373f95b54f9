/* devices: see devices.h. The table holds the last word of discovery about
 * each instance; the JSON is made per request (a handful of devices). */
#include "web/devices.h"

#include <json-glib/json-glib.h>

#include "discovery/txt.h"

struct device {
	char *host;
	char **addresses;
	guint16 port;
	struct idl_txt txt;
};

struct idl_devices {
	char *self_fp;
	struct idl_mdns *mdns;
	GHashTable *seen;          /* instance name -> struct device * */
	struct idl_mdns_browser *browser;
	bool browse_failed;
};

static void device_free(gpointer data)
{
	struct device *d = data;

	g_free(d->host);
	g_strfreev(d->addresses);
	g_free(d);
}

static void on_appeared(const struct idl_mdns_service *svc, void *user)
{
	struct idl_devices *ds = user;
	struct device *d = g_new0(struct device, 1);

	/* Only records that are idrop-lan's own: anything else is left out. */
	if (idl_txt_decode(svc->txt, svc->txt_len, &d->txt, NULL) < 0) {
		g_free(d);
		return;
	}
	d->host = g_strdup(svc->host);
	d->addresses = g_strdupv((char **)svc->addresses);
	d->port = svc->port;
	g_hash_table_replace(ds->seen, g_strdup(svc->name), d);
}

static void on_left(const char *name, void *user)
{
	struct idl_devices *ds = user;

	g_hash_table_remove(ds->seen, name);
}

static void on_failed(const GError *err, void *user)
{
	(void)user;
	g_warning("nearby devices for the page: discovery stopped: %s", err->message);
}

static const struct idl_mdns_browse_callbacks browse_cb = { on_appeared, on_left, on_failed };

static void get_devices(const struct idl_http_request *req, struct idl_http_response *resp, void *user)
{
	struct idl_devices *ds = user;
	JsonBuilder *b;
	GError *err = NULL;

	/* Browse only once a page asks (and from then on): a device nobody
	 * looks at sends no queries. The first answers come a moment later;
	 * the page asks again every few seconds. */
	if (!ds->browser && !ds->browse_failed &&
	    idl_mdns_browse(ds->mdns, IDL_SERVICE_TYPE, &browse_cb, ds, &ds->browser, &err) < 0) {
		g_message("the page cannot list nearby devices: %s", err->message);
		g_error_free(err);
		ds->browse_failed = true;
	}
	b = json_builder_new();
	JsonGenerator *gen = json_generator_new();
	JsonNode *root;
	GHashTableIter it;
	gpointer k, v;
	gsize len;

	(void)req;
	json_builder_begin_object(b);
	json_builder_set_member_name(b, "devices");
	json_builder_begin_array(b);
	g_hash_table_iter_init(&it, ds->seen);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		const struct device *d = v;
		json_builder_begin_object(b);
		json_builder_set_member_name(b, "name");
		json_builder_add_string_value(b, d->txt.name[0] ? d->txt.name : (const char *)k);
		json_builder_set_member_name(b, "host");
		json_builder_add_string_value(b, d->host);
		json_builder_set_member_name(b, "address");
		json_builder_add_string_value(b, d->addresses && d->addresses[0] ? d->addresses[0] : "");
		json_builder_set_member_name(b, "addresses");
		json_builder_begin_array(b);
		for (char **a = d->addresses; a && *a; a++)
			json_builder_add_string_value(b, *a);
		json_builder_end_array(b);
		json_builder_set_member_name(b, "port");
		json_builder_add_int_value(b, d->port);
		json_builder_set_member_name(b, "fingerprint");
		json_builder_add_string_value(b, d->txt.fingerprint);
		json_builder_set_member_name(b, "kind");
		json_builder_add_string_value(b, d->txt.kind == 'b' ? "browser" : "device");
		json_builder_set_member_name(b, "this_device");
		json_builder_add_boolean_value(b, d->txt.kind != 'b' && !g_ascii_strcasecmp(d->txt.fingerprint, ds->self_fp));
		if (d->txt.kind == 'b') {
			json_builder_set_member_name(b, "tab");
			json_builder_add_string_value(b, d->txt.tab);
			json_builder_set_member_name(b, "device");
			json_builder_add_string_value(b, d->txt.device);
		}
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	resp->body = json_generator_to_data(gen, &len);
	resp->body_len = len;
	resp->content_type = "application/json";
	json_node_unref(root);
	g_object_unref(gen);
	g_object_unref(b);
}

struct idl_devices *idl_devices_new(struct idl_http *h, struct idl_mdns *m, const char *self_fp)
{
	struct idl_devices *ds = g_new0(struct idl_devices, 1);

	ds->self_fp = g_strdup(self_fp);
	ds->mdns = m;
	ds->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, device_free);
	idl_http_route(h, "GET", "/api/devices", get_devices, ds);
	return ds;
}

void idl_devices_free(struct idl_devices *d)
{
	if (!d)
		return;
	idl_mdns_browser_free(d->browser);
	g_hash_table_destroy(d->seen);
	g_free(d->self_fp);
	g_free(d);
}
