/* oneshot: DNS-SD by one-shot mDNS queries (RFC 6762 section 5.1), for
 * commands that want the devices on the LAN now (`list`, `send NAME`).
 * The query leaves from an ephemeral port, not 5353, so every responder
 * answers it at once by unicast to that port (section 6.7), whatever it
 * multicast in the last second: the multicast rate limit of section 6,
 * which keeps a responder that has just answered someone else silent to
 * the next multicast query for up to a second, does not apply. Avahi
 * (daemon and core) puts PTR, SRV, TXT and the host's address records in
 * one such answer; whatever is missing is asked for by follow-up one-shot
 * queries. Runs on the thread-default main context and never blocks.
 * Private to discovery/: mdns.c merges what it finds with what the
 * back-end finds. */
#ifndef IDL_ONESHOT_H
#define IDL_ONESHOT_H

#include <stddef.h>
#include <stdint.h>
#include <glib.h>

/* One service instance fully answered on one interface and address family.
 * Everything is borrowed for the duration of the callback. host passes
 * idl_name_valid label by label; name and txt are as heard (without a NUL
 * byte): the caller applies its rules to them as to what it browses. */
struct idl_oneshot_found {
	unsigned ifindex;
	int family;                  /* AF_INET or AF_INET6 */
	const char *name;            /* instance name: "Alpha" */
	const char *host;            /* "a.local" */
	const char *address;         /* IPv6 link-local carries "%ifname" */
	uint16_t port;
	const uint8_t *txt;          /* RFC 6763 wire format */
	size_t txt_len;
};

typedef void (*idl_oneshot_found_fn)(const struct idl_oneshot_found *f, void *user);

struct idl_oneshot;

/* Opens a UDP socket on an ephemeral port per usable interface (up,
 * multicast, not loopback; only interface when not NULL) and address family,
 * sends a PTR query for type ("_idrop._tcp") in the local domain on each
 * group (224.0.0.251, ff02::fb), and repeats it a few times within the
 * first ~200 ms, since multicast may be lost. found is called, from the
 * main loop, for each instance answered, again whenever a later answer says
 * it again. *out is owned by the caller. Returns 0, or a negative errno
 * value with *err set when no socket could be opened at all. */
int idl_oneshot_new(const char *type, const char *interface, idl_oneshot_found_fn found, void *user,
		    struct idl_oneshot **out, GError **err);

/* Closes the sockets; no callback comes after. NULL is a no-op. Never from
 * inside its own callback. */
void idl_oneshot_free(struct idl_oneshot *o);

#endif
