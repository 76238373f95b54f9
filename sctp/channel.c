/* channel: WebRTC data channels on the streams of an association (see
 * sctp.h): DCEP open (RFC 8832), the per-channel send queues that never
 * refuse a message and feed usrsctp as it has room, delivery of received
 * messages by PPID (RFC 8831), and closing by outgoing stream resets. */
#include "sctp/internal.h"
#include "sctp/dcep.h"

#include <errno.h>
#include <string.h>

/* Each usrsctp_sendv hands over at most this much of a message. usrsctp
 * accepts a whole piece as soon as it has any room, so this bounds how far
 * its send buffer overshoots, and a piece never exceeds the buffer. */
#define SEND_PIECE (64u * 1024)
/* idl_channel_send flushes at once when this much waits for the idle
 * source: bundling needs only a few packets' worth. */
#define FLUSH_BATCH (64u * 1024)
/* idl_channel_send hands a message at least this big straight to usrsctp
 * when nothing else waits: its bytes fill packets by themselves, so it
 * gains nothing from the bundling of the idle flush, and the caller's
 * buffer serves instead of a copy (bulk data: one memcpy and one 64 KiB
 * allocation less per message). */
#define DIRECT_MIN (8u * 1024)

static struct out_msg *out_msg_new(uint32_t ppid, bool counted, const void *data, size_t len)
{
	struct out_msg *m = g_malloc(sizeof(*m) + len);

	m->ppid = ppid;
	m->counted = counted;
	m->started = false;
	m->len = len;
	m->off = 0;
	memcpy(m->data, data, len);
	return m;
}

void idl_sctpi_channel_free(struct idl_channel *ch)
{
	struct out_msg *m;

	while ((m = g_queue_pop_head(&ch->queue)))
		g_free(m);
	if (ch->legacy)
		g_byte_array_unref(ch->legacy);
	g_free(ch->label);
	g_free(ch->protocol);
	g_free(ch);
}

static struct idl_channel *channel_new(struct idl_sctp *s, uint16_t id, const char *label,
				       size_t label_len, const char *protocol,
				       size_t protocol_len, bool ordered, enum ch_state state)
{
	struct idl_channel *ch = g_new0(struct idl_channel, 1);

	ch->s = s;
	ch->id = id;
	ch->ordered = ordered;
	ch->state = state;
	ch->label = g_strndup(label, label_len);
	ch->protocol = g_strndup(protocol, protocol_len);
	g_queue_init(&ch->queue);
	g_hash_table_insert(s->channels, GUINT_TO_POINTER(id), ch);
	return ch;
}

static void enqueue(struct idl_channel *ch, struct out_msg *m)
{
	g_queue_push_tail(&ch->queue, m);
	if (m->counted) {
		ch->buffered += m->len;
		if (ch->buffered > ch->low_threshold)
			ch->above = true;
	}
	if (!ch->in_ready) {
		ch->in_ready = true;
		g_queue_push_tail(&ch->s->ready, ch);
	}
}

static void queue_reset(struct idl_sctp *s, uint16_t sid)
{
	g_array_append_val(s->resets, sid);
	idl_sctpi_issue_resets(s);
}

/* Our side is done with the channel: once its queue has gone to usrsctp,
 * reset our outgoing stream (usrsctp itself sends the reset only after
 * the data already given to it). */
static void channel_finish(struct idl_channel *ch)
{
	if (ch->reset_queued || ch->in_ready)
		return;
	ch->reset_queued = true;
	queue_reset(ch->s, ch->id);
}

/* Both directions reset: the channel is closed and its id free again. */
static void channel_check_closed(struct idl_channel *ch)
{
	struct idl_sctp *s = ch->s;

	if (ch->dead || !ch->local_reset || !ch->remote_reset)
		return;
	idl_channel_pause_reading(ch, false);
	ch->dead = true;
	ch->state = CH_CLOSED;
	g_hash_table_remove(s->channels, GUINT_TO_POINTER(ch->id));
	if (ch->in_ready) {
		g_queue_remove(&s->ready, ch);
		ch->in_ready = false;
	}
	g_ptr_array_add(s->dead, ch);
	idl_sctpi_schedule(s);
	if (ch->cb.closed && !s->failed)
		ch->cb.closed(ch, ch->user);
}

