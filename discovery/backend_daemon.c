/* backend_daemon: the mdns back-end over the machine's avahi-daemon, reached
 * through libavahi-client on D-Bus (how desktop Linux does mDNS). The library
 * is loaded with dlopen; see backend.h for why. */
#include "discovery/backend.h"

#include <dlfcn.h>
#include <avahi-client/client.h>
#include <avahi-client/lookup.h>
#include <avahi-client/publish.h>

#define CLIENT_LIB "libavahi-client.so.3"

static struct {
	__typeof__(avahi_client_new) *avahi_client_new;
	__typeof__(avahi_client_free) *avahi_client_free;
	__typeof__(avahi_client_errno) *avahi_client_errno;
	__typeof__(avahi_client_get_host_name_fqdn) *avahi_client_get_host_name_fqdn;
	__typeof__(avahi_entry_group_new) *avahi_entry_group_new;
	__typeof__(avahi_entry_group_free) *avahi_entry_group_free;
	__typeof__(avahi_entry_group_commit) *avahi_entry_group_commit;
	__typeof__(avahi_entry_group_reset) *avahi_entry_group_reset;
	__typeof__(avahi_entry_group_add_service_strlst) *avahi_entry_group_add_service_strlst;
	__typeof__(avahi_service_browser_new) *avahi_service_browser_new;
	__typeof__(avahi_service_browser_free) *avahi_service_browser_free;
	__typeof__(avahi_service_resolver_new) *avahi_service_resolver_new;
	__typeof__(avahi_service_resolver_free) *avahi_service_resolver_free;
} api;

static const struct mdns_sym syms[] = {
	MDNS_SYM(api, avahi_client_new),
	MDNS_SYM(api, avahi_client_free),
	MDNS_SYM(api, avahi_client_errno),
	MDNS_SYM(api, avahi_client_get_host_name_fqdn),
	MDNS_SYM(api, avahi_entry_group_new),
	MDNS_SYM(api, avahi_entry_group_free),
	MDNS_SYM(api, avahi_entry_group_commit),
	MDNS_SYM(api, avahi_entry_group_reset),
	MDNS_SYM(api, avahi_entry_group_add_service_strlst),
	MDNS_SYM(api, avahi_service_browser_new),
	MDNS_SYM(api, avahi_service_browser_free),
	MDNS_SYM(api, avahi_service_resolver_new),
	MDNS_SYM(api, avahi_service_resolver_free),
};

struct mdns_backend {
	AvahiClient *client;
	void *up;
};

/* The library stays loaded for the life of the process: avahi-client keeps
 * D-Bus callbacks registered that must never point into unmapped code. */
static void *lib;

static void client_cb(AvahiClient *c, AvahiClientState st, void *user)
{
	struct mdns_backend *be = user;

	be->client = c;   /* the first call can come from inside avahi_client_new */
	switch (st) {
	case AVAHI_CLIENT_S_RUNNING:
		mdns_on_state(be->up, MDNS_RUNNING, 0);
		break;
	case AVAHI_CLIENT_S_REGISTERING:
	case AVAHI_CLIENT_S_COLLISION:
		mdns_on_state(be->up, MDNS_WITHDRAW, 0);
		break;
	case AVAHI_CLIENT_FAILURE:
		mdns_on_state(be->up, MDNS_FAILED, api.avahi_client_errno(c));
		break;
	case AVAHI_CLIENT_CONNECTING:
		break;
	}
}

static struct mdns_backend *daemon_open(const struct idl_mdns_options *opt, const AvahiPoll *poll,
					void *up, int *err, const char **why)
{
	struct mdns_backend *be;
	const char *missing;

	(void)opt;   /* the daemon's own configuration picks its interfaces */
	if (!lib && !(lib = dlopen(CLIENT_LIB, RTLD_NOW | RTLD_LOCAL))) {
		*why = "cannot load " CLIENT_LIB " (Debian package libavahi-client3)";
		*err = AVAHI_ERR_NOT_SUPPORTED;
		return NULL;
	}
	if ((missing = mdns_load_syms(lib, syms, G_N_ELEMENTS(syms)))) {
		*why = CLIENT_LIB " lacks a function idrop-lan needs: is it Avahi 0.8 or later?";
		*err = AVAHI_ERR_NOT_SUPPORTED;
		return NULL;
	}
	be = g_new0(struct mdns_backend, 1);
	be->up = up;
	/* No AVAHI_CLIENT_NO_FAIL: a missing daemon must fail now, so that the
	 * embedded responder can take over. */
	be->client = api.avahi_client_new(poll, 0, client_cb, be, err);
	if (!be->client) {
		g_free(be);
		return NULL;
	}
	return be;
}

