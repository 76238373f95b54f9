/* mdns: DNS-SD advertising and browsing on the GLib main loop, with one API
 * over two back-ends: the machine's avahi-daemon over D-Bus when one is
 * reachable (it shares the machine's one responder), else Avahi's embeddable
 * core run in-process (containers, minimal systems, CI). Nothing above this
 * module knows which back-end runs. */
#ifndef IDL_MDNS_H
#define IDL_MDNS_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#define IDL_SERVICE_TYPE "_idrop._tcp"

enum idl_mdns_backend {
	IDL_MDNS_AUTO,        /* the daemon when reachable, else embedded */
	IDL_MDNS_DAEMON,
	IDL_MDNS_EMBEDDED,
};

struct idl_mdns_options {
	enum idl_mdns_backend backend;
	const char *interface;   /* NULL: every interface but loopback */
	bool publish;            /* embedded back-end: answer for this host (serve),
	                            or only ask (list) so it never competes with a
	                            responder already running on this host */
};

/* One service instance as seen on the network, merged over interfaces and
 * address families. Everything is borrowed for the duration of a callback. */
struct idl_mdns_service {
	const char *name;            /* DNS-SD instance name */
	const char *host;            /* "laptop.local" */
	uint16_t port;
	const char *const *addresses;/* NULL-terminated, IPv4 first; IPv6
	                                link-local carry "%ifname" */
	const uint8_t *txt;          /* TXT record, RFC 6763 wire format */
	size_t txt_len;
	bool local;                  /* published from this machine */
};

struct idl_mdns;
struct idl_mdns_advert;
struct idl_mdns_browser;

struct idl_mdns_advert_callbacks {
	/* The records are on the network under name (which differs from the
	 * requested one after a conflict: "name #2"). Called again after every
	 * rename. */
	void (*established)(const char *name, void *user);
	/* Advertising stopped for good; err says why. */
	void (*failed)(const GError *err, void *user);
};

struct idl_mdns_browse_callbacks {
	/* A service was resolved, or its addresses, port or TXT changed. */
	void (*appeared)(const struct idl_mdns_service *svc, void *user);
	/* The service left the network (goodbye or expiry). */
	void (*left)(const char *name, void *user);
	/* The browse itself failed; no more events come. */
	void (*failed)(const GError *err, void *user);
};

/* Starts discovery with the chosen back-end on the thread-default main
 * context. Fails with a message that says what to do when discovery is
 * impossible: no usable network interface, the forced back-end is
 * unavailable, or mDNS sockets cannot be opened. *out is owned by the caller.
 * Returns 0 or a negative errno value with *err set. */
int idl_mdns_new(const struct idl_mdns_options *opt, struct idl_mdns **out, GError **err);

/* Withdraws every advert still alive (goodbye packets go out now) and
 * stops. Adverts and browsers must be freed first. NULL is a no-op. */
void idl_mdns_free(struct idl_mdns *m);

/* "avahi-daemon" or "embedded". Borrowed, static. */
const char *idl_mdns_backend_name(const struct idl_mdns *m);

/* True when the responder was listening before we asked (avahi-daemon):
 * what devices multicast shortly before (announcements, answers to other
 * hosts) is in its cache. False for the embedded responder, which starts
 * cold: a device that multicast its records in the last half second holds
 * back its answer to our first query (RFC 6762 section 6; Avahi: 500 ms)
 * and answers only the next one, a second later. */
bool idl_mdns_warm_cache(const struct idl_mdns *m);

/* This host's mDNS name ("laptop.local"), or NULL before the responder runs.
 * Borrowed. */
const char *idl_mdns_host_name(const struct idl_mdns *m);

/* Advertises name on port with the TXT record txt (wire format, copied).
 * Conflicts are resolved as DNS-SD does, by renaming. *out is owned by the
 * caller; idl_mdns_advert_free withdraws it. Returns 0 or negative errno. */
int idl_mdns_advertise(struct idl_mdns *m, const char *name, uint16_t port,
		       const uint8_t *txt, size_t txt_len,
		       const struct idl_mdns_advert_callbacks *cb, void *user,
		       struct idl_mdns_advert **out, GError **err);
void idl_mdns_advert_free(struct idl_mdns_advert *a);

/* Browses for services of type; events arrive on the main loop until the
 * browser is freed. *out is owned by the caller. Returns 0 or negative errno. */
int idl_mdns_browse(struct idl_mdns *m, const char *type,
		    const struct idl_mdns_browse_callbacks *cb, void *user,
		    struct idl_mdns_browser **out, GError **err);
void idl_mdns_browser_free(struct idl_mdns_browser *b);

/* True while a service heard of is still being resolved (its address, port
 * or TXT not known yet, from its resolver or a one-shot answer, and its
 * resolver has not given up): answers are
 * still coming in. A one-shot reader (`list`) waits for this to be false
 * before it calls the picture complete. */
bool idl_mdns_browser_resolving(const struct idl_mdns_browser *b);

/* Also asks by one-shot queries (discovery/oneshot.h) for the services
 * browsed, on the same interfaces: every device on the link answers those
 * at once, by unicast, even one that has just multicast its records and
 * holds back its answer to the back-end's query. What they say is merged
 * with what the back-end finds, one service per name. For one-off
 * commands (`list`, `send NAME`); a watch has no use for it. Returns 0, or
 * a negative errno value with *err set when no query could be sent (the
 * browse goes on without). */
int idl_mdns_browser_oneshot(struct idl_mdns_browser *b, GError **err);

/* True once Avahi said "all for now" (AVAHI_BROWSER_ALL_FOR_NOW): its first
 * query has had a second for answers, and its second query is leaving. */
bool idl_mdns_browser_all_for_now(const struct idl_mdns_browser *b);

#endif
