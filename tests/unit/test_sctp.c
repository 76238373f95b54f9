/* Unit tests for sctp/sctp: two associations in one process, wired back to
 * back through an in-memory pipe that delivers each packet from an idle
 * source (never inside the sender's call), optionally dropping some. A is
 * the DTLS client (even channel ids), B the server (odd ids). */
#include <errno.h>
#include <string.h>
#include <glib.h>
#include <usrsctp.h>

#include "sctp/sctp.h"

#define WAIT_S 60   /* generous: the sanitizer build is slow */
#define CHUNK (64 * 1024)

struct pipe;

struct msg {
	bool binary;
	GBytes *data;
};

struct chan {
	struct end *end;
	struct idl_channel *ch;
	int opened, closed, low;
	bool echo;                 /* send every message back */
	GQueue msgs;               /* struct msg *, when not echoing or bulk */
	/* bulk sender */
	size_t total, sent, max_buffered, threshold;
	uint32_t seq;
	/* bulk receiver */
	bool bulk_rx;
	uint32_t next_seq;
	size_t received;
	size_t pause_at;           /* nonzero: stop reading once this much arrived */
	int bad;
};

struct end {
	const char *name;
	struct pipe *pipe;
	struct idl_sctp *s;
	int connected, failed;
	char *why;
	GPtrArray *chans;          /* struct chan *, all this end made */
	bool echo_new;             /* channels the peer opens echo */
	bool bulk_new;             /* channels the peer opens verify bulk data */
	int send_err;              /* nonzero: cb_send loses the packet and returns it */
	int shut_down;             /* failed with IDL_SCTP_ERROR_SHUTDOWN: the peer's normal end */
	GByteArray *chunks;        /* when set: the type of every chunk this end sends */
	size_t data_packets;       /* packets with DATA this end sent */
	size_t data_chunks;        /* DATA chunks this end sent */
	size_t max_packet;         /* largest packet this end sent */
	size_t sack_packets;       /* packets with a SACK this end sent */
};

struct pipe {
	struct end a, b;
	GQueue to_a, to_b;         /* GBytes in flight */
	bool hold;                 /* deliver nothing for now */
	GSource *idle;
	GRand *rand;
	double drop;
	size_t packet_limit;       /* no packet may be bigger (pipe_free checks) */
	size_t packets, dropped, max_packet, bad_crc, in_flight, max_in_flight;
};

static gboolean timed_out(gpointer p)
{
	*(bool *)p = true;
	return G_SOURCE_REMOVE;
}

/* Runs the main loop until cond holds; failing after WAIT_S seconds. */
#define WAIT_FOR(cond, what)                                                            \
	do {                                                                            \
		bool to_ = false;                                                       \
		GSource *t_ = g_timeout_source_new_seconds(WAIT_S);                     \
		g_source_set_callback(t_, timed_out, &to_, NULL);                       \
		g_source_attach(t_, NULL);                                              \
		while (!(cond) && !to_)                                                 \
			g_main_context_iteration(NULL, TRUE);                           \
		g_source_destroy(t_);                                                   \
		g_source_unref(t_);                                                     \
		if (!(cond))                                                            \
			g_error("timed out after %d s waiting for %s", WAIT_S, what);   \
	} while (0)

/* Runs the loop for ms milliseconds. */
static void spin(unsigned ms)
{
	bool done = false;
	GSource *t = g_timeout_source_new(ms);

	g_source_set_callback(t, timed_out, &done, NULL);
	g_source_attach(t, NULL);
	while (!done)
		g_main_context_iteration(NULL, TRUE);
	g_source_unref(t);
}

/* The pipe */

