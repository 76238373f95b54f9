/* dtls: DTLS 1.2 on GnuTLS for a WebRTC data channel. GnuTLS runs
 * non-blocking over a custom transport: fed datagrams queue for its pull
 * function, its push function hands each record to the owner, and a timer on
 * the thread-default main context drives handshake retransmissions. The peer
 * is accepted only if its certificate hashes to the fingerprint from its SDP. */

#include "transport/dtls.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include <gio/gio.h>
#include <gnutls/crypto.h>
#include <gnutls/dtls.h>

#define HANDSHAKE_MTU 1200          /* a flight must cross any path ICE picked */
#define SESSION_MTU 16384           /* after it: an SCTP packet never meets GNUTLS_E_LARGE_PACKET */
#define IDLE_WAKE_MS 1000           /* a server awaiting the ClientHello checks its deadline */
#define HANDSHAKE_TIMEOUT_MS 30000
#define MIN_TIMER_MS 10             /* never spin, whatever GnuTLS reports */
#define MAX_QUEUED 64               /* like a full socket buffer: more are dropped */
#define MAX_DATAGRAM 65535
#define MAX_PASS (2 * MAX_QUEUED)   /* bounds one pass over discarded records and alerts */

/* ECDHE-ECDSA first (browsers, aiortc and Pion all use ECDSA certificates);
 * ECDHE-RSA only so a peer with an RSA certificate still works. AEAD only,
 * DTLS 1.2 only. GnuTLS 3.6+ has no compression at all. */
static const char PRIORITY[] =
	"NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:"
	"-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD:"
	"%SERVER_PRECEDENCE";
/* No media, but aiortc fails a handshake that negotiates no SRTP profile.
 * GnuTLS 3.7 knows no AEAD (GCM) SRTP profiles; every stack offers _80. */
static const char SRTP_PROFILES[] = "SRTP_AES128_CM_HMAC_SHA1_80:SRTP_AES128_CM_HMAC_SHA1_32";

enum verify_state { VERIFY_PENDING, VERIFY_OK, VERIFY_MISMATCH, VERIFY_NO_CERT };

struct idl_dtls {
	gnutls_session_t session;
	gnutls_certificate_credentials_t creds;
	unsigned char remote_fp[IDL_FINGERPRINT_SIZE];
	unsigned char seen_fp[IDL_FINGERPRINT_SIZE];   /* what the peer presented */
	enum verify_state verify;
	struct idl_dtls_callbacks cb;
	void *user;
	GMainContext *ctx;
	GSource *timer;
	GSource *fail_idle;     /* reports a failure met inside idl_dtls_send */
	GError *pending;
	GQueue rx;              /* GBytes not yet pulled by GnuTLS */
	const uint8_t *lent;    /* the datagram being fed, borrowed for one pump */
	size_t lent_len;
	gint64 deadline;        /* handshake give-up time, monotonic */
	int send_err;           /* last cb.send failure, for idl_dtls_send */
	unsigned in_cb;
	bool started, sent, connected, failed, pumping, repump;
	const char *cipher;
};

G_DEFINE_QUARK(idl-dtls-error-quark, idl_dtls_error)

static void stop_source(GSource **s)
{
	if (*s == NULL)
		return;
	g_source_destroy(*s);
	g_source_unref(*s);
	*s = NULL;
}

static void notify_failed(struct idl_dtls *d, GError *e)
{
	d->in_cb++;
	d->cb.failed(e, d->user);
	d->in_cb--;
	g_error_free(e);
}

static gboolean on_fail_idle(gpointer data)
{
	struct idl_dtls *d = data;
	GError *e = d->pending;

	d->pending = NULL;
	g_source_unref(d->fail_idle);
	d->fail_idle = NULL;
	notify_failed(d, e);
	return G_SOURCE_REMOVE;
}

/* The one way into the failed state: later feeds and sends are refused, and
 * cb.failed runs once, now or (from idl_dtls_send, whose caller may be deep
 * inside SCTP) from an idle source. */
static void fail(struct idl_dtls *d, bool deferred, int code, const char *fmt, ...) G_GNUC_PRINTF(4, 5);

static void fail(struct idl_dtls *d, bool deferred, int code, const char *fmt, ...)
{
	GError *e;
	va_list ap;

	if (d->failed)
		return;
	d->failed = true;
	stop_source(&d->timer);
	g_queue_clear_full(&d->rx, (GDestroyNotify)g_bytes_unref);
	d->lent = NULL;
	va_start(ap, fmt);
	e = g_error_new_valist(IDL_DTLS_ERROR, code, fmt, ap);
	va_end(ap);
	if (!deferred) {
		notify_failed(d, e);
		return;
	}
	d->pending = e;
	d->fail_idle = g_idle_source_new();
	g_source_set_callback(d->fail_idle, on_fail_idle, d, NULL);
	g_source_attach(d->fail_idle, d->ctx);
}

