/* backend: what mdns.c needs from an Avahi API. Implemented twice, over
 * libavahi-client (the machine's daemon) and libavahi-core (in-process).
 * Both libraries export avahi_entry_group_free and call it through the PLT,
 * so linking both into one binary makes one call the other's and abort.
 * Neither is linked: each back-end dlopens its library RTLD_LOCAL (not
 * RTLD_DEEPBIND, which AddressSanitizer refuses), so each resolves its own
 * symbols first. Private to discovery/. */
#ifndef IDL_DISCOVERY_BACKEND_H
#define IDL_DISCOVERY_BACKEND_H

#include <avahi-common/address.h>
#include <avahi-common/error.h>
#include <avahi-common/defs.h>
#include <avahi-common/strlst.h>
#include <avahi-common/watch.h>
#include <glib.h>

#include "discovery/mdns.h"

struct mdns_backend;

enum mdns_state {
	MDNS_RUNNING,     /* host name established: publish */
	MDNS_WITHDRAW,    /* host name being (re)registered: withdraw and wait */
	MDNS_FAILED,      /* gone for good */
};

struct mdns_backend_ops {
	const char *name;
	bool warm_cache;   /* listening before we asked: see idl_mdns_warm_cache */
	/* up is the struct idl_mdns handed back in mdns_on_state. *err gets an
	 * Avahi error code; *why a static explanation when the library itself
	 * could not be loaded. */
	struct mdns_backend *(*open)(const struct idl_mdns_options *opt, const AvahiPoll *poll,
				     void *up, int *err, const char **why);
	void (*close)(struct mdns_backend *be);
	const char *(*host_name)(struct mdns_backend *be);   /* fqdn or NULL */
	int (*last_error)(struct mdns_backend *be);

	void *(*group_new)(struct mdns_backend *be, void *up);
	int (*group_add)(struct mdns_backend *be, void *g, AvahiIfIndex iface, const char *name,
			 const char *type, uint16_t port, AvahiStringList *txt);
	int (*group_commit)(struct mdns_backend *be, void *g);
	void (*group_reset)(struct mdns_backend *be, void *g);
	void (*group_free)(struct mdns_backend *be, void *g);

	void *(*browser_new)(struct mdns_backend *be, AvahiIfIndex iface, const char *type, void *up);
	void (*browser_free)(struct mdns_backend *be, void *b);

	void *(*resolver_new)(struct mdns_backend *be, AvahiIfIndex iface, AvahiProtocol proto,
			      const char *name, const char *type, const char *domain, void *up);
	void (*resolver_free)(struct mdns_backend *be, void *r);
};

extern const struct mdns_backend_ops mdns_backend_daemon;
extern const struct mdns_backend_ops mdns_backend_embedded;

/* Events from a back-end, handled in mdns.c. "up" is the pointer given when
 * the object was created. */
void mdns_on_state(void *up, enum mdns_state st, int avahi_err);
void mdns_on_group(void *up, AvahiEntryGroupState st);
void mdns_on_browse(void *up, AvahiIfIndex iface, AvahiProtocol proto, AvahiBrowserEvent ev,
		    const char *name, const char *type, const char *domain, AvahiLookupResultFlags flags);
void mdns_on_resolve(void *up, AvahiIfIndex iface, AvahiProtocol proto, AvahiResolverEvent ev,
		     const char *name, const char *type, const char *domain, const char *host,
		     const AvahiAddress *a, uint16_t port, AvahiStringList *txt,
		     AvahiLookupResultFlags flags);

/* Loads the listed symbols from an already dlopened library into the
 * function-pointer slots; returns the first missing name, or NULL. */
struct mdns_sym {
	const char *name;
	void **slot;
};
const char *mdns_load_syms(void *lib, const struct mdns_sym *syms, size_t n);

#define MDNS_SYM(api, fn) { #fn, (void **)&(api).fn }

#endif
