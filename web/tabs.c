/* tabs: attached browser tabs, their DNS-SD records and the offer relay
 * (see tabs.h). */
#include "web/tabs.h"

#include <errno.h>
#include <string.h>
#include <gio/gio.h>
#include <gnutls/crypto.h>
#include <json-glib/json-glib.h>

#include "base/text.h"
#include "base/json_strict.h"
#include "web/ratelimit.h"
#include "base/error.h"

struct tab {
	struct idl_tabs *ts;
	char id[IDL_TXT_TAB_LEN + 1];
	char token[33];
	char name[IDL_TXT_NAME_MAX + 1];       /* as announced (after a rename) */
	char fingerprint[IDL_FINGERPRINT_HEX_LEN + 1];
	char key[IDL_RATE_KEY_LEN];             /* the client's address key */
	struct idl_http_stream *stream;
	struct idl_mdns_advert *advert;
	unsigned offers;                        /* waiting for this tab's answer */
};

/* An offer relayed to a tab, waiting for its answer. */
struct relay {
	struct idl_tabs *ts;
	char rid[IDL_TXT_TAB_LEN + 1];
	char tab[IDL_TXT_TAB_LEN + 1];
	struct idl_http_deferred *reply;
	guint timer;
};

struct idl_tabs {
	struct idl_mdns *mdns;
	const struct idl_api_device *dev;
	uint16_t port;
	GHashTable *tabs;       /* id -> struct tab *, owned */
	GHashTable *relays;     /* rid -> struct relay *, owned */
	guint keepalive;
};

static void random_hex(char *out, size_t bytes)
{
	unsigned char raw[32];

	g_assert(bytes <= sizeof(raw));
	if (gnutls_rnd(GNUTLS_RND_RANDOM, raw, bytes) < 0)
		g_error("the system random source failed");   /* identity creation needs it too */
	for (size_t i = 0; i < bytes; i++)
		g_snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

/* A fresh id (16 hex digits) that is not a key of table yet. */
static void unique_id(GHashTable *table, char out[IDL_TXT_TAB_LEN + 1])
{
	do
		random_hex(out, IDL_TXT_TAB_LEN / 2);
	while (g_hash_table_contains(table, out));
}

/* One server-sent event; the data is a JSON object on one line. */
static int send_event(struct tab *t, const char *event, JsonBuilder *b)
{
	JsonGenerator *gen = json_generator_new();
	JsonNode *root = json_builder_get_root(b);
	char *data, *msg;
	int r;

	json_generator_set_root(gen, root);
	data = json_generator_to_data(gen, NULL);
	msg = g_strdup_printf("event: %s\ndata: %s\n\n", event, data);
	r = idl_http_stream_write(t->stream, msg, strlen(msg));
	g_free(msg);
	g_free(data);
	json_node_unref(root);
	g_object_unref(gen);
	g_object_unref(b);
	return r;
}

static JsonBuilder *object_begin(void)
{
	JsonBuilder *b = json_builder_new();

	json_builder_begin_object(b);
	return b;
}

static void member(JsonBuilder *b, const char *name, const char *value)
{
	json_builder_set_member_name(b, name);
	json_builder_add_string_value(b, value);
}

static void reply_error(struct relay *r, unsigned status, const char *message)
{
	struct idl_http_response resp = { 0 };

	idl_http_error(&resp, status, message);
	idl_http_deferred_reply(r->reply, &resp);
}

/* Removes r from the table (which frees it) after its reply went out. */
static void relay_done(struct relay *r)
{
	struct tab *t = g_hash_table_lookup(r->ts->tabs, r->tab);

	if (t && t->offers)
		t->offers--;
	g_hash_table_remove(r->ts->relays, r->rid);
}

static void relay_free(gpointer data)
{
	struct relay *r = data;

	if (r->timer)
		g_source_remove(r->timer);
	g_free(r);
}

static gboolean on_relay_timeout(gpointer user)
{
	struct relay *r = user;

	r->timer = 0;
	g_message("browser tab %s did not answer an offer within %d s", r->tab, IDL_TABS_ANSWER_TIMEOUT_S);
	reply_error(r, 504, "the browser did not answer in time: is the page still open?");
	relay_done(r);
	return G_SOURCE_REMOVE;
}

/* The tab is gone: its record leaves the network (goodbye) and the offers
 * waiting for it are told so. */
static void tab_free(gpointer data)
{
	struct tab *t = data;
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, t->ts->relays);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct relay *r = v;
		if (strcmp(r->tab, t->id) != 0)
			continue;
		reply_error(r, 404, "the browser tab closed before answering");
		g_hash_table_iter_remove(&it);
	}
	idl_mdns_advert_free(t->advert);
	if (t->stream)
		idl_http_stream_close(t->stream);
	g_free(t);
}

