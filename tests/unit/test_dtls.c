/* test_dtls: two DTLS sessions, client and server, each with its own device
 * identity, wired through an in-memory pipe that delivers every datagram
 * later from an idle source (never re-entering the sender). Checks the
 * handshake, data both ways, the fingerprint check in both roles, recovery
 * from loss, hostile input, and the close and failure contracts. */

#include "transport/dtls.h"
#include "trust/identity.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <glib/gstdio.h>

#define LOOP_TIMEOUT_MS 5000
#define NO_DROP (-1)

struct fixture;

struct end {
	const char *name;
	struct fixture *f;
	struct end *peer;
	struct idl_dtls *d;
	GQueue inbox;           /* GBytes on their way to this end */
	guint deliver_id;
	GPtrArray *wire;        /* copies of what this end sent */
	GPtrArray *received;    /* GBytes delivered by cb->recv */
	GError *failed;
	bool connected;
	enum { KEEP, FREE_ON_CONNECTED, FREE_ON_FAILED } free_from_idle;   /* from an idle source */
	gint64 connected_at;
};

struct fixture {
	char *dir[2];
	struct idl_identity *id[2];
	unsigned char fp[2][IDL_FINGERPRINT_SIZE];
	struct end client, server;
	GMainLoop *loop;
	bool (*done)(struct fixture *f);
	bool timed_out;
	bool in_new;            /* a callback seen now would run inside idl_dtls_new */
	int drop;               /* index of the datagram the pipe loses, or NO_DROP */
	unsigned seen;          /* datagrams the pipe has carried or lost */
	gint64 started_at;
};

/* --- the pipe --- */

static gboolean deliver(gpointer data)
{
	struct end *e = data;
	GBytes *b = g_queue_pop_head(&e->inbox);
	size_t len;
	const uint8_t *buf;

	if (b != NULL) {
		buf = g_bytes_get_data(b, &len);
		if (e->d != NULL)
			idl_dtls_feed(e->d, buf, len);
		g_bytes_unref(b);
	}
	if (!g_queue_is_empty(&e->inbox))
		return G_SOURCE_CONTINUE;
	e->deliver_id = 0;
	return G_SOURCE_REMOVE;
}

static void post(struct end *to, const uint8_t *buf, size_t len)
{
	g_queue_push_tail(&to->inbox, g_bytes_new(buf, len));
	if (to->deliver_id == 0)
		to->deliver_id = g_idle_add(deliver, to);
}

static void check_done(struct fixture *f)
{
	if (f->done != NULL && f->done(f))
		g_main_loop_quit(f->loop);
}

static int cb_send(const uint8_t *buf, size_t len, void *user)
{
	struct end *e = user;
	struct fixture *f = e->f;

	g_assert_false(f->in_new);
	/* One record per datagram: a DTLS header (13 bytes) whose length
	 * field covers exactly the rest. */
	g_assert_cmpuint(len, >=, 13);
	g_assert_cmpuint(13 + ((size_t)buf[11] << 8 | buf[12]), ==, len);
	g_ptr_array_add(e->wire, g_bytes_new(buf, len));
	if ((int)f->seen++ == f->drop)
		return 0;
	post(e->peer, buf, len);
	return 0;
}

static gboolean free_idle(gpointer data)
{
	struct end *e = data;

	idl_dtls_free(e->d);
	e->d = NULL;
	check_done(e->f);
	return G_SOURCE_REMOVE;
}

static void cb_connected(void *user)
{
	struct end *e = user;

	g_assert_false(e->f->in_new);
	g_assert_false(e->connected);
	g_assert_null(e->failed);
	e->connected = true;
	e->connected_at = g_get_monotonic_time();
	if (e->free_from_idle == FREE_ON_CONNECTED)
		g_idle_add(free_idle, e);
	check_done(e->f);
}

static void cb_recv(const uint8_t *buf, size_t len, void *user)
{
	struct end *e = user;

	g_assert_false(e->f->in_new);
	g_assert_true(e->connected);
	g_assert_null(e->failed);
	g_ptr_array_add(e->received, g_bytes_new(buf, len));
	check_done(e->f);
}