static void channel_set_open(struct idl_channel *ch)
{
	if (ch->state != CH_OPENING)
		return;
	ch->state = CH_OPEN;
	if (ch->cb.open && !ch->s->failed)
		ch->cb.open(ch, ch->user);
}

/* Sending */

/* Hands data[*off..len) of one message to usrsctp in pieces, the last one
 * marked EOR (explicit EOR mode); *off advances by what usrsctp took, and
 * counted bytes leave the buffered amount. started: pieces of this message
 * went before. Returns 1 when all of it went, 0 when usrsctp has no room,
 * -1 when the message cannot be sent and is to be dropped. */
static int send_bytes(struct idl_sctp *s, struct idl_channel *ch, uint32_t ppid, bool counted,
		      bool started, const uint8_t *data, size_t len, size_t *off)
{
	while (*off < len) {
		size_t piece = MIN(len - *off, SEND_PIECE);
		bool eor = *off + piece == len;
		struct sctp_sndinfo info = {
			.snd_sid = ch->id,
			.snd_ppid = htonl(ppid),
		};
		ssize_t n;

		if (eor)
			info.snd_flags |= SCTP_EOR;
		/* DCEP goes ordered so that the OPEN is ahead of any data. */
		if (!ch->ordered && ppid != PPID_DCEP)
			info.snd_flags |= SCTP_UNORDERED;
		n = usrsctp_sendv(s->sock, data + *off, piece, NULL, 0, &info, sizeof(info),
				  SCTP_SENDV_SNDINFO, 0);
		if (n < 0) {
			if (errno == EWOULDBLOCK || errno == EAGAIN || errno == ENOBUFS)
				return 0;
			if (errno == EINVAL && *off == 0 && !started) {
				/* A stream the association lacks: nothing else to do. */
				g_warning("sctp: channel %u: message refused: %s", ch->id,
					  g_strerror(errno));
				return -1;
			}
			/* The association is going down; its notification says how. */
			g_debug("sctp: send on stream %u: %s", ch->id, g_strerror(errno));
			return 0;
		}
		*off += (size_t)n;
		if (counted)
			ch->buffered -= (size_t)n;
		if ((size_t)n < piece)
			return 0;
	}
	return 1;
}

/* Hands the rest of m to usrsctp (send_bytes). */
static int send_msg(struct idl_sctp *s, struct idl_channel *ch, struct out_msg *m)
{
	return send_bytes(s, ch, m->ppid, m->counted, m->started || m->off > 0, m->data, m->len,
			  &m->off);
}

/* SCTP_NODELAY on (the default between flushes) sends each message as it
 * comes, in its own packet; off, usrsctp's Nagle holds what is less than a
 * packet while anything is in flight. Only usrsctp's send call looks at it
 * (output driven by a SACK or a timer never waits). Setting it is a flag in
 * usrsctp, no system call. */
static void set_nodelay(struct idl_sctp *s, bool on)
{
	int v = on;

	if (s->nagle == !on)
		return;
	if (usrsctp_setsockopt(s->sock, IPPROTO_SCTP, SCTP_NODELAY, &v, sizeof(v)) < 0) {
		g_debug("sctp: SCTP_NODELAY %d: %s", v, g_strerror(errno));
		return;
	}
	s->nagle = !on;
}

/* Moves queued messages into usrsctp while it has room, one message per
 * channel in turn. A message started must be finished before another
 * stream's: in explicit EOR mode usrsctp refuses other streams meanwhile.
 * A burst (many small messages: a file's header, data and end, or a
 * receiver's file-ok for each of many files) is bundled into full packets:
 * every message but the last goes with Nagle on, and the last with
 * SCTP_NODELAY, which sends all that is queued at once. One packet is a
 * DTLS record and a sendmsg below us; per message that was most of the
 * cost of small files. A lone message (a request, an answer) goes out at
 * once as before: it is the last of its flush. */