static gboolean pipe_deliver(gpointer data)
{
	struct pipe *p = data;

	if (p->hold) {
		g_source_unref(p->idle);
		p->idle = NULL;
		return G_SOURCE_REMOVE;
	}
	/* A batch per turn in each direction, in order. */
	for (int i = 0; i < 64; i++) {
		GBytes *to_b = g_queue_pop_head(&p->to_b);
		GBytes *to_a = g_queue_pop_head(&p->to_a);
		gsize len;
		const uint8_t *d;

		if (!to_a && !to_b)
			break;
		if (to_b) {
			d = g_bytes_get_data(to_b, &len);
			p->in_flight -= len;
			if (p->b.s)
				idl_sctp_feed(p->b.s, d, len);
			g_bytes_unref(to_b);
		}
		if (to_a) {
			d = g_bytes_get_data(to_a, &len);
			p->in_flight -= len;
			if (p->a.s)
				idl_sctp_feed(p->a.s, d, len);
			g_bytes_unref(to_a);
		}
	}
	if (g_queue_is_empty(&p->to_a) && g_queue_is_empty(&p->to_b)) {
		g_source_unref(p->idle);
		p->idle = NULL;
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

static int pipe_send(struct end *from, const uint8_t *buf, size_t len)
{
	struct pipe *p = from->pipe;
	uint8_t *copy = g_memdup2(buf, len);
	uint32_t crc, want;

	/* The checksum is ours to compute (CRC32c offload): check it. */
	memcpy(&crc, copy + 8, 4);
	memset(copy + 8, 0, 4);
	want = usrsctp_crc32c(copy, len);
	memcpy(copy + 8, &crc, 4);
	if (crc != want)
		p->bad_crc++;
	for (size_t off = 12, data = 0, sack = 0; off + 4 <= len;) {
		size_t clen = (size_t)copy[off + 2] << 8 | copy[off + 3];

		if (copy[off] == 3)     /* SACK */
			from->sack_packets += sack++ == 0;
		if (from->chunks)
			g_byte_array_append(from->chunks, &copy[off], 1);
		if (copy[off] == 0) {   /* DATA */
			from->data_chunks++;
			from->data_packets += data++ == 0;
		}
		if (clen < 4)
			break;
		off += (clen + 3) & ~(size_t)3;
	}
	p->packets++;
	p->max_packet = MAX(p->max_packet, len);
	from->max_packet = MAX(from->max_packet, len);
	if (p->drop > 0 && g_rand_double(p->rand) < p->drop) {
		p->dropped++;
		g_free(copy);
		return 0;
	}
	g_queue_push_tail(from == &p->a ? &p->to_b : &p->to_a, g_bytes_new_take(copy, len));
	p->in_flight += len;
	p->max_in_flight = MAX(p->max_in_flight, p->in_flight);
	if (p->idle == NULL) {
		p->idle = g_idle_source_new();
		g_source_set_callback(p->idle, pipe_deliver, p, NULL);
		g_source_attach(p->idle, NULL);
	}
	return 0;
}

/* Callbacks */

static void msg_free(gpointer data)
{
	struct msg *m = data;
	g_bytes_unref(m->data);
	g_free(m);
}

static void bulk_pump(struct chan *c);

static void ch_open(struct idl_channel *ch, void *user)
{
	struct chan *c = user;
	g_assert_true(c->ch == ch);
	c->opened++;
}

static void check_bulk(struct chan *c, const uint8_t *data, size_t len)
{
	uint32_t seq;

	if (len != CHUNK) {
		c->bad++;
		return;
	}
	memcpy(&seq, data, 4);
	if (seq != c->next_seq)
		c->bad++;
	for (size_t i = 4; i < len; i += 997)
		if (data[i] != (uint8_t)(seq * 31 + i))
			c->bad++;
	c->next_seq = seq + 1;
	c->received += len;
	if (c->pause_at && c->received == c->pause_at)
		idl_channel_pause_reading(c->ch, true);
}

static void ch_message(struct idl_channel *ch, bool binary, const uint8_t *data, size_t len,
		       void *user)
{
	struct chan *c = user;
	struct msg *m;

	g_assert_true(c->ch == ch);
	g_assert_nonnull(data);
	if (c->bulk_rx) {
		check_bulk(c, data, len);
		return;
	}
	if (c->echo) {
		g_assert_cmpint(idl_channel_send(ch, binary, data, len), ==, 0);
		return;
	}
	m = g_new0(struct msg, 1);
	m->binary = binary;
	m->data = g_bytes_new(data, len);
	g_queue_push_tail(&c->msgs, m);
}

static void ch_low(struct idl_channel *ch, void *user)
{
	struct chan *c = user;

	g_assert_true(c->ch == ch);
	g_assert_cmpuint(idl_channel_buffered_amount(ch), <=, c->threshold);
	c->low++;
	bulk_pump(c);
}

static void ch_closed(struct idl_channel *ch, void *user)
{
	struct chan *c = user;
	g_assert_true(c->ch == ch);
	c->closed++;
	c->ch = NULL;   /* freed soon after this returns */
}

static const struct idl_channel_callbacks ch_cbs = {
	.open = ch_open, .message = ch_message, .buffered_low = ch_low, .closed = ch_closed,
};

static struct chan *chan_new(struct end *e)
{
	struct chan *c = g_new0(struct chan, 1);

	c->end = e;
	g_queue_init(&c->msgs);
	g_ptr_array_add(e->chans, c);
	return c;
}

static void chan_free(gpointer data)
{
	struct chan *c = data;
	g_queue_clear_full(&c->msgs, msg_free);
	g_free(c);
}

static int cb_send(const uint8_t *buf, size_t len, void *user)
{
	struct end *e = user;

	if (e->send_err)
		return e->send_err;
	return pipe_send(user, buf, len);
}

static void cb_connected(void *user)
{
	struct end *e = user;
	e->connected++;
}

static void cb_channel(struct idl_channel *ch, void *user)
{
	struct end *e = user;
	struct chan *c = chan_new(e);

	c->ch = ch;
	c->echo = e->echo_new;
	c->bulk_rx = e->bulk_new;
	idl_channel_set_callbacks(ch, &ch_cbs, c);
}

static void cb_failed(const GError *err, void *user)
{
	struct end *e = user;

	if (g_error_matches(err, IDL_SCTP_ERROR, IDL_SCTP_ERROR_SHUTDOWN)) {
		e->shut_down++;
		return;
	}
	g_assert_error(err, IDL_SCTP_ERROR, IDL_SCTP_ERROR_ASSOC);
	e->failed++;
	g_free(e->why);
	e->why = g_strdup(err->message);
}

static const struct idl_sctp_callbacks cbs = {
	.send = cb_send, .connected = cb_connected, .channel = cb_channel, .failed = cb_failed,
};

/* Set-up */

static void end_init(struct pipe *p, struct end *e, const char *name, bool client,
		     size_t max_message)
{
	GError *err = NULL;

	e->name = name;
	e->pipe = p;
	e->chans = g_ptr_array_new_with_free_func(chan_free);
	g_assert_cmpint(idl_sctp_new(client, max_message, &cbs, e, &e->s, &err), ==, 0);
	g_assert_no_error(err);
}

static struct pipe *pipe_new(size_t max_message, double drop)
{
	struct pipe *p = g_new0(struct pipe, 1);

	g_queue_init(&p->to_a);
	g_queue_init(&p->to_b);
	p->rand = g_rand_new_with_seed(5000);
	p->drop = drop;
	p->packet_limit = IDL_SCTP_PACKET_MIN;   /* the default size */
	end_init(p, &p->a, "A", true, max_message);
	end_init(p, &p->b, "B", false, max_message);
	return p;
}

static void pipe_connect(struct pipe *p)
{
	GError *err = NULL;

	g_assert_cmpint(idl_sctp_connect(p->a.s, &err), ==, 0);
	g_assert_cmpint(idl_sctp_connect(p->b.s, &err), ==, 0);
	g_assert_no_error(err);
	WAIT_FOR(p->a.connected && p->b.connected, "both associations up");
}

static void end_free(struct end *e)
{
	idl_sctp_free(e->s);
	e->s = NULL;
}

static void pipe_free(struct pipe *p)
{
	end_free(&p->a);
	end_free(&p->b);
	g_assert_cmpuint(p->bad_crc, ==, 0);
	g_assert_cmpuint(p->max_packet, <=, p->packet_limit);
	g_queue_clear_full(&p->to_a, (GDestroyNotify)g_bytes_unref);
	g_queue_clear_full(&p->to_b, (GDestroyNotify)g_bytes_unref);
	if (p->idle) {
		g_source_destroy(p->idle);
		g_source_unref(p->idle);
	}
	g_ptr_array_unref(p->a.chans);
	g_ptr_array_unref(p->b.chans);
	g_free(p->a.why);
	g_free(p->b.why);
	if (p->a.chunks)
		g_byte_array_unref(p->a.chunks);
	g_rand_free(p->rand);
	g_free(p);
}

/* Opens a channel from e; returns our end of it once the peer's ACK came,
 * and the peer's end in *remote. */
static struct chan *open_channel(struct pipe *p, struct end *e, const char *label,
				 const char *protocol, bool ordered, struct chan **remote)
{
	struct end *peer = e == &p->a ? &p->b : &p->a;
	guint before = peer->chans->len;
	struct chan *c = chan_new(e);
	GError *err = NULL;

	c->ch = idl_sctp_open_channel(e->s, label, protocol, ordered, &ch_cbs, c, &err);
	g_assert_no_error(err);
	g_assert_nonnull(c->ch);
	WAIT_FOR(c->opened && peer->chans->len > before, "the channel to open");
	g_assert_cmpint(c->opened, ==, 1);
	*remote = peer->chans->pdata[peer->chans->len - 1];
	g_assert_cmpstr(idl_channel_label((*remote)->ch), ==, label);
	g_assert_cmpstr(idl_channel_protocol((*remote)->ch), ==, protocol);
	g_assert_cmpuint(idl_channel_id((*remote)->ch), ==, idl_channel_id(c->ch));
	return c;
}

static struct msg *wait_msg(struct chan *c)
{
	WAIT_FOR(!g_queue_is_empty(&c->msgs), "a message");
	return g_queue_pop_head(&c->msgs);
}

static void expect_msg(struct chan *c, bool binary, const void *data, size_t len)
{
	struct msg *m = wait_msg(c);
	gsize got;
	const void *d = g_bytes_get_data(m->data, &got);

	g_assert_cmpint(m->binary, ==, binary);
	g_assert_cmpmem(d, got, data, len);
	msg_free(m);
}

/* Tests */

static void test_connect(void)
{
	struct pipe *p = pipe_new(0, 0);

	g_assert_cmpuint(idl_sctp_max_message(p->a.s), ==, IDL_SCTP_DEFAULT_MAX_MESSAGE);
	pipe_connect(p);
	g_assert_cmpint(p->a.connected, ==, 1);
	g_assert_cmpint(p->b.connected, ==, 1);
	g_assert_cmpint(p->a.failed + p->b.failed, ==, 0);
	/* Stays up with only timers running (heartbeats, no stray abort). */
	spin(300);
	g_assert_cmpint(p->a.failed + p->b.failed, ==, 0);
	pipe_free(p);
}

/* The peer finished DTLS first: its INIT comes before we connect. Fed to
 * usrsctp then, it would be answered with an ABORT. */
static void test_early_packets(void)
{
	struct pipe *p = pipe_new(0, 0);
	struct chan *a, *b;
	GError *err = NULL;

	/* A channel may be opened before the association is up. */
	a = chan_new(&p->a);
	a->ch = idl_sctp_open_channel(p->a.s, "early", "", true, &ch_cbs, a, &err);
	g_assert_no_error(err);
	g_assert_cmpint(idl_channel_send(a->ch, false, (const uint8_t *)"x", 1), ==, -ENOTCONN);
	g_assert_cmpint(idl_sctp_connect(p->a.s, &err), ==, 0);
	spin(50);
	g_assert_cmpint(p->a.failed + p->b.failed, ==, 0);
	g_assert_cmpint(idl_sctp_connect(p->b.s, &err), ==, 0);
	g_assert_cmpint(idl_sctp_connect(p->b.s, &err), ==, -EALREADY);
	g_clear_error(&err);
	WAIT_FOR(p->a.connected && p->b.connected, "both associations up");
	WAIT_FOR(a->opened && p->b.chans->len == 1, "the early channel to open");
	b = p->b.chans->pdata[0];
	g_assert_cmpstr(idl_channel_label(b->ch), ==, "early");
	g_assert_cmpint(idl_channel_send(a->ch, false, (const uint8_t *)"x", 1), ==, 0);
	expect_msg(b, false, "x", 1);
	g_assert_cmpint(p->a.failed + p->b.failed, ==, 0);
	pipe_free(p);
}

static void test_echo(void)
{
	struct pipe *p = pipe_new(0, 0);
	struct chan *a, *b, *b2, *a2;
	static const uint8_t bin[] = { 0, 1, 2, 0xff, 0 };

	pipe_connect(p);
	p->b.echo_new = true;
	a = open_channel(p, &p->a, "echo", "idrop/1", true, &b);
	g_assert_true(b->echo);
	/* A is the DTLS client: even ids, on both sides. */
	g_assert_cmpuint(idl_channel_id(a->ch) % 2, ==, 0);

	g_assert_cmpint(idl_channel_send(a->ch, false, (const uint8_t *)"hello", 5), ==, 0);
	expect_msg(a, false, "hello", 5);
	g_assert_cmpint(idl_channel_send(a->ch, true, bin, sizeof(bin)), ==, 0);
	expect_msg(a, true, bin, sizeof(bin));
	/* Empty messages, text and binary (PPID 56/57 on the wire). */
	g_assert_cmpint(idl_channel_send(a->ch, false, NULL, 0), ==, 0);
	expect_msg(a, false, "", 0);
	g_assert_cmpint(idl_channel_send(a->ch, true, NULL, 0), ==, 0);
	expect_msg(a, true, "", 0);
	/* Order holds across a burst. */
	for (int i = 0; i < 100; i++) {
		char text[16];
		int n = g_snprintf(text, sizeof(text), "m%d", i);
		g_assert_cmpint(idl_channel_send(a->ch, false, (const uint8_t *)text, (size_t)n), ==, 0);
	}
	for (int i = 0; i < 100; i++) {
		char text[16];
		int n = g_snprintf(text, sizeof(text), "m%d", i);
		expect_msg(a, false, text, (size_t)n);
	}

	/* B, the DTLS server, opens odd ids; A gets them through cb->channel. */
	p->a.echo_new = false;
	b2 = open_channel(p, &p->b, "back", "", true, &a2);
	g_assert_cmpuint(idl_channel_id(b2->ch) % 2, ==, 1);
	g_assert_cmpuint(idl_channel_id(a2->ch) % 2, ==, 1);
	g_assert_cmpint(idl_channel_send(b2->ch, false, (const uint8_t *)"hi A", 4), ==, 0);
	expect_msg(a2, false, "hi A", 4);
	/* A second channel from A takes the next even id. */
	{
		struct chan *a3, *b3;
		a3 = open_channel(p, &p->a, "", "", true, &b3);
		g_assert_cmpuint(idl_channel_id(a3->ch), ==, idl_channel_id(a->ch) + 2);
	}
	g_assert_cmpint(p->a.failed + p->b.failed, ==, 0);
	pipe_free(p);
}

static void test_max_message(void)
{
	struct pipe *p = pipe_new(0, 0);
	struct chan *a, *b;
	uint8_t *big = g_malloc0(IDL_SCTP_DEFAULT_MAX_MESSAGE + 1);

	pipe_connect(p);
	a = open_channel(p, &p->a, "m", "", true, &b);
	g_assert_cmpint(idl_channel_send(a->ch, true, big, IDL_SCTP_DEFAULT_MAX_MESSAGE + 1), ==,
			-EMSGSIZE);
	g_assert_cmpuint(idl_channel_buffered_amount(a->ch), ==, 0);
	g_assert_cmpint(idl_channel_send(a->ch, true, big, IDL_SCTP_DEFAULT_MAX_MESSAGE), ==, 0);
	expect_msg(b, true, big, IDL_SCTP_DEFAULT_MAX_MESSAGE);
	g_free(big);
	pipe_free(p);
}

/* The one decision of how large a writer's messages are: the peer's limit,
 * never above just under 64 KiB (Pion closes a channel on 65,536), and
 * "any" (an SDP's 0, SIZE_MAX here) is not "nothing". */
static void test_message_size(void)
{
	static const struct { size_t peer_max, want; } cases[] = {
		{ 16384, 16384 },
		{ 1, 1 },
		{ 65535, 65535 },
		{ IDL_SCTP_DEFAULT_MAX_MESSAGE, 65535 },
		{ 262144, 65535 },
		{ 1073741823, 65535 },
		{ SIZE_MAX, 65535 },
		{ 0, 65535 },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
		g_assert_cmpuint(idl_sctp_message_size(cases[i].peer_max), ==, cases[i].want);
	g_assert_cmpuint(IDL_SCTP_BULK_MESSAGE, <, 65536);
}

/* A peer announcing any size (SIZE_MAX: what the peer layer passes for an
 * SDP's max-message-size 0) takes messages over the 64 KiB default, and a
 * channel's writers still cut at IDL_SCTP_BULK_MESSAGE; a peer announcing
 * 16384 gets 16384-byte messages and no more. */
static void test_message_size_channel(void)
{
	struct pipe *p = pipe_new(SIZE_MAX, 0);
	struct chan *a, *b;
	uint8_t *big = g_malloc0(IDL_SCTP_DEFAULT_MAX_MESSAGE + 1);

	pipe_connect(p);
	a = open_channel(p, &p->a, "any", "", true, &b);
	g_assert_cmpuint(idl_channel_message_size(a->ch), ==, IDL_SCTP_BULK_MESSAGE);
	g_assert_cmpint(idl_channel_send(a->ch, true, big, IDL_SCTP_DEFAULT_MAX_MESSAGE + 1), ==, 0);
	expect_msg(b, true, big, IDL_SCTP_DEFAULT_MAX_MESSAGE + 1);
	pipe_free(p);

	p = pipe_new(16384, 0);
	pipe_connect(p);
	a = open_channel(p, &p->a, "small", "", true, &b);
	g_assert_cmpuint(idl_channel_message_size(a->ch), ==, 16384);
	g_assert_cmpint(idl_channel_send(a->ch, true, big, 16385), ==, -EMSGSIZE);
	g_assert_cmpint(idl_channel_send(a->ch, true, big, idl_channel_message_size(a->ch)), ==, 0);
	expect_msg(b, true, big, 16384);
	g_free(big);
	pipe_free(p);
}

/* A 1 MiB message, with a peer that announced 2 MiB: it goes to usrsctp
 * in pieces and comes out whole. */
/* Sends one n-byte message and a short one after it on a new channel of a
 * connected pipe; both must come out whole and in order. */
static void send_large(struct pipe *p, size_t n)
{
	struct chan *a, *b;
	uint8_t *big = g_malloc(n);

	for (size_t i = 0; i < n; i++)
		big[i] = (uint8_t)(i * 7 + (i >> 12));
	a = open_channel(p, &p->a, "large", "", true, &b);
	g_assert_cmpint(idl_channel_send(a->ch, true, big, n), ==, 0);
	g_assert_cmpint(idl_channel_send(a->ch, false, (const uint8_t *)"after", 5), ==, 0);
	expect_msg(b, true, big, n);
	expect_msg(b, false, "after", 5);
	g_free(big);
}

static void test_large_message(void)
{
	struct pipe *p = pipe_new(2u << 20, 0);

	pipe_connect(p);
	send_large(p, 1 << 20);
	pipe_free(p);
}

static void bulk_pump(struct chan *c)
{
	uint8_t *buf;

	if (c->total == 0)
		return;
	buf = g_malloc(CHUNK);
	/* Like a browser sender: push while under the threshold, then wait
	 * for buffered_low. */
	while (c->sent < c->total && idl_channel_buffered_amount(c->ch) <= c->threshold) {
		memcpy(buf, &c->seq, 4);
		for (size_t i = 4; i < CHUNK; i += 997)
			buf[i] = (uint8_t)(c->seq * 31 + i);
		g_assert_cmpint(idl_channel_send(c->ch, true, buf, CHUNK), ==, 0);
		c->seq++;
		c->sent += CHUNK;
		c->max_buffered = MAX(c->max_buffered, idl_channel_buffered_amount(c->ch));
	}
	g_free(buf);
}

static void bulk(struct pipe *p, size_t total, bool ordered, double *mbps)
{
	struct chan *a, *b;
	gint64 t0;
	double secs;

	p->b.bulk_new = true;
	a = open_channel(p, &p->a, "bulk", "", ordered, &b);
	g_assert_true(b->bulk_rx);
	a->total = total;
	a->threshold = 1 << 20;
	idl_channel_set_buffered_low_threshold(a->ch, a->threshold);
	t0 = g_get_monotonic_time();
	bulk_pump(a);
	WAIT_FOR(b->received >= total || b->bad, "all bulk data");
	secs = (double)(g_get_monotonic_time() - t0) / 1e6;
	g_assert_cmpint(b->bad, ==, 0);
	g_assert_cmpuint(b->received, ==, total);
	g_assert_cmpuint(a->sent, ==, total);
	/* Back-pressure: usrsctp's buffer filled, the queue went over the
	 * threshold and came back, and never held more than one message
	 * beyond what the sender pushes before buffered_low. */
	g_assert_cmpint(a->low, >, 0);
	g_assert_cmpuint(a->max_buffered, <=, a->threshold + CHUNK);
	WAIT_FOR(idl_channel_buffered_amount(a->ch) == 0, "the queue to drain");
	if (mbps)
		*mbps = (double)total / 1e6 / secs;
	g_test_message("%zu MiB in %.2f s: %.1f MB/s; sender queue peak %zu KiB; pipe peak %zu KiB; "
		       "%zu packets, %zu dropped",
		       total >> 20, secs, (double)total / 1e6 / secs, a->max_buffered >> 10,
		       p->max_in_flight >> 10, p->packets, p->dropped);
}

/* The smallest receive window peer.c sets (a stock kernel's socket buffer):
 * messages bigger than the window still arrive whole (partial delivery),
 * and a bulk flow gets through it, in both directions' worth of SACKs. */
static void test_small_window(void)
{
	size_t n = 256 << 10;      /* what we announce as max-message-size */
	struct pipe *p = pipe_new(n, 0);
	GError *err = NULL;

	g_assert_cmpint(idl_sctp_set_receive_window(p->a.s, IDL_SCTP_WINDOW_MIN, &err), ==, 0);
	g_assert_cmpint(idl_sctp_set_receive_window(p->b.s, IDL_SCTP_WINDOW_MIN, &err), ==, 0);
	g_assert_no_error(err);
	pipe_connect(p);
	send_large(p, n);
	bulk(p, (size_t)16 << 20, true, NULL);
	g_assert_cmpint(p->a.failed + p->b.failed, ==, 0);
	pipe_free(p);
}

/* Back-pressure down the stack: a reader that pauses gets no message after
 * the one it paused in, the sender is held back by the closed window (its
 * buffers fill, it cannot hand over everything), and after the resume every
 * byte arrives, in order. */
static void test_pause_reading(void)
{
	struct pipe *p = pipe_new(0, 0);
	size_t total = (size_t)12 << 20, window = 256 << 10;
	struct chan *a, *b;
	GError *err = NULL;

	g_assert_cmpint(idl_sctp_set_receive_window(p->b.s, window, &err), ==, 0);
	g_assert_no_error(err);
	pipe_connect(p);
	p->b.bulk_new = true;
	a = open_channel(p, &p->a, "bulk", "", true, &b);
	b->pause_at = 16 * CHUNK;
	a->total = total;
	a->threshold = 1 << 20;
	idl_channel_set_buffered_low_threshold(a->ch, a->threshold);
	bulk_pump(a);
	WAIT_FOR(b->received >= b->pause_at, "data up to the pause");
	spin(1000);
	g_assert_cmpuint(b->received, ==, b->pause_at);
	/* Held: usrsctp's send buffer (4 MiB), our queue and the peer's
	 * window together are far less than the whole. */
	g_assert_cmpuint(a->sent, <, total);
	g_assert_cmpuint(idl_channel_buffered_amount(a->ch), >, 0);
	idl_channel_pause_reading(b->ch, false);
	g_assert_cmpuint(b->received, ==, b->pause_at);   /* later, from the loop */
	WAIT_FOR(b->received >= total || b->bad, "all data after the resume");
	g_assert_cmpint(b->bad, ==, 0);
	g_assert_cmpuint(b->received, ==, total);
	g_assert_cmpint(p->a.failed + p->b.failed, ==, 0);
	pipe_free(p);
}

static void test_bulk(void)
{
	struct pipe *p = pipe_new(0, 0);
	double mbps = 0;

	pipe_connect(p);
	bulk(p, (size_t)64 << 20, true, &mbps);
	g_test_message("in-memory throughput: %.1f MB/s (not asserted)", mbps);
	g_assert_cmpint(p->a.failed + p->b.failed, ==, 0);
	pipe_free(p);
}

static void test_unordered(void)
{
	struct pipe *p = pipe_new(0, 0);
	struct chan *a, *b;
	guint8 seen[200] = { 0 };

	pipe_connect(p);
	p->b.echo_new = false;
	a = open_channel(p, &p->a, "unordered", "", false, &b);
	for (int i = 0; i < 200; i++) {
		uint8_t v = (uint8_t)i;
		g_assert_cmpint(idl_channel_send(a->ch, true, &v, 1), ==, 0);
	}
	/* Every message arrives once; the order is not promised. */
	for (int i = 0; i < 200; i++) {
		struct msg *m = wait_msg(b);
		gsize len;
		const uint8_t *d = g_bytes_get_data(m->data, &len);
		g_assert_cmpuint(len, ==, 1);
		g_assert_cmpuint(seen[d[0]], ==, 0);
		seen[d[0]] = 1;
		msg_free(m);
	}
	/* And the other way (the unordered ACK may overtake nothing). */
	g_assert_cmpint(idl_channel_send(b->ch, false, (const uint8_t *)"x", 1), ==, 0);
	expect_msg(a, false, "x", 1);
	bulk(p, (size_t)16 << 20, false, NULL);
	pipe_free(p);
}

static void test_close(void)
{
	struct pipe *p = pipe_new(0, 0);
	struct chan *a, *b, *a2, *b2;
	uint16_t id;

	pipe_connect(p);
	a = open_channel(p, &p->a, "one", "", true, &b);
	id = idl_channel_id(a->ch);
	/* Data queued before close still arrives. */
	g_assert_cmpint(idl_channel_send(a->ch, false, (const uint8_t *)"last", 4), ==, 0);
	idl_channel_close(a->ch);
	g_assert_cmpint(idl_channel_send(a->ch, false, (const uint8_t *)"no", 2), ==, -ENOTCONN);
	WAIT_FOR(a->closed && b->closed, "both ends closed");
	g_assert_cmpint(a->closed, ==, 1);
	g_assert_cmpint(b->closed, ==, 1);
	expect_msg(b, false, "last", 4);
	/* Both directions were reset: the id is free again. */
	a2 = open_channel(p, &p->a, "two", "", true, &b2);
	g_assert_cmpuint(idl_channel_id(a2->ch), ==, id);
	g_assert_cmpint(idl_channel_send(a2->ch, false, (const uint8_t *)"again", 5), ==, 0);
	expect_msg(b2, false, "again", 5);
	/* Closed from the side that did not open it. */
	idl_channel_close(b2->ch);
	WAIT_FOR(a2->closed && b2->closed, "both ends closed");
	g_assert_cmpint(p->a.failed + p->b.failed, ==, 0);
	pipe_free(p);
}

/* Both think they are the DTLS client: B refuses A's even-id OPEN by
 * resetting the stream, and A's channel closes without opening. */
/* The channel we opened waits for the peer's ACK, and the association
 * says which (what ping and send name when it never comes). */
static void test_unconfirmed(void)
{
	struct pipe *p = pipe_new(0, 0);
	struct chan *a, *first;
	GError *err = NULL;

	pipe_connect(p);
	g_assert_null(idl_sctp_unconfirmed_channel(p->a.s));
	first = chan_new(&p->a);
	first->ch = idl_sctp_open_channel(p->a.s, "first", "", true, &ch_cbs, first, &err);
	g_assert_no_error(err);
	a = chan_new(&p->a);
	a->ch = idl_sctp_open_channel(p->a.s, "second", "", true, &ch_cbs, a, &err);
	g_assert_no_error(err);
	/* The pipe delivers from an idle source: no ACK yet. The lowest id
	 * is named. */
	g_assert_cmpstr(idl_sctp_unconfirmed_channel(p->a.s), ==, "first");
	WAIT_FOR(first->opened && a->opened && p->b.chans->len == 2, "both channels to open");
	g_assert_null(idl_sctp_unconfirmed_channel(p->a.s));
	/* The peer's side of them never waited. */
	g_assert_null(idl_sctp_unconfirmed_channel(p->b.s));
	g_assert_cmpint(p->a.failed + p->b.failed, ==, 0);
	pipe_free(p);
}

static void test_wrong_parity(void)
{
	struct pipe *p = g_new0(struct pipe, 1);
	struct chan *a;
	GError *err = NULL;

	g_queue_init(&p->to_a);
	g_queue_init(&p->to_b);
	p->rand = g_rand_new_with_seed(1);
	p->packet_limit = IDL_SCTP_PACKET_MIN;
	end_init(p, &p->a, "A", true, 0);
	end_init(p, &p->b, "B", true, 0);
	pipe_connect(p);
	a = chan_new(&p->a);
	a->ch = idl_sctp_open_channel(p->a.s, "bad", "", true, &ch_cbs, a, &err);
	g_assert_no_error(err);
	g_assert_cmpuint(idl_channel_id(a->ch) % 2, ==, 0);
	WAIT_FOR(a->closed, "the refused channel to close");
	g_assert_cmpint(a->opened, ==, 0);
	g_assert_cmpuint(p->b.chans->len, ==, 0);
	g_assert_cmpint(p->a.failed + p->b.failed, ==, 0);
	pipe_free(p);
}

static void test_abort(void)
{
	struct pipe *p = pipe_new(0, 0);
	struct chan *a, *b;

	pipe_connect(p);
	a = open_channel(p, &p->a, "x", "", true, &b);
	(void)a;
	/* Freeing A sends an ABORT: B fails, once, and nothing else. */
	end_free(&p->a);
	WAIT_FOR(p->b.failed, "B to notice the abort");
	spin(100);
	g_assert_cmpint(p->b.failed, ==, 1);
	g_assert_cmpint(b->closed, ==, 0);
	g_test_message("B: %s", p->b.why);
	g_assert_cmpint(idl_channel_send(b->ch, false, (const uint8_t *)"x", 1), ==, -ENOTCONN);
	g_assert_null(idl_sctp_open_channel(p->b.s, "y", "", true, &ch_cbs, NULL, NULL));
	pipe_free(p);
}

/* SCTP chunk types (RFC 9260 section 3.2). */
enum { CHUNK_SACK = 3, CHUNK_ABORT = 6, CHUNK_SHUTDOWN = 7, CHUNK_SHUTDOWN_COMPLETE = 14 };

static int chunk_index(const GByteArray *chunks, uint8_t type)
{
	for (guint i = 0; i < chunks->len; i++)
		if (chunks->data[i] == type)
			return (int)i;
	return -1;
}

/* The graceful end: A shuts down as soon as B's last message (a receipt)
 * is in. B hears it as the normal end (IDL_SCTP_ERROR_SHUTDOWN, once), A
 * is told nothing and sees idl_sctp_shutdown_done; on the wire A sends a
 * SACK for that message, then SHUTDOWN, then SHUTDOWN COMPLETE, and no
 * ABORT, not even when both are freed. The SACK first: Pion's SCTP ignores
 * the cumulative ack a SHUTDOWN carries, and would never answer. */
static void test_shutdown(void)
{
	struct pipe *p = pipe_new(0, 0);
	struct chan *a, *b;
	size_t packets;
	int sack, shutdown;

	g_assert_cmpint(idl_sctp_shutdown(p->a.s), ==, -ENOTCONN);   /* not up yet */
	pipe_connect(p);
	a = open_channel(p, &p->a, "x", "", true, &b);
	g_assert_cmpint(idl_channel_send(b->ch, false, (const uint8_t *)"receipt", 7), ==, 0);
	expect_msg(a, false, "receipt", 7);
	p->a.chunks = g_byte_array_new();
	g_assert_cmpint(idl_sctp_shutdown(p->a.s), ==, 0);
	g_assert_false(idl_sctp_shutdown_done(p->a.s));
	WAIT_FOR(idl_sctp_shutdown_done(p->a.s) && p->b.shut_down, "the shutdown to complete");
	spin(100);
	g_assert_cmpint(p->a.failed + p->b.failed + p->a.shut_down, ==, 0);
	g_assert_cmpint(p->b.shut_down, ==, 1);
	g_assert_true(idl_sctp_shutdown_done(p->b.s));
	sack = chunk_index(p->a.chunks, CHUNK_SACK);
	shutdown = chunk_index(p->a.chunks, CHUNK_SHUTDOWN);
	g_assert_cmpint(sack, >=, 0);
	g_assert_cmpint(shutdown, >, sack);
	g_assert_cmpint(chunk_index(p->a.chunks, CHUNK_SHUTDOWN_COMPLETE), >, shutdown);
	g_assert_cmpint(chunk_index(p->a.chunks, CHUNK_ABORT), ==, -1);
	g_assert_cmpint(idl_channel_send(a->ch, false, (const uint8_t *)"x", 1), ==, -ENOTCONN);
	packets = p->packets;
	end_free(&p->a);
	end_free(&p->b);
	g_assert_cmpuint(p->packets, ==, packets);   /* nothing left to abort */
	pipe_free(p);
}

static void capture_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer user)
{
	(void)domain;
	(void)level;
	g_string_append_printf(user, "%s\n", msg);
}

/* What the association logs when the layer below refuses its packets: a
 * layer that has ended (-EPIPE: the peer closed DTLS, then our close sends
 * its ABORT) is a normal end, said once and not as a failure; any other
 * refusal is a real error and says so. */
static void test_send_refused(void)
{
	static const int errs[] = { -EPIPE, -EIO };

	for (size_t i = 0; i < G_N_ELEMENTS(errs); i++) {
		struct pipe *p = pipe_new(0, 0);
		GString *log = g_string_new(NULL);
		GLogFunc old;

		pipe_connect(p);
		p->a.send_err = errs[i];
		old = g_log_set_default_handler(capture_log, log);
		end_free(&p->a);   /* sends the ABORT, into the refusal */
		g_log_set_default_handler(old, NULL);
		g_test_message("send refused with %s: %s", g_strerror(-errs[i]), log->str);
		if (errs[i] == -EPIPE) {
			g_assert_nonnull(strstr(log->str, "sctp: the connection under the association has ended"));
			g_assert_null(strstr(log->str, "failed"));
			g_assert_null(strstr(log->str, "Broken pipe"));
		} else {
			g_assert_nonnull(strstr(log->str, "sctp: sending a "));
			g_assert_nonnull(strstr(log->str, "packet failed: Input/output error"));
		}
		g_string_free(log, TRUE);
		pipe_free(p);
	}
}

/* A peer that ignores our max-message-size and sends more than we ever
 * gather (16 MiB) is cut off: B aborts, both fail. */
static void test_oversized_from_peer(void)
{
	size_t n = (16u << 20) + 1;
	struct pipe *p = pipe_new(32u << 20, 0);
	struct chan *a, *b;
	uint8_t *big = g_malloc0(n);

	pipe_connect(p);
	a = open_channel(p, &p->a, "big", "", true, &b);
	g_assert_cmpint(idl_channel_send(a->ch, true, big, n), ==, 0);
	WAIT_FOR(p->a.failed && p->b.failed, "both to fail");
	g_assert_nonnull(strstr(p->b.why, "over 16777216 bytes"));
	g_assert_true(g_queue_is_empty(&b->msgs));
	g_free(big);
	pipe_free(p);
}

static void test_loss(void)
{
	struct pipe *p = pipe_new(0, 0.01);

	pipe_connect(p);
	bulk(p, (size_t)16 << 20, true, NULL);
	g_assert_cmpuint(p->dropped, >, 0);
	g_assert_cmpint(p->a.failed + p->b.failed, ==, 0);
	pipe_free(p);
}

/* A pipe whose sockets take another value of a usrsctp default (the stack
 * is up, its sysctls set, after the first pipe: sockets made from then on
 * take the new default), then the default restored. */
static struct pipe *pipe_new_default(uint32_t (*get)(void), int (*set)(uint32_t), uint32_t value)
{
	struct pipe *p = pipe_new(0, 0);
	uint32_t saved;

	pipe_free(p);
	saved = get();
	set(value);
	p = pipe_new(0, 0);
	set(saved);
	pipe_connect(p);
	return p;
}

/* 16 MiB, which took 29 s at the crawls below; even the sanitizer build
 * does far better than 4 MB/s. */
static void bulk_not_throttled(struct pipe *p)
{
	double mbps = 0;

	bulk(p, (size_t)16 << 20, true, &mbps);
	g_test_message("%zu packets with DATA, %zu SACKs, %.1f MB/s", p->a.data_packets,
		       p->b.sack_packets, mbps);
	g_assert_cmpfloat(mbps, >, 4.0);
	g_assert_cmpint(p->a.failed + p->b.failed, ==, 0);
	pipe_free(p);
}

/* A receiver that SACKs only every 16th packet (its delayed-SACK timer
 * answers otherwise, after 20 ms) must not throttle the sender. With
 * usrsctp's max burst (10 then) below that, cwnd was cut back to 10 packets
 * at every send from an empty flight, each 10 packets waited for the
 * timer, and the transfer crawled at 0.6 MB/s for good. */
static void test_sparse_sacks(void)
{
	bulk_not_throttled(pipe_new_default(usrsctp_sysctl_get_sctp_sack_freq_default,
					    usrsctp_sysctl_set_sctp_sack_freq_default, 16));
}

/* Bulk SACKs: once a bulk flow runs, the receiver SACKs far less often
 * than every second packet (a SACK each is a datagram and a syscall on both
 * ends), and the flow goes no slower. */
static void test_bulk_sacks(void)
{
	struct pipe *p = pipe_new(0, 0);
	double mbps = 0;

	pipe_connect(p);
	bulk(p, (size_t)32 << 20, true, &mbps);
	g_test_message("%zu packets with DATA, %zu SACKs, %.1f MB/s", p->a.data_packets,
		       p->b.sack_packets, mbps);
	/* ~29,000 packets: at a SACK per 2 that is 14,600; per 8 after
	 * 2,048 at 2, 4,400. A third leaves room for a fallback to 2 on a
	 * loaded machine (an ASan build whose timers run late). */
	g_assert_cmpuint(p->b.sack_packets * 3, <, p->a.data_packets);
	g_assert_cmpint(p->a.failed + p->b.failed, ==, 0);
	pipe_free(p);
}

/* A sender that sends only a few packets per SACK it gets (a browser's:
 * Chromium's dcsctp and Firefox's usrsctp have a max burst of 4) must not
 * be throttled by bulk SACKs: the receiver's delayed-SACK timer answers
 * the first short flight, and the receiver goes back to a SACK per 2. At
 * a SACK per 8 for good, each 4 packets would wait for the timer (0.2
 * MB/s, 16 MiB in 80 s). */
static void test_bulk_sacks_short_bursts(void)
{
	bulk_not_throttled(pipe_new_default(usrsctp_sysctl_get_sctp_max_burst_default,
					    usrsctp_sysctl_set_sctp_max_burst_default, 4));
}

/* Many small messages sent in one turn of the loop go out bundled, a few
 * dozen to a packet (one packet each is a DTLS record and a sendmsg per
 * message below us), and a lone message still leaves at once, without
 * waiting for the peer's SACK of what is in flight (no Nagle delay on a
 * request). */
static void test_bundling(void)
{
	struct pipe *p = pipe_new(0, 0);
	struct chan *a, *b;
	size_t packets, chunks;
	char text[64];

	pipe_connect(p);
	a = open_channel(p, &p->a, "small", "", true, &b);
	spin(50);
	packets = p->a.data_packets;
	chunks = p->a.data_chunks;
	for (int i = 0; i < 300; i++) {
		int n = g_snprintf(text, sizeof(text), "{\"type\":\"file-ok\",\"id\":%d}", i);
		g_assert_cmpint(idl_channel_send(a->ch, false, (const uint8_t *)text, (size_t)n), ==, 0);
	}
	for (int i = 0; i < 300; i++) {
		int n = g_snprintf(text, sizeof(text), "{\"type\":\"file-ok\",\"id\":%d}", i);
		expect_msg(b, false, text, (size_t)n);
	}
	g_test_message("300 messages: %zu DATA chunks in %zu packets", p->a.data_chunks - chunks,
		       p->a.data_packets - packets);
	g_assert_cmpuint(p->a.data_chunks - chunks, ==, 300);
	g_assert_cmpuint(p->a.data_packets - packets, <=, 30);

	/* A burst in flight, unacknowledged (the pipe holds everything),
	 * then one more message: it leaves without any SACK. */
	spin(50);
	p->hold = true;
	for (int i = 0; i < 20; i++)
		g_assert_cmpint(idl_channel_send(a->ch, false, (const uint8_t *)"burst", 5), ==, 0);
	for (int i = 0; i < 10; i++)
		g_main_context_iteration(NULL, FALSE);
	chunks = p->a.data_chunks;
	g_assert_cmpuint(chunks, >, 300);
	g_assert_cmpint(idl_channel_send(a->ch, false, (const uint8_t *)"request", 7), ==, 0);
	for (int i = 0; i < 10; i++)
		g_main_context_iteration(NULL, FALSE);
	g_assert_cmpuint(p->a.data_chunks, ==, chunks + 1);
	p->hold = false;
	if (p->idle == NULL) {
		p->idle = g_idle_source_new();
		g_source_set_callback(p->idle, pipe_deliver, p, NULL);
		g_source_attach(p->idle, NULL);
	}
	for (int i = 0; i < 20; i++)
		expect_msg(b, false, "burst", 5);
	expect_msg(b, false, "request", 7);
	g_assert_cmpint(p->a.failed + p->b.failed, ==, 0);
	pipe_free(p);
}

/* The packet size asked for is honoured: no packet is bigger, and bulk
 * data fills packets up to it (fewer packets per byte); out of range it is
 * clamped, at most what every peer can read. */
static void test_packet_size(void)
{
	struct pipe *p = pipe_new(1u << 20, 0);
	struct chan *a, *b;
	GError *err = NULL;
	size_t n = 256 << 10;
	uint8_t *big = g_malloc(n);

	for (size_t i = 0; i < n; i++)
		big[i] = (uint8_t)(i * 13 + (i >> 10));
	g_assert_cmpint(idl_sctp_set_packet_size(p->a.s, 9000, &err), ==, 0);
	g_assert_cmpint(idl_sctp_set_packet_size(p->b.s, 1300, &err), ==, 0);
	g_assert_no_error(err);
	p->packet_limit = IDL_SCTP_PACKET_MAX;
	/* In a DTLS record (13 bytes of header, AES-GCM's 8 of nonce and 16 of
	 * tag) it must fit Pion's 1,460-byte datagram buffer (receiveMTU). */
	g_assert_cmpuint(IDL_SCTP_PACKET_MAX + 13 + 8 + 16, <=, 1460);
	pipe_connect(p);
	p->b.echo_new = true;
	a = open_channel(p, &p->a, "mtu", "", true, &b);
	g_assert_true(b->echo);
	g_assert_cmpint(idl_channel_send(a->ch, true, big, n), ==, 0);
	expect_msg(a, true, big, n);   /* there and back */
	g_test_message("largest packet: A %zu, B %zu bytes", p->a.max_packet, p->b.max_packet);
	/* usrsctp cuts DATA chunks on 4-byte boundaries. */
	g_assert_cmpuint(p->a.max_packet, <=, IDL_SCTP_PACKET_MAX);
	g_assert_cmpuint(p->a.max_packet, >, IDL_SCTP_PACKET_MAX - 4);
	g_assert_cmpuint(p->b.max_packet, <=, 1300);
	g_assert_cmpuint(p->b.max_packet, >, 1300 - 4);
	g_assert_cmpint(p->a.failed + p->b.failed, ==, 0);
	g_free(big);
	pipe_free(p);
}

static void fill_msg(uint8_t *buf, size_t len, uint32_t seq)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seq * 131 + i * 7 + (i >> 9));
	if (len >= 4)
		memcpy(buf, &seq, 4);
}