static void cb_failed(const GError *err, void *user)
{
	struct end *e = user;

	g_assert_false(e->f->in_new);
	g_assert_null(e->failed);   /* at most once */
	g_test_message("%s failed: %s", e->name, err->message);
	e->failed = g_error_copy(err);
	if (e->free_from_idle == FREE_ON_FAILED)
		g_idle_add(free_idle, e);
	check_done(e->f);
}

static const struct idl_dtls_callbacks callbacks = {
	.send = cb_send, .connected = cb_connected, .recv = cb_recv, .failed = cb_failed,
};

/* --- fixture --- */

static void remove_dir(char *dir)
{
	char *p;

	p = g_build_filename(dir, "key.pem", NULL);
	g_unlink(p);
	g_free(p);
	p = g_build_filename(dir, "cert.pem", NULL);
	g_unlink(p);
	g_free(p);
	g_rmdir(dir);
	g_free(dir);
}

static void init_end(struct fixture *f, struct end *e, const char *name, struct end *peer)
{
	e->name = name;
	e->f = f;
	e->peer = peer;
	g_queue_init(&e->inbox);
	e->wire = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	e->received = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
}

static void setup(struct fixture *f, gconstpointer data)
{
	GError *err = NULL;
	int i;

	(void)data;
	for (i = 0; i < 2; i++) {
		f->dir[i] = g_dir_make_tmp("idl-dtls-XXXXXX", &err);
		g_assert_no_error(err);
		g_assert_cmpint(idl_identity_load_or_create(f->dir[i], &f->id[i], &err), ==, 0);
		g_assert_no_error(err);
		g_assert_cmpint(idl_fingerprint_parse(idl_identity_fingerprint(f->id[i]), f->fp[i]), ==, 0);
	}
	init_end(f, &f->client, "client", &f->server);
	init_end(f, &f->server, "server", &f->client);
	f->loop = g_main_loop_new(NULL, FALSE);
	f->drop = NO_DROP;
}

static void clear_end(struct end *e)
{
	idl_dtls_free(e->d);
	e->d = NULL;
}

static void teardown(struct fixture *f, gconstpointer data)
{
	struct end *ends[2] = { &f->client, &f->server };
	int i;

	(void)data;
	clear_end(&f->client);   /* may post a close_notify into the server's inbox */
	clear_end(&f->server);
	for (i = 0; i < 2; i++) {
		if (ends[i]->deliver_id != 0)
			g_source_remove(ends[i]->deliver_id);
		g_queue_clear_full(&ends[i]->inbox, (GDestroyNotify)g_bytes_unref);
		g_ptr_array_unref(ends[i]->wire);
		g_ptr_array_unref(ends[i]->received);
		g_clear_error(&ends[i]->failed);
	}
	/* Nothing of ours may be left on the loop. */
	while (g_main_context_iteration(NULL, FALSE))
		;
	g_main_loop_unref(f->loop);
	for (i = 0; i < 2; i++) {
		idl_identity_free(f->id[i]);
		remove_dir(f->dir[i]);
	}
}

/* Identity 0 is the client's, 1 the server's. Each expects the other's
 * fingerprint unless told otherwise. */
static void make_pair(struct fixture *f, const unsigned char *client_expects, const unsigned char *server_expects)
{
	GError *err = NULL;

	int r;

	f->in_new = true;
	r = idl_dtls_new(IDL_DTLS_CLIENT, idl_identity_crt(f->id[0]), idl_identity_key(f->id[0]),
			 client_expects ? client_expects : f->fp[1], &callbacks, &f->client, &f->client.d, &err);
	g_assert_no_error(err);
	g_assert_cmpint(r, ==, 0);
	r = idl_dtls_new(IDL_DTLS_SERVER, idl_identity_crt(f->id[1]), idl_identity_key(f->id[1]),
			 server_expects ? server_expects : f->fp[0], &callbacks, &f->server, &f->server.d, &err);
	g_assert_no_error(err);
	g_assert_cmpint(r, ==, 0);
	f->in_new = false;
}

static gboolean on_timeout(gpointer data)
{
	struct fixture *f = data;

	f->timed_out = true;
	g_main_loop_quit(f->loop);
	return G_SOURCE_REMOVE;
}