void idl_sctpi_flush(struct idl_sctp *s)
{
	if (!s->connected || s->failed || s->closing || s->flushing)
		return;
	s->flushing = true;
	s->flush_due = false;
	s->unflushed = 0;
	while (!g_queue_is_empty(&s->ready)) {
		struct idl_channel *ch = g_queue_peek_head(&s->ready);
		struct out_msg *m = g_queue_peek_head(&ch->queue);
		bool last = g_queue_get_length(&s->ready) == 1 && g_queue_get_length(&ch->queue) == 1;
		int r;

		set_nodelay(s, last);
		r = send_msg(s, ch, m);

		if (r == 0) {
			if (ch->above && ch->buffered <= ch->low_threshold)
				s->low_pending = true;
			break;
		}
		g_queue_pop_head(&ch->queue);
		if (r < 0 && m->counted)
			ch->buffered -= m->len - m->off;
		g_free(m);
		g_queue_pop_head(&s->ready);
		if (ch->above && ch->buffered <= ch->low_threshold)
			s->low_pending = true;
		if (g_queue_is_empty(&ch->queue)) {
			ch->in_ready = false;
			if (ch->state == CH_CLOSING)
				channel_finish(ch);
		} else {
			g_queue_push_tail(&s->ready, ch);
		}
	}
	/* Stopped short of the last (usrsctp is full): what Nagle holds
	 * goes with the SACKs for what is in flight. */
	set_nodelay(s, true);
	s->flushing = false;
	/* buffered_low runs from the idle source (or the end of process()),
	 * never inside a send: a sender calling idl_channel_send from
	 * buffered_low would otherwise recurse without bound. */
	if (s->low_pending)
		idl_sctpi_schedule(s);
}

void idl_sctpi_issue_resets(struct idl_sctp *s)
{
	uint8_t raw[sizeof(struct sctp_reset_streams) + sizeof(uint16_t)] = { 0 };
	struct sctp_reset_streams *srs = (struct sctp_reset_streams *)(void *)raw;
	uint16_t sid;

	while (s->connected && !s->failed && !s->closing && s->reset_inflight < 0 &&
	       s->resets->len) {
		sid = g_array_index(s->resets, uint16_t, 0);
		srs->srs_assoc_id = SCTP_FUTURE_ASSOC;   /* one-to-one socket: its association */
		srs->srs_flags = SCTP_STREAM_RESET_OUTGOING;
		srs->srs_number_streams = 1;
		srs->srs_stream_list[0] = sid;
		if (usrsctp_setsockopt(s->sock, IPPROTO_SCTP, SCTP_RESET_STREAMS, srs,
				       (socklen_t)sizeof(raw)) == 0) {
			s->reset_inflight = sid;
			g_array_remove_index(s->resets, 0);
			return;
		}
		if (errno == EALREADY || errno == EBUSY || errno == EAGAIN)
			return;   /* retried from the timer */
		/* Not resettable (already reset, or a stream the association
		 * lacks): count it as done rather than wait forever. */
		g_debug("sctp: reset of stream %u: %s", sid, g_strerror(errno));
		g_array_remove_index(s->resets, 0);
		{
			struct idl_channel *ch = g_hash_table_lookup(s->channels,
								     GUINT_TO_POINTER(sid));
			if (ch) {
				ch->local_reset = true;
				channel_check_closed(ch);
			}
		}
	}
}

/* buffered_low for every channel that went over its threshold and is now
 * at or below it. Collected first: callbacks may open channels. */
void idl_sctpi_notify_low(struct idl_sctp *s)
{
	GPtrArray *due;
	GHashTableIter it;
	gpointer v;

	if (!s->low_pending || s->failed)
		return;
	s->low_pending = false;
	due = g_ptr_array_new();
	g_hash_table_iter_init(&it, s->channels);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct idl_channel *ch = v;
		if (ch->above && ch->buffered <= ch->low_threshold)
			g_ptr_array_add(due, ch);
	}
	for (guint i = 0; i < due->len; i++) {
		struct idl_channel *ch = due->pdata[i];
		/* Dead channels are only freed from the idle source, so the
		 * pointer is still good here. */
		if (ch->dead || s->failed || !ch->above || ch->buffered > ch->low_threshold)
			continue;
		ch->above = false;
		if (ch->cb.buffered_low)
			ch->cb.buffered_low(ch, ch->user);
	}
	g_ptr_array_unref(due);
}

/* Receiving */

static void deliver(struct idl_channel *ch, bool binary, const uint8_t *data, size_t len)
{
	if (ch->dead || ch->s->failed || !ch->cb.message)
		return;
	ch->cb.message(ch, binary, data, len, ch->user);
}

