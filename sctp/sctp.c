/* sctp: the usrsctp association under the data channels of sctp.h (the
 * channels themselves are in channel.c): the process-wide stack, socket
 * options, packets in and out, notifications, timers.
 *
 * usrsctp runs without threads: every callback it makes runs on the loop
 * thread, inside usrsctp_conninput, usrsctp_sendv, usrsctp_close or
 * usrsctp_handle_timers, often with usrsctp's own locks held. So the output
 * callback only forwards the packet, and the upcall only takes note; the
 * reading, sending and user callbacks happen afterwards in process(), from
 * idl_sctp_feed or an idle source, where calling back into usrsctp is safe.
 * usrsctp knows an association by a small integer id, never by a pointer:
 * its output callback can fire after usrsctp_close (usrsctp #405). */
#include "sctp/internal.h"
#include "sctp/crc32c.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

/* usrsctp's defaults (256 KiB send space, 128 KiB receive window) cap a
 * transfer far below what the link carries; several MiB keep a 64 KiB-chunk
 * sender busy without holding much memory per association. */
#define BUFFER_SPACE (4u << 20)
#define MAX_CHUNKS_ON_QUEUE 16384u
#define STREAMS 1024
/* SACK every second packet (RFC 9260's default) until the peer shows it
 * keeps a large flight going. A browser's SCTP sends only a few packets
 * per SACK it gets (Chromium's dcsctp: max_burst 4; usrsctp's default, in
 * Firefox: 4), so a receiver waiting for more packets than that before it
 * SACKs makes it wait for the delayed-SACK timer every time: against 8,
 * Chromium sent 4 packets per timeout, 0.25 MB/s. */
#define SACK_FREQ 2
/* Bulk SACKs: once BULK_AFTER DATA packets have come in a row, a SACK per
 * BULK_SACK_FREQ packets. Each SACK is a DTLS record and a datagram on
 * both ends, and each costs the sender a pass over its sent queue; a SACK
 * per 2 packets made the receiver's SACK sends a quarter of its CPU. RFC
 * 9260 6.2 says SHOULD for "at least every second packet"; deviating is
 * safe here because the sender shows us when it is not: a sender that
 * waits for our SACK before it sends more stops short of the count, and
 * our delayed-SACK timer answers, again and again with only a few packets
 * between. Two timer SACKs less than SHORT_RUN DATA packets apart (the
 * first one right after the switch counts) and we go back to SACK_FREQ at
 * once: such a peer loses a timer delay or two (20-30 ms), once more after
 * a run 8 times as long, and then never again on this association; and
 * only in a flow of some MB (BULK_AFTER packets, ~2.8 MB), so a browser's
 * short message or small file never meets it. A sender that merely paused
 * (its CPU busy elsewhere, its app out of data) sends a long run after the
 * one timer SACK and keeps bulk SACKs. Loss is unaffected: usrsctp SACKs
 * at once on a gap or a duplicate, whatever the frequency. */
#define BULK_SACK_FREQ 8
#define BULK_AFTER 2048u
#define BULK_TRIES 2u
#define SHORT_RUN (4 * BULK_SACK_FREQ)
/* usrsctp's max burst works on cwnd: whenever it sends with cwnd more
 * than MAX_BURST packets above the flight, it cuts cwnd down to the flight
 * plus MAX_BURST packets (and ssthresh to the old cwnd). With MAX_BURST below
 * the number of packets the receiver waits for before it SACKs (SACK_FREQ
 * on our side, the peer's own policy otherwise), a pause is never
 * recovered from: the sender gets out MAX_BURST packets, the receiver
 * answers only from its delayed-SACK timer, the flight is empty again by
 * the next send, and cwnd is cut back again: MAX_BURST packets per 20 ms
 * (0.6 MB/s) for good. That is what SACK_FREQ 16 did against a burst of
 * 10. The burst stays bounded (a few dozen datagrams into the UDP socket
 * after a pause), but well clear of the SACK frequency: 32 (4 x 2 measured
 * 10-25% slower than 32 on a 1 Gbit/s link). */
#define MAX_BURST 32
G_STATIC_ASSERT(MAX_BURST >= 2 * BULK_SACK_FREQ);
/* SCTP packet size by default (PMTUD is off: usrsctp cannot probe, and DTLS
 * over UDP must not fragment): 1280 (IPv6 minimum MTU) - 40 IPv6 - 8 UDP -
 * at most 44 of DTLS 1.2 record overhead. The owner may raise it when it
 * knows the path (idl_sctp_set_packet_size). */
#define PATH_MTU IDL_SCTP_PACKET_MIN
G_STATIC_ASSERT(IDL_SCTP_PACKET_MAX == 1500 - 40 - 8 - 40);
#define READ_BUFFER IDL_SCTP_LOCAL_MAX_MESSAGE
/* Packets that arrive before idl_sctp_connect (the peer finished DTLS
 * first) are kept and fed after it: usrsctp answers an INIT for a socket
 * that is not connecting with an ABORT, which kills the peer's attempt. */