/* A tab's name (the browser's choice) for a log line: quoted, so that it
 * cannot end early and go on with words of its own. Free with g_free. */
static char *quote(const char *name)
{
	return idl_text_quote(name, strlen(name));
}

static void on_stream_closed(struct idl_http_stream *s, void *user)
{
	struct tab *t = user;
	char *q;

	(void)s;
	t->stream = NULL;
	q = quote(t->name);
	g_message("browser tab %s (%s) left", q, t->id);
	g_free(q);
	g_hash_table_remove(t->ts->tabs, t->id);
}

static void on_established(const char *name, void *user)
{
	struct tab *t = user;
	char *q, *q2;
	JsonBuilder *b;

	q = quote(t->name);
	q2 = quote(name);
	g_message("browser tab %s (%s) announced as %s", q, t->id, q2);
	g_free(q);
	g_free(q2);
	if (strcmp(name, t->name) == 0)
		return;
	g_strlcpy(t->name, name, sizeof(t->name));
	b = object_begin();
	member(b, "name", name);
	json_builder_end_object(b);
	send_event(t, "name", b);
}

static void on_advert_failed(const GError *err, void *user)
{
	struct tab *t = user;
	char *q;

	/* The tab stays usable from this device's page; only others cannot
	 * find it. */
	q = quote(t->name);
	g_warning("cannot announce browser tab %s: %s", q, err->message);
	g_free(q);
}

static int tab_advertise(struct tab *t, GError **err)
{
	static const struct idl_mdns_advert_callbacks acb = { on_established, on_advert_failed };
	struct idl_txt txt = { .version = IDL_PROTOCOL_VERSION, .kind = 'b', .caps = IDL_CAP_WEBRTC };
	uint8_t wire[IDL_TXT_WIRE_MAX];
	int len;

	if (!t->ts->mdns)
		return 0;   /* a device without discovery: reached by address only */
	g_strlcpy(txt.fingerprint, t->fingerprint, sizeof(txt.fingerprint));
	g_strlcpy(txt.name, t->name, sizeof(txt.name));
	g_strlcpy(txt.device, t->ts->dev->name, sizeof(txt.device));
	g_strlcpy(txt.tab, t->id, sizeof(txt.tab));
	len = idl_txt_encode(&txt, wire, sizeof(wire));
	if (len < 0) {
		g_set_error_literal(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "cannot encode the tab's TXT record");
		return len;
	}
	return idl_mdns_advertise(t->ts->mdns, t->name, t->ts->port, wire, (size_t)len, &acb, t, &t->advert, err);
}

static unsigned tabs_from(struct idl_tabs *ts, const char *key)
{
	GHashTableIter it;
	gpointer v;
	unsigned n = 0;

	g_hash_table_iter_init(&it, ts->tabs);
	while (g_hash_table_iter_next(&it, NULL, &v))
		n += strcmp(((struct tab *)v)->key, key) == 0;
	return n;
}

static void get_events(const struct idl_http_request *req, struct idl_http_response *resp, void *user)
{
	struct idl_tabs *ts = user;
	const char *name = idl_http_query(req, "name"), *fp = idl_http_query(req, "fp");
	unsigned char raw[IDL_FINGERPRINT_SIZE];
	GError *err = NULL;
	JsonBuilder *b;
	struct tab *t;
	char key[IDL_RATE_KEY_LEN], *q;

	if (!name || !idl_name_valid(name, strlen(name))) {
		idl_http_error(resp, 400, "name= must be 1 to 63 bytes of UTF-8 without control or hidden "
			       "(zero-width, right-to-left) characters");
		return;
	}
	if (!fp || idl_fingerprint_parse(fp, raw) < 0) {
		idl_http_error(resp, 400, "fp= must be the SHA-256 fingerprint of the tab's certificate (64 hex digits)");
		return;
	}
	idl_rate_address_key(req->remote, key);
	if (tabs_from(ts, key) >= IDL_TABS_PER_ADDRESS) {
		idl_http_error(resp, 503, "too many browser tabs from this address are attached to this device: "
					  "close one, then reload this page");
		resp->retry_after = 10;
		return;
	}
	if (g_hash_table_size(ts->tabs) >= IDL_TABS_MAX) {
		idl_http_error(resp, 503, "too many browser tabs are attached to this device: try again later");
		resp->retry_after = 10;
		return;
	}
	t = g_new0(struct tab, 1);
	t->ts = ts;
	unique_id(ts->tabs, t->id);
	random_hex(t->token, 16);
	g_strlcpy(t->name, name, sizeof(t->name));
	g_strlcpy(t->key, key, sizeof(t->key));
	idl_fingerprint_to_hex(raw, t->fingerprint);
	t->stream = idl_http_stream_open(req, "text/event-stream", on_stream_closed, t);
	g_hash_table_insert(ts->tabs, t->id, t);
	if (tab_advertise(t, &err) < 0) {
		q = quote(t->name);
		g_warning("cannot announce browser tab %s: %s", q, err->message);
		g_free(q);
		g_clear_error(&err);
	}
	q = quote(t->name);
	g_message("browser tab %s (%s) attached from %s", q, t->id, req->remote);
	g_free(q);
	b = object_begin();
	member(b, "id", t->id);
	member(b, "token", t->token);
	member(b, "name", t->name);
	json_builder_end_object(b);
	send_event(t, "hello", b);
}

