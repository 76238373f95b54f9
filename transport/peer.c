/* peer: one WebRTC data-channel connection, ICE -> DTLS -> SCTP (see
 * peer.h). The state advances only forward: signalling, ICE, DTLS, SCTP;
 * the first failure is reported once, with its phase. */
#include "transport/peer.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <gio/gio.h>

#include "transport/dgram.h"
#include "transport/dtls.h"
#include "transport/ice.h"
#include "transport/sdp.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 20000

struct idl_peer {
	const struct idl_identity *id;
	char *interface;
	unsigned connect_timeout_ms;
	struct idl_ice *ice;
	struct idl_dtls *dtls;
	struct idl_sctp *sctp;
	struct idl_dgram *out;     /* DTLS records on their way to ICE; NULL: one send each */
	bool offerer;
	bool offered_active;       /* our offer said a=setup:active */
	bool dtls_client;
	size_t remote_max_message;
	char remote_fp[IDL_FINGERPRINT_HEX_LEN + 1];
	enum idl_peer_phase phase;
	bool failed;
	guint timer;
	struct idl_peer_timings t;
	struct idl_peer_callbacks cb;
	void *user;
};

const char *idl_peer_phase_name(enum idl_peer_phase phase)
{
	static const char *const names[] = {
		[IDL_PEER_PHASE_SIGNALLING] = "signalling",
		[IDL_PEER_PHASE_ICE] = "ICE",
		[IDL_PEER_PHASE_DTLS] = "DTLS",
		[IDL_PEER_PHASE_FINGERPRINT] = "fingerprint check",
		[IDL_PEER_PHASE_SCTP] = "SCTP",
		[IDL_PEER_PHASE_CHANNEL] = "data channel",
	};
	return phase < G_N_ELEMENTS(names) ? names[phase] : "?";
}

static void peer_fail(struct idl_peer *p, enum idl_peer_phase phase, const GError *err)
{
	if (p->failed)
		return;
	p->failed = true;
	if (p->timer)
		g_source_remove(p->timer);
	p->timer = 0;
	if (p->cb.failed)
		p->cb.failed(p, phase, err, p->user);
}

static gboolean on_timeout(gpointer user)
{
	struct idl_peer *p = user;
	GError *err;

	p->timer = 0;
	err = g_error_new(G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
			  "no connection after %.0f s, stuck in the %s phase", p->connect_timeout_ms / 1000.0,
			  idl_peer_phase_name(p->phase));
	peer_fail(p, p->phase, err);
	g_error_free(err);
	return G_SOURCE_REMOVE;
}

/* ---- SCTP ---- */

static int sctp_send(const uint8_t *buf, size_t len, void *user)
{
	struct idl_peer *p = user;

	return idl_dtls_send(p->dtls, buf, len);
}

static void sctp_connected(void *user)
{
	struct idl_peer *p = user;

	p->t.sctp_connected = g_get_monotonic_time();
	p->phase = IDL_PEER_PHASE_CHANNEL;
	if (p->timer)
		g_source_remove(p->timer);
	p->timer = 0;
	if (p->cb.connected)
		p->cb.connected(p, p->user);
}

static void sctp_channel(struct idl_channel *ch, void *user)
{
	struct idl_peer *p = user;

	if (p->cb.channel)
		p->cb.channel(p, ch, p->user);
}

static void sctp_failed(const GError *err, void *user)
{
	struct idl_peer *p = user;

	peer_fail(p, p->phase == IDL_PEER_PHASE_CHANNEL ? IDL_PEER_PHASE_CHANNEL : IDL_PEER_PHASE_SCTP, err);
}

/* ---- DTLS ---- */

/* Each record joins the batch: one round of SCTP output leaves in one
 * system call (UDP GSO) when the loop next polls (dgram.h). */
static int dtls_send(const uint8_t *buf, size_t len, void *user)
{
	struct idl_peer *p = user;

	if (p->out)
		return idl_dgram_add(p->out, buf, len);
	return idl_ice_send(p->ice, buf, len);
}