#define EARLY_PACKETS 16
#define TIMER_MS 10
#define DELAYED_SACK_MS 20
/* usrsctp lets a SHUTDOWN's cumulative TSN ack stand in for a SACK still
 * due (RFC 9260 section 9.2 allows it), and Pion's SCTP (1.8) ignores that
 * field: its last message stays in flight, and it never answers SHUTDOWN
 * ACK. So the SHUTDOWN waits until our delayed SACK for the last packet
 * has left: its delay plus two ticks of our timer. */
#define SHUTDOWN_AFTER_RX_MS (DELAYED_SACK_MS + 2 * TIMER_MS)

G_DEFINE_QUARK(idl-sctp-error-quark, idl_sctp_error)

/* Process-wide: the usrsctp stack, the id registry and the timer. Only the
 * loop thread touches them. */
static bool stack_ready;
static GHashTable *registry;      /* id -> struct idl_sctp * */
static guint registry_next = 1;
static GSource *timer;
static gint64 timer_last;
static bool in_timers;            /* inside usrsctp_handle_timers */
static bool timers_late;          /* ... called over a tick late (we were not running) */

static void process(struct idl_sctp *s);

static struct idl_sctp *lookup(void *addr)
{
	if (registry == NULL)
		return NULL;
	return g_hash_table_lookup(registry, addr);
}

enum { HAS_DATA = 1, HAS_SACK = 2 };

/* Which kinds of chunk a whole SCTP packet holds (DATA or I-DATA; SACK or
 * NR-SACK), for the SACK policy and the -v counts. Stops at a chunk that
 * does not fit: usrsctp checks the packet itself. */
static unsigned packet_kinds(const uint8_t *p, size_t len)
{
	unsigned kinds = 0;

	for (size_t off = 12; off + 4 <= len;) {
		size_t clen = (size_t)p[off + 2] << 8 | p[off + 3];

		if (p[off] == 0 || p[off] == 64)
			kinds |= HAS_DATA;
		else if (p[off] == 3 || p[off] == 16)
			kinds |= HAS_SACK;
		if (clen < 4)
			break;
		off += (clen + 3) & ~(size_t)3;
	}
	return kinds;
}

/* usrsctp hands us one whole SCTP packet for the peer. CRC32c is left to
 * us (offload): over the flat buffer, with the CPU's CRC32 instruction
 * (crc32c.c), it costs a fraction of usrsctp's own over mbuf chains, or of
 * usrsctp_crc32c. The buffer is usrsctp's private copy. */
static int output_cb(void *addr, void *buf, size_t len, uint8_t tos, uint8_t set_df)
{
	struct idl_sctp *s = lookup(addr);
	uint8_t *p = buf;
	uint32_t crc;
	int r;

	(void)tos;
	(void)set_df;
	if (s == NULL || len < 12)
		return -1;   /* a packet from a closed association (usrsctp #405) */
	unsigned kinds = packet_kinds(p, len);
	s->count.out++;
	s->count.out_data += !!(kinds & HAS_DATA);
	if (kinds == HAS_SACK) {
		s->count.out_sack++;
		if (in_timers) {
			/* Our delayed-SACK timer: the peer stopped short of
			 * the count, unless our process was not running (its
			 * packets wait unread). Set back outside usrsctp
			 * (timer_cb). */
			s->count.timer_sack++;
			s->sack_fallback_due |= s->sack_freq > SACK_FREQ && !timers_late &&
						s->since_timer_sack < SHORT_RUN;
			s->since_timer_sack = 0;
		}
	} else if (kinds & HAS_SACK) {
		s->count.out_sack++;
	}
	memset(p + 8, 0, 4);
	crc = idl_crc32c(p, len);
	memcpy(p + 8, &crc, 4);   /* already in wire order */
	if (s->below_closed)
		return 0;
	r = s->cb.send(p, len, s->user);
	if (r == -EPIPE) {
		/* The layer below has ended (mostly: the peer closed it; a
		 * failure there is reported by that layer): the usual end of
		 * a connection, and what usrsctp still sends then (the ABORT
		 * of our own close) has nobody to reach. Said once, as such. */
		s->below_closed = true;
		g_debug("sctp: the connection under the association has ended; "
			"its last packets (%zu bytes, and any after) are not sent", len);
	} else if (r < 0) {
		g_debug("sctp: sending a %zu-byte packet failed: %s", len, g_strerror(-r));
	}
	/* A packet the lower layer could not take is a packet lost on the
	 * wire: SCTP retransmits it. Reporting an error would only make
	 * usrsctp hold back. */
	return 0;
}

