/* signal: POST /api/offer -> 201 answer (see signal.h). */
#include "web/signal.h"

#include "web/ratelimit.h"
#include "web/tabs.h"

#include <string.h>
#include <gio/gio.h>

/* What is known of one peer connection: who made it, whether it is up,
 * and whether it has shown it is a real client (idl_signal_peer_seen). */
struct slot {
	struct idl_signal *s;
	struct idl_peer *p;
	char key[IDL_RATE_KEY_LEN]; /* the client's address key (ratelimit.h) */
	char remote[64];            /* the client's address, for the log */
	bool up;
	bool hello;
	guint idle;                 /* closes it unless it says hello in time */
};

struct idl_signal {
	const struct idl_identity *id;
	char *interface;
	GList *peers;          /* struct idl_peer *, owned */
	GHashTable *slots;     /* struct idl_peer * -> struct slot * (owned) */
	GList *dead;           /* failed peers waiting to be freed */
	guint reaper;
	struct idl_signal_callbacks cb;
	void *user;
	struct idl_rate *rate;  /* offers per client address */
	struct idl_tabs *tabs;  /* where ?to= offers go, or NULL */
};

static gboolean reap(gpointer user)
{
	struct idl_signal *s = user;

	s->reaper = 0;
	g_list_free_full(s->dead, (GDestroyNotify)idl_peer_free);
	s->dead = NULL;
	return G_SOURCE_REMOVE;
}

static void slot_free(gpointer data)
{
	struct slot *sl = data;

	if (sl->idle)
		g_source_remove(sl->idle);
	g_free(sl);
}

/* Connections from the host with this key: all of them, and those not up. */
static void count_from(struct idl_signal *s, const char *key, unsigned *all, unsigned *half_open)
{
	GHashTableIter it;
	gpointer v;

	*all = *half_open = 0;
	g_hash_table_iter_init(&it, s->slots);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		struct slot *sl = v;
		if (strcmp(sl->key, key) != 0)
			continue;
		(*all)++;
		*half_open += !sl->up;
	}
}

/* Forgets p and frees it (from a source of our own, never from one of p's
 * callbacks, so freeing at once is allowed, and no late callback of p can
 * reach state its owner dropped). */
static void close_now(struct idl_signal *s, struct idl_peer *p)
{
	g_hash_table_remove(s->slots, p);
	if (s->cb.closed)
		s->cb.closed(p, s->user);
	s->peers = g_list_remove(s->peers, p);
	idl_peer_free(p);
}

static gboolean on_idle_timeout(gpointer user)
{
	struct slot *sl = user;

	sl->idle = 0;
	g_message("closing the connection from %s: it said no hello within %d s", sl->remote,
		  IDL_SIGNAL_HELLO_TIMEOUT_S);
	close_now(sl->s, sl->p);
	return G_SOURCE_REMOVE;
}

static void arm_idle(struct slot *sl)
{
	if (sl->idle)
		g_source_remove(sl->idle);
	sl->idle = g_timeout_add_seconds(IDL_SIGNAL_HELLO_TIMEOUT_S, on_idle_timeout, sl);
}

static void on_connected(struct idl_peer *p, void *user)
{
	struct idl_signal *s = user;
	struct slot *sl = g_hash_table_lookup(s->slots, p);
	char *d = idl_peer_describe(p);

	if (sl) {
		sl->up = true;
		if (!sl->hello)
			arm_idle(sl);
	}
	g_message("peer connected: %s", d);
	g_free(d);
}

void idl_signal_peer_seen(struct idl_signal *s, struct idl_peer *p, bool hello)
{
	struct slot *sl = g_hash_table_lookup(s->slots, p);

	if (!sl || sl->hello)
		return;
	if (hello) {
		sl->hello = true;
		if (sl->idle)
			g_source_remove(sl->idle);
		sl->idle = 0;
	} else if (sl->up) {
		arm_idle(sl);
	}
}

static void on_channel(struct idl_peer *p, struct idl_channel *ch, void *user)
{
	struct idl_signal *s = user;

	if (s->cb.channel)
		s->cb.channel(p, ch, s->user);
}

static void on_failed(struct idl_peer *p, enum idl_peer_phase phase, const GError *err, void *user)
{
	struct idl_signal *s = user;
	struct slot *sl = g_hash_table_lookup(s->slots, p);

	if (!sl)
		return;   /* closed by us already */

	/* A normal end is one calm line; anything else says what broke. */
	if (phase == IDL_PEER_PHASE_CHANNEL && idl_peer_error_is_normal_end(err))
		g_message("peer closed normally: %s ended the connection", sl->remote);
	else
		g_message("peer closed (%s): %s", idl_peer_phase_name(phase), err->message);
	g_hash_table_remove(s->slots, p);
	/* Never free a peer inside its own callback: move it aside and free it
	 * from the loop. */
	if (s->cb.closed)
		s->cb.closed(p, s->user);
	s->peers = g_list_remove(s->peers, p);
	s->dead = g_list_prepend(s->dead, p);
	if (!s->reaper)
		s->reaper = g_idle_add(reap, s);
}