static int out_send_many(const struct iovec *dg, unsigned n, void *user)
{
	struct idl_peer *p = user;

	return idl_ice_send_many(p->ice, dg, n);
}

/* What Linux charges a socket's receive buffer for one received datagram of
 * 1 to 1.7 KB (a 2 KiB slab and the struct sk_buff); measured on 6.x. */
#define DATAGRAM_TRUESIZE 2304

/* The receive window for a socket of rcvbuf bytes. The window bounds what
 * the peer has in flight, and on a LAN what is in flight is nearly all
 * waiting in that socket's queue: a bigger window than the queue holds
 * lets a faster sender overflow it whenever we fall behind, and the kernel
 * then drops datagrams at random, STUN consent checks among them (libnice
 * 0.1.21 does not retransmit those and declares consent lost after 10 s:
 * two lost in a row, or one at the wrong time, end the connection).
 * usrsctp's default of 4 MiB is 2900 datagrams against the 92 the default
 * buffer queues. So: as much data in flight as half of the datagrams the
 * socket can queue carry, counted in the smallest full packets a peer may
 * send (12 bytes of SCTP common header and 16 of DATA chunk header off).
 * The other half is headroom for what the window does not count: STUN, the
 * peer's SACKs for our own data, a zero-window probe. 416 KiB (rmem_max by
 * default) gives 104 KiB, 8 MiB gives 2 MiB; a 64 KiB floor still fits the
 * 208 KiB default buffer. */
static size_t receive_window(size_t rcvbuf)
{
	return rcvbuf / DATAGRAM_TRUESIZE / 2 * (IDL_SCTP_PACKET_MIN - 28);
}

static void dtls_connected(void *user)
{
	static const struct idl_sctp_callbacks scb = { sctp_send, sctp_connected, sctp_channel, sctp_failed };
	struct idl_peer *p = user;
	size_t udp = idl_ice_path_payload(p->ice);
	size_t rcvbuf = idl_ice_receive_buffer(p->ice);
	GError *err = NULL;

	p->t.dtls_connected = g_get_monotonic_time();
	p->phase = IDL_PEER_PHASE_SCTP;
	/* On one link the interface MTU holds end to end: bigger packets,
	 * less CPU per byte (each side picks its own; both are accepted). */
	if (idl_sctp_new(p->dtls_client, p->remote_max_message, &scb, p, &p->sctp, &err) < 0 ||
	    (udp && idl_sctp_set_packet_size(p->sctp, udp - IDL_DTLS_RECORD_OVERHEAD, &err) < 0) ||
	    (rcvbuf && idl_sctp_set_receive_window(p->sctp, receive_window(rcvbuf), &err) < 0) ||
	    idl_sctp_connect(p->sctp, &err) < 0) {
		peer_fail(p, IDL_PEER_PHASE_SCTP, err);
		g_error_free(err);
	}
}

static void dtls_recv(const uint8_t *buf, size_t len, void *user)
{
	struct idl_peer *p = user;

	if (p->sctp)
		idl_sctp_feed(p->sctp, buf, len);
}

static void dtls_failed(const GError *err, void *user)
{
	struct idl_peer *p = user;

	peer_fail(p, g_error_matches(err, IDL_DTLS_ERROR, IDL_DTLS_ERROR_FINGERPRINT)
			     ? IDL_PEER_PHASE_FINGERPRINT
			     : (p->phase > IDL_PEER_PHASE_DTLS ? p->phase : IDL_PEER_PHASE_DTLS),
		  err);
}

/* ---- ICE ---- */

static void ice_connected(void *user)
{
	struct idl_peer *p = user;
	gint64 ice_ms;

	p->t.ice_connected = g_get_monotonic_time();
	p->phase = IDL_PEER_PHASE_DTLS;
	/* The path's round trip, measured: ICE needed at least one (a check
	 * and its answer) between the remote description and now. libnice
	 * 0.1.21 tells no round-trip time; this over-estimates it by the
	 * pacing of checks, which the bounds absorb. */
	ice_ms = (p->t.ice_connected - p->t.remote_set) / 1000;
	idl_dtls_set_retransmit_timeout(p->dtls, idl_dtls_retransmit_timeout((unsigned)CLAMP(ice_ms, 0, G_MAXINT)));
	idl_dtls_start(p->dtls);
}