static gboolean idle_cb(gpointer data);

void idl_sctpi_schedule(struct idl_sctp *s)
{
	if (s->idle || s->closing)
		return;
	/* Default priority, not idle priority: a busy network source must
	 * not starve SCTP's work. */
	s->idle = g_idle_source_new();
	g_source_set_priority(s->idle, G_PRIORITY_DEFAULT);
	g_source_set_callback(s->idle, idle_cb, s, NULL);
	g_source_attach(s->idle, s->ctx);
}

/* Runs inside usrsctp, locks held: take note only. */
static void upcall_cb(struct socket *sock, void *arg, int flags)
{
	struct idl_sctp *s = lookup(arg);

	(void)sock;
	(void)flags;
	if (s == NULL || s->closing)
		return;
	s->pending = true;
	idl_sctpi_schedule(s);
}

/* Per association, while it runs; usrsctp's setting for a one-to-one
 * socket applies to its association. Never from inside usrsctp. */
static void set_sack_freq(struct idl_sctp *s, uint32_t freq)
{
	struct sctp_sack_info si = { .sack_assoc_id = 0, .sack_delay = DELAYED_SACK_MS,
				     .sack_freq = freq };

	s->sack_run = 0;
	s->since_timer_sack = 0;
	if (usrsctp_setsockopt(s->sock, IPPROTO_SCTP, SCTP_DELAYED_SACK, &si, sizeof(si)) < 0) {
		g_debug("sctp: a SACK per %u packets: %s", freq, g_strerror(errno));
		return;
	}
	s->sack_freq = freq;
}

static void sack_fallback(struct idl_sctp *s)
{
	s->sack_fallback_due = false;
	if (s->sack_freq == SACK_FREQ || s->closing)
		return;
	set_sack_freq(s, SACK_FREQ);
	s->sack_fallbacks++;
}

static gboolean timer_cb(gpointer data)
{
	gint64 now = g_get_monotonic_time();
	gint64 elapsed = (now - timer_last) / 1000;
	GHashTableIter it;
	gpointer k, v;
	GArray *retry;

	(void)data;
	/* Carry the sub-millisecond remainder so the clock does not drift. */
	timer_last += elapsed * 1000;
	in_timers = true;
	timers_late = elapsed > 2 * TIMER_MS;
	usrsctp_handle_timers((uint32_t)elapsed);
	in_timers = false;
	/* A stream reset refused as busy is retried here. By id, looked up
	 * again: a callback may free another association meanwhile. */
	retry = g_array_new(FALSE, FALSE, sizeof(guint));
	g_hash_table_iter_init(&it, registry);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		struct idl_sctp *s = v;
		guint id = GPOINTER_TO_UINT(k);
		if (s->sack_fallback_due)
			sack_fallback(s);
		if (s->resets->len && s->reset_inflight < 0)
			g_array_append_val(retry, id);
	}
	for (guint i = 0; i < retry->len; i++) {
		struct idl_sctp *s = lookup(GUINT_TO_POINTER(g_array_index(retry, guint, i)));
		if (s)
			idl_sctpi_issue_resets(s);
	}
	g_array_unref(retry);
	return G_SOURCE_CONTINUE;
}

static void stack_init(void)
{
	if (stack_ready)
		return;
	usrsctp_init_nothreads(0, output_cb, NULL);
	usrsctp_enable_crc32c_offload();
	/* Sysctls are the defaults of sockets created afterwards. */
	usrsctp_sysctl_set_sctp_sendspace(BUFFER_SPACE);
	usrsctp_sysctl_set_sctp_recvspace(BUFFER_SPACE);
	usrsctp_sysctl_set_sctp_max_chunks_on_queue(MAX_CHUNKS_ON_QUEUE);
	usrsctp_sysctl_set_sctp_initial_cwnd(10);         /* RFC 6928, not 3 MTUs */
	/* Also the cap on the initial cwnd, which stays 10 (RFC 6928). */
	usrsctp_sysctl_set_sctp_max_burst_default(MAX_BURST);
	usrsctp_sysctl_set_sctp_delayed_sack_time_default(DELAYED_SACK_MS);   /* not 200 */
	/* A SACK every 2 packets (the default) makes the reverse path a third
	 * of all packets, each one a DTLS record and a syscall on both sides. */
	usrsctp_sysctl_set_sctp_sack_freq_default(SACK_FREQ);
	usrsctp_sysctl_set_sctp_rto_min_default(200);
	usrsctp_sysctl_set_sctp_rto_initial_default(1000);
	/* 60 s by default: a lost packet on a quiet LAN would stall that long. */
	usrsctp_sysctl_set_sctp_rto_max_default(10000);
	usrsctp_sysctl_set_sctp_ecn_enable(0);
	usrsctp_sysctl_set_sctp_pr_enable(1);
	/* New Reno, the default, stays: H-TCP regressed (libdatachannel #354). */
	usrsctp_sysctl_set_sctp_default_cc_module(SCTP_CC_RFC2581);
	stack_ready = true;
}