static gboolean is_sdp(const char *content_type)
{
	size_t n = strlen("application/sdp");

	return content_type && g_ascii_strncasecmp(content_type, "application/sdp", n) == 0 &&
	       (content_type[n] == 0 || content_type[n] == ';' || content_type[n] == ' ');
}

static void post_offer(const struct idl_http_request *req, struct idl_http_response *resp, void *user)
{
	static const struct idl_peer_callbacks pcb = { on_connected, on_channel, on_failed };
	struct idl_signal *s = user;
	struct idl_peer *p = NULL;
	struct slot *sl;
	GError *err = NULL;
	char *answer, *msg, key[IDL_RATE_KEY_LEN];
	const char *to;
	unsigned from_all, from_half_open;

	if (!is_sdp(req->content_type)) {
		idl_http_error(resp, 415, "send the offer with Content-Type: application/sdp");
		return;
	}
	idl_rate_address_key(req->remote, key);
	if (!idl_rate_take(s->rate, key, g_get_monotonic_time(), &resp->retry_after)) {
		idl_http_error(resp, 429, "too many offers from this address: try again in a few seconds");
		return;
	}
	to = idl_http_query(req, "to");
	if (to) {
		if (s->tabs)
			idl_tabs_relay_offer(s->tabs, to, req, resp);
		else
			idl_http_error(resp, 404, "this device relays to no browser tabs");
		return;
	}
	count_from(s, key, &from_all, &from_half_open);
	if (from_half_open >= IDL_SIGNAL_HALF_OPEN_PER_ADDRESS) {
		idl_http_error(resp, 429, "too many connections from this address are still being set up: try again in a few seconds");
		resp->retry_after = 5;
		return;
	}
	if (from_all >= IDL_SIGNAL_PEERS_PER_ADDRESS) {
		idl_http_error(resp, 503, "too many connections from this address: close one, or try again later");
		resp->retry_after = 10;
		return;
	}
	if (g_list_length(s->peers) >= IDL_SIGNAL_MAX_PEERS) {
		idl_http_error(resp, 503, "too many connections to this device: try again later");
		resp->retry_after = 5;
		return;
	}
	idl_peer_new(s->id, s->interface, 0, &pcb, s, &p, NULL);
	answer = idl_peer_answer(p, (const char *)req->body, req->body_len, &err);
	if (!answer) {
		msg = g_strdup_printf("cannot answer this offer: %s", err->message);
		idl_http_error(resp, g_error_matches(err, G_IO_ERROR, G_IO_ERROR_INVALID_DATA) ||
					     g_error_matches(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT)
				     ? 400 : 500,
			       msg);
		g_free(msg);
		g_error_free(err);
		idl_peer_free(p);
		return;
	}
	s->peers = g_list_prepend(s->peers, p);
	sl = g_new0(struct slot, 1);
	sl->s = s;
	sl->p = p;
	g_strlcpy(sl->key, key, sizeof(sl->key));
	g_strlcpy(sl->remote, req->remote, sizeof(sl->remote));
	g_hash_table_insert(s->slots, p, sl);
	resp->status = 201;
	resp->content_type = "application/sdp";
	resp->body = answer;
	resp->body_len = strlen(answer);
}

int idl_signal_new(struct idl_http *h, const struct idl_identity *id, const char *interface,
		   const struct idl_signal_callbacks *cb, void *user, struct idl_signal **out)
{
	struct idl_signal *s = g_new0(struct idl_signal, 1);

	s->id = id;
	s->interface = g_strdup(interface);
	s->cb = *cb;
	s->user = user;
	s->slots = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, slot_free);
	s->rate = idl_rate_new(IDL_SIGNAL_OFFER_BURST, G_USEC_PER_SEC / IDL_SIGNAL_OFFERS_PER_S);
	idl_http_route(h, "POST", "/api/offer", post_offer, s);
	idl_http_allow_cors(h, "/api/offer");
	*out = s;
	return 0;
}

void idl_signal_set_tabs(struct idl_signal *s, struct idl_tabs *t)
{
	s->tabs = t;
}

void idl_signal_free(struct idl_signal *s)
{
	if (!s)
		return;
	if (s->reaper)
		g_source_remove(s->reaper);
	g_hash_table_destroy(s->slots);
	g_list_free_full(s->peers, (GDestroyNotify)idl_peer_free);
	g_list_free_full(s->dead, (GDestroyNotify)idl_peer_free);
	g_free(s->interface);
	idl_rate_free(s->rate);
	g_free(s);
}
