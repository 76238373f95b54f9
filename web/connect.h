/* connect: how a command reaches a device: resolve the target, create a
 * peer connection, POST its offer, hold the answer to the fingerprint the
 * device advertised, and report when data channels can be opened. `ping`
 * and `send` share it; each failure comes with the kind a command turns
 * into its exit code. */
#ifndef IDL_CONNECT_H
#define IDL_CONNECT_H

#include <stdbool.h>
#include <glib.h>

#include "discovery/mdns.h"
#include "discovery/resolve.h"
#include "discovery/target.h"
#include "transport/peer.h"

enum idl_connect_failure {
	IDL_CONNECT_NOT_FOUND,    /* no such device (discovery) */
	IDL_CONNECT_REFUSED,      /* the device refused the connection (HTTP) */
	IDL_CONNECT_FINGERPRINT,  /* the device is not the one advertised */
	IDL_CONNECT_LOST,         /* ICE, DTLS or SCTP failed, or the link dropped */
};

struct idl_connect_options {
	struct idl_target target;     /* parsed where the command read argv */
	const char *interface;        /* NULL: all */
	bool dtls_client;             /* see idl_peer_create_offer */
	unsigned timeout_ms;          /* discovery is bounded by min(this, 5 s) */
	enum idl_mdns_backend backend;
	const struct idl_identity *id;/* borrowed, outlives the connection */
	/* Called with the callbacks' user after resolved, before anything is
	 * sent to the device: false ends the attempt there (send's pinning: a
	 * known name with another fingerprint must not even get our offer). No
	 * callback follows; the caller reports. May be NULL. */
	bool (*vet)(const struct idl_resolved *res, void *user);
};

struct idl_connect_callbacks {
	/* The target resolved; the offer is on its way. May be NULL. */
	void (*resolved)(const struct idl_resolved *res, void *user);
	/* The association is up: open channels on p. */
	void (*connected)(struct idl_peer *p, void *user);
	/* The end of the connection, before or after connected; message is
	 * borrowed for the call. No callback follows. */
	void (*failed)(enum idl_connect_failure kind, const char *message, void *user);
};

struct idl_connect;

/* Starts. Returns 0, or -1 with *message (owned by the caller) when
 * discovery cannot start. *out owned by caller. */
int idl_connect_start(const struct idl_connect_options *o, const struct idl_connect_callbacks *cb,
		      void *user, struct idl_connect **out, char **message);

/* The peer (NULL before resolved) and the resolved target. */
struct idl_peer *idl_connect_peer(const struct idl_connect *c);
const struct idl_resolved *idl_connect_target(const struct idl_connect *c);

/* Why a command's deadline passed, when more can be said than "no result":
 * the device took the connection but never confirmed a data channel we
 * opened (no DCEP ACK). NULL otherwise; owned by the caller. */
char *idl_connect_why_stalled(const struct idl_connect *c, unsigned waited_ms);

/* When the offer was POSTed and the answer came (monotonic, 0 until). */
void idl_connect_signalling_times(const struct idl_connect *c, gint64 *post, gint64 *answer);

/* Not from inside one of its callbacks. NULL is a no-op. */
void idl_connect_free(struct idl_connect *c);

#endif