static void timer_start(GMainContext *ctx)
{
	if (timer)
		return;
	timer_last = g_get_monotonic_time();
	timer = g_timeout_source_new(TIMER_MS);
	g_source_set_callback(timer, timer_cb, NULL, NULL);
	g_source_attach(timer, ctx);
}

static void timer_stop(void)
{
	if (timer == NULL)
		return;
	g_source_destroy(timer);
	g_source_unref(timer);
	timer = NULL;
}

static void fail(struct idl_sctp *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void fail(struct idl_sctp *s, const char *fmt, ...)
{
	GError *e;
	va_list ap;
	char *why;

	if (s->failed)
		return;
	s->failed = true;
	va_start(ap, fmt);
	why = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	e = g_error_new(IDL_SCTP_ERROR, IDL_SCTP_ERROR_ASSOC, "SCTP association: %s", why);
	g_free(why);
	if (s->cb.failed)
		s->cb.failed(e, s->user);
	g_error_free(e);
}

/* The association is gone the graceful way. The peer's shutdown is its
 * normal end, told as such (IDL_SCTP_ERROR_SHUTDOWN); ours was asked for
 * and is not reported: the owner watches idl_sctp_shutdown_done. */
static void shutdown_complete(struct idl_sctp *s)
{
	GError *e;

	s->shut_down = true;
	g_debug("sctp: shutdown complete (%s)", s->shutting ? "ours" : "the peer's");
	if (s->failed)
		return;
	s->failed = true;   /* nothing more to read or send */
	if (s->shutting)
		return;
	e = g_error_new_literal(IDL_SCTP_ERROR, IDL_SCTP_ERROR_SHUTDOWN,
				"SCTP association: the peer shut it down (a normal end)");
	if (s->cb.failed)
		s->cb.failed(e, s->user);
	g_error_free(e);
}

static void on_notification(struct idl_sctp *s, const uint8_t *buf, size_t len)
{
	const union sctp_notification *n = (const void *)buf;

	if (len < sizeof(n->sn_header) || n->sn_header.sn_length != len)
		return;
	switch (n->sn_header.sn_type) {
	case SCTP_ASSOC_CHANGE:
		if (len < sizeof(n->sn_assoc_change))
			return;
		switch (n->sn_assoc_change.sac_state) {
		case SCTP_COMM_UP:
			if (s->connected)
				return;
			s->connected = true;
			s->streams_out = n->sn_assoc_change.sac_outbound_streams;
			if (s->cb.connected && !s->failed)
				s->cb.connected(s->user);
			idl_sctpi_flush(s);
			break;
		case SCTP_COMM_LOST:
			fail(s, "the peer is gone or aborted (error %u)",
			     n->sn_assoc_change.sac_error);
			break;
		case SCTP_CANT_STR_ASSOC:
			fail(s, "could not be set up");
			break;
		case SCTP_SHUTDOWN_COMP:
			shutdown_complete(s);
			break;
		case SCTP_RESTART:
			/* The peer lost its state: our channels mean nothing to it. */
			fail(s, "the peer restarted");
			break;
		}
		break;
	case SCTP_SHUTDOWN_EVENT:
		/* usrsctp answers SHUTDOWN ACK by itself; the end is reported
		 * when SHUTDOWN COMPLETE comes, so our close aborts nothing. */
		if (!s->shutting)
			g_debug("sctp: the peer sent SHUTDOWN: the association ends gracefully");
		break;
	case SCTP_SENDER_DRY_EVENT:
		idl_sctpi_flush(s);
		break;
	case SCTP_STREAM_RESET_EVENT:
		if (len >= sizeof(n->sn_strreset_event))
			idl_sctpi_on_stream_reset(s, &n->sn_strreset_event, len);
		break;
	}
}

static void abort_assoc(struct idl_sctp *s)
{
	struct sctp_sndinfo info = { .snd_flags = SCTP_ABORT };
	static const uint8_t none;   /* usrsctp_sendv refuses NULL even for 0 bytes */

	if (usrsctp_sendv(s->sock, &none, 0, NULL, 0, &info, sizeof(info), SCTP_SENDV_SNDINFO,
			  0) < 0)
		g_debug("sctp: abort: %s", g_strerror(errno));
}

/* One piece from usrsctp_recvv: whole messages are delivered straight from
 * the read buffer, pieces (partial delivery, or bigger than the buffer)
 * gathered in s->rx until MSG_EOR. Fragment interleave is 0, so pieces of
 * one message are never mixed with another's. */
static void on_data(struct idl_sctp *s, const uint8_t *buf, size_t n, int flags,
		    const struct sctp_rcvinfo *info, bool have_info)
{
	bool eor = flags & MSG_EOR;

	if (s->rx->len == 0 && !s->rx_overflow) {
		if (!have_info) {
			g_debug("sctp: data without receive info dropped");
			return;
		}
		s->rx_sid = info->rcv_sid;
		s->rx_ppid = ntohl(info->rcv_ppid);
		if (eor) {
			idl_sctpi_on_message(s, s->rx_sid, s->rx_ppid, buf, n);
			return;
		}
	}
	if (!s->rx_overflow) {
		if (s->rx->len + n > RECV_LIMIT) {
			s->rx_overflow = true;
			g_byte_array_set_size(s->rx, 0);
		} else {
			g_byte_array_append(s->rx, buf, (guint)n);
		}
	}
	if (!eor)
		return;
	if (s->rx_overflow) {
		s->rx_overflow = false;
		fail(s, "the peer sent a message over %u bytes", RECV_LIMIT);
		abort_assoc(s);
		return;
	}
	idl_sctpi_on_message(s, s->rx_sid, s->rx_ppid, s->rx->data, s->rx->len);
	g_byte_array_set_size(s->rx, 0);
}

/* Reads until usrsctp has nothing, or a channel asks to stop reading (the
 * message just delivered may have): what is not read stays in the socket's
 * receive buffer, whose free space is the window we advertise, so the peer
 * stops sending instead of our memory growing. Notifications wait with the
 * data (one queue): a paused reader learns of an abort when it resumes. */
static void read_all(struct idl_sctp *s)
{
	while (!s->failed && !s->closing && !s->read_paused) {
		struct sctp_rcvinfo info;
		socklen_t infolen = sizeof(info);
		struct sockaddr_conn from;
		socklen_t fromlen = sizeof(from);
		unsigned int infotype = 0;
		int flags = 0;
		ssize_t n;

		n = usrsctp_recvv(s->sock, s->rbuf, READ_BUFFER, (struct sockaddr *)&from,
				  &fromlen, &info, &infolen, &infotype, &flags);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOTCONN)
				return;
			fail(s, "receive failed: %s", g_strerror(errno));
			return;
		}
		if (n == 0) {
			fail(s, "the peer closed it");
			return;
		}
		if (flags & MSG_NOTIFICATION) {
			g_byte_array_append(s->notif, s->rbuf, (guint)n);
			if (flags & MSG_EOR) {
				on_notification(s, s->notif->data, s->notif->len);
				g_byte_array_set_size(s->notif, 0);
			}
			continue;
		}
		on_data(s, s->rbuf, (size_t)n, flags, &info,
			infotype == SCTP_RECVV_RCVINFO && infolen >= sizeof(info));
	}
}