static void on_dcep(struct idl_sctp *s, uint16_t sid, struct idl_channel *ch,
		    const uint8_t *data, size_t len)
{
	struct idl_dcep_msg msg;
	uint8_t ack[1];
	bool ours_parity = (sid % 2 == 0) == s->dtls_client;

	if (idl_dcep_decode(data, len, &msg) < 0) {
		g_debug("sctp: stream %u: malformed DCEP message ignored (%zu bytes, type 0x%02x)", sid, len,
			len ? data[0] : 0);
		return;
	}
	if (msg.type == IDL_DCEP_ACK) {
		if (ch && ch->state == CH_OPENING)
			channel_set_open(ch);
		return;
	}
	if (ch) {
		g_debug("sctp: stream %u: OPEN for a channel in use ignored", sid);
		return;
	}
	if (ours_parity || sid == 65535) {
		/* RFC 8832 section 6: the DTLS client opens even ids, the
		 * server odd ones. Refuse by resetting the stream. */
		g_debug("sctp: stream %u: OPEN with the wrong parity refused", sid);
		queue_reset(s, sid);
		return;
	}
	/* Partially reliable channels are accepted and served reliably, a
	 * stronger promise than the one asked for. */
	ch = channel_new(s, sid, msg.open.label, msg.open.label_len, msg.open.protocol,
			 msg.open.protocol_len, !(msg.open.channel_type & IDL_DCEP_UNORDERED_BIT),
			 CH_OPEN);
	enqueue(ch, out_msg_new(PPID_DCEP, false, ack, (size_t)idl_dcep_encode_ack(ack, 1)));
	idl_sctpi_flush(s);
	if (s->cb.channel && !s->failed)
		s->cb.channel(ch, s->user);
}

void idl_sctpi_on_message(struct idl_sctp *s, uint16_t sid, uint32_t ppid, const uint8_t *data,
			  size_t len)
{
	struct idl_channel *ch = g_hash_table_lookup(s->channels, GUINT_TO_POINTER(sid));
	bool binary = ppid == PPID_BINARY || ppid == PPID_BINARY_PARTIAL ||
		      ppid == PPID_BINARY_EMPTY;

	if (ppid == PPID_DCEP) {
		on_dcep(s, sid, ch, data, len);
		return;
	}
	if (ch == NULL) {
		g_debug("sctp: %zu bytes on stream %u without a channel dropped", len, sid);
		return;
	}
	switch (ppid) {
	case PPID_TEXT:
	case PPID_BINARY:
	case PPID_TEXT_EMPTY:
	case PPID_BINARY_EMPTY:
	case PPID_TEXT_PARTIAL:
	case PPID_BINARY_PARTIAL:
		break;
	default:
		g_debug("sctp: stream %u: unknown PPID %u ignored", sid, ppid);
		return;
	}
	/* RFC 8832 section 6: data on the stream means the peer took our
	 * OPEN, even if its ACK is behind (unordered data overtakes it). */
	channel_set_open(ch);
	if (ch->dead)
		return;
	if (ppid == PPID_TEXT_EMPTY || ppid == PPID_BINARY_EMPTY)
		len = 0;   /* the one byte on the wire is not the message */
	if (ppid == PPID_TEXT_PARTIAL || ppid == PPID_BINARY_PARTIAL || ch->legacy) {
		if (ch->legacy == NULL)
			ch->legacy = g_byte_array_new();
		if (ch->legacy->len + len > RECV_LIMIT) {
			g_warning("sctp: stream %u: legacy partial message over %u bytes dropped",
				  sid, RECV_LIMIT);
			g_byte_array_unref(ch->legacy);
			ch->legacy = NULL;
			return;
		}
		g_byte_array_append(ch->legacy, data, (guint)len);
		if (ppid == PPID_TEXT_PARTIAL || ppid == PPID_BINARY_PARTIAL)
			return;
		{
			GByteArray *whole = ch->legacy;
			ch->legacy = NULL;
			deliver(ch, binary, whole->data ? whole->data : (const uint8_t *)"",
				whole->len);
			g_byte_array_unref(whole);
		}
		return;
	}
	deliver(ch, binary, len ? data : (const uint8_t *)"", len);
}