static void run(struct fixture *f, bool (*done)(struct fixture *f))
{
	guint t;

	f->done = done;
	if (done(f))
		return;
	t = g_timeout_add(LOOP_TIMEOUT_MS, on_timeout, f);
	g_main_loop_run(f->loop);
	if (!f->timed_out)
		g_source_remove(t);
	f->done = NULL;
	if (f->timed_out)
		g_test_fail_printf("the main loop ran for %d ms without finishing", LOOP_TIMEOUT_MS);
	g_assert_false(f->timed_out);
}

static bool both_connected(struct fixture *f)
{
	return f->client.connected && f->server.connected;
}

static bool both_failed(struct fixture *f)
{
	return f->client.failed != NULL && f->server.failed != NULL;
}

static bool server_failed(struct fixture *f)
{
	return f->server.failed != NULL;
}

static bool both_freed(struct fixture *f)
{
	return f->client.d == NULL && f->server.d == NULL;
}

static void start_both(struct fixture *f)
{
	f->started_at = g_get_monotonic_time();
	idl_dtls_start(f->server.d);
	idl_dtls_start(f->client.d);
}

static double handshake_ms(struct fixture *f)
{
	return (double)(MAX(f->client.connected_at, f->server.connected_at) - f->started_at) / 1000.0;
}

static void connect_pair(struct fixture *f)
{
	make_pair(f, NULL, NULL);
	start_both(f);
	run(f, both_connected);
	g_assert_null(f->client.failed);
	g_assert_null(f->server.failed);
}

static GBytes *pattern(size_t len, unsigned seed)
{
	uint8_t *p = g_malloc(len);
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 8));
	return g_bytes_new_take(p, len);
}

static void send_bytes(struct end *e, GBytes *b)
{
	size_t len;
	const uint8_t *buf = g_bytes_get_data(b, &len);

	g_assert_cmpint(idl_dtls_send(e->d, buf, len), ==, 0);
}

static unsigned want_client, want_server;

static bool received_enough(struct fixture *f)
{
	return f->client.received->len >= want_client && f->server.received->len >= want_server;
}

static void assert_received(struct end *e, guint index, GBytes *want)
{
	g_assert_cmpuint(index, <, e->received->len);
	g_assert_true(g_bytes_equal(g_ptr_array_index(e->received, index), want));
}

static void short_of(const unsigned char raw[IDL_FINGERPRINT_SIZE], char out[IDL_FINGERPRINT_SHORT_LEN + 1])
{
	char hex[IDL_FINGERPRINT_HEX_LEN + 1];

	idl_fingerprint_to_hex(raw, hex);
	idl_fingerprint_short(hex, out);
}

/* --- tests --- */

/* Finds extension type in the ServerHello that opens the server's first
 * datagram; returns its body or NULL. Every length is checked. */
static const uint8_t *server_hello_ext(GBytes *dgram, unsigned type, size_t *ext_len,
				       unsigned *suite, unsigned *compression)
{
	size_t len, off, end;
	const uint8_t *p = g_bytes_get_data(dgram, &len);

	g_assert_cmpuint(len, >, 13 + 12 + 2 + 32 + 1);
	g_assert_cmpuint(p[0], ==, 22);                        /* handshake */
	g_assert_cmpuint(p[13], ==, 2);                        /* ServerHello */
	off = 13 + 12;
	g_assert_cmpuint(p[off], ==, 0xfe);                    /* DTLS 1.2 */
	g_assert_cmpuint(p[off + 1], ==, 0xfd);
	off += 2 + 32;
	off += 1 + p[off];                                     /* session id */
	g_assert_cmpuint(off + 5, <=, len);
	*suite = (unsigned)p[off] << 8 | p[off + 1];
	*compression = p[off + 2];
	end = off + 5 + ((size_t)p[off + 3] << 8 | p[off + 4]);
	g_assert_cmpuint(end, <=, len);
	for (off += 5; off + 4 <= end;) {
		unsigned t = (unsigned)p[off] << 8 | p[off + 1];
		size_t n = (size_t)p[off + 2] << 8 | p[off + 3];

		g_assert_cmpuint(off + 4 + n, <=, end);
		if (t == type) {
			*ext_len = n;
			return p + off + 4;
		}
		off += 4 + n;
	}
	return NULL;
}