static void process(struct idl_sctp *s)
{
	int events;

	if (s->closing)
		return;
	if (s->processing) {
		/* Called back from a user callback: the idle source follows. */
		s->pending = true;
		idl_sctpi_schedule(s);
		return;
	}
	s->processing = true;
	s->pending = false;
	if (!s->failed) {
		events = usrsctp_get_events(s->sock);
		if (events & SCTP_EVENT_READ)
			read_all(s);
		/* A socket error comes with a notification, read above; this
		 * catches one that did not. */
		if (!s->failed && s->connected && (usrsctp_get_events(s->sock) & SCTP_EVENT_ERROR))
			fail(s, "socket error");
	}
	if (!s->failed) {
		idl_sctpi_flush(s);
		idl_sctpi_issue_resets(s);
		idl_sctpi_notify_low(s);
	}
	s->processing = false;
}

static void reap(struct idl_sctp *s)
{
	for (guint i = 0; i < s->dead->len; i++)
		idl_sctpi_channel_free(s->dead->pdata[i]);
	g_ptr_array_set_size(s->dead, 0);
}

static gboolean idle_cb(gpointer data)
{
	struct idl_sctp *s = data;

	g_source_unref(s->idle);   /* the dispatch holds its own reference */
	s->idle = NULL;
	process(s);
	if (!s->processing)
		reap(s);
	return G_SOURCE_REMOVE;
}

/* Public API */

static int set_opt(struct idl_sctp *s, int level, int name, const void *val, socklen_t len,
		   const char *what, GError **err)
{
	if (usrsctp_setsockopt(s->sock, level, name, val, len) == 0)
		return 0;
	int e = errno;
	g_set_error(err, IDL_SCTP_ERROR, IDL_SCTP_ERROR_ASSOC, "SCTP socket option %s: %s", what,
		    g_strerror(e));
	return -e;
}