static ssize_t push(gnutls_transport_ptr_t ptr, const void *buf, size_t len)
{
	struct idl_dtls *d = ptr;
	int r;

	d->sent = true;
	d->in_cb++;
	r = d->cb.send(buf, len, d->user);
	d->in_cb--;
	/* A datagram that did not leave is a lost datagram, which DTLS survives;
	 * a push error would make GnuTLS invalidate the whole session. */
	if (r < 0)
		d->send_err = r;
	return (ssize_t)len;
}

static ssize_t pull(gnutls_transport_ptr_t ptr, void *buf, size_t len)
{
	struct idl_dtls *d = ptr;
	GBytes *b;
	const void *data;
	size_t size;

	if (d->lent) {
		size = MIN(d->lent_len, len);
		memcpy(buf, d->lent, size);
		d->lent = NULL;
		return (ssize_t)size;
	}
	b = g_queue_pop_head(&d->rx);
	if (b == NULL) {
		gnutls_transport_set_errno(d->session, EAGAIN);
		return -1;
	}
	data = g_bytes_get_data(b, &size);
	size = MIN(size, len);
	memcpy(buf, data, size);
	g_bytes_unref(b);
	return (ssize_t)size;
}

static int pull_timeout(gnutls_transport_ptr_t ptr, unsigned int ms)
{
	struct idl_dtls *d = ptr;

	(void)ms;   /* never wait: the main loop feeds us */
	return d->lent || !g_queue_is_empty(&d->rx) ? 1 : 0;
}

/* Runs inside the handshake, so a wrong certificate never completes it.
 * Self-signed certificates: no CA, only the fingerprint counts. */
static int verify_peer(gnutls_session_t s)
{
	struct idl_dtls *d = gnutls_session_get_ptr(s);
	const gnutls_datum_t *certs;
	unsigned int n = 0;

	certs = gnutls_certificate_get_peers(s, &n);
	if (certs == NULL || n == 0 ||
	    gnutls_hash_fast(GNUTLS_DIG_SHA256, certs[0].data, certs[0].size, d->seen_fp) < 0) {
		d->verify = VERIFY_NO_CERT;
		return -1;
	}
	if (gnutls_memcmp(d->seen_fp, d->remote_fp, IDL_FINGERPRINT_SIZE) != 0) {
		d->verify = VERIFY_MISMATCH;
		return -1;
	}
	d->verify = VERIFY_OK;
	return 0;
}

static void short_fp(const unsigned char raw[IDL_FINGERPRINT_SIZE], char out[IDL_FINGERPRINT_SHORT_LEN + 1])
{
	char hex[IDL_FINGERPRINT_HEX_LEN + 1];

	idl_fingerprint_to_hex(raw, hex);
	idl_fingerprint_short(hex, out);
}

static void handshake_failed(struct idl_dtls *d, int r)
{
	char seen[IDL_FINGERPRINT_SHORT_LEN + 1], want[IDL_FINGERPRINT_SHORT_LEN + 1];
	bool cert = d->verify == VERIFY_MISMATCH || d->verify == VERIFY_NO_CERT ||
		    r == GNUTLS_E_NO_CERTIFICATE_FOUND;

	/* Tell the peer, so it fails now rather than at its own timeout. */
	if (cert)
		gnutls_alert_send(d->session, GNUTLS_AL_FATAL, GNUTLS_A_BAD_CERTIFICATE);
	else if (r != GNUTLS_E_FATAL_ALERT_RECEIVED && r != GNUTLS_E_TIMEDOUT)
		gnutls_alert_send_appropriate(d->session, r);
	if (d->verify == VERIFY_MISMATCH) {
		short_fp(d->seen_fp, seen);
		short_fp(d->remote_fp, want);
		fail(d, false, IDL_DTLS_ERROR_FINGERPRINT,
		     "the peer's certificate is %s, but its SDP announced %s: "
		     "the peer is not the device it claims to be", seen, want);
	} else if (cert) {
		fail(d, false, IDL_DTLS_ERROR_FINGERPRINT,
		     "the peer sent no certificate, so it cannot prove which device it is");
	} else if (r == GNUTLS_E_TIMEDOUT) {
		fail(d, false, IDL_DTLS_ERROR_HANDSHAKE, "the DTLS handshake timed out after %d s",
		     HANDSHAKE_TIMEOUT_MS / 1000);
	} else if (r == GNUTLS_E_FATAL_ALERT_RECEIVED) {
		fail(d, false, IDL_DTLS_ERROR_HANDSHAKE, "the peer aborted the DTLS handshake: %s",
		     gnutls_alert_get_name(gnutls_alert_get(d->session)));
	} else {
		fail(d, false, IDL_DTLS_ERROR_HANDSHAKE, "the DTLS handshake failed: %s", gnutls_strerror(r));
	}
}