static void daemon_close(struct mdns_backend *be)
{
	if (!be)
		return;
	api.avahi_client_free(be->client);
	g_free(be);
}

static const char *daemon_host_name(struct mdns_backend *be)
{
	return api.avahi_client_get_host_name_fqdn(be->client);
}

static int daemon_last_error(struct mdns_backend *be)
{
	return api.avahi_client_errno(be->client);
}

static void group_cb(AvahiEntryGroup *g, AvahiEntryGroupState st, void *user)
{
	(void)g;
	mdns_on_group(user, st);
}

static void *daemon_group_new(struct mdns_backend *be, void *up)
{
	return api.avahi_entry_group_new(be->client, group_cb, up);
}

static int daemon_group_add(struct mdns_backend *be, void *g, AvahiIfIndex iface, const char *name,
			    const char *type, uint16_t port, AvahiStringList *txt)
{
	(void)be;
	return api.avahi_entry_group_add_service_strlst(g, iface, AVAHI_PROTO_UNSPEC, 0, name, type,
							 NULL, NULL, port, txt);
}

static int daemon_group_commit(struct mdns_backend *be, void *g)
{
	(void)be;
	return api.avahi_entry_group_commit(g);
}

static void daemon_group_reset(struct mdns_backend *be, void *g)
{
	(void)be;
	api.avahi_entry_group_reset(g);
}

static void daemon_group_free(struct mdns_backend *be, void *g)
{
	(void)be;
	if (g)
		api.avahi_entry_group_free(g);
}

static void browse_cb(AvahiServiceBrowser *b, AvahiIfIndex iface, AvahiProtocol proto,
		      AvahiBrowserEvent ev, const char *name, const char *type, const char *domain,
		      AvahiLookupResultFlags flags, void *user)
{
	(void)b;
	mdns_on_browse(user, iface, proto, ev, name, type, domain, flags);
}

static void *daemon_browser_new(struct mdns_backend *be, AvahiIfIndex iface, const char *type, void *up)
{
	return api.avahi_service_browser_new(be->client, iface, AVAHI_PROTO_UNSPEC, type, NULL, 0,
					     browse_cb, up);
}

static void daemon_browser_free(struct mdns_backend *be, void *b)
{
	(void)be;
	if (b)
		api.avahi_service_browser_free(b);
}

static void resolve_cb(AvahiServiceResolver *r, AvahiIfIndex iface, AvahiProtocol proto,
		       AvahiResolverEvent ev, const char *name, const char *type, const char *domain,
		       const char *host, const AvahiAddress *a, uint16_t port, AvahiStringList *txt,
		       AvahiLookupResultFlags flags, void *user)
{
	(void)r;
	mdns_on_resolve(user, iface, proto, ev, name, type, domain, host, a, port, txt, flags);
}

static void *daemon_resolver_new(struct mdns_backend *be, AvahiIfIndex iface, AvahiProtocol proto,
				 const char *name, const char *type, const char *domain, void *up)
{
	return api.avahi_service_resolver_new(be->client, iface, proto, name, type, domain,
					      AVAHI_PROTO_UNSPEC, 0, resolve_cb, up);
}

static void daemon_resolver_free(struct mdns_backend *be, void *r)
{
	(void)be;
	if (r)
		api.avahi_service_resolver_free(r);
}

const struct mdns_backend_ops mdns_backend_daemon = {
	.name = "avahi-daemon",
	.warm_cache = true,
	.open = daemon_open,
	.close = daemon_close,
	.host_name = daemon_host_name,
	.last_error = daemon_last_error,
	.group_new = daemon_group_new,
	.group_add = daemon_group_add,
	.group_commit = daemon_group_commit,
	.group_reset = daemon_group_reset,
	.group_free = daemon_group_free,
	.browser_new = daemon_browser_new,
	.browser_free = daemon_browser_free,
	.resolver_new = daemon_resolver_new,
	.resolver_free = daemon_resolver_free,
};