static void ice_recv(const uint8_t *buf, size_t len, void *user)
{
	struct idl_peer *p = user;

	/* RFC 7983: 20..63 is DTLS; STUN never reaches here (libnice takes it). */
	if (len && buf[0] >= 20 && buf[0] <= 63 && p->dtls)
		idl_dtls_feed(p->dtls, buf, len);
}

static void ice_failed(const GError *err, void *user)
{
	struct idl_peer *p = user;

	peer_fail(p, p->phase > IDL_PEER_PHASE_ICE ? p->phase : IDL_PEER_PHASE_ICE, err);
}

static void ice_path_changed(void *user)
{
	struct idl_peer *p = user;
	struct sockaddr_storage to;
	socklen_t tolen = 0;
	int fd;

	if (!p->out)
		return;
	/* What waits was made for the old path: send it there first. */
	idl_dgram_flush(p->out);
	fd = idl_ice_direct_socket(p->ice, &to, &tolen);
	idl_dgram_set_direct(p->out, fd, fd >= 0 ? (struct sockaddr *)&to : NULL, tolen);
	g_debug("udp: %s", fd >= 0 ? (idl_dgram_mode() == IDL_DGRAM_GSO && idl_dgram_gso_works()
					      ? "sending with GSO on the selected pair's socket"
					      : "sending batches through libnice (sendmmsg)")
			       : "sending through libnice");
}

static const struct idl_ice_callbacks ice_cb = { ice_connected, ice_recv, ice_failed, ice_path_changed };

int idl_peer_new(const struct idl_identity *id, const char *interface, unsigned connect_timeout_ms,
		 const struct idl_peer_callbacks *cb, void *user, struct idl_peer **out, GError **err)
{
	static const struct idl_dgram_ops out_ops = { out_send_many };
	struct idl_peer *p = g_new0(struct idl_peer, 1);

	(void)err;
	if (idl_dgram_mode() != IDL_DGRAM_OFF)
		idl_dgram_new(&out_ops, p, &p->out);
	p->id = id;
	p->interface = g_strdup(interface);
	p->connect_timeout_ms = connect_timeout_ms ? connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
	p->cb = *cb;
	p->user = user;
	p->phase = IDL_PEER_PHASE_SIGNALLING;
	p->t.created = g_get_monotonic_time();
	*out = p;
	return 0;
}

static char *build_local(struct idl_peer *p, enum idl_sdp_setup setup, const char *mid, bool legacy)
{
	unsigned char fp[IDL_FINGERPRINT_SIZE];
	char **cands = idl_ice_local_candidates(p->ice);
	struct idl_sdp_local local = {
		/* RFC 8866: a numeric session id; 62 random bits keep it positive
		 * for stacks that parse it as a signed 64-bit integer. */
		.session_id = (((uint64_t)g_random_int() << 32) | g_random_int()) >> 2,
		.ice_ufrag = idl_ice_ufrag(p->ice),
		.ice_pwd = idl_ice_pwd(p->ice),
		.fingerprint = fp,
		.setup = setup,
		.mid = mid,
		.candidates = (const char *const *)cands,
		.legacy = legacy,
	};
	char *sdp;

	idl_fingerprint_parse(idl_identity_fingerprint(p->id), fp);
	sdp = idl_sdp_build(&local);
	g_strfreev(cands);
	return sdp;
}

/* Creates the DTLS session for a role and starts ICE towards the remote
 * description; the connect timer starts here. */