void idl_sctpi_on_stream_reset(struct idl_sctp *s, const struct sctp_stream_reset_event *ev,
			       size_t len)
{
	size_t n = (len - sizeof(*ev)) / sizeof(uint16_t);
	bool refused = ev->strreset_flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED);

	for (size_t i = 0; i < n; i++) {
		uint16_t sid = ev->strreset_stream_list[i];
		struct idl_channel *ch = g_hash_table_lookup(s->channels, GUINT_TO_POINTER(sid));

		if (ev->strreset_flags & SCTP_STREAM_RESET_OUTGOING_SSN) {
			/* Our request answered. Refused, the stream is no
			 * use either: count it as reset rather than hang. */
			if (s->reset_inflight == sid)
				s->reset_inflight = -1;
			if (refused)
				g_debug("sctp: reset of our stream %u refused by the peer", sid);
			if (ch) {
				ch->local_reset = true;
				channel_check_closed(ch);
			}
		}
		if ((ev->strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN) && !refused && ch) {
			/* The peer closed: close our side too, or Chrome
			 * stays "closing" (RFC 8831 section 6.7). */
			ch->remote_reset = true;
			ch->state = CH_CLOSING;
			channel_finish(ch);
			channel_check_closed(ch);
		}
	}
	idl_sctpi_issue_resets(s);
}

struct idl_channel *idl_sctp_open_channel(struct idl_sctp *s, const char *label,
					  const char *protocol, bool ordered,
					  const struct idl_channel_callbacks *cb, void *user,
					  GError **err)
{
	struct idl_dcep_open open = {
		.channel_type = ordered ? IDL_DCEP_RELIABLE : IDL_DCEP_RELIABLE_UNORDERED,
	};
	struct idl_channel *ch;
	uint32_t limit, id;
	uint8_t *buf;
	int n;

	if (s->failed || s->closing) {
		g_set_error(err, IDL_SCTP_ERROR, IDL_SCTP_ERROR_CHANNEL,
			    "data channel: the association is down");
		return NULL;
	}
	open.label = label ? label : "";
	open.label_len = strlen(open.label);
	open.protocol = protocol ? protocol : "";
	open.protocol_len = strlen(open.protocol);
	if (open.label_len > UINT16_MAX || open.protocol_len > UINT16_MAX ||
	    !g_utf8_validate(open.label, -1, NULL) || !g_utf8_validate(open.protocol, -1, NULL)) {
		g_set_error(err, IDL_SCTP_ERROR, IDL_SCTP_ERROR_CHANNEL,
			    "data channel: label or protocol too long or not UTF-8");
		return NULL;
	}
	/* RFC 8832 section 6: the DTLS client takes even ids, the server odd;
	 * 65535 is reserved. */
	limit = MIN((uint32_t)s->streams_out, 65535u);
	for (id = s->dtls_client ? 0 : 1; id < limit; id += 2)
		if (!g_hash_table_contains(s->channels, GUINT_TO_POINTER(id)))
			break;
	if (id >= limit) {
		g_set_error(err, IDL_SCTP_ERROR, IDL_SCTP_ERROR_CHANNEL,
			    "data channel: no free stream (%u in use)",
			    g_hash_table_size(s->channels));
		return NULL;
	}
	ch = channel_new(s, (uint16_t)id, open.label, open.label_len, open.protocol,
			 open.protocol_len, ordered, CH_OPENING);
	if (cb)
		ch->cb = *cb;
	ch->user = user;
	buf = g_malloc(idl_dcep_open_size(open.label_len, open.protocol_len));
	n = idl_dcep_encode_open(&open, buf, idl_dcep_open_size(open.label_len, open.protocol_len));
	g_assert(n > 0);
	enqueue(ch, out_msg_new(PPID_DCEP, false, buf, (size_t)n));
	g_free(buf);
	idl_sctpi_flush(s);
	return ch;
}

void idl_channel_set_callbacks(struct idl_channel *ch, const struct idl_channel_callbacks *cb,
			       void *user)
{
	if (cb)
		ch->cb = *cb;
	else
		memset(&ch->cb, 0, sizeof(ch->cb));
	ch->user = user;
}

