/* backend_embedded: the mdns back-end that runs Avahi's embeddable core
 * in-process, for machines with no avahi-daemon (containers, minimal
 * systems, CI). libavahi-core is loaded with dlopen; see backend.h for why. */
#include "discovery/backend.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <string.h>
#include <avahi-common/alternative.h>
#include <avahi-common/malloc.h>
#include <avahi-core/core.h>
#include <avahi-core/log.h>
#include <avahi-core/lookup.h>
#include <avahi-core/publish.h>

#define CORE_LIB "libavahi-core.so.7"

static struct {
	__typeof__(avahi_server_new) *avahi_server_new;
	__typeof__(avahi_server_free) *avahi_server_free;
	__typeof__(avahi_server_config_init) *avahi_server_config_init;
	__typeof__(avahi_server_config_free) *avahi_server_config_free;
	__typeof__(avahi_server_errno) *avahi_server_errno;
	__typeof__(avahi_server_get_host_name) *avahi_server_get_host_name;
	__typeof__(avahi_server_get_host_name_fqdn) *avahi_server_get_host_name_fqdn;
	__typeof__(avahi_server_set_host_name) *avahi_server_set_host_name;
	__typeof__(avahi_server_add_service_strlst) *avahi_server_add_service_strlst;
	__typeof__(avahi_s_entry_group_new) *avahi_s_entry_group_new;
	__typeof__(avahi_s_entry_group_free) *avahi_s_entry_group_free;
	__typeof__(avahi_s_entry_group_commit) *avahi_s_entry_group_commit;
	__typeof__(avahi_s_entry_group_reset) *avahi_s_entry_group_reset;
	__typeof__(avahi_s_service_browser_new) *avahi_s_service_browser_new;
	__typeof__(avahi_s_service_browser_free) *avahi_s_service_browser_free;
	__typeof__(avahi_s_service_resolver_new) *avahi_s_service_resolver_new;
	__typeof__(avahi_s_service_resolver_free) *avahi_s_service_resolver_free;
	__typeof__(avahi_set_log_function) *avahi_set_log_function;
} api;

static const struct mdns_sym syms[] = {
	MDNS_SYM(api, avahi_server_new),
	MDNS_SYM(api, avahi_server_free),
	MDNS_SYM(api, avahi_server_config_init),
	MDNS_SYM(api, avahi_server_config_free),
	MDNS_SYM(api, avahi_server_errno),
	MDNS_SYM(api, avahi_server_get_host_name),
	MDNS_SYM(api, avahi_server_get_host_name_fqdn),
	MDNS_SYM(api, avahi_server_set_host_name),
	MDNS_SYM(api, avahi_server_add_service_strlst),
	MDNS_SYM(api, avahi_s_entry_group_new),
	MDNS_SYM(api, avahi_s_entry_group_free),
	MDNS_SYM(api, avahi_s_entry_group_commit),
	MDNS_SYM(api, avahi_s_entry_group_reset),
	MDNS_SYM(api, avahi_s_service_browser_new),
	MDNS_SYM(api, avahi_s_service_browser_free),
	MDNS_SYM(api, avahi_s_service_resolver_new),
	MDNS_SYM(api, avahi_s_service_resolver_free),
	MDNS_SYM(api, avahi_set_log_function),
};

struct mdns_backend {
	AvahiServer *server;
	void *up;
	bool settled;     /* the host name has been established, or has collided */
};

static void *lib;   /* kept loaded: see backend_daemon.c */

/* The core logs every interface it joins to stderr; those lines are for
 * debugging (G_MESSAGES_DEBUG=idrop-lan or --verbose), not for users. */
static void log_cb(AvahiLogLevel level, const char *txt)
{
	if (level <= AVAHI_LOG_ERROR)
		g_warning("mDNS: %s", txt);
	else
		g_debug("mDNS: %s", txt);
}

static void server_cb(AvahiServer *s, AvahiServerState st, void *user)
{
	struct mdns_backend *be = user;
	char *alt;

	be->server = s;   /* the first call comes from inside avahi_server_new */
	switch (st) {
	case AVAHI_SERVER_RUNNING:
		be->settled = true;
		mdns_on_state(be->up, MDNS_RUNNING, 0);
		break;
	case AVAHI_SERVER_COLLISION:
		be->settled = true;
		/* Another host on the link has our host name: take the next one, as
		 * avahi-daemon does ("host-2"). */
		alt = avahi_alternative_host_name(api.avahi_server_get_host_name(s));
		g_message("mDNS: host name %s is taken on this network, using %s",
			  api.avahi_server_get_host_name(s), alt);
		mdns_on_state(be->up, MDNS_WITHDRAW, 0);
		api.avahi_server_set_host_name(s, alt);
		avahi_free(alt);
		break;
	case AVAHI_SERVER_REGISTERING:
		/* At start-up, publish at once: the service records then probe
		 * alongside the host name, and peers see the device after one probe
		 * (~1 s) instead of two. Should the host name collide, the services
		 * are withdrawn and re-added under the new one. */
		mdns_on_state(be->up, be->settled ? MDNS_WITHDRAW : MDNS_RUNNING, 0);
		break;
	case AVAHI_SERVER_FAILURE:
		mdns_on_state(be->up, MDNS_FAILED, api.avahi_server_errno(s));
		break;
	case AVAHI_SERVER_INVALID:
		break;
	}
}