static int set_path_mtu(struct idl_sctp *s, size_t packet, GError **err)
{
	struct sctp_paddrparams pp;

	memset(&pp, 0, sizeof(pp));
	pp.spp_assoc_id = SCTP_FUTURE_ASSOC;
	pp.spp_flags = SPP_PMTUD_DISABLE | SPP_HB_ENABLE;
	/* usrsctp's path MTU leaves out the 12-byte common header. */
	pp.spp_pathmtu = (uint32_t)packet - 12;
	return set_opt(s, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof(pp), "SCTP_PEER_ADDR_PARAMS", err);
}

int idl_sctp_set_receive_window(struct idl_sctp *s, size_t bytes, GError **err)
{
	int v = (int)CLAMP(bytes, (size_t)IDL_SCTP_WINDOW_MIN, (size_t)BUFFER_SPACE);

	/* usrsctp advertises the free space of the socket's receive buffer as
	 * its window (a_rwnd), in the INIT and in every SACK. */
	return set_opt(s, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v), "SO_RCVBUF", err);
}

int idl_sctp_set_packet_size(struct idl_sctp *s, size_t bytes, GError **err)
{
	return set_path_mtu(s, CLAMP(bytes, (size_t)IDL_SCTP_PACKET_MIN, (size_t)IDL_SCTP_PACKET_MAX), err);
}


static int configure(struct idl_sctp *s, GError **err)
{
	/* Close means abort: once the peer connection is torn down there is
	 * nobody to finish a graceful shutdown with. A graceful end is asked
	 * for before (idl_sctp_shutdown), and leaves nothing to abort. */
	struct linger lin = { .l_onoff = 1, .l_linger = 0 };
	struct sctp_assoc_value reset = { .assoc_id = SCTP_ALL_ASSOC,
					  .assoc_value = SCTP_ENABLE_RESET_STREAM_REQ };
	struct sctp_initmsg init = { .sinit_num_ostreams = STREAMS, .sinit_max_instreams = STREAMS };
	const uint16_t events[] = { SCTP_ASSOC_CHANGE, SCTP_SENDER_DRY_EVENT,
				    SCTP_STREAM_RESET_EVENT, SCTP_SHUTDOWN_EVENT };
	int on = 1, off = 0, bufsize = BUFFER_SPACE;
	int r;

	if (usrsctp_set_non_blocking(s->sock, 1) < 0) {
		r = -errno;
		g_set_error(err, IDL_SCTP_ERROR, IDL_SCTP_ERROR_ASSOC,
			    "SCTP socket: cannot make it non-blocking: %s", g_strerror(-r));
		return r;
	}
	if ((r = set_opt(s, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin), "SO_LINGER", err)) ||
	    (r = set_opt(s, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &reset, sizeof(reset),
			 "SCTP_ENABLE_STREAM_RESET", err)) ||
	    (r = set_opt(s, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof(on), "SCTP_RECVRCVINFO",
			 err)) ||
	    /* Data channels want each message out at once, not Nagle. */
	    (r = set_opt(s, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof(on), "SCTP_NODELAY", err)) ||
	    (r = set_opt(s, IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof(init), "SCTP_INITMSG",
			 err)) ||
	    /* 0: one message at a time, notifications never inside one. */
	    (r = set_opt(s, IPPROTO_SCTP, SCTP_FRAGMENT_INTERLEAVE, &off, sizeof(off),
			 "SCTP_FRAGMENT_INTERLEAVE", err)) ||
	    /* Messages bigger than the send buffer go in pieces. */
	    (r = set_opt(s, IPPROTO_SCTP, SCTP_EXPLICIT_EOR, &on, sizeof(on), "SCTP_EXPLICIT_EOR",
			 err)) ||
	    (r = set_opt(s, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize), "SO_SNDBUF", err)) ||
	    (r = set_opt(s, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize), "SO_RCVBUF", err)))
		return r;
	for (size_t i = 0; i < G_N_ELEMENTS(events); i++) {
		struct sctp_event ev = { .se_assoc_id = SCTP_ALL_ASSOC, .se_type = events[i],
					 .se_on = 1 };
		if ((r = set_opt(s, IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof(ev), "SCTP_EVENT", err)))
			return r;
	}
	return set_path_mtu(s, PATH_MTU, err);
}

static struct sockaddr_conn conn_addr(const struct idl_sctp *s)
{
	struct sockaddr_conn a;

	memset(&a, 0, sizeof(a));
	a.sconn_family = AF_CONN;
	a.sconn_port = htons(IDL_SCTP_PORT);
	a.sconn_addr = GUINT_TO_POINTER(s->id);
	return a;
}

int idl_sctp_new(bool dtls_client, size_t remote_max_message,
		 const struct idl_sctp_callbacks *cb, void *user,
		 struct idl_sctp **out, GError **err)
{
	struct idl_sctp *s;
	struct sockaddr_conn a;
	int r;

