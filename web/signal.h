/* signal: the signalling endpoint of a device. POST /api/offer with an SDP
 * offer (Content-Type: application/sdp) creates an answering peer connection
 * and answers 201 with the SDP answer, candidates included (the shape of
 * WHIP, without trickle). The endpoint owns the peers it creates and reaps
 * them when they fail or close. */
#ifndef IDL_SIGNAL_H
#define IDL_SIGNAL_H

#include "transport/peer.h"
#include "web/http.h"

#define IDL_SIGNAL_MAX_PEERS 16
/* Connections one host (an IPv4 address, an IPv6 /64) may hold at once, up
 * or not: one host cannot take every slot, even with connections that did
 * say hello. */
#define IDL_SIGNAL_PEERS_PER_ADDRESS 4
/* A connection that is up must show it is a client within this time: an
 * idrop hello, or (for the diagnostic echo and sink channels of `ping`) a
 * message, each of which restarts the time. Else it is closed. */
#define IDL_SIGNAL_HELLO_TIMEOUT_S 30
/* Connections one address may have that are not up yet: a flood of offers
 * that never connect from one host cannot take every slot (they are
 * dropped 20 s after the answer anyway). */
#define IDL_SIGNAL_HALF_OPEN_PER_ADDRESS 4
/* Offers one address may make: a burst, then a steady rate (429 beyond:
 * every offer costs an ICE agent, sockets and a DTLS handshake). */
#define IDL_SIGNAL_OFFER_BURST 20
#define IDL_SIGNAL_OFFERS_PER_S 2

struct idl_signal;

struct idl_signal_callbacks {
	/* A remote peer opened a channel: the owner decides what it does (set
	 * its callbacks). */
	void (*channel)(struct idl_peer *p, struct idl_channel *ch, void *user);
	/* The peer failed or closed; its channels are gone without their own
	 * closed callbacks, so forget any state kept for them. */
	void (*closed)(struct idl_peer *p, void *user);
};

/* Registers POST /api/offer on h (open to any origin, so that pages of
 * other devices can send here). id is borrowed and must outlive s;
 * interface restricts ICE (NULL: all). *out is owned by the caller. */
int idl_signal_new(struct idl_http *h, const struct idl_identity *id, const char *interface,
		   const struct idl_signal_callbacks *cb, void *user, struct idl_signal **out);

/* Offers with ?to=ID are not answered here but relayed to that browser tab
 * (web/tabs.h, idl_tabs_relay_offer), after the same checks and rate
 * limit. Without tabs they get 404. t is borrowed and must outlive s. */
struct idl_tabs;
void idl_signal_set_tabs(struct idl_signal *s, struct idl_tabs *t);

/* The owner saw p prove itself: hello (an idrop hello: p is kept from now
 * on) or another message (a diagnostic channel's: p gets another
 * IDL_SIGNAL_HELLO_TIMEOUT_S). Unknown peers are ignored. */
void idl_signal_peer_seen(struct idl_signal *s, struct idl_peer *p, bool hello);

/* Closes every peer. NULL is a no-op. */
void idl_signal_free(struct idl_signal *s);

#endif
