/* connect: resolve -> offer over HTTP -> answer checked against the
 * advertised fingerprint -> connected. See connect.h. */
#include "web/connect.h"

#include <string.h>
#include <gio/gio.h>

#include "web/client.h"
#include "web/http.h"

struct idl_connect {
	const struct idl_connect_callbacks *cb;
	void *user;
	struct idl_connect_options o;
	struct idl_mdns *mdns;
	struct idl_resolve *resolve;
	struct idl_resolved target;
	struct idl_peer *peer;
	gint64 t_post, t_answer;
	bool over;
	struct post_token *posting;  /* the HTTP request in flight, or NULL */
};

/* What the HTTP request holds instead of the connection, which may be freed
 * before the answer comes (then c is NULL and the answer is dropped). */
struct post_token {
	struct idl_connect *c;
};

static void fail(struct idl_connect *c, enum idl_connect_failure kind, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void fail(struct idl_connect *c, enum idl_connect_failure kind, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (c->over)
		return;
	c->over = true;
	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	c->cb->failed(kind, msg, c->user);
	g_free(msg);
}

static void peer_connected(struct idl_peer *p, void *user)
{
	struct idl_connect *c = user;

	if (!c->over)
		c->cb->connected(p, c->user);
}

static void peer_failed(struct idl_peer *p, enum idl_peer_phase phase, const GError *err, void *user)
{
	(void)p;
	fail(user, phase == IDL_PEER_PHASE_FINGERPRINT ? IDL_CONNECT_FINGERPRINT : IDL_CONNECT_LOST,
	     "%s failed: %s", idl_peer_phase_name(phase), err->message);
}

static void on_answer(unsigned status, const char *body, size_t len, const GError *err, void *user)
{
	struct post_token *t = user;
	struct idl_connect *c = t->c;
	GError *e = NULL;

	g_free(t);
	if (!c)
		return;
	c->posting = NULL;
	c->t_answer = g_get_monotonic_time();
	if (err) {
		fail(c, IDL_CONNECT_REFUSED, "signalling failed: %s", err->message);
		return;
	}
	if (status != 201) {
		fail(c, IDL_CONNECT_REFUSED, "signalling failed: %s answered HTTP %u: %.*s",
		     c->target.kind == 'b' ? "the browser's device" : "the device", status, (int)MIN(len, 300), body);
		return;
	}
	if (idl_peer_accept_answer(c->peer, body, len, c->target.fingerprint, &e) < 0) {
		if (e->code == G_IO_ERROR_PERMISSION_DENIED)
			fail(c, IDL_CONNECT_FINGERPRINT, "fingerprint check failed: %s", e->message);
		else if (e->code == G_IO_ERROR_NOT_SUPPORTED && c->o.dtls_client)
			fail(c, IDL_CONNECT_REFUSED, "signalling failed: %s; run again without --dtls-client "
			     "(the device then takes the client role)", e->message);
		else
			fail(c, IDL_CONNECT_REFUSED, "signalling failed: %s", e->message);
		g_error_free(e);
	}
}

/* The device's offer endpoint; for a browser tab, its relay there. */
static char *offer_url(const struct idl_resolved *res)
{
	GString *u = g_string_new("http://");

	if (strchr(res->address, ':'))
		g_string_append_printf(u, "[%s]", res->address);
	else
		g_string_append(u, res->address);
	g_string_append_printf(u, ":%u/api/offer", res->port);
	if (res->kind == 'b')
		g_string_append_printf(u, "?to=%s", res->tab);
	return g_string_free(u, FALSE);
}

static void on_resolved(const struct idl_resolved *res, const GError *err, void *user)
{
	static const struct idl_peer_callbacks pcb = { peer_connected, NULL, peer_failed };
	struct idl_connect *c = user;
	char *offer, *url;
	GError *e = NULL;

	if (err) {
		fail(c, IDL_CONNECT_NOT_FOUND, "discovery failed: %s", err->message);
		return;
	}
	c->target = *res;
	if (c->cb->resolved)
		c->cb->resolved(res, c->user);
	if (c->o.vet && !c->o.vet(res, c->user)) {
		c->over = true;
		return;
	}
	idl_peer_new(c->o.id, c->o.interface, c->o.timeout_ms, &pcb, c, &c->peer, NULL);
	offer = idl_peer_create_offer(c->peer, c->o.dtls_client, &e);
	if (!offer) {
		fail(c, IDL_CONNECT_LOST, "ICE failed: %s", e->message);
		g_error_free(e);
		return;
	}
	url = offer_url(res);
	c->t_post = g_get_monotonic_time();
	c->posting = g_new0(struct post_token, 1);
	c->posting->c = c;
	/* A browser tab answers through its device, after gathering its own
	 * candidates: give it the relay's whole time. */
	idl_http_post(url, "application/sdp", offer, res->kind == 'b' ? 25000 : 10000, on_answer, c->posting);
	g_free(url);
	g_free(offer);
}

int idl_connect_start(const struct idl_connect_options *o, const struct idl_connect_callbacks *cb,
		      void *user, struct idl_connect **out, char **message)
{
	struct idl_mdns_options mopt = { .backend = o->backend, .interface = o->interface };
	struct idl_connect *c = g_new0(struct idl_connect, 1);
	GError *err = NULL;

	c->cb = cb;
	c->user = user;
	c->o = *o;
	if ((o->target.kind != IDL_TARGET_ADDRESS && idl_mdns_new(&mopt, &c->mdns, &err) < 0) ||
	    idl_resolve_start(c->mdns, &o->target, IDL_HTTP_DEFAULT_PORT, MIN(o->timeout_ms, 5000u),
			      on_resolved, c, &c->resolve, &err) < 0) {
		*message = g_strdup(err->message);
		g_error_free(err);
		idl_connect_free(c);
		return -1;
	}
	*out = c;
	return 0;
}

struct idl_peer *idl_connect_peer(const struct idl_connect *c)
{
	return c->peer;
}


const struct idl_resolved *idl_connect_target(const struct idl_connect *c)
{
	return &c->target;
}

char *idl_connect_why_stalled(const struct idl_connect *c, unsigned waited_ms)
{
	const char *label = c->peer ? idl_peer_unconfirmed_channel(c->peer) : NULL;

	if (!label)
		return NULL;
	/* The label is ours (echo, sink, idrop): nothing to escape. */
	return g_strdup_printf("the device accepted the connection but never confirmed the data channel "
			       "\"%s\" (no DCEP acknowledgement in %.0f s): its WebRTC stack did not "
			       "answer ours; run again with --verbose to see what it sent",
			       label, waited_ms / 1000.0);
}

void idl_connect_signalling_times(const struct idl_connect *c, gint64 *post, gint64 *answer)
{
	*post = c->t_post;
	*answer = c->t_answer;
}

void idl_connect_free(struct idl_connect *c)
{
	if (!c)
		return;
	if (c->posting)
		c->posting->c = NULL;
	idl_peer_free(c->peer);
	idl_resolve_free(c->resolve);
	idl_mdns_free(c->mdns);
	g_free(c);
}
