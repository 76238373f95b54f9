/* peer: a WebRTC data-channel peer connection. It owns an ICE agent, a DTLS
 * session and an SCTP association and wires them together: ICE datagrams
 * feed DTLS, DTLS records feed SCTP, and each layer sends through the one
 * below by a callback. Signalling is one offer/answer exchange with all
 * candidates (no trickle), carried by whoever owns the peer (HTTP). Every
 * failure names the phase it happened in, so users learn what broke. */
#ifndef IDL_PEER_H
#define IDL_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

#include "sctp/sctp.h"
#include "trust/identity.h"

enum idl_peer_phase {
	IDL_PEER_PHASE_SIGNALLING,   /* the offer/answer exchange */
	IDL_PEER_PHASE_ICE,          /* connectivity */
	IDL_PEER_PHASE_DTLS,         /* the encrypted session */
	IDL_PEER_PHASE_FINGERPRINT,  /* the peer is not the device it claims to be */
	IDL_PEER_PHASE_SCTP,         /* the association over DTLS */
	IDL_PEER_PHASE_CHANNEL,      /* a data channel */
};

/* "signalling", "ICE", ... static strings. */
const char *idl_peer_phase_name(enum idl_peer_phase phase);

struct idl_peer;

struct idl_peer_callbacks {
	/* The SCTP association is up: channels can be opened. */
	void (*connected)(struct idl_peer *p, void *user);
	/* The remote side opened a channel (set its callbacks here). */
	void (*channel)(struct idl_peer *p, struct idl_channel *ch, void *user);
	/* The connection failed or ended; no callback follows. Free the peer
	 * later (an idle source), never inside this callback. */
	void (*failed)(struct idl_peer *p, enum idl_peer_phase phase, const GError *err, void *user);
};

/* Monotonic timestamps (g_get_monotonic_time), 0 until reached. */
struct idl_peer_timings {
	gint64 created;
	gint64 remote_set;        /* answer accepted / offer answered */
	gint64 ice_connected;
	gint64 dtls_connected;
	gint64 sctp_connected;
};

/* id is borrowed and must outlive the peer; interface restricts ICE (NULL:
 * all). connect_timeout_ms bounds the time from the remote description to
 * SCTP up (0: 20 s). *out is owned by the caller. */
int idl_peer_new(const struct idl_identity *id, const char *interface, unsigned connect_timeout_ms,
		 const struct idl_peer_callbacks *cb, void *user, struct idl_peer **out, GError **err);

/* Offerer: gathers and returns the offer SDP (owned by the caller), or NULL
 * with *err. The offer leaves the DTLS role to the answerer (actpass), who
 * by custom takes the client role; dtls_client insists on it instead
 * (setup:active), to exercise both roles. */
char *idl_peer_create_offer(struct idl_peer *p, bool dtls_client, GError **err);

/* Offerer: takes the answer. When expected_fp (64 hex digits) is given, the
 * answer's fingerprint must equal it (the device's advertised identity), or
 * the connection is refused before any packet is sent (-EPERM,
 * G_IO_ERROR_PERMISSION_DENIED). An answer that does not take the DTLS
 * role our offer left it (active to an active offer) is -EINVAL with
 * G_IO_ERROR_NOT_SUPPORTED; any other bad answer -EINVAL. */
int idl_peer_accept_answer(struct idl_peer *p, const char *sdp, size_t len, const char *expected_fp,
			   GError **err);

/* Answerer: takes an offer and returns the answer SDP (owned by the
 * caller), or NULL with *err (-EINVAL kind: a bad offer). */
char *idl_peer_answer(struct idl_peer *p, const char *offer, size_t len, GError **err);

/* Opens a reliable channel once connected; see idl_sctp_open_channel. */
struct idl_channel *idl_peer_open_channel(struct idl_peer *p, const char *label, const char *protocol,
					  bool ordered, const struct idl_channel_callbacks *cb,
					  void *user, GError **err);

/* The label of a channel we opened that the peer has not confirmed (see
 * idl_sctp_unconfirmed_channel), or NULL (none, or not connected): the
 * connection is up but the peer's data-channel layer never answered. */
const char *idl_peer_unconfirmed_channel(const struct idl_peer *p);

const struct idl_peer_timings *idl_peer_timings(const struct idl_peer *p);

/* The fingerprint the remote SDP announced (64 hex digits), "" before. */
const char *idl_peer_remote_fingerprint(const struct idl_peer *p);

/* "10.0.0.2:5000 -> 10.0.0.3:6000 (host), TLS1.2 ECDHE-ECDSA-AES128-GCM..."
 * for diagnostics; owned by the caller. */
char *idl_peer_describe(const struct idl_peer *p);

/* Starts the graceful end of a connection that is up: SCTP SHUTDOWN (see
 * idl_sctp_shutdown); the caller then lets the loop run until
 * idl_peer_shutdown_done or its own bound, and frees the peer. Returns 0,
 * or -ENOTCONN when there is nothing to shut down (never connected, or
 * failed). */
int idl_peer_shutdown(struct idl_peer *p);

/* True once the association is over (shut down, or the connection failed
 * or never came up): idl_peer_free aborts nothing then. */
bool idl_peer_shutdown_done(const struct idl_peer *p);

/* True when err, as failed gave it in the data-channel phase, is the peer
 * ending the connection on purpose (an SCTP shutdown, a DTLS
 * close_notify): a normal end, not a failure, for whoever logs it. */
bool idl_peer_error_is_normal_end(const GError *err);

/* Tears everything down, top down: the SCTP association (aborted unless it
 * was shut down), then DTLS (close_notify), then ICE. Not from inside one
 * of p's callbacks. NULL is a no-op. */
void idl_peer_free(struct idl_peer *p);

#endif