static int start_transport(struct idl_peer *p, const struct idl_sdp *remote, GError **err)
{
	static const struct idl_dtls_callbacks dcb = { dtls_send, dtls_connected, dtls_recv, dtls_failed };
	int r;

	idl_fingerprint_to_hex(remote->fingerprint, p->remote_fp);
	/* An SDP's max-message-size 0 means "any size" (RFC 8841 section 6),
	 * the association's 0 means "the default": translate. */
	p->remote_max_message = remote->max_message_size ? remote->max_message_size : SIZE_MAX;
	if ((r = idl_dtls_new(p->dtls_client ? IDL_DTLS_CLIENT : IDL_DTLS_SERVER, idl_identity_crt(p->id),
			      idl_identity_key(p->id), remote->fingerprint, &dcb, p, &p->dtls, err)) < 0)
		return r;
	if ((r = idl_ice_set_remote(p->ice, remote->ice_ufrag, remote->ice_pwd,
				    (const char *const *)remote->candidates, err)) < 0)
		return r;
	p->phase = IDL_PEER_PHASE_ICE;
	p->t.remote_set = g_get_monotonic_time();
	p->timer = g_timeout_add(p->connect_timeout_ms, on_timeout, p);
	return 0;
}

char *idl_peer_create_offer(struct idl_peer *p, bool dtls_client, GError **err)
{
	g_return_val_if_fail(!p->ice, NULL);
	p->offerer = true;
	p->offered_active = dtls_client;
	if (idl_ice_new(true, p->interface, &ice_cb, p, &p->ice, err) < 0)
		return NULL;
	return build_local(p, dtls_client ? IDL_SDP_SETUP_ACTIVE : IDL_SDP_SETUP_ACTPASS, "0", false);
}

int idl_peer_accept_answer(struct idl_peer *p, const char *sdp, size_t len, const char *expected_fp,
			   GError **err)
{
	struct idl_sdp remote = { 0 };
	char got[IDL_FINGERPRINT_HEX_LEN + 1];
	int r;

	g_return_val_if_fail(p->offerer && p->ice && !p->dtls, -EINVAL);
	if ((r = idl_sdp_parse(sdp, len, &remote, err)) < 0)
		goto out;
	idl_fingerprint_to_hex(remote.fingerprint, got);
	if (expected_fp && *expected_fp && g_ascii_strcasecmp(expected_fp, got) != 0) {
		char want_s[IDL_FINGERPRINT_SHORT_LEN + 1], got_s[IDL_FINGERPRINT_SHORT_LEN + 1];

		idl_fingerprint_short(expected_fp, want_s);
		idl_fingerprint_short(got, got_s);
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
			    "the device answered with fingerprint %s but advertised %s: it is not the device "
			    "that was discovered (an impostor, or a stale record); nothing was sent",
			    got_s, want_s);
		r = -EPERM;
		goto out;
	}
	if (remote.setup == IDL_SDP_SETUP_ACTPASS) {
		g_set_error_literal(err, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "the answer says a=setup:actpass: an answer must choose a DTLS role "
				    "(active or passive)");
		r = -EINVAL;
		goto out;
	}
	if (p->offered_active && remote.setup != IDL_SDP_SETUP_PASSIVE) {
		/* Pion 3.1 answers so (and then acts as the server all the
		 * same): trusting either line could leave both sides waiting
		 * for the other's ClientHello, so refuse it now, by name. */
		g_set_error_literal(err, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
				    "the device answered a=setup:active to our offer that insists on "
				    "being the DTLS client (a=setup:active): both sides claim the "
				    "client role, so no DTLS session can start");
		r = -EINVAL;
		goto out;
	}
	/* The answerer picked its DTLS role; we take the other one. */
	p->dtls_client = remote.setup == IDL_SDP_SETUP_PASSIVE;
	r = start_transport(p, &remote, err);
out:
	idl_sdp_clear(&remote);
	return r;
}