static void test_handshake(struct fixture *f, gconstpointer data)
{
	const char *c;
	const uint8_t *srtp;
	size_t srtp_len = 0;
	unsigned suite = 0, compression = 1;

	(void)data;
	make_pair(f, NULL, NULL);
	g_assert_null(idl_dtls_cipher(f->client.d));
	start_both(f);
	run(f, both_connected);
	g_assert_null(f->client.failed);
	g_assert_null(f->server.failed);
	c = idl_dtls_cipher(f->client.d);
	g_assert_nonnull(c);
	g_assert_cmpstr(c, ==, idl_dtls_cipher(f->server.d));
	g_assert_nonnull(strstr(c, "ECDHE_ECDSA"));
	g_assert_nonnull(strstr(c, "AES_128_GCM"));
	/* On the wire: TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, no compression,
	 * and use_srtp (14) with SRTP_AES128_CM_HMAC_SHA1_80, which aiortc needs. */
	srtp = server_hello_ext(g_ptr_array_index(f->server.wire, 0), 14, &srtp_len, &suite, &compression);
	g_assert_cmphex(suite, ==, 0xc02b);
	g_assert_cmpuint(compression, ==, 0);
	g_assert_nonnull(srtp);
	g_assert_cmpuint(srtp_len, >=, 4);
	g_assert_cmpuint(srtp[0] << 8 | srtp[1], ==, 2);
	g_assert_cmphex(srtp[2] << 8 | srtp[3], ==, 0x0001);
	g_test_message("cipher %s; handshake %.1f ms in %u datagrams", c, handshake_ms(f), f->seen);
	/* No datagram was lost, so nothing needed a retransmission. */
	g_assert_cmpfloat(handshake_ms(f), <, 900.0);
}

static void test_data(struct fixture *f, gconstpointer data)
{
	static const size_t sizes[] = { 1, 2, 13, 100, 500, 1000, 1199, 1200, 4096, 16000 };
	GPtrArray *sent = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	guint i, n = G_N_ELEMENTS(sizes);
	uint8_t big[20000] = { 0 };

	(void)data;
	connect_pair(f);
	for (i = 0; i < n + 100; i++) {
		GBytes *b = pattern(i < n ? sizes[i] : 1 + (i * 37) % 1200, i);

		send_bytes(&f->client, b);
		send_bytes(&f->server, b);
		g_ptr_array_add(sent, b);
	}
	/* Past one DTLS record: refused, not split, and the session lives on. */
	g_assert_cmpint(idl_dtls_send(f->client.d, big, sizeof big), ==, -EMSGSIZE);
	g_assert_cmpint(idl_dtls_send(f->client.d, big, 0), ==, -EINVAL);
	want_client = want_server = n + 100;
	run(f, received_enough);
	g_assert_cmpuint(f->client.received->len, ==, n + 100);
	g_assert_cmpuint(f->server.received->len, ==, n + 100);
	for (i = 0; i < n + 100; i++) {
		assert_received(&f->client, i, g_ptr_array_index(sent, i));
		assert_received(&f->server, i, g_ptr_array_index(sent, i));
	}
	g_assert_null(f->client.failed);
	g_assert_null(f->server.failed);
	g_ptr_array_unref(sent);
}

