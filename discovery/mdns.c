/* mdns: advertise and browse DNS-SD services over whichever back-end is
 * available (see mdns.h). This file holds what both back-ends share: the
 * choice between them, the network check, renaming on conflicts, and the
 * merging of per-interface, per-family results into one service. */
#include "discovery/mdns.h"

#include <dlfcn.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <string.h>
#include <gio/gio.h>
#include <avahi-common/alternative.h>
#include <avahi-common/domain.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <avahi-glib/glib-watch.h>

#include "base/text.h"
#include "discovery/backend.h"
#include "discovery/oneshot.h"
#include "discovery/txt.h"

#define MAX_RENAMES 50

struct idl_mdns {
	const struct mdns_backend_ops *ops;
	struct mdns_backend *be;
	AvahiGLibPoll *poll;
	AvahiIfIndex iface;
	char *interface;           /* --interface, or NULL for all */
	bool running;
	GList *adverts;            /* struct idl_mdns_advert *, borrowed */
	GList *browsers;           /* struct idl_mdns_browser *, borrowed */
};

struct idl_mdns_advert {
	struct idl_mdns *m;
	char *name;
	char *type;
	uint16_t port;
	AvahiStringList *txt;
	void *group;
	bool committed;            /* records are in the group and committed */
	unsigned renames;
	bool failed;
	struct idl_mdns_advert_callbacks cb;
	void *user;
};

/* One (interface, family) sighting of a service, with its own resolver,
 * or answered by a one-shot query (oneshot.h), or both. */
struct instance {
	struct idl_mdns_browser *b;
	AvahiIfIndex iface;
	AvahiProtocol proto;
	char *name;
	void *resolver;
	bool resolved;
	bool answered;             /* the resolver reported, found or failed */
	char *host;
	char *address;
	uint16_t port;
	GBytes *txt;
	bool local;
};

struct idl_mdns_browser {
	struct idl_mdns *m;
	void *browser;
	char *type;
	GPtrArray *instances;      /* struct instance *, owned */
	GHashTable *announced;     /* names reported as appeared, owned keys */
	bool failed;
	bool all_for_now;          /* Avahi said AVAHI_BROWSER_ALL_FOR_NOW */
	struct idl_oneshot *oneshot;
	struct idl_mdns_browse_callbacks cb;
	void *user;
};

const char *mdns_load_syms(void *lib, const struct mdns_sym *syms, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!(*syms[i].slot = dlsym(lib, syms[i].name)))
			return syms[i].name;
	}
	return NULL;
}

/* Discovery needs an interface that is up, can multicast and has an
 * address. Checked here rather than left to Avahi, which starts happily
 * with no interface at all and then silently finds nothing. */
static int check_network(const char *want, GError **err)
{
	struct ifaddrs *ifs, *i;
	bool exists = false, usable = false;

	if (getifaddrs(&ifs) < 0) {
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(errno),
			    "cannot list network interfaces: %s", g_strerror(errno));
		return -errno;
	}
	for (i = ifs; i; i = i->ifa_next) {
		if (want && strcmp(i->ifa_name, want) != 0)
			continue;
		exists = true;
		if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
			continue;
		if ((i->ifa_flags & IFF_UP) && (i->ifa_flags & IFF_MULTICAST) && !(i->ifa_flags & IFF_LOOPBACK))
			usable = true;
	}
	freeifaddrs(ifs);
	if (want && !exists) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "no network interface named \"%s\": see `ip link` for the names", want);
		return -ENODEV;
	}
	if (!usable) {
		if (want)
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE,
				    "interface %s is down, has no address, or cannot multicast: mDNS needs all three",
				    want);
		else
			g_set_error_literal(err, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE,
					    "no network: no interface is up with an address and multicast; "
					    "connect to the local network and try again");
		return -ENETDOWN;
	}
	return 0;
}