char *idl_peer_answer(struct idl_peer *p, const char *offer, size_t len, GError **err)
{
	struct idl_sdp remote = { 0 };
	char *answer = NULL;

	g_return_val_if_fail(!p->ice, NULL);
	if (idl_sdp_parse(offer, len, &remote, err) < 0)
		goto out;
	/* Answer active (DTLS client) unless the offerer insists on being it:
	 * every stack then agrees on roles and on channel-id parity. */
	p->dtls_client = remote.setup != IDL_SDP_SETUP_ACTIVE;
	if (idl_ice_new(false, p->interface, &ice_cb, p, &p->ice, err) < 0 ||
	    start_transport(p, &remote, err) < 0)
		goto out;
	answer = build_local(p, p->dtls_client ? IDL_SDP_SETUP_ACTIVE : IDL_SDP_SETUP_PASSIVE,
			     remote.mid, remote.legacy);
out:
	idl_sdp_clear(&remote);
	return answer;
}

struct idl_channel *idl_peer_open_channel(struct idl_peer *p, const char *label, const char *protocol,
					  bool ordered, const struct idl_channel_callbacks *cb,
					  void *user, GError **err)
{
	if (!p->sctp || p->failed || p->phase != IDL_PEER_PHASE_CHANNEL) {
		g_set_error_literal(err, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED, "the peer is not connected");
		return NULL;
	}
	return idl_sctp_open_channel(p->sctp, label, protocol, ordered, cb, user, err);
}

const char *idl_peer_unconfirmed_channel(const struct idl_peer *p)
{
	if (!p->sctp || p->failed || p->phase != IDL_PEER_PHASE_CHANNEL)
		return NULL;
	return idl_sctp_unconfirmed_channel(p->sctp);
}

const struct idl_peer_timings *idl_peer_timings(const struct idl_peer *p)
{
	return &p->t;
}

const char *idl_peer_remote_fingerprint(const struct idl_peer *p)
{
	return p->remote_fp;
}

char *idl_peer_describe(const struct idl_peer *p)
{
	char *pair = p->ice ? idl_ice_describe_pair(p->ice) : NULL;
	const char *cipher = p->dtls ? idl_dtls_cipher(p->dtls) : NULL;
	char *s = g_strdup_printf("%s, DTLS %s", pair ? pair : "no ICE pair", cipher ? cipher : "not up");

	g_free(pair);
	return s;
}

int idl_peer_shutdown(struct idl_peer *p)
{
	if (!p->sctp || p->failed)
		return -ENOTCONN;
	return idl_sctp_shutdown(p->sctp);
}

bool idl_peer_shutdown_done(const struct idl_peer *p)
{
	return !p->sctp || p->failed || idl_sctp_shutdown_done(p->sctp);
}

bool idl_peer_error_is_normal_end(const GError *err)
{
	return g_error_matches(err, IDL_SCTP_ERROR, IDL_SCTP_ERROR_SHUTDOWN) ||
	       g_error_matches(err, IDL_DTLS_ERROR, IDL_DTLS_ERROR_CLOSED);
}

void idl_peer_free(struct idl_peer *p)
{
	if (!p)
		return;
	if (p->timer)
		g_source_remove(p->timer);
	/* Top down: SCTP's abort (when it was not shut down) and DTLS's
	 * close_notify still go out through the layers below. */
	idl_sctp_free(p->sctp);
	idl_dtls_free(p->dtls);
	if (p->out) {
		const struct idl_dgram_stats *st = idl_dgram_stats(p->out);

		idl_dgram_flush(p->out);
		g_debug("udp: %" G_GUINT64_FORMAT " datagrams sent, %" G_GUINT64_FORMAT
			" system calls on the direct socket, %" G_GUINT64_FORMAT " datagrams in %" G_GUINT64_FORMAT
			" GSO messages, %" G_GUINT64_FORMAT " libnice calls, %" G_GUINT64_FORMAT
			" times the socket was full or half full, %" G_GUINT64_FORMAT " of them refusing a send, %"
			G_GUINT64_FORMAT " lost",
			st->datagrams, st->syscalls, st->gso_datagrams, st->gso_messages, st->fallback_calls,
			st->blocked, st->refused, st->dropped);
		idl_dgram_free(p->out);
	}
	idl_ice_free(p->ice);
	g_free(p->interface);
	g_free(p);
}
