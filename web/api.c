/* api: JSON endpoints of the device (see api.h). */
#include "web/api.h"

#include <json-glib/json-glib.h>

char *idl_api_info_json(const struct idl_api_device *dev, size_t *len)
{
	JsonBuilder *b = json_builder_new();
	JsonGenerator *gen = json_generator_new();
	JsonNode *root;
	char *out;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "name");
	json_builder_add_string_value(b, dev->name);
	json_builder_set_member_name(b, "fingerprint");
	json_builder_add_string_value(b, dev->fingerprint);
	json_builder_set_member_name(b, "version");
	json_builder_add_string_value(b, IDL_VERSION);
	json_builder_set_member_name(b, "protocol");
	json_builder_add_int_value(b, IDL_PROTOCOL_VERSION);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	out = json_generator_to_data(gen, len);
	json_node_unref(root);
	g_object_unref(gen);
	g_object_unref(b);
	return out;
}

static void get_info(const struct idl_http_request *req, struct idl_http_response *resp, void *user)
{
	(void)req;
	resp->status = 200;
	resp->content_type = "application/json";
	resp->body = idl_api_info_json(user, &resp->body_len);
}

void idl_api_register(struct idl_http *h, const struct idl_api_device *dev)
{
	idl_http_route(h, "GET", "/api/info", get_info, (void *)dev);
}