static gboolean keepalive(gpointer user)
{
	static const char ka[] = ": keep-alive\n\n";
	struct idl_tabs *ts = user;
	GHashTableIter it;
	gpointer v;

	g_hash_table_iter_init(&it, ts->tabs);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct tab *t = v;
		/* A client that has not read 256 KiB of events is not a tab. */
		if (t->stream && idl_http_stream_write(t->stream, ka, sizeof(ka) - 1) < 0)
			g_hash_table_iter_remove(&it);
	}
	return G_SOURCE_CONTINUE;
}

/* Tokens are compared in constant time: they are what keeps other clients
 * from answering in a tab's name. */
static bool same_token(const char *a, const char *b)
{
	unsigned char d = 0;

	if (strlen(a) != strlen(b))
		return false;
	for (size_t i = 0; a[i]; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

static void post_answer(const struct idl_http_request *req, struct idl_http_response *resp, void *user)
{
	struct idl_tabs *ts = user;
	struct idl_tab_answer a;
	struct idl_http_response out = { .status = 201, .content_type = "application/sdp" };
	struct tab *t;
	struct relay *r;
	GError *err = NULL;

	if (idl_tab_answer_parse((const char *)req->body, req->body_len, &a, &err) < 0) {
		idl_http_error(resp, 400, err->message);
		g_error_free(err);
		return;
	}
	t = g_hash_table_lookup(ts->tabs, a.id);
	r = g_hash_table_lookup(ts->relays, a.rid);
	if (!t) {
		idl_http_error(resp, 404, "no such tab: it is no longer attached");
	} else if (!same_token(a.token, t->token)) {
		idl_http_error(resp, 403, "wrong token for this tab");
	} else if (!r || strcmp(r->tab, a.id) != 0) {
		idl_http_error(resp, 404, "no such offer: it was answered already or timed out");
	} else {
		if (a.sdp) {
			out.body = a.sdp;
			out.body_len = strlen(a.sdp);
			a.sdp = NULL;
			idl_http_deferred_reply(r->reply, &out);
		} else {
			char *msg = g_strdup_printf("the browser refused: %s", a.error);
			reply_error(r, 502, msg);
			g_free(msg);
		}
		relay_done(r);
		resp->status = 204;
	}
	idl_tab_answer_clear(&a);
}

void idl_tabs_relay_offer(struct idl_tabs *ts, const char *to, const struct idl_http_request *req,
			  struct idl_http_response *resp)
{
	struct tab *t = g_hash_table_lookup(ts->tabs, to);
	struct relay *r;
	JsonBuilder *b;
	char *q;

	if (!g_utf8_validate((const char *)req->body, (gssize)req->body_len, NULL) ||
	    !g_str_has_prefix((const char *)req->body, "v=0")) {
		idl_http_error(resp, 400, "the offer is not an SDP description");
		return;
	}
	if (!t) {
		idl_http_error(resp, 404, "no browser tab with this id is attached to this device (it may have closed)");
		return;
	}
	if (t->offers >= IDL_TABS_OFFERS_PER_TAB) {
		idl_http_error(resp, 503, "this browser tab has too many offers waiting: try again later");
		resp->retry_after = 5;
		return;
	}
	r = g_new0(struct relay, 1);
	r->ts = ts;
	unique_id(ts->relays, r->rid);
	g_strlcpy(r->tab, t->id, sizeof(r->tab));
	b = object_begin();
	member(b, "rid", r->rid);
	member(b, "sdp", (const char *)req->body);
	json_builder_end_object(b);
	if (send_event(t, "offer", b) < 0) {
		g_free(r);
		idl_http_error(resp, 502, "cannot reach the browser tab: it does not read its events");
		return;
	}
	r->reply = idl_http_defer(req);
	r->timer = g_timeout_add_seconds(IDL_TABS_ANSWER_TIMEOUT_S, on_relay_timeout, r);
	t->offers++;
	g_hash_table_insert(ts->relays, r->rid, r);
	q = quote(t->name);
	g_message("relaying an offer from %s to browser tab %s (%s)", req->remote, q, t->id);
	g_free(q);
}

struct idl_tabs *idl_tabs_new(struct idl_http *h, struct idl_mdns *m, const struct idl_api_device *dev,
			      uint16_t port)
{
	struct idl_tabs *ts = g_new0(struct idl_tabs, 1);

	ts->mdns = m;
	ts->dev = dev;
	ts->port = port;
	ts->tabs = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, tab_free);
	ts->relays = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, relay_free);
	ts->keepalive = g_timeout_add_seconds(IDL_TABS_KEEPALIVE_S, keepalive, ts);
	idl_http_route(h, "GET", "/api/events", get_events, ts);
	idl_http_route(h, "POST", "/api/answer", post_answer, ts);
	return ts;
}