static gboolean on_timer(gpointer data);

static void arm_timer(struct idl_dtls *d)
{
	gint64 left = (d->deadline - g_get_monotonic_time()) / 1000;
	guint ms = gnutls_dtls_get_timeout(d->session);

	/* Before our first flight (a server awaiting the ClientHello) GnuTLS
	 * reports 0 forever; wake now and then to check the deadline. */
	if (!d->sent)
		ms = IDLE_WAKE_MS;
	ms = (guint)CLAMP((gint64)ms, MIN_TIMER_MS, MAX(left, MIN_TIMER_MS));
	stop_source(&d->timer);
	d->timer = g_timeout_source_new(ms);
	g_source_set_callback(d->timer, on_timer, d, NULL);
	g_source_attach(d->timer, d->ctx);
}

static void handshake(struct idl_dtls *d)
{
	int r = GNUTLS_E_AGAIN, i;

	/* GnuTLS discards a bad datagram and says AGAIN: go on while any is queued.
	 * Warnings (an alert, an early record) do not end the handshake either. */
	for (i = 0; i < MAX_PASS; i++) {
		r = gnutls_handshake(d->session);
		if (r == GNUTLS_E_WARNING_ALERT_RECEIVED &&
		    gnutls_alert_get(d->session) == GNUTLS_A_CLOSE_NOTIFY) {
			fail(d, false, IDL_DTLS_ERROR_CLOSED, "the peer closed the session during the DTLS handshake");
			return;
		}
		if (r == 0 || gnutls_error_is_fatal(r) || (r == GNUTLS_E_AGAIN && g_queue_is_empty(&d->rx)))
			break;
	}
	if (r < 0 && r != GNUTLS_E_TIMEDOUT && !gnutls_error_is_fatal(r)) {
		if (g_get_monotonic_time() >= d->deadline)
			handshake_failed(d, GNUTLS_E_TIMEDOUT);
		else
			arm_timer(d);
		return;
	}
	if (r < 0) {
		handshake_failed(d, r);
		return;
	}
	stop_source(&d->timer);
	/* Fail closed: a peer whose certificate was never checked (none came,
	 * or the check never ran) is not trusted. */
	if (d->verify != VERIFY_OK) {
		handshake_failed(d, GNUTLS_E_NO_CERTIFICATE_FOUND);
		return;
	}
	gnutls_dtls_set_mtu(d->session, SESSION_MTU);
	d->cipher = gnutls_ciphersuite_get(d->session);
	d->connected = true;
	d->in_cb++;
	d->cb.connected(d->user);
	d->in_cb--;
}

/* Records are taken as GnuTLS decrypted them (gnutls_record_recv_packet):
 * no copy into a buffer of ours on the way to SCTP. */
static void read_records(struct idl_dtls *d)
{
	gnutls_packet_t packet;
	gnutls_datum_t data;
	int idle = 0;
	ssize_t n;

	while (!d->failed && idle < MAX_PASS) {
		packet = NULL;
		n = gnutls_record_recv_packet(d->session, &packet);
		if (n > 0 && packet) {
			idle = 0;
			gnutls_packet_get(packet, &data, NULL);
			d->in_cb++;
			d->cb.recv(data.data, data.size, d->user);
			d->in_cb--;
			gnutls_packet_deinit(packet);
			continue;
		}
		if (packet)
			gnutls_packet_deinit(packet);
		idle++;
		if (n == 0) {
			fail(d, false, IDL_DTLS_ERROR_CLOSED, "the peer closed the DTLS session");
		} else if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
			/* AGAIN also means "discarded a bad record": read on if more wait. */
			if (!d->lent && g_queue_is_empty(&d->rx))
				return;
		} else if (n == GNUTLS_E_REHANDSHAKE) {
			/* Renegotiation would swap the certificate we checked. */
			gnutls_alert_send(d->session, GNUTLS_AL_WARNING, GNUTLS_A_NO_RENEGOTIATION);
		} else if (n == GNUTLS_E_FATAL_ALERT_RECEIVED) {
			fail(d, false, IDL_DTLS_ERROR_IO, "the peer aborted the DTLS session: %s",
			     gnutls_alert_get_name(gnutls_alert_get(d->session)));
		} else if (gnutls_error_is_fatal((int)n)) {
			fail(d, false, IDL_DTLS_ERROR_IO, "cannot process a DTLS record: %s",
			     gnutls_strerror((int)n));
		}
	}
}

