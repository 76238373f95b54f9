/* signal: POST /api/offer -> 201 answer (see signal.h). */
#include "web/signal.h"

#include "web/ratelimit.h"

#include <string.h>
#include <gio/gio.h>

struct idl_signal {
	const struct idl_identity *id;
	char *interface;
	GList *peers;          /* struct idl_peer *, owned */
	GHashTable *half_open; /* struct idl_peer * -> client address (owned): not up yet */
	GList *dead;           /* failed peers waiting to be freed */
	guint reaper;
	struct idl_signal_callbacks cb;
	void *user;
	struct idl_rate *rate;  /* offers per client address */
	idl_signal_relay_fn relay;
	void *relay_user;
};

static gboolean reap(gpointer user)
{
	struct idl_signal *s = user;

	s->reaper = 0;
	g_list_free_full(s->dead, (GDestroyNotify)idl_peer_free);
	s->dead = NULL;
	return G_SOURCE_REMOVE;
}

static unsigned half_open_from(struct idl_signal *s, const char *address)
{
	GHashTableIter it;
	gpointer v;
	unsigned n = 0;

	g_hash_table_iter_init(&it, s->half_open);
	while (g_hash_table_iter_next(&it, NULL, &v))
		n += strcmp(v, address) == 0;
	return n;
}

static void on_connected(struct idl_peer *p, void *user)
{
	struct idl_signal *s = user;
	char *d = idl_peer_describe(p);

	g_hash_table_remove(s->half_open, p);
	g_message("peer connected: %s", d);
	g_free(d);
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

	g_message("peer closed (%s): %s", idl_peer_phase_name(phase), err->message);
	g_hash_table_remove(s->half_open, p);
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
	GError *err = NULL;
	char *answer, *msg;
	const char *to;

	if (!is_sdp(req->content_type)) {
		idl_http_error(resp, 415, "send the offer with Content-Type: application/sdp");
		return;
	}
	if (!idl_rate_take(s->rate, req->remote, g_get_monotonic_time(), &resp->retry_after)) {
		idl_http_error(resp, 429, "too many offers from this address: try again in a few seconds");
		return;
	}
	to = idl_http_query(req, "to");
	if (to) {
		if (s->relay)
			s->relay(to, req, resp, s->relay_user);
		else
			idl_http_error(resp, 404, "this device relays to no browser tabs");
		return;
	}
	if (half_open_from(s, req->remote) >= IDL_SIGNAL_HALF_OPEN_PER_ADDRESS) {
		idl_http_error(resp, 429, "too many connections from this address are still being set up: try again in a few seconds");
		resp->retry_after = 5;
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
	g_hash_table_insert(s->half_open, p, g_strdup(req->remote));
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
	s->half_open = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	s->rate = idl_rate_new(IDL_SIGNAL_OFFER_BURST, G_USEC_PER_SEC / IDL_SIGNAL_OFFERS_PER_S);
	idl_http_route(h, "POST", "/api/offer", post_offer, s);
	idl_http_allow_cors(h, "/api/offer");
	*out = s;
	return 0;
}

void idl_signal_set_relay(struct idl_signal *s, idl_signal_relay_fn fn, void *user)
{
	s->relay = fn;
	s->relay_user = user;
}

void idl_signal_free(struct idl_signal *s)
{
	if (!s)
		return;
	if (s->reaper)
		g_source_remove(s->reaper);
	g_hash_table_destroy(s->half_open);
	g_list_free_full(s->peers, (GDestroyNotify)idl_peer_free);
	g_list_free_full(s->dead, (GDestroyNotify)idl_peer_free);
	g_free(s->interface);
	idl_rate_free(s->rate);
	g_free(s);
}