	*out = NULL;
	if (cb == NULL || cb->send == NULL) {
		g_set_error(err, IDL_SCTP_ERROR, IDL_SCTP_ERROR_ASSOC, "SCTP: no send callback");
		return -EINVAL;
	}
	stack_init();
	if (registry == NULL)
		registry = g_hash_table_new(g_direct_hash, g_direct_equal);
	s = g_new0(struct idl_sctp, 1);
	s->sack_freq = SACK_FREQ;
	/* Ids are not reused soon: a late packet for a freed association
	 * must find nothing, not a newer one. 0 is never used (NULL). */
	do {
		s->id = registry_next++;
		if (registry_next == 0 || registry_next > G_MAXINT32)
			registry_next = 1;
	} while (s->id == 0 || g_hash_table_contains(registry, GUINT_TO_POINTER(s->id)));
	s->ctx = g_main_context_ref_thread_default();
	s->dtls_client = dtls_client;
	s->remote_max = remote_max_message;
	s->cb = *cb;
	s->user = user;
	s->streams_out = STREAMS;
	s->reset_inflight = -1;
	s->channels = g_hash_table_new(g_direct_hash, g_direct_equal);
	s->resets = g_array_new(FALSE, FALSE, sizeof(uint16_t));
	s->dead = g_ptr_array_new();
	s->rbuf = g_malloc(READ_BUFFER);
	s->rx = g_byte_array_new();
	s->notif = g_byte_array_new();
	g_queue_init(&s->ready);
	g_queue_init(&s->early);
	g_hash_table_insert(registry, GUINT_TO_POINTER(s->id), s);
	usrsctp_register_address(GUINT_TO_POINTER(s->id));
	timer_start(s->ctx);

	s->sock = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL, 0, NULL);
	if (s->sock == NULL) {
		r = -errno;
		g_set_error(err, IDL_SCTP_ERROR, IDL_SCTP_ERROR_ASSOC, "SCTP socket: %s",
			    g_strerror(-r));
		goto fail;
	}
	usrsctp_set_upcall(s->sock, upcall_cb, GUINT_TO_POINTER(s->id));
	if ((r = configure(s, err)) < 0)
		goto fail;
	a = conn_addr(s);
	if (usrsctp_bind(s->sock, (struct sockaddr *)&a, sizeof(a)) < 0) {
		r = -errno;
		g_set_error(err, IDL_SCTP_ERROR, IDL_SCTP_ERROR_ASSOC, "SCTP bind: %s",
			    g_strerror(-r));
		goto fail;
	}
	*out = s;
	return 0;
fail:
	idl_sctp_free(s);
	return r;
}

int idl_sctp_connect(struct idl_sctp *s, GError **err)
{
	struct sockaddr_conn a = conn_addr(s);
	GBytes *b;

	if (s->connect_called) {
		g_set_error(err, IDL_SCTP_ERROR, IDL_SCTP_ERROR_ASSOC, "SCTP: already connecting");
		return -EALREADY;
	}
	s->connect_called = true;
	/* Both sides connect to each other (simultaneous open), as browsers
	 * do; non-blocking, so EINPROGRESS is the normal answer. */
	if (usrsctp_connect(s->sock, (struct sockaddr *)&a, sizeof(a)) < 0 &&
	    errno != EINPROGRESS) {
		int r = -errno;
		g_set_error(err, IDL_SCTP_ERROR, IDL_SCTP_ERROR_ASSOC, "SCTP connect: %s",
			    g_strerror(-r));
		return r;
	}
	while ((b = g_queue_pop_head(&s->early))) {
		gsize len;
		const uint8_t *p = g_bytes_get_data(b, &len);
		usrsctp_conninput(GUINT_TO_POINTER(s->id), p, len, 0);
		g_bytes_unref(b);
	}
	/* What those packets make happen waits for the idle source: no
	 * callback but send runs inside idl_sctp_connect. */
	return 0;
}

void idl_sctp_feed(struct idl_sctp *s, const uint8_t *buf, size_t len)
{
	if (s == NULL || s->closing || len == 0)
		return;
	if (!s->connect_called) {
		if (g_queue_get_length(&s->early) < EARLY_PACKETS)
			g_queue_push_tail(&s->early, g_bytes_new(buf, len));
		return;
	}
	s->t_fed = g_get_monotonic_time();
	s->count.in++;
	if (len >= 12 && (packet_kinds(buf, len) & HAS_DATA)) {
		s->count.in_data++;
		s->since_timer_sack++;
		/* Before the packet goes in: it counts towards the new
		 * frequency, and usrsctp is not inside a call. */
		if (s->sack_freq == SACK_FREQ && !s->failed && s->sack_fallbacks < BULK_TRIES &&
		    ++s->sack_run >= (s->sack_fallbacks ? 8 * BULK_AFTER : BULK_AFTER))
			set_sack_freq(s, BULK_SACK_FREQ);
	}
	usrsctp_conninput(GUINT_TO_POINTER(s->id), buf, len, 0);
	if (!s->pending || s->processing)
		return;
	process(s);
	/* Done here: the idle source the upcall asked for has nothing left
	 * (unless a callback sent after process() flushed). */
	if (!s->pending && !s->flush_due && s->dead->len == 0 && s->idle) {
		g_source_destroy(s->idle);
		g_source_unref(s->idle);
		s->idle = NULL;
	}
}