static void wrong_fingerprint(struct fixture *f, bool client_is_fooled)
{
	unsigned char wrong[IDL_FINGERPRINT_SIZE];
	char seen[IDL_FINGERPRINT_SHORT_LEN + 1], announced[IDL_FINGERPRINT_SHORT_LEN + 1];
	struct end *checker = client_is_fooled ? &f->client : &f->server;
	struct end *other = checker->peer;
	const unsigned char *real = client_is_fooled ? f->fp[1] : f->fp[0];

	memcpy(wrong, real, sizeof wrong);
	wrong[0] ^= 0x80;   /* the first byte, so the short forms differ */
	make_pair(f, client_is_fooled ? wrong : NULL, client_is_fooled ? NULL : wrong);
	start_both(f);
	/* The checker's alert makes the other side fail too, at once. */
	run(f, both_failed);

	g_assert_error(checker->failed, IDL_DTLS_ERROR, IDL_DTLS_ERROR_FINGERPRINT);
	short_of(real, seen);
	short_of(wrong, announced);
	g_assert_nonnull(strstr(checker->failed->message, seen));
	g_assert_nonnull(strstr(checker->failed->message, announced));
	g_assert_nonnull(strstr(checker->failed->message, "not the device it claims to be"));
	g_assert_error(other->failed, IDL_DTLS_ERROR, IDL_DTLS_ERROR_HANDSHAKE);
	g_assert_false(f->client.connected);
	g_assert_false(f->server.connected);
	/* After failed: no-ops that report an error, and no callback. */
	g_assert_cmpint(idl_dtls_send(checker->d, (const uint8_t *)"x", 1), ==, -EPIPE);
	idl_dtls_feed(checker->d, g_bytes_get_data(g_ptr_array_index(other->wire, 0), NULL),
		      g_bytes_get_size(g_ptr_array_index(other->wire, 0)));
	g_assert_cmpuint(f->client.received->len, ==, 0);
	g_assert_cmpuint(f->server.received->len, ==, 0);
}

static void test_wrong_fp_client(struct fixture *f, gconstpointer data)
{
	(void)data;
	wrong_fingerprint(f, true);
}

/* Passes only if the server asks for the client's certificate and checks it. */
static void test_wrong_fp_server(struct fixture *f, gconstpointer data)
{
	(void)data;
	wrong_fingerprint(f, false);
}

/* Which datagram of the handshake the pipe loses. */
static const struct drop {
	const char *name;
	int index;           /* negative: counted from the end, -1 the last */
} drops[] = {
	{ "client-hello", 0 },        /* the client retransmits */
	{ "server-hello", 1 },        /* the server retransmits its flight */
	{ "server-certificate", 2 },
	/* The server's Finished: the server must resend its final flight when
	 * the client, hearing nothing, retransmits its own. */
	{ "server-finished", -1 },
};

static void test_retransmit(struct fixture *f, gconstpointer data)
{
	int drop = ((const struct drop *)data)->index;
	struct fixture probe = { 0 };
	unsigned normal;

	/* How many datagrams a handshake takes when none is lost. */
	setup(&probe, NULL);
	connect_pair(&probe);
	normal = probe.seen;
	teardown(&probe, NULL);

	f->drop = drop >= 0 ? drop : (int)normal + drop;
	make_pair(f, NULL, NULL);
	start_both(f);
	run(f, both_connected);
	g_assert_null(f->client.failed);
	g_assert_null(f->server.failed);
	g_assert_cmpuint(f->seen, >, normal);
	g_test_message("dropped datagram %d of %u: handshake %.1f ms, %u datagrams",
		       f->drop, normal, handshake_ms(f), f->seen);
	/* Retransmission starts after RFC 6347's one second. */
	g_assert_cmpfloat(handshake_ms(f), >=, 900.0);
}