/* Re-entrant calls (a feed from inside one of our callbacks) only queue the
 * datagram and ask the running pump to go round again. */
static void pump(struct idl_dtls *d)
{
	if (!d->started || d->failed)
		return;
	if (d->pumping) {
		d->repump = true;
		return;
	}
	d->pumping = true;
	do {
		d->repump = false;
		if (!d->connected)
			handshake(d);
		if (d->connected && !d->failed)
			read_records(d);
	} while (d->repump && !d->failed);
	d->pumping = false;
}

static gboolean on_timer(gpointer data)
{
	struct idl_dtls *d = data;

	g_source_unref(d->timer);
	d->timer = NULL;
	pump(d);
	return G_SOURCE_REMOVE;
}

static int setup_error(GError **err, int errnum, const char *what, int r)
{
	g_set_error(err, G_IO_ERROR, g_io_error_from_errno(errnum), "cannot set up DTLS: %s: %s",
		    what, r < 0 ? gnutls_strerror(r) : g_strerror(errnum));
	return -errnum;
}

int idl_dtls_new(enum idl_dtls_role role, gnutls_x509_crt_t crt, gnutls_x509_privkey_t key,
		 const unsigned char remote_fp[IDL_FINGERPRINT_SIZE],
		 const struct idl_dtls_callbacks *cb, void *user,
		 struct idl_dtls **out, GError **err)
{
	unsigned int flags = GNUTLS_DATAGRAM | GNUTLS_NONBLOCK;
	struct idl_dtls *d;
	const char *what;
	int r;

	if (out == NULL || crt == NULL || key == NULL || remote_fp == NULL || cb == NULL ||
	    cb->send == NULL || cb->connected == NULL || cb->recv == NULL || cb->failed == NULL)
		return setup_error(err, EINVAL, "missing argument", 0);
	*out = NULL;
	d = g_new0(struct idl_dtls, 1);
	memcpy(d->remote_fp, remote_fp, IDL_FINGERPRINT_SIZE);
	d->cb = *cb;
	d->user = user;
	d->ctx = g_main_context_ref_thread_default();
	g_queue_init(&d->rx);
	flags |= role == IDL_DTLS_CLIENT ? GNUTLS_CLIENT : GNUTLS_SERVER;

	what = "credentials";
	r = gnutls_certificate_allocate_credentials(&d->creds);
	if (r < 0)
		goto fail;
	/* GnuTLS copies the certificate and key. */
	what = "the device certificate";
	r = gnutls_certificate_set_x509_key(d->creds, &crt, 1, key);
	if (r < 0)
		goto fail;
	what = "the session";
	r = gnutls_init(&d->session, flags);
	if (r < 0)
		goto fail;
	what = "the priorities";
	r = gnutls_priority_set_direct(d->session, PRIORITY, NULL);
	if (r < 0)
		goto fail;
	what = "the credentials";
	r = gnutls_credentials_set(d->session, GNUTLS_CRD_CERTIFICATE, d->creds);
	if (r < 0)
		goto fail;
	what = "the SRTP profiles";
	r = gnutls_srtp_set_profile_direct(d->session, SRTP_PROFILES, NULL);
	if (r < 0)
		goto fail;
	/* Without REQUIRE a server never sees, so never checks, the client's certificate. */
	if (role == IDL_DTLS_SERVER)
		gnutls_certificate_server_set_request(d->session, GNUTLS_CERT_REQUIRE);
	gnutls_session_set_verify_function(d->session, verify_peer);
	gnutls_session_set_ptr(d->session, d);
	gnutls_transport_set_ptr(d->session, d);
	gnutls_transport_set_push_function(d->session, push);
	gnutls_transport_set_pull_function(d->session, pull);
	gnutls_transport_set_pull_timeout_function(d->session, pull_timeout);
	gnutls_dtls_set_mtu(d->session, HANDSHAKE_MTU);
	gnutls_dtls_set_timeouts(d->session, IDL_DTLS_RETRANSMIT_DEFAULT_MS, HANDSHAKE_TIMEOUT_MS);
	*out = d;
	return 0;

fail:
	setup_error(err, EIO, what, r);
	idl_dtls_free(d);
	return -EIO;
}