size_t idl_sctp_max_message(const struct idl_sctp *s)
{
	return s->remote_max ? s->remote_max : IDL_SCTP_DEFAULT_MAX_MESSAGE;
}

size_t idl_sctp_message_size(size_t peer_max)
{
	if (peer_max == 0 || peer_max > IDL_SCTP_BULK_MESSAGE)
		return IDL_SCTP_BULK_MESSAGE;
	return peer_max;
}

static void shutdown_now(struct idl_sctp *s)
{
	if (s->failed || s->below_closed)
		return;
	/* usrsctp sends SHUTDOWN once its queues are empty; what waits in
	 * ours first goes into them as far as they take it. */
	idl_sctpi_flush(s);
	if (usrsctp_shutdown(s->sock, SHUT_WR) < 0)
		g_debug("sctp: shutdown: %s", g_strerror(errno));
}

static gboolean shutdown_wait_cb(gpointer data)
{
	struct idl_sctp *s = data;

	g_source_unref(s->shutdown_wait);   /* the dispatch holds its own reference */
	s->shutdown_wait = NULL;
	shutdown_now(s);
	return G_SOURCE_REMOVE;
}

int idl_sctp_shutdown(struct idl_sctp *s)
{
	gint64 wait_ms;

	if (!s->connected || s->failed || s->below_closed)
		return -ENOTCONN;
	if (s->shutting)
		return 0;
	s->shutting = true;
	wait_ms = SHUTDOWN_AFTER_RX_MS - (g_get_monotonic_time() - s->t_fed) / 1000;
	if (wait_ms <= 0) {
		shutdown_now(s);
		return 0;
	}
	s->shutdown_wait = g_timeout_source_new((guint)wait_ms);
	g_source_set_callback(s->shutdown_wait, shutdown_wait_cb, s, NULL);
	g_source_attach(s->shutdown_wait, s->ctx);
	return 0;
}

bool idl_sctp_shutdown_done(const struct idl_sctp *s)
{
	return s->shut_down || s->failed || s->below_closed;
}

void idl_sctp_free(struct idl_sctp *s)
{
	GHashTableIter it;
	gpointer v;
	GBytes *b;

	if (s == NULL)
		return;
	s->closing = true;   /* upcalls from here on are ignored */
	g_debug("sctp: packets in %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " with DATA), out %"
		G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " with DATA, %" G_GUINT64_FORMAT
		" with a SACK, %" G_GUINT64_FORMAT " SACKs from the timer); SACK per %u packets"
		" at the end, %u fallbacks",
		s->count.in, s->count.in_data, s->count.out, s->count.out_data, s->count.out_sack,
		s->count.timer_sack, s->sack_freq, s->sack_fallbacks);
	if (s->shutdown_wait) {
		g_source_destroy(s->shutdown_wait);
		g_source_unref(s->shutdown_wait);
		s->shutdown_wait = NULL;
	}
	if (s->idle) {
		g_source_destroy(s->idle);
		g_source_unref(s->idle);
		s->idle = NULL;
	}
	/* With SO_LINGER {1, 0} this sends an ABORT, through output_cb, so
	 * the id is still registered here; after a complete shutdown there is
	 * no association left and nothing is sent. */
	if (s->sock)
		usrsctp_close(s->sock);
	usrsctp_deregister_address(GUINT_TO_POINTER(s->id));
	g_hash_table_remove(registry, GUINT_TO_POINTER(s->id));
	if (g_hash_table_size(registry) == 0) {
		timer_stop();
		g_hash_table_unref(registry);
		registry = NULL;
	}
	g_hash_table_iter_init(&it, s->channels);
	while (g_hash_table_iter_next(&it, NULL, &v))
		idl_sctpi_channel_free(v);
	g_hash_table_unref(s->channels);
	reap(s);
	g_ptr_array_unref(s->dead);
	g_queue_clear(&s->ready);
	while ((b = g_queue_pop_head(&s->early)))
		g_bytes_unref(b);
	g_array_unref(s->resets);
	g_byte_array_unref(s->rx);
	g_byte_array_unref(s->notif);
	g_free(s->rbuf);
	g_main_context_unref(s->ctx);
	g_free(s);
}