/* The first timeout comes from the path's round trip, bounded. */
static void test_retransmit_timeout(void)
{
	static const struct { unsigned rtt, want; } cases[] = {
		{ 0, IDL_DTLS_RETRANSMIT_MIN_MS }, { 1, 50 }, { 17, 50 }, { 50, 50 }, { 73, 73 },
		{ 100, 100 }, { 101, 100 }, { 1000, 100 }, { G_MAXUINT, IDL_DTLS_RETRANSMIT_MAX_MS },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
		g_assert_cmpuint(idl_dtls_retransmit_timeout(cases[i].rtt), ==, cases[i].want);
}

/* A lost first ClientHello (the peer's DTLS not yet listening) costs the
 * timeout the peer layer hands down from a LAN round trip, not a second:
 * and a later loss in the same handshake still recovers, the timer doubling. */
static void test_retransmit_fast(struct fixture *f, gconstpointer data)
{
	unsigned t = idl_dtls_retransmit_timeout(1);

	(void)data;
	f->drop = 0;
	make_pair(f, NULL, NULL);
	idl_dtls_set_retransmit_timeout(f->client.d, t);
	idl_dtls_set_retransmit_timeout(f->server.d, t);
	start_both(f);
	run(f, both_connected);
	g_assert_null(f->client.failed);
	g_assert_null(f->server.failed);
	g_test_message("lost ClientHello, first timeout %u ms: handshake %.1f ms, %u datagrams", t,
		       handshake_ms(f), f->seen);
	g_assert_cmpfloat(handshake_ms(f), >=, t * 0.9);
	g_assert_cmpfloat(handshake_ms(f), <, 500.0);
}

/* Feeds every mangled form of a datagram the receiver could meet: random
 * bytes, non-DTLS bytes, truncations, one flipped bit, a replay. */
static void feed_garbage(struct end *to, GBytes *real)
{
	size_t len, i, cut;
	const uint8_t *buf = g_bytes_get_data(real, &len);
	uint8_t *copy = g_memdup2(buf, len);
	uint8_t junk[300];
	static const uint8_t empty_record[13] = { 23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 0 };
	/* A forged plaintext fatal alert (epoch 0) after the handshake. */
	static const uint8_t forged_alert[15] = { 21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 99, 0, 2, 2, 40 };

	for (i = 0; i < 50; i++) {
		size_t n = (size_t)g_test_rand_int_range(1, sizeof junk);
		size_t j;

		for (j = 0; j < n; j++)
			junk[j] = (uint8_t)g_test_rand_int();
		if (i % 2 == 0)
			junk[0] = (uint8_t)g_test_rand_int_range(20, 64);
		if (i % 5 == 0 && n >= 3) {   /* a plausible header, garbage after */
			junk[1] = 0xfe;
			junk[2] = 0xfd;
		}
		if (i % 3 == 0 && n >= 13) {  /* framed right, so GnuTLS sees it */
			junk[11] = (uint8_t)((n - 13) >> 8);
			junk[12] = (uint8_t)(n - 13);
		}
		idl_dtls_feed(to->d, junk, n);
	}
	for (cut = 1; cut < len; cut += 1 + cut / 2)
		idl_dtls_feed(to->d, buf, cut);
	for (i = 0; i < len; i += 1 + len / 16) {
		copy[i] ^= 0x10;
		idl_dtls_feed(to->d, copy, len);
		copy[i] ^= 0x10;
	}
	idl_dtls_feed(to->d, empty_record, sizeof empty_record);
	idl_dtls_feed(to->d, forged_alert, sizeof forged_alert);
	idl_dtls_feed(to->d, buf, 0);
	idl_dtls_feed(to->d, NULL, 10);
	idl_dtls_feed(to->d, buf, len);   /* a replay */
	g_free(copy);
}

static void test_garbage(struct fixture *f, gconstpointer data)
{
	GBytes *msg = pattern(700, 1), *last;
	uint8_t junk[64];
	guint i;

	(void)data;
	make_pair(f, NULL, NULL);
	/* Before the handshake: random bytes only (a forged plaintext alert
	 * could end any DTLS 1.2 handshake, by design of the protocol). */
	for (i = 0; i < 40; i++) {
		size_t j;

		for (j = 0; j < sizeof junk; j++)
			junk[j] = (uint8_t)g_test_rand_int();
		junk[0] = (uint8_t)(20 + i % 44);
		if (i % 2 == 0) {
			junk[11] = 0;
			junk[12] = sizeof junk - 13;
		}
		idl_dtls_feed(f->server.d, junk, sizeof junk);
	}
	start_both(f);
	run(f, both_connected);

	send_bytes(&f->client, msg);
	want_client = 0;
	want_server = 1;
	run(f, received_enough);
	last = g_ptr_array_index(f->client.wire, f->client.wire->len - 1);
	feed_garbage(&f->server, last);
	feed_garbage(&f->client, last);

	/* Nothing fake was delivered, nothing failed, and data still flows. */
	g_assert_cmpuint(f->server.received->len, ==, 1);
	g_assert_cmpuint(f->client.received->len, ==, 0);
	send_bytes(&f->client, msg);
	send_bytes(&f->server, msg);
	want_client = 1;
	want_server = 2;
	run(f, received_enough);
	g_assert_cmpuint(f->server.received->len, ==, 2);
	g_assert_cmpuint(f->client.received->len, ==, 1);
	assert_received(&f->server, 1, msg);
	assert_received(&f->client, 0, msg);
	g_assert_null(f->client.failed);
	g_assert_null(f->server.failed);
	g_bytes_unref(msg);
}

static void test_not_connected(struct fixture *f, gconstpointer data)
{
	const uint8_t byte = 1;

	(void)data;
	make_pair(f, NULL, NULL);
	g_assert_cmpint(idl_dtls_send(f->client.d, &byte, 1), ==, -ENOTCONN);
	g_assert_cmpint(idl_dtls_send(f->server.d, &byte, 1), ==, -ENOTCONN);
	idl_dtls_start(f->client.d);
	g_assert_cmpuint(f->client.wire->len, ==, 1);   /* the ClientHello, sent now */
	idl_dtls_start(f->client.d);                     /* twice is harmless */
	g_assert_cmpuint(f->client.wire->len, ==, 1);
	g_assert_cmpint(idl_dtls_send(f->client.d, &byte, 1), ==, -ENOTCONN);
	g_assert_null(idl_dtls_cipher(f->client.d));
	/* The ClientHello reaches the server before it starts: kept until then. */
	while (f->server.deliver_id != 0)
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpuint(f->server.wire->len, ==, 0);
	g_assert_cmpint(idl_dtls_send(f->server.d, &byte, 1), ==, -ENOTCONN);
	idl_dtls_start(f->server.d);
	run(f, both_connected);
	g_assert_cmpint(idl_dtls_send(f->client.d, &byte, 1), ==, 0);
	g_assert_cmpint(idl_dtls_send(NULL, &byte, 1), ==, -EINVAL);
	idl_dtls_free(NULL);
}

static void test_peer_close(struct fixture *f, gconstpointer data)
{
	const uint8_t byte = 1;

	(void)data;
	connect_pair(f);
	clear_end(&f->client);   /* sends close_notify */
	run(f, server_failed);
	g_assert_error(f->server.failed, IDL_DTLS_ERROR, IDL_DTLS_ERROR_CLOSED);
	g_assert_cmpint(idl_dtls_send(f->server.d, &byte, 1), ==, -EPIPE);
	g_assert_cmpuint(f->server.received->len, ==, 0);
}

/* The owner may free from an idle source right after connected or failed:
 * the server goes once connected; its close_notify fails the client, which
 * goes in turn. */
static void test_free_from_idle(struct fixture *f, gconstpointer data)
{
	(void)data;
	f->server.free_from_idle = FREE_ON_CONNECTED;
	f->client.free_from_idle = FREE_ON_FAILED;
	make_pair(f, NULL, NULL);
	start_both(f);
	run(f, both_freed);
	g_assert_true(f->client.connected);
	g_assert_error(f->client.failed, IDL_DTLS_ERROR, IDL_DTLS_ERROR_CLOSED);
}

int main(int argc, char **argv)
{
	guint i;

	g_test_init(&argc, &argv, NULL);
	g_test_add("/dtls/handshake", struct fixture, NULL, setup, test_handshake, teardown);
	g_test_add("/dtls/data", struct fixture, NULL, setup, test_data, teardown);
	g_test_add("/dtls/wrong-fingerprint/client", struct fixture, NULL, setup, test_wrong_fp_client, teardown);
	g_test_add("/dtls/wrong-fingerprint/server", struct fixture, NULL, setup, test_wrong_fp_server, teardown);
	for (i = 0; i < G_N_ELEMENTS(drops); i++) {
		char *path = g_strdup_printf("/dtls/retransmit/lost-%s", drops[i].name);

		g_test_add(path, struct fixture, &drops[i], setup, test_retransmit, teardown);
		g_free(path);
	}
	g_test_add_func("/dtls/retransmit-timeout", test_retransmit_timeout);
	g_test_add("/dtls/retransmit/lost-clienthello-fast", struct fixture, NULL, setup, test_retransmit_fast,
		   teardown);
	g_test_add("/dtls/garbage", struct fixture, NULL, setup, test_garbage, teardown);
	g_test_add("/dtls/not-connected", struct fixture, NULL, setup, test_not_connected, teardown);
	g_test_add("/dtls/peer-close", struct fixture, NULL, setup, test_peer_close, teardown);
	g_test_add("/dtls/free-from-idle", struct fixture, NULL, setup, test_free_from_idle, teardown);
	return g_test_run();
}