static struct mdns_backend *embedded_open(const struct idl_mdns_options *opt, const AvahiPoll *poll,
					  void *up, int *err, const char **why)
{
	struct mdns_backend *be = NULL;
	AvahiServerConfig cfg;

	if (!lib && !(lib = dlopen(CORE_LIB, RTLD_NOW | RTLD_LOCAL))) {
		*why = "cannot load " CORE_LIB " (Debian package libavahi-core7)";
		*err = AVAHI_ERR_NOT_SUPPORTED;
		return NULL;
	}
	if (mdns_load_syms(lib, syms, G_N_ELEMENTS(syms))) {
		*why = CORE_LIB " lacks a function idrop-lan needs: is it Avahi 0.8 or later?";
		*err = AVAHI_ERR_NOT_SUPPORTED;
		return NULL;
	}
	api.avahi_set_log_function(log_cb);

	api.avahi_server_config_init(&cfg);
	cfg.publish_hinfo = 0;
	cfg.publish_workstation = 0;
	cfg.publish_domain = 0;
	cfg.publish_aaaa_on_ipv4 = 0;
	cfg.publish_a_on_ipv6 = 0;
	cfg.use_ipv6 = 1;
	/* A querier only (list): answering for this host too would compete with
	 * the responder a `serve` on the same host already runs. */
	cfg.disable_publishing = !opt->publish;
	cfg.publish_addresses = opt->publish;
	/* Restrict to the chosen interface, and keep off loopback: otherwise the
	 * core also publishes 127.0.0.1 and peers may be told to use it. */
	if (opt->interface)
		cfg.allow_interfaces = avahi_string_list_add(NULL, opt->interface);
	else
		cfg.deny_interfaces = avahi_string_list_add(NULL, "lo");

	be = g_new0(struct mdns_backend, 1);
	be->up = up;
	be->server = api.avahi_server_new(poll, &cfg, server_cb, be, err);
	api.avahi_server_config_free(&cfg);
	if (!be->server) {
		*why = "the embedded mDNS responder could not open its sockets (UDP port 5353)";
		g_free(be);
		return NULL;
	}
	return be;
}

static void embedded_close(struct mdns_backend *be)
{
	if (!be)
		return;
	api.avahi_server_free(be->server);
	g_free(be);
}

static const char *embedded_host_name(struct mdns_backend *be)
{
	return api.avahi_server_get_host_name_fqdn(be->server);
}

static int embedded_last_error(struct mdns_backend *be)
{
	return api.avahi_server_errno(be->server);
}

static void group_cb(AvahiServer *s, AvahiSEntryGroup *g, AvahiEntryGroupState st, void *user)
{
	(void)s;
	(void)g;
	mdns_on_group(user, st);
}

static void *embedded_group_new(struct mdns_backend *be, void *up)
{
	return api.avahi_s_entry_group_new(be->server, group_cb, up);
}

static int embedded_group_add(struct mdns_backend *be, void *g, AvahiIfIndex iface, const char *name,
			      const char *type, uint16_t port, AvahiStringList *txt)
{
	return api.avahi_server_add_service_strlst(be->server, g, iface, AVAHI_PROTO_UNSPEC, 0, name,
						    type, NULL, NULL, port, txt);
}

static int embedded_group_commit(struct mdns_backend *be, void *g)
{
	(void)be;
	return api.avahi_s_entry_group_commit(g);
}

static void embedded_group_reset(struct mdns_backend *be, void *g)
{
	(void)be;
	api.avahi_s_entry_group_reset(g);
}

static void embedded_group_free(struct mdns_backend *be, void *g)
{
	(void)be;
	if (g)
		api.avahi_s_entry_group_free(g);
}

static void browse_cb(AvahiSServiceBrowser *b, AvahiIfIndex iface, AvahiProtocol proto,
		      AvahiBrowserEvent ev, const char *name, const char *type, const char *domain,
		      AvahiLookupResultFlags flags, void *user)
{
	(void)b;
	mdns_on_browse(user, iface, proto, ev, name, type, domain, flags);
}

static void *embedded_browser_new(struct mdns_backend *be, AvahiIfIndex iface, const char *type, void *up)
{
	return api.avahi_s_service_browser_new(be->server, iface, AVAHI_PROTO_UNSPEC, type, NULL, 0,
					       browse_cb, up);
}

static void embedded_browser_free(struct mdns_backend *be, void *b)
{
	(void)be;
	if (b)
		api.avahi_s_service_browser_free(b);
}

static void resolve_cb(AvahiSServiceResolver *r, AvahiIfIndex iface, AvahiProtocol proto,
		       AvahiResolverEvent ev, const char *name, const char *type, const char *domain,
		       const char *host, const AvahiAddress *a, uint16_t port, AvahiStringList *txt,
		       AvahiLookupResultFlags flags, void *user)
{
	(void)r;
	mdns_on_resolve(user, iface, proto, ev, name, type, domain, host, a, port, txt, flags);
}

static void *embedded_resolver_new(struct mdns_backend *be, AvahiIfIndex iface, AvahiProtocol proto,
				   const char *name, const char *type, const char *domain, void *up)
{
	return api.avahi_s_service_resolver_new(be->server, iface, proto, name, type, domain,
						AVAHI_PROTO_UNSPEC, 0, resolve_cb, up);
}

static void embedded_resolver_free(struct mdns_backend *be, void *r)
{
	(void)be;
	if (r)
		api.avahi_s_service_resolver_free(r);
}

const struct mdns_backend_ops mdns_backend_embedded = {
	.name = "embedded",
	.warm_cache = false,
	.open = embedded_open,
	.close = embedded_close,
	.host_name = embedded_host_name,
	.last_error = embedded_last_error,
	.group_new = embedded_group_new,
	.group_add = embedded_group_add,
	.group_commit = embedded_group_commit,
	.group_reset = embedded_group_reset,
	.group_free = embedded_group_free,
	.browser_new = embedded_browser_new,
	.browser_free = embedded_browser_free,
	.resolver_new = embedded_resolver_new,
	.resolver_free = embedded_resolver_free,
};