/* A bulk message goes straight from the caller's buffer to usrsctp when
 * nothing else waits (no copy of ours): it is no longer buffered once the
 * call returns. The caller may then reuse its buffer at once, also when
 * usrsctp took only part of the message (its send buffer full, the peer
 * not answering) and the rest was queued: every message arrives whole,
 * with its own bytes and boundaries, in order, small ones among them. */
static void test_direct_send(void)
{
	static const size_t sizes[] = { 65535, 8192, 3, 20000, 8191, 65535, 1, 131072, 12345 };
	struct pipe *p = pipe_new(1u << 20, 0);
	struct chan *a, *b;
	uint8_t *buf = g_malloc(131072), *want = g_malloc(131072);
	size_t total = 0, count = 0;

	pipe_connect(p);
	a = open_channel(p, &p->a, "direct", "", true, &b);
	spin(50);
	fill_msg(buf, 16384, 0);
	g_assert_cmpint(idl_channel_send(a->ch, true, buf, 16384), ==, 0);
	g_assert_cmpuint(idl_channel_buffered_amount(a->ch), ==, 0);
	memset(buf, 0xee, 16384);
	fill_msg(want, 16384, 0);
	expect_msg(b, true, want, 16384);

	/* Nothing delivered: usrsctp's window and buffer fill up, and some
	 * message is taken in part, its rest queued. */
	p->hold = true;
	while (total < (size_t)10 << 20) {
		size_t len = sizes[count % G_N_ELEMENTS(sizes)];

		fill_msg(buf, len, (uint32_t)count + 1);
		g_assert_cmpint(idl_channel_send(a->ch, true, buf, len), ==, 0);
		memset(buf, 0xee, len);   /* reused at once */
		total += len;
		count++;
		if (count % 8 == 0)
			g_main_context_iteration(NULL, FALSE);
	}
	g_assert_cmpuint(idl_channel_buffered_amount(a->ch), >, 0);
	p->hold = false;
	if (p->idle == NULL) {
		p->idle = g_idle_source_new();
		g_source_set_callback(p->idle, pipe_deliver, p, NULL);
		g_source_attach(p->idle, NULL);
	}
	for (size_t i = 0; i < count; i++) {
		size_t len = sizes[i % G_N_ELEMENTS(sizes)];

		fill_msg(want, len, (uint32_t)i + 1);
		expect_msg(b, true, want, len);
	}
	WAIT_FOR(idl_channel_buffered_amount(a->ch) == 0, "the queue to drain");
	g_assert_cmpint(p->a.failed + p->b.failed, ==, 0);
	g_free(buf);
	g_free(want);
	pipe_free(p);
}