int idl_channel_send(struct idl_channel *ch, bool binary, const uint8_t *data, size_t len)
{
	struct idl_sctp *s = ch->s;
	uint32_t ppid;

	if (ch->dead || ch->state != CH_OPEN || s->failed || s->closing)
		return -ENOTCONN;
	if (len > idl_sctp_max_message(s))
		return -EMSGSIZE;
	if (len && data == NULL)
		return -EINVAL;
	if (len == 0) {
		/* An SCTP message cannot be empty: one zero byte stands for
		 * it, under its own PPID (RFC 8831 section 6.6). */
		static const uint8_t zero = 0;
		ppid = binary ? PPID_BINARY_EMPTY : PPID_TEXT_EMPTY;
		enqueue(ch, out_msg_new(ppid, false, &zero, 1));
	} else {
		ppid = binary ? PPID_BINARY : PPID_TEXT;
		if (len >= DIRECT_MIN && g_queue_is_empty(&s->ready) && !s->flushing && s->connected) {
			/* Nothing waits on any stream (no message half sent,
			 * no small ones to bundle with): straight from the
			 * caller's buffer into usrsctp's, no copy of ours.
			 * Only what usrsctp has no room for is copied and
			 * queued, after the part it took. */
			size_t off = 0;
			struct out_msg *rest;

			set_nodelay(s, true);
			if (send_bytes(s, ch, ppid, false, false, data, len, &off) != 0)
				return 0;   /* all sent, or refused (as from the queue) */
			rest = out_msg_new(ppid, true, data + off, len - off);
			rest->started = off > 0;
			enqueue(ch, rest);
			s->flush_due = true;
			idl_sctpi_schedule(s);
			return 0;
		}
		enqueue(ch, out_msg_new(ppid, true, data, len));
	}
	/* Into usrsctp from the idle source, with whatever else this turn of
	 * the loop sends: one flush bundles them (idl_sctpi_flush). A long
	 * turn goes in FLUSH_BATCH steps, so that the first packets leave
	 * while the sender is still making the rest. */
	s->flush_due = true;
	idl_sctpi_schedule(s);
	s->unflushed += len;
	if (s->unflushed >= FLUSH_BATCH)
		idl_sctpi_flush(s);
	return 0;
}

size_t idl_channel_max_message(const struct idl_channel *ch)
{
	return idl_sctp_max_message(ch->s);
}

size_t idl_channel_message_size(const struct idl_channel *ch)
{
	return idl_sctp_message_size(idl_sctp_max_message(ch->s));
}

size_t idl_channel_buffered_amount(const struct idl_channel *ch)
{
	return ch->buffered;
}

void idl_channel_set_buffered_low_threshold(struct idl_channel *ch, size_t bytes)
{
	ch->low_threshold = bytes;
	if (ch->buffered > bytes)
		ch->above = true;
}

const char *idl_channel_label(const struct idl_channel *ch)
{
	return ch->label;
}

const char *idl_channel_protocol(const struct idl_channel *ch)
{
	return ch->protocol;
}

uint16_t idl_channel_id(const struct idl_channel *ch)
{
	return ch->id;
}

void idl_channel_close(struct idl_channel *ch)
{
	if (ch->dead || ch->state == CH_CLOSING || ch->state == CH_CLOSED)
		return;
	ch->state = CH_CLOSING;
	/* The peer's reset that ends the closing is read like data. */
	idl_channel_pause_reading(ch, false);
	channel_finish(ch);
}

void idl_channel_pause_reading(struct idl_channel *ch, bool paused)
{
	struct idl_sctp *s = ch->s;

	if (ch->read_paused == paused || (paused && (ch->dead || ch->state == CH_CLOSING)))
		return;
	ch->read_paused = paused;
	if (paused) {
		s->read_paused++;
		return;
	}
	if (--s->read_paused == 0) {
		/* What waited in usrsctp is read from the idle source: the
		 * window reopens as it is read. */
		s->pending = true;
		idl_sctpi_schedule(s);
	}
}

const char *idl_sctp_unconfirmed_channel(const struct idl_sctp *s)
{
	const struct idl_channel *found = NULL;
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, s->channels);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		const struct idl_channel *ch = value;
		if (ch->state == CH_OPENING && !ch->dead && (!found || ch->id < found->id))
			found = ch;
	}
	return found ? found->label : NULL;
}
