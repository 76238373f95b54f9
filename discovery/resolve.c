/* resolve: find a peer by what the user typed (see resolve.h). */
#include "discovery/resolve.h"

#include <errno.h>
#include <string.h>
#include <gio/gio.h>

#include "base/text.h"

#define SETTLE_MS 300

struct idl_resolve {
	struct idl_target target;
	struct idl_mdns_browser *browser;
	guint timer;
	guint settle;
	guint idle;
	unsigned timeout_ms;
	bool done;
	GError *error;
	struct idl_resolved res;
	idl_resolve_cb cb;
	void *user;
};

/* The user callback may free r, browser included, so it never runs inside
 * a browser callback: it is delivered from an idle source, and nothing of r
 * is touched after it. */
static gboolean deliver(gpointer user)
{
	struct idl_resolve *r = user;

	r->idle = 0;
	r->cb(r->error ? NULL : &r->res, r->error, r->user);
	return G_SOURCE_REMOVE;
}

static void finish(struct idl_resolve *r, const GError *err)
{
	if (r->done)
		return;
	r->done = true;
	if (r->timer)
		g_source_remove(r->timer);
	if (r->settle)
		g_source_remove(r->settle);
	r->timer = r->settle = 0;
	r->error = err ? g_error_copy(err) : NULL;
	r->idle = g_idle_add(deliver, r);
}

static gboolean on_settled(gpointer user)
{
	struct idl_resolve *r = user;

	r->settle = 0;
	finish(r, NULL);
	return G_SOURCE_REMOVE;
}

/* A name matches the instance name only, the one `list` shows: after a
 * conflict two devices may carry the same TXT n= ("Beta" and "Beta #2") and
 * must not be confused. DNS names compare without regard to ASCII case. */
static bool matches(const struct idl_target *t, const struct idl_mdns_service *svc)
{
	if (t->kind == IDL_TARGET_HOST)
		return svc->host && g_ascii_strcasecmp(svc->host, t->text) == 0;
	return g_ascii_strcasecmp(svc->name, t->text) == 0;
}

static void on_appeared(const struct idl_mdns_service *svc, void *user)
{
	struct idl_resolve *r = user;
	struct idl_txt txt;
	GError *err = NULL;

	if (r->done || !svc->addresses[0])
		return;
	if (idl_txt_decode(svc->txt, svc->txt_len, &txt, &err) < 0) {
		char *q = idl_text_quote(svc->name, strlen(svc->name));

		g_debug("resolve: ignoring %s: %s", q, err->message);
		g_free(q);
		g_error_free(err);
		return;
	}
	/* A browser tab shares its device's host name: only its instance name
	 * reaches it. */
	if ((txt.kind == 'b' && r->target.kind != IDL_TARGET_NAME) || !matches(&r->target, svc))
		return;
	r->res.kind = txt.kind;
	g_strlcpy(r->res.tab, txt.tab, sizeof(r->res.tab));
	g_strlcpy(r->res.device, txt.device, sizeof(r->res.device));
	g_strlcpy(r->res.name, svc->name, sizeof(r->res.name));
	g_strlcpy(r->res.host, svc->host, sizeof(r->res.host));
	g_strlcpy(r->res.address, svc->addresses[0], sizeof(r->res.address));
	g_strlcpy(r->res.fingerprint, txt.fingerprint, sizeof(r->res.fingerprint));
	r->res.port = svc->port;
	/* Addresses come sorted IPv4 first. A device is often reported first
	 * with only its IPv6 link-local address, the IPv4 one following within
	 * milliseconds: give it a moment, since link-local needs a zone and
	 * browsers' ICE prefers IPv4 on a LAN. */
	if (!strchr(r->res.address, ':'))
		finish(r, NULL);
	else if (!r->settle)
		r->settle = g_timeout_add(SETTLE_MS, on_settled, r);
}

static void on_failed(const GError *err, void *user)
{
	finish(user, err);
}

static gboolean on_timeout(gpointer user)
{
	struct idl_resolve *r = user;
	GError *err;

	r->timer = 0;
	err = g_error_new(G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			  "no idrop-lan device or browser %s \"%s\" answered within %.1f s: check that it runs "
			  "`idrop-lan serve` (or has the page open) on this network (`idrop-lan list` shows what is seen)",
			  r->target.kind == IDL_TARGET_HOST ? "on host" : "named", r->target.text,
			  r->timeout_ms / 1000.0);
	finish(r, err);
	g_error_free(err);
	return G_SOURCE_REMOVE;
}

int idl_resolve_start(struct idl_mdns *m, const struct idl_target *target, uint16_t default_port,
		      unsigned timeout_ms, idl_resolve_cb cb, void *user,
		      struct idl_resolve **out, GError **err)
{
	static const struct idl_mdns_browse_callbacks bcb = { on_appeared, NULL, on_failed };
	struct idl_resolve *r = g_new0(struct idl_resolve, 1);
	GError *oerr = NULL;
	int ret;

	r->cb = cb;
	r->user = user;
	r->timeout_ms = timeout_ms;
	r->target = *target;
	if (r->target.kind == IDL_TARGET_ADDRESS) {
		/* A literal address needs no discovery; its fingerprint is learned
		 * and shown on connect. Answer from the loop like the other cases. */
		g_strlcpy(r->res.address, r->target.text, sizeof(r->res.address));
		r->res.kind = 'd';
		r->res.port = r->target.port ? r->target.port : default_port;
		finish(r, NULL);
	} else {
		if (!m) {
			g_set_error(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "\"%s\" is a name: finding it needs discovery", target->text);
			ret = -EINVAL;
			goto fail;
		}
		if ((ret = idl_mdns_browse(m, IDL_SERVICE_TYPE, &bcb, r, &r->browser, err)) < 0)
			goto fail;
		/* Devices answer a one-shot query at once (mdns.h); the browse
		 * alone still finds them when none can be sent. */
		if (idl_mdns_browser_oneshot(r->browser, &oerr) < 0) {
			g_debug("%s", oerr->message);
			g_clear_error(&oerr);
		}
		r->timer = g_timeout_add(timeout_ms, on_timeout, r);
	}
	*out = r;
	return 0;
fail:
	idl_resolve_free(r);
	return ret;
}

void idl_resolve_free(struct idl_resolve *r)
{
	if (!r)
		return;
	if (r->timer)
		g_source_remove(r->timer);
	if (r->settle)
		g_source_remove(r->settle);
	if (r->idle)
		g_source_remove(r->idle);
	idl_mdns_browser_free(r->browser);
	if (r->error)
		g_error_free(r->error);
	g_free(r);
}