int idl_mdns_new(const struct idl_mdns_options *opt, struct idl_mdns **out, GError **err)
{
	struct idl_mdns *m = g_new0(struct idl_mdns, 1);
	const char *why = NULL;
	int aerr = 0, r;

	m->iface = AVAHI_IF_UNSPEC;
	m->interface = g_strdup(opt->interface);
	if ((r = check_network(opt->interface, err)) < 0)
		goto fail;
	if (opt->interface)
		m->iface = (AvahiIfIndex)if_nametoindex(opt->interface);
	m->poll = avahi_glib_poll_new(g_main_context_get_thread_default(), G_PRIORITY_DEFAULT);

	if (opt->backend != IDL_MDNS_EMBEDDED) {
		m->ops = &mdns_backend_daemon;
		m->be = m->ops->open(opt, avahi_glib_poll_get(m->poll), m, &aerr, &why);
		if (!m->be && opt->backend == IDL_MDNS_DAEMON) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
				    "no avahi-daemon reachable over D-Bus (%s): start avahi-daemon, "
				    "or use --mdns=embedded", why ? why : avahi_strerror(aerr));
			r = -ENOTCONN;
			goto fail;
		}
		if (!m->be)
			g_debug("avahi-daemon not usable (%s), using the embedded responder",
				why ? why : avahi_strerror(aerr));
	}
	if (!m->be) {
		why = NULL;
		m->ops = &mdns_backend_embedded;
		m->be = m->ops->open(opt, avahi_glib_poll_get(m->poll), m, &aerr, &why);
		if (!m->be) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "cannot start mDNS: %s (%s); check that nothing blocks UDP port 5353",
				    why ? why : "error", avahi_strerror(aerr));
			r = -EIO;
			goto fail;
		}
	}
	*out = m;
	return 0;
fail:
	idl_mdns_free(m);
	return r;
}

void idl_mdns_free(struct idl_mdns *m)
{
	if (!m)
		return;
	g_warn_if_fail(m->adverts == NULL && m->browsers == NULL);
	if (m->be)
		m->ops->close(m->be);
	if (m->poll)
		avahi_glib_poll_free(m->poll);
	g_free(m->interface);
	g_free(m);
}

const char *idl_mdns_backend_name(const struct idl_mdns *m)
{
	return m->ops->name;
}

bool idl_mdns_warm_cache(const struct idl_mdns *m)
{
	return m->ops->warm_cache;
}

const char *idl_mdns_host_name(const struct idl_mdns *m)
{
	return m->running ? m->ops->host_name(m->be) : NULL;
}

/* ---- advertising ---- */

static void advert_fail(struct idl_mdns_advert *a, int aerr, const char *what)
{
	GError *err;

	if (a->failed)
		return;
	a->failed = true;
	err = g_error_new(G_IO_ERROR, G_IO_ERROR_FAILED, "cannot advertise \"%s\": %s: %s",
			  a->name, what, avahi_strerror(aerr));
	if (a->cb.failed)
		a->cb.failed(err, a->user);
	g_error_free(err);
}

static void advert_rename(struct idl_mdns_advert *a)
{
	char *alt = avahi_alternative_service_name(a->name);

	g_message("mDNS: the name \"%s\" is taken on this network, using \"%s\"", a->name, alt);
	g_free(a->name);
	a->name = g_strdup(alt);
	avahi_free(alt);
	a->renames++;
}

static void advert_register(struct idl_mdns_advert *a)
{
	struct idl_mdns *m = a->m;
	int r;

	if (!m->running || a->failed || a->committed)
		return;
	if (!a->group && !(a->group = m->ops->group_new(m->be, a))) {
		advert_fail(a, m->ops->last_error(m->be), "cannot create an entry group");
		return;
	}
	for (;;) {
		r = m->ops->group_add(m->be, a->group, m->iface, a->name, a->type, a->port, a->txt);
		/* Another service on this very host holds the name: the daemon says
		 * so at once, without probing. */
		if (r != AVAHI_ERR_COLLISION || a->renames >= MAX_RENAMES)
			break;
		advert_rename(a);
	}
	if (r < 0) {
		advert_fail(a, r, "cannot add the service");
		return;
	}
	if ((r = m->ops->group_commit(m->be, a->group)) < 0) {
		advert_fail(a, r, "cannot publish the service");
		return;
	}
	a->committed = true;
}

static void advert_withdraw(struct idl_mdns_advert *a)
{
	if (a->group)
		a->m->ops->group_reset(a->m->be, a->group);
	a->committed = false;
}

void mdns_on_group(void *up, AvahiEntryGroupState st)
{
	struct idl_mdns_advert *a = up;

	switch (st) {
	case AVAHI_ENTRY_GROUP_ESTABLISHED:
		if (a->cb.established)
			a->cb.established(a->name, a->user);
		break;
	case AVAHI_ENTRY_GROUP_COLLISION:
		if (a->renames >= MAX_RENAMES) {
			advert_fail(a, AVAHI_ERR_COLLISION, "too many name conflicts");
			break;
		}
		advert_rename(a);
		advert_withdraw(a);
		advert_register(a);
		break;
	case AVAHI_ENTRY_GROUP_FAILURE:
		advert_fail(a, a->m->ops->last_error(a->m->be), "the responder failed");
		break;
	case AVAHI_ENTRY_GROUP_UNCOMMITED:
	case AVAHI_ENTRY_GROUP_REGISTERING:
		break;
	}
}

