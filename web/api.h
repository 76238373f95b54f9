/* api: the device's JSON endpoints on the embedded HTTP server. For now
 * GET /api/info, which makes the advertised port real and lets anyone
 * check which device answers there. */
#ifndef IDL_API_H
#define IDL_API_H

#include "discovery/txt.h"
#include "web/http.h"

/* What the endpoints tell about this device. Owned by the caller, who may
 * update name (after a DNS-SD rename) while the server runs. */
struct idl_api_device {
	char name[IDL_TXT_NAME_MAX + 1];
	char fingerprint[IDL_FINGERPRINT_HEX_LEN + 1];
	unsigned caps;
};

/* Registers the endpoints; dev is borrowed and must outlive h. */
void idl_api_register(struct idl_http *h, const struct idl_api_device *dev);

/* The JSON body of GET /api/info, owned by the caller (g_free). */
char *idl_api_info_json(const struct idl_api_device *dev, size_t *len);

#endif
