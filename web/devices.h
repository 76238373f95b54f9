/* devices: GET /api/devices, the idrop-lan devices this device sees on the
 * LAN through its own discovery, for its web page (a browser cannot browse
 * mDNS itself). */
#ifndef IDL_DEVICES_H
#define IDL_DEVICES_H

#include "discovery/mdns.h"
#include "web/http.h"

struct idl_devices;

/* Registers the route on h; the first request starts browsing on m
 * (borrowed, must outlive the result). self_fp (copied) marks this device
 * in the list. Owned by the caller. */
struct idl_devices *idl_devices_new(struct idl_http *h, struct idl_mdns *m, const char *self_fp);

/* NULL is a no-op. */
void idl_devices_free(struct idl_devices *d);

#endif
