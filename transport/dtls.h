/* dtls: a DTLS 1.2 session on GnuTLS, pumped by its owner: datagrams from
 * the peer are fed in, records to send leave through a callback, and
 * retransmission timers run on the GLib main loop. It knows nothing of ICE:
 * the peer connection wires it to the ICE component (and a test to an
 * in-memory pipe). The peer's certificate is checked inside the handshake
 * against the fingerprint taken from the remote SDP, in both roles. */
#ifndef IDL_DTLS_H
#define IDL_DTLS_H

/* Bytes a DTLS 1.2 record adds to its payload, at most: 13 of header, and for
 * AES-GCM 8 of explicit nonce and 16 of tag; rounded up for other suites. */
#define IDL_DTLS_RECORD_OVERHEAD 40

#include <stddef.h>
#include <stdint.h>
#include <glib.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "base/fingerprint.h"

#define IDL_DTLS_ERROR (idl_dtls_error_quark())
GQuark idl_dtls_error_quark(void);

enum idl_dtls_error {
	IDL_DTLS_ERROR_HANDSHAKE,     /* the handshake failed (alert, timeout, bad record) */
	IDL_DTLS_ERROR_FINGERPRINT,   /* the peer's certificate is not the one its SDP named */
	IDL_DTLS_ERROR_CLOSED,        /* the peer closed the session */
	IDL_DTLS_ERROR_IO,            /* sending failed, or a record could not be processed */
};

enum idl_dtls_role {
	IDL_DTLS_CLIENT,   /* a=setup:active: sends the ClientHello */
	IDL_DTLS_SERVER,   /* a=setup:passive */
};

struct idl_dtls;

struct idl_dtls_callbacks {
	/* Sends one datagram to the peer. Returns 0 or a negative errno value. */
	int (*send)(const uint8_t *buf, size_t len, void *user);
	/* The handshake is done and the peer's certificate matched. */
	void (*connected)(void *user);
	/* One decrypted application datagram (an SCTP packet); buf is valid
	 * only until the callback returns. */
	void (*recv)(const uint8_t *buf, size_t len, void *user);
	/* The session failed or was closed; no callback follows. err is borrowed. */
	void (*failed)(const GError *err, void *user);
};

/* Creates a session with the device identity as its certificate. crt and key
 * are borrowed and must outlive the session. remote_fp is the SHA-256
 * fingerprint the remote SDP announced (copied). Nothing is sent until
 * idl_dtls_start. Callbacks never run inside idl_dtls_new.
 * *out is owned by the caller. Returns 0 or a negative errno value. */
int idl_dtls_new(enum idl_dtls_role role, gnutls_x509_crt_t crt, gnutls_x509_privkey_t key,
		 const unsigned char remote_fp[IDL_FINGERPRINT_SIZE],
		 const struct idl_dtls_callbacks *cb, void *user,
		 struct idl_dtls **out, GError **err);

/* The first handshake retransmission timeout for a path whose measured
 * round trip is rtt_ms: rtt_ms bounded to IDL_DTLS_RETRANSMIT_MIN_MS ..
 * IDL_DTLS_RETRANSMIT_MAX_MS. A flight lost on a LAN (the peer's DTLS not
 * yet listening) then costs ~50 ms, not RFC 6347's 1 s; the floor keeps a
 * slow peer's computing time from looking like a loss, the ceiling a
 * round trip inflated by signalling from costing much. GnuTLS doubles it
 * at each retransmission of a flight and starts again from it at the next
 * flight; the handshake's total time-out is not changed. Pure. */
#define IDL_DTLS_RETRANSMIT_MIN_MS 50
#define IDL_DTLS_RETRANSMIT_MAX_MS 100
#define IDL_DTLS_RETRANSMIT_DEFAULT_MS 1000   /* RFC 6347's, when never set */
unsigned idl_dtls_retransmit_timeout(unsigned rtt_ms);

/* Sets the first retransmission timeout of every flight (clamped to
 * IDL_DTLS_RETRANSMIT_MIN_MS .. IDL_DTLS_RETRANSMIT_DEFAULT_MS). Call
 * before idl_dtls_start; IDL_DTLS_RETRANSMIT_DEFAULT_MS when never called. */
void idl_dtls_set_retransmit_timeout(struct idl_dtls *d, unsigned ms);

/* Starts the handshake (a client sends its ClientHello now). */
void idl_dtls_start(struct idl_dtls *d);

/* Feeds one datagram received from the peer (RFC 7983: first byte 20..63).
 * Callbacks may run from inside this call. */
void idl_dtls_feed(struct idl_dtls *d, const uint8_t *buf, size_t len);

/* Encrypts and sends one application datagram. Returns 0, -ENOTCONN before
 * the handshake is done, -EPIPE once the session has ended (closed by the
 * peer, or failed: cb->failed said which), or another negative errno value. */
int idl_dtls_send(struct idl_dtls *d, const uint8_t *buf, size_t len);

/* The negotiated cipher suite, e.g. "ECDHE-ECDSA-AES128-GCM-SHA256", for
 * diagnostics. Borrowed; NULL before the handshake is done. */
const char *idl_dtls_cipher(const struct idl_dtls *d);

/* Sends close_notify (best effort) and frees; keys are wiped by GnuTLS.
 * Must not be called from inside one of d's callbacks. NULL is a no-op. */
void idl_dtls_free(struct idl_dtls *d);

#endif