static void test_misuse(void)
{
	struct idl_sctp *s = NULL;
	struct idl_sctp_callbacks none = { 0 };
	GError *err = NULL;

	g_assert_cmpint(idl_sctp_new(true, 0, &none, NULL, &s, &err), ==, -EINVAL);
	g_assert_null(s);
	g_assert_error(err, IDL_SCTP_ERROR, IDL_SCTP_ERROR_ASSOC);
	g_clear_error(&err);
	idl_sctp_free(NULL);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sctp/misuse", test_misuse);
	g_test_add_func("/sctp/connect", test_connect);
	g_test_add_func("/sctp/early-packets", test_early_packets);
	g_test_add_func("/sctp/echo", test_echo);
	g_test_add_func("/sctp/max-message", test_max_message);
	g_test_add_func("/sctp/message-size", test_message_size);
	g_test_add_func("/sctp/message-size-channel", test_message_size_channel);
	g_test_add_func("/sctp/large-message", test_large_message);
	g_test_add_func("/sctp/bulk", test_bulk);
	g_test_add_func("/sctp/small-window", test_small_window);
	g_test_add_func("/sctp/unordered", test_unordered);
	g_test_add_func("/sctp/pause-reading", test_pause_reading);
	g_test_add_func("/sctp/close", test_close);
	g_test_add_func("/sctp/unconfirmed", test_unconfirmed);
	g_test_add_func("/sctp/wrong-parity", test_wrong_parity);
	g_test_add_func("/sctp/abort", test_abort);
	g_test_add_func("/sctp/shutdown", test_shutdown);
	g_test_add_func("/sctp/send-refused", test_send_refused);
	g_test_add_func("/sctp/oversized-from-peer", test_oversized_from_peer);
	g_test_add_func("/sctp/loss", test_loss);
	g_test_add_func("/sctp/sparse-sacks", test_sparse_sacks);
	g_test_add_func("/sctp/bulk-sacks", test_bulk_sacks);
	g_test_add_func("/sctp/bulk-sacks-short-bursts", test_bulk_sacks_short_bursts);
	g_test_add_func("/sctp/bundling", test_bundling);
	g_test_add_func("/sctp/packet-size", test_packet_size);
	g_test_add_func("/sctp/direct-send", test_direct_send);
	return g_test_run();
}