int idl_mdns_advertise(struct idl_mdns *m, const char *name, uint16_t port,
		       const uint8_t *txt, size_t txt_len,
		       const struct idl_mdns_advert_callbacks *cb, void *user,
		       struct idl_mdns_advert **out, GError **err)
{
	struct idl_mdns_advert *a;
	AvahiStringList *list = NULL;

	if (!avahi_is_valid_service_name(name)) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
			    "\"%s\" cannot be a DNS-SD name: use 1 to 63 bytes", name);
		return -EINVAL;
	}
	if (txt_len && avahi_string_list_parse(txt, txt_len, &list) < 0) {
		g_set_error_literal(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "malformed TXT record");
		return -EINVAL;
	}
	a = g_new0(struct idl_mdns_advert, 1);
	a->m = m;
	a->name = g_strdup(name);
	a->type = g_strdup(IDL_SERVICE_TYPE);
	a->port = port;
	a->txt = list;
	a->cb = *cb;
	a->user = user;
	m->adverts = g_list_prepend(m->adverts, a);
	advert_register(a);
	*out = a;
	return 0;
}

void idl_mdns_advert_free(struct idl_mdns_advert *a)
{
	if (!a)
		return;
	a->m->adverts = g_list_remove(a->m->adverts, a);
	/* Freeing the group withdraws the records with goodbye packets, so
	 * peers see the device leave at once rather than after the TTL. */
	if (a->group)
		a->m->ops->group_free(a->m->be, a->group);
	avahi_string_list_free(a->txt);
	g_free(a->name);
	g_free(a->type);
	g_free(a);
}

/* ---- browsing ---- */

static void instance_free(gpointer p)
{
	struct instance *in = p;

	if (in->resolver)
		in->b->m->ops->resolver_free(in->b->m->be, in->resolver);
	g_free(in->name);
	g_free(in->host);
	g_free(in->address);
	if (in->txt)
		g_bytes_unref(in->txt);
	g_free(in);
}

static void browser_fail(struct idl_mdns_browser *b, int aerr)
{
	GError *err;

	if (b->failed)
		return;
	b->failed = true;
	err = g_error_new(G_IO_ERROR, G_IO_ERROR_FAILED, "browsing for %s failed: %s",
			  b->type, avahi_strerror(aerr));
	if (b->cb.failed)
		b->cb.failed(err, b->user);
	g_error_free(err);
}

static gint v4_first(gconstpointer pa, gconstpointer pb)
{
	const char *a = *(const char *const *)pa, *b = *(const char *const *)pb;
	bool a6 = strchr(a, ':') != NULL, b6 = strchr(b, ':') != NULL;

	return a6 != b6 ? (a6 ? 1 : -1) : strcmp(a, b);
}

/* Reports name as one service merged over its resolved instances. */
static void report(struct idl_mdns_browser *b, const char *name)
{
	struct idl_mdns_service svc = { .name = name };
	GPtrArray *addrs = g_ptr_array_new();
	struct instance *first = NULL;

	for (guint i = 0; i < b->instances->len; i++) {
		struct instance *in = b->instances->pdata[i];
		bool dup = false;

		if (!in->resolved || strcmp(in->name, name) != 0)
			continue;
		if (!first)
			first = in;
		svc.local = svc.local || in->local;
		for (guint k = 0; k < addrs->len; k++)
			dup = dup || strcmp(addrs->pdata[k], in->address) == 0;
		if (!dup)
			g_ptr_array_add(addrs, in->address);
	}
	if (first) {
		g_ptr_array_sort(addrs, v4_first);
		g_ptr_array_add(addrs, NULL);
		svc.host = first->host;
		svc.port = first->port;
		svc.addresses = (const char *const *)addrs->pdata;
		svc.txt = g_bytes_get_data(first->txt, &svc.txt_len);
		g_hash_table_add(b->announced, g_strdup(name));
		if (b->cb.appeared)
			b->cb.appeared(&svc, b->user);
	}
	g_ptr_array_free(addrs, TRUE);
}

static struct instance *find_instance(struct idl_mdns_browser *b, AvahiIfIndex iface,
				      AvahiProtocol proto, const char *name, guint *idx)
{
	for (guint i = 0; i < b->instances->len; i++) {
		struct instance *in = b->instances->pdata[i];
		if (in->iface == iface && in->proto == proto && strcmp(in->name, name) == 0) {
			if (idx)
				*idx = i;
			return in;
		}
	}
	return NULL;
}