void idl_tabs_free(struct idl_tabs *ts)
{
	if (!ts)
		return;
	g_source_remove(ts->keepalive);
	/* Tabs first: each one answers the offers waiting for it. */
	g_hash_table_destroy(ts->tabs);
	g_hash_table_destroy(ts->relays);
	g_free(ts);
}

unsigned idl_tabs_count(const struct idl_tabs *ts)
{
	return g_hash_table_size(ts->tabs);
}

/* --- POST /api/answer body ------------------------------------------------ */

static bool take_hex(JsonObject *o, const char *name, char *out, size_t digits)
{
	JsonNode *n = json_object_get_member(o, name);
	const char *s;

	if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
		return false;
	s = json_node_get_string(n);
	if (strlen(s) != digits)
		return false;
	for (size_t i = 0; i < digits; i++)
		if (!g_ascii_isdigit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	memcpy(out, s, digits + 1);
	return true;
}

static const char *string_member(JsonObject *o, const char *name, bool *wrong_type)
{
	JsonNode *n = json_object_get_member(o, name);

	if (!n)
		return NULL;
	if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING) {
		*wrong_type = true;
		return NULL;
	}
	return json_node_get_string(n);
}

int idl_tab_answer_parse(const char *body, size_t len, struct idl_tab_answer *out, GError **err)
{
	JsonNode *root;
	JsonObject *o;
	const char *sdp, *error;
	bool wrong = false;
	int r = -EINVAL;

	memset(out, 0, sizeof(*out));
	root = idl_json_parse_strict(body, len, err);
	if (!root)
		return -EINVAL;
	if (!JSON_NODE_HOLDS_OBJECT(root)) {
		r = idl_error_errno(err, -EINVAL, "the answer must be a JSON object");
		goto fail;
	}
	o = json_node_get_object(root);
	if (!take_hex(o, "id", out->id, IDL_TXT_TAB_LEN) || !take_hex(o, "token", out->token, 32) ||
	    !take_hex(o, "rid", out->rid, IDL_TXT_TAB_LEN)) {
		r = idl_error_errno(err, -EINVAL, "the answer needs id (16 hex digits), token (32) and rid (16) as strings");
		goto fail;
	}
	sdp = string_member(o, "sdp", &wrong);
	error = string_member(o, "error", &wrong);
	if (wrong || (!sdp == !error)) {
		r = idl_error_errno(err, -EINVAL, "the answer needs exactly one of sdp or error, as a string");
		goto fail;
	}
	if (sdp && (sdp[0] == 0 || strlen(sdp) > IDL_HTTP_MAX_BODY || !g_str_has_prefix(sdp, "v=0"))) {
		r = idl_error_errno(err, -EINVAL, "the answer's sdp is not an SDP description");
		goto fail;
	}
	if (sdp) {
		out->sdp = g_strdup(sdp);
	} else {
		/* The reason reaches a terminal: no control characters, bounded. */
		char *e = g_utf8_make_valid(error, -1);
		for (char *p = e; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = ' ';
		if (strlen(e) > 200)
			e[g_utf8_find_prev_char(e, e + 201) - e] = 0;
		out->error = e[0] ? e : g_strdup("no reason given");
		if (!e[0])
			g_free(e);
	}
	json_node_unref(root);
	return 0;
fail:
	json_node_unref(root);
	return r;
}

void idl_tab_answer_clear(struct idl_tab_answer *a)
{
	g_free(a->sdp);
	g_free(a->error);
	a->sdp = a->error = NULL;
}