unsigned idl_dtls_retransmit_timeout(unsigned rtt_ms)
{
	return CLAMP(rtt_ms, IDL_DTLS_RETRANSMIT_MIN_MS, IDL_DTLS_RETRANSMIT_MAX_MS);
}

void idl_dtls_set_retransmit_timeout(struct idl_dtls *d, unsigned ms)
{
	g_return_if_fail(d != NULL);
	/* GnuTLS starts each flight's timer from this and doubles it per
	 * retransmission (lib/dtls.c, 3.7.9); the total stays as it was. */
	gnutls_dtls_set_timeouts(d->session, CLAMP(ms, IDL_DTLS_RETRANSMIT_MIN_MS, IDL_DTLS_RETRANSMIT_DEFAULT_MS),
				 HANDSHAKE_TIMEOUT_MS);
}

void idl_dtls_start(struct idl_dtls *d)
{
	g_return_if_fail(d != NULL);
	if (d->started)
		return;
	d->started = true;
	d->deadline = g_get_monotonic_time() + (gint64)HANDSHAKE_TIMEOUT_MS * 1000;
	pump(d);
}

/* GnuTLS 3.7 keeps the bytes of a datagram that ends inside a record and
 * frames every later datagram after them: one short spoofed datagram would
 * wedge the session for good. So only whole records reach it. */
static bool whole_records(const uint8_t *buf, size_t len)
{
	size_t n;

	while (len > 0) {
		if (len < 13)
			return false;
		n = 13 + ((size_t)buf[11] << 8 | buf[12]);
		if (n > len)
			return false;
		buf += n;
		len -= n;
	}
	return true;
}

void idl_dtls_feed(struct idl_dtls *d, const uint8_t *buf, size_t len)
{
	g_return_if_fail(d != NULL);
	/* RFC 7983: DTLS records start with 20..63; the rest is not ours. */
	if (d->failed || buf == NULL || len == 0 || len > MAX_DATAGRAM || buf[0] < 20 || buf[0] > 63 ||
	    !whole_records(buf, len))
		return;
	if (g_queue_get_length(&d->rx) >= MAX_QUEUED)
		return;
	/* The common case, nothing queued and no pump running: GnuTLS pulls
	 * the caller's buffer during this pump, with no copy of ours. */
	if (d->started && !d->pumping && g_queue_is_empty(&d->rx)) {
		d->lent = buf;
		d->lent_len = len;
		pump(d);
		/* Not pulled (it never happens while the session reads):
		 * keep it, ahead of what came in during the pump. */
		if (d->lent && !d->failed)
			g_queue_push_head(&d->rx, g_bytes_new(buf, len));
		d->lent = NULL;
		return;
	}
	g_queue_push_tail(&d->rx, g_bytes_new(buf, len));
	pump(d);
}

int idl_dtls_send(struct idl_dtls *d, const uint8_t *buf, size_t len)
{
	ssize_t r;

	if (d == NULL || buf == NULL || len == 0)
		return -EINVAL;
	if (d->failed)
		return -EPIPE;
	if (!d->connected)
		return -ENOTCONN;
	if (len > gnutls_dtls_get_data_mtu(d->session))
		return -EMSGSIZE;
	d->send_err = 0;
	r = gnutls_record_send(d->session, buf, len);
	if (r < 0) {
		fail(d, true, IDL_DTLS_ERROR_IO, "cannot send a DTLS record: %s", gnutls_strerror((int)r));
		return -EIO;
	}
	return d->send_err;
}

const char *idl_dtls_cipher(const struct idl_dtls *d)
{
	return d != NULL && d->connected ? d->cipher : NULL;
}

void idl_dtls_free(struct idl_dtls *d)
{
	if (d == NULL)
		return;
	if (d->in_cb > 0 || d->pumping) {
		g_critical("idl_dtls_free called from inside a DTLS callback; the session is leaked");
		return;
	}
	/* Best effort, and never waits: GNUTLS_SHUT_WR does not read the reply. */
	if (d->connected && !d->failed)
		gnutls_bye(d->session, GNUTLS_SHUT_WR);
	stop_source(&d->timer);
	stop_source(&d->fail_idle);
	if (d->pending != NULL)
		g_error_free(d->pending);
	if (d->session != NULL)
		gnutls_deinit(d->session);
	if (d->creds != NULL)
		gnutls_certificate_free_credentials(d->creds);
	g_queue_clear_full(&d->rx, (GDestroyNotify)g_bytes_unref);
	g_main_context_unref(d->ctx);
	g_free(d);
}