/* An instance name is shown and matched as a device's name: one that fails
 * the name rule (control or hidden characters, which could redraw a
 * terminal or pass for another name) is nobody's, however it was heard. */
static bool usable_name(const char *name)
{
	char *q;

	if (idl_name_valid(name, strlen(name)))
		return true;
	q = idl_text_quote(name, strlen(name));
	g_debug("mDNS: ignoring a service whose instance name is not a usable name: %s", q);
	g_free(q);
	return false;
}

static struct instance *instance_new(struct idl_mdns_browser *b, AvahiIfIndex iface,
				     AvahiProtocol proto, const char *name)
{
	struct instance *in = g_new0(struct instance, 1);

	in->b = b;
	in->iface = iface;
	in->proto = proto;
	in->name = g_strdup(name);
	g_ptr_array_add(b->instances, in);
	return in;
}

void mdns_on_browse(void *up, AvahiIfIndex iface, AvahiProtocol proto, AvahiBrowserEvent ev,
		    const char *name, const char *type, const char *domain, AvahiLookupResultFlags flags)
{
	struct idl_mdns_browser *b = up;
	struct instance *in;
	guint idx;

	(void)flags;
	switch (ev) {
	case AVAHI_BROWSER_NEW:
		if (!usable_name(name))
			break;
		/* One a one-shot query answered gets its resolver too, so that
		 * later changes are followed. */
		if ((in = find_instance(b, iface, proto, name, NULL)) && in->resolver)
			break;
		if (!in)
			in = instance_new(b, iface, proto, name);
		in->resolver = b->m->ops->resolver_new(b->m->be, iface, proto, name, type, domain, in);
		if (!in->resolver)
			g_debug("mDNS: cannot resolve \"%s\": %s", name,
				avahi_strerror(b->m->ops->last_error(b->m->be)));
		break;
	case AVAHI_BROWSER_REMOVE: {
		bool others = false;

		if (!(in = find_instance(b, iface, proto, name, &idx)))
			break;
		g_ptr_array_remove_index_fast(b->instances, idx);
		for (guint i = 0; i < b->instances->len; i++)
			others = others || strcmp(((struct instance *)b->instances->pdata[i])->name, name) == 0;
		if (!others && g_hash_table_remove(b->announced, name)) {
			if (b->cb.left)
				b->cb.left(name, b->user);
		} else if (others) {
			report(b, name);   /* still there, on fewer interfaces */
		}
		break;
	}
	case AVAHI_BROWSER_FAILURE:
		browser_fail(b, b->m->ops->last_error(b->m->be));
		break;
	case AVAHI_BROWSER_ALL_FOR_NOW:
		b->all_for_now = true;
		break;
	case AVAHI_BROWSER_CACHE_EXHAUSTED:
		break;
	}
}

/* Formats a resolved address; IPv6 link-local gets its zone so that it can
 * be connected to. */
static char *format_address(const AvahiAddress *a, AvahiIfIndex iface)
{
	char buf[AVAHI_ADDRESS_STR_MAX], ifname[IF_NAMESIZE];

	avahi_address_snprint(buf, sizeof(buf), a);
	if (a->proto == AVAHI_PROTO_INET6 && a->data.ipv6.address[0] == 0xfe &&
	    (a->data.ipv6.address[1] & 0xc0) == 0x80 && if_indextoname((unsigned)iface, ifname))
		return g_strdup_printf("%s%%%s", buf, ifname);
	return g_strdup(buf);
}

/* Takes ownership of host, address and txt. */
static void instance_set(struct instance *in, char *host, char *address, uint16_t port, GBytes *txt)
{
	g_free(in->host);
	g_free(in->address);
	if (in->txt)
		g_bytes_unref(in->txt);
	in->host = host;
	in->address = address;
	in->port = port;
	in->txt = txt;
	in->resolved = true;
}

