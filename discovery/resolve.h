/* resolve: turns what a user typed ("laptop.local", a display name from
 * `idrop-lan list`, or IP[:PORT]) into an address, port and the fingerprint
 * the device advertised (or, for a browser tab's name, the device it is
 * attached to, the tab's id there and the tab's own fingerprint), through our own DNS-SD browse rather than the
 * system resolver (which may lack nss-mdns). `send` and `ping` use it. */
#ifndef IDL_RESOLVE_H
#define IDL_RESOLVE_H

#include <net/if.h>
#include "discovery/mdns.h"
#include "discovery/target.h"
#include "discovery/txt.h"

struct idl_resolved {
	char name[IDL_TXT_NAME_MAX + 1];              /* "" for an IP target */
	char host[256];                               /* "" for an IP target */
	char address[64 + IF_NAMESIZE];
	uint16_t port;
	char fingerprint[IDL_FINGERPRINT_HEX_LEN + 1];/* "" when not known: an IP
	                                                 target is verified on connect */
	char kind;                                    /* 'd' a device (and IP targets), 'b' a browser tab */
	char tab[IDL_TXT_TAB_LEN + 1];                /* 'b': POST /api/offer?to=tab at address:port */
	char device[IDL_TXT_NAME_MAX + 1];            /* 'b': the device it is attached to */
};

struct idl_resolve;

/* Called once, from the main loop: res on success, else err. Both borrowed. */
typedef void (*idl_resolve_cb)(const struct idl_resolved *res, const GError *err, void *user);

/* Starts resolving target (from idl_target_parse; copied); an IP target
 * without a port gets default_port. m may be NULL when target is an
 * address: no discovery is needed then.
 * *out is owned by the caller and may be freed at any time, even from cb
 * (no further call comes). Returns 0, or -EINVAL with *err when target is
 * a name and m is NULL, or the error of starting the browse. */
int idl_resolve_start(struct idl_mdns *m, const struct idl_target *target, uint16_t default_port,
		      unsigned timeout_ms, idl_resolve_cb cb, void *user,
		      struct idl_resolve **out, GError **err);
void idl_resolve_free(struct idl_resolve *r);

#endif
