/* device: one idrop-lan device on the LAN, assembled. Its HTTP server
 * carries GET /api/info, the page, POST /api/offer (with the relay of
 * ?to=ID offers to attached browser tabs), GET /api/devices and the tabs'
 * event streams; the peers that connect may open the diagnostic channels
 * "echo" and "sink", which the device answers itself, and "idrop", which it
 * hands to its owner (who decides who may send files, and where they go);
 * DNS-SD advertises it. It prints nothing: `serve` and `receive` run one
 * and report what its callbacks say; tests/unit/test_device.c runs one on
 * loopback. */
#ifndef IDL_DEVICE_H
#define IDL_DEVICE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "discovery/mdns.h"
#include "transport/peer.h"

/* Echo replies one channel may have waiting for a peer that does not read
 * them; beyond it the channel is closed. */
#define IDL_DEVICE_ECHO_BUFFER_MAX (1024 * 1024)

struct idl_device_options {
	const char *name;              /* display name, advertised (base/name.h rules) */
	const struct idl_identity *id; /* borrowed, must outlive the device */
	const char *interface;         /* listen, connect and advertise only here; NULL: all */
	uint16_t port;                 /* HTTP port; 0: any free one */
	bool port_fallback;            /* port taken: take any free one instead of failing */
	enum idl_mdns_backend backend;
	/* No mDNS at all (unit tests): nothing is advertised, there is no
	 * /api/devices, tabs attach but are not announced; the device is
	 * reached by address only. */
	bool no_discovery;
};

struct idl_device_callbacks {
	/* A peer opened an "idrop" channel: the owner takes it (sets its
	 * callbacks), and tells idl_device_peer_hello when the sender said
	 * hello. NULL: they are closed, as a channel of any
	 * other label is. */
	void (*transfer_channel)(struct idl_peer *p, struct idl_channel *ch, void *user);
	/* p failed or closed; its channels are gone without their own closed
	 * callbacks. May be NULL. */
	void (*peer_closed)(struct idl_peer *p, void *user);
	/* The advert is on the network under name (another one after a
	 * conflict); again after every rename. May be NULL. */
	void (*advertised)(const char *name, void *user);
	/* Advertising stopped for good; err says why. May be NULL. */
	void (*advert_failed)(const GError *err, void *user);
};

struct idl_device;

/* Builds the device on the thread-default main context: binds the HTTP
 * port and starts discovery, but advertises nothing yet (so the owner can
 * say what it runs first). Strings in o are copied; cb and user are
 * borrowed. Returns 0, or a negative errno value with *err saying what to
 * do (port taken, no such interface, discovery impossible). *out is owned
 * by the caller. */
int idl_device_new(const struct idl_device_options *o, const struct idl_device_callbacks *cb, void *user,
		   struct idl_device **out, GError **err);

/* Advertises the device by DNS-SD (a no-op without discovery). Returns 0,
 * or a negative errno value with *err. */
int idl_device_start(struct idl_device *d, GError **err);

/* Withdraws the advert and the tabs' records, stops the server, then
 * closes every peer. Not from inside one of its callbacks. NULL is a no-op. */
void idl_device_free(struct idl_device *d);

/* The sender on p said hello on its "idrop" channel: its connection is
 * kept from now on (web/signal.h, idl_signal_peer_seen). */
void idl_device_peer_hello(struct idl_device *d, struct idl_peer *p);

/* The HTTP port actually bound. */
uint16_t idl_device_port(const struct idl_device *d);

/* The name as advertised now (after a conflict, not the one asked for).
 * Borrowed; changes on a rename. */
const char *idl_device_name(const struct idl_device *d);

/* SHA-256 of the device's certificate, 64 hex digits. Borrowed. */
const char *idl_device_fingerprint(const struct idl_device *d);

/* "avahi-daemon", "embedded", or "none" without discovery. Static. */
const char *idl_device_discovery_name(const struct idl_device *d);

/* This host's mDNS name ("laptop.local"), or NULL (none yet, or no
 * discovery). Borrowed. */
const char *idl_device_host_name(const struct idl_device *d);

#endif