void mdns_on_resolve(void *up, AvahiIfIndex iface, AvahiProtocol proto, AvahiResolverEvent ev,
		     const char *name, const char *type, const char *domain, const char *host,
		     const AvahiAddress *a, uint16_t port, AvahiStringList *txt,
		     AvahiLookupResultFlags flags)
{
	struct instance *in = up;
	size_t len = avahi_string_list_serialize(txt, NULL, 0);
	uint8_t *wire;
	char *host_name;

	(void)iface;
	(void)proto;
	(void)type;
	(void)domain;
	in->answered = true;
	if (ev != AVAHI_RESOLVER_FOUND) {
		g_debug("mDNS: cannot resolve \"%s\" (%s)", name,
			avahi_strerror(in->b->m->ops->last_error(in->b->m->be)));
		return;
	}
	wire = g_malloc(len ? len : 1);
	avahi_string_list_serialize(txt, wire, len);
	/* Avahi gives "host.local"; drop any trailing dot for display. */
	host_name = g_strdup(host);
	if (*host_name && host_name[strlen(host_name) - 1] == '.')
		host_name[strlen(host_name) - 1] = 0;

	instance_set(in, host_name, format_address(a, in->iface), port, g_bytes_new_take(wire, len));
	in->local = (flags & (AVAHI_LOOKUP_RESULT_LOCAL | AVAHI_LOOKUP_RESULT_OUR_OWN)) != 0;
	report(in->b, in->name);
}

/* A one-shot answer: the same instance as Avahi's for that interface and
 * family, so that a device heard both ways is one service. */
static void on_oneshot(const struct idl_oneshot_found *f, void *user)
{
	struct idl_mdns_browser *b = user;
	AvahiProtocol proto = f->family == AF_INET6 ? AVAHI_PROTO_INET6 : AVAHI_PROTO_INET;
	struct instance *in;

	if (!usable_name(f->name))
		return;
	in = find_instance(b, (AvahiIfIndex)f->ifindex, proto, f->name, NULL);
	if (!in)
		in = instance_new(b, (AvahiIfIndex)f->ifindex, proto, f->name);
	instance_set(in, g_strdup(f->host), g_strdup(f->address), f->port, g_bytes_new(f->txt, f->txt_len));
	report(b, in->name);
}

int idl_mdns_browser_oneshot(struct idl_mdns_browser *b, GError **err)
{
	if (b->oneshot)
		return 0;
	return idl_oneshot_new(b->type, b->m->interface, on_oneshot, b, &b->oneshot, err);
}

int idl_mdns_browse(struct idl_mdns *m, const char *type,
		    const struct idl_mdns_browse_callbacks *cb, void *user,
		    struct idl_mdns_browser **out, GError **err)
{
	struct idl_mdns_browser *b = g_new0(struct idl_mdns_browser, 1);

	b->m = m;
	b->type = g_strdup(type);
	b->cb = *cb;
	b->user = user;
	b->instances = g_ptr_array_new_with_free_func(instance_free);
	b->announced = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	b->browser = m->ops->browser_new(m->be, m->iface, type, b);
	if (!b->browser) {
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot browse for %s: %s", type,
			    avahi_strerror(m->ops->last_error(m->be)));
		b->m = NULL;
		idl_mdns_browser_free(b);
		return -EIO;
	}
	m->browsers = g_list_prepend(m->browsers, b);
	*out = b;
	return 0;
}

bool idl_mdns_browser_resolving(const struct idl_mdns_browser *b)
{
	for (guint i = 0; i < b->instances->len; i++) {
		const struct instance *in = b->instances->pdata[i];
		/* Already answered by a one-shot query: nothing is missing. */
		if (in->resolver && !in->answered && !in->resolved)
			return true;
	}
	return false;
}

bool idl_mdns_browser_all_for_now(const struct idl_mdns_browser *b)
{
	return b->all_for_now;
}

void idl_mdns_browser_free(struct idl_mdns_browser *b)
{
	if (!b)
		return;
	idl_oneshot_free(b->oneshot);
	if (b->m) {
		b->m->browsers = g_list_remove(b->m->browsers, b);
		if (b->browser)
			b->m->ops->browser_free(b->m->be, b->browser);
	}
	g_ptr_array_free(b->instances, TRUE);
	g_hash_table_destroy(b->announced);
	g_free(b->type);
	g_free(b);
}

/* ---- back-end state ---- */

void mdns_on_state(void *up, enum mdns_state st, int avahi_err)
{
	struct idl_mdns *m = up;

	switch (st) {
	case MDNS_RUNNING:
		m->running = true;
		for (GList *l = m->adverts; l; l = l->next)
			advert_register(l->data);
		break;
	case MDNS_WITHDRAW:
		m->running = false;
		for (GList *l = m->adverts; l; l = l->next)
			advert_withdraw(l->data);
		break;
	case MDNS_FAILED:
		m->running = false;
		for (GList *l = m->adverts; l; l = l->next)
			advert_fail(l->data, avahi_err, "the mDNS responder stopped");
		for (GList *l = m->browsers; l; l = l->next)
			browser_fail(l->data, avahi_err);
		break;
	}
}
