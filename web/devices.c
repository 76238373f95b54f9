/* devices: see devices.h. The table (discovery/table.h) holds the last
 * word of discovery about each instance; the JSON is made per request (a
 * handful of devices). */
#include "web/devices.h"

#include <json-glib/json-glib.h>

#include "discovery/table.h"

struct idl_devices {
	struct idl_mdns *mdns;
	struct idl_devtable *table;
	bool browsing;
	bool browse_failed;
};

static void on_failed(const GError *err, void *user)
{
	(void)user;
	g_warning("nearby devices for the page: discovery stopped: %s", err->message);
}

static const struct idl_devtable_callbacks table_cb = { .failed = on_failed };

static void get_devices(const struct idl_http_request *req, struct idl_http_response *resp, void *user)
{
	struct idl_devices *ds = user;
	JsonGenerator *gen;
	JsonObject *obj;
	JsonNode *root;
	GError *err = NULL;
	gsize len;

	(void)req;
	/* Browse only once a page asks (and from then on): a device nobody
	 * looks at sends no queries. The first answers come a moment later;
	 * the page asks again every few seconds. */
	if (!ds->browsing && !ds->browse_failed) {
		if (idl_devtable_browse(ds->table, ds->mdns, &err) < 0) {
			g_message("the page cannot list nearby devices: %s", err->message);
			g_error_free(err);
			ds->browse_failed = true;
		} else {
			ds->browsing = true;
		}
	}
	obj = json_object_new();
	json_object_set_member(obj, "devices", idl_devtable_json(ds->table));
	root = json_node_new(JSON_NODE_OBJECT);
	json_node_take_object(root, obj);
	gen = json_generator_new();
	json_generator_set_root(gen, root);
	resp->body = json_generator_to_data(gen, &len);
	resp->body_len = len;
	resp->content_type = "application/json";
	json_node_unref(root);
	g_object_unref(gen);
}

struct idl_devices *idl_devices_new(struct idl_http *h, struct idl_mdns *m, const char *self_fp)
{
	struct idl_devices *ds = g_new0(struct idl_devices, 1);

	ds->mdns = m;
	ds->table = idl_devtable_new(self_fp, &table_cb, ds);
	idl_http_route(h, "GET", "/api/devices", get_devices, ds);
	return ds;
}

void idl_devices_free(struct idl_devices *d)
{
	if (!d)
		return;
	idl_devtable_free(d->table);
	g_free(d);
}
