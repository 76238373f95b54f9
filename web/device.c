/* device: the pieces of a device wired together (see device.h). The order
 * of idl_device_free matters: the advert and the tabs' records leave the
 * network first, the server next (no request can arrive any more), then
 * the peers it created. */
#include "web/device.h"

#include <errno.h>
#include <string.h>
#include <gio/gio.h>

#include "base/fingerprint.h"
#include "base/name.h"
#include "base/text.h"
#include "discovery/txt.h"
#include "sctp/sctp.h"
#include "trust/identity.h"
#include "web/api.h"
#include "web/devices.h"
#include "web/http.h"
#include "web/page.h"
#include "web/signal.h"
#include "web/tabs.h"

struct idl_device {
	struct idl_device_callbacks cb;
	void *user;
	struct idl_api_device dev;  /* what /api/info says; name follows renames */
	char *name;                 /* as asked for */
	struct idl_http *http;
	struct idl_signal *signal;
	struct idl_mdns *mdns;      /* NULL without discovery */
	struct idl_mdns_advert *advert;
	struct idl_devices *devices;
	struct idl_tabs *tabs;
	GHashTable *diags;          /* struct idl_channel * -> struct diag: echo and sink */
};

/* ---- diagnostic channels: "echo" sends every message back, "sink" counts
 * binary bytes and answers the text message "done" with the count (what
 * `idrop-lan ping` uses to time round trips and throughput). ---- */

struct diag {
	struct idl_peer *peer;
	guint64 count;              /* sink: binary bytes since the last "done" */
};

/* A message on a diagnostic channel keeps its connection open a while
 * longer (web/signal.h); the diag, NULL for a channel we dropped. */
static struct diag *diag_seen(struct idl_device *d, struct idl_channel *ch)
{
	struct diag *k = g_hash_table_lookup(d->diags, ch);

	if (k)
		idl_signal_peer_seen(d->signal, k->peer, false);
	return k;
}

static void echo_message(struct idl_channel *ch, bool binary, const uint8_t *data, size_t len, void *user)
{
	struct idl_device *d = user;

	if (!diag_seen(d, ch))
		return;
	/* Replies wait in the channel's queue while the peer does not read
	 * them: that queue is bounded here, by closing the channel of a peer
	 * that sends on and never drains (ping waits for each reply, so it
	 * never has more than one message waiting). */
	if (idl_channel_buffered_amount(ch) + len > IDL_DEVICE_ECHO_BUFFER_MAX) {
		g_message("closing an \"echo\" channel: its peer does not read the replies "
			  "(%zu bytes waiting)", idl_channel_buffered_amount(ch));
		g_hash_table_remove(d->diags, ch);
		idl_channel_close(ch);
		return;
	}
	if (idl_channel_send(ch, binary, data, len) < 0)
		g_debug("echo: cannot send back %zu bytes", len);
}

static void sink_message(struct idl_channel *ch, bool binary, const uint8_t *data, size_t len, void *user)
{
	struct idl_device *d = user;
	struct diag *k = diag_seen(d, ch);
	char reply[32];

	if (!k)
		return;
	if (binary) {
		k->count += len;
		return;
	}
	if (len == 4 && memcmp(data, "done", 4) == 0) {
		g_snprintf(reply, sizeof(reply), "%" G_GUINT64_FORMAT, k->count);
		idl_channel_send(ch, false, (const uint8_t *)reply, strlen(reply));
		k->count = 0;
	}
}

static gboolean diag_of_peer(gpointer key, gpointer value, gpointer peer)
{
	(void)key;
	return ((struct diag *)value)->peer == peer;
}

static void diag_closed(struct idl_channel *ch, void *user)
{
	struct idl_device *d = user;

	g_hash_table_remove(d->diags, ch);
}

/* ---- the peers signal.c answers ---- */

static void on_channel(struct idl_peer *p, struct idl_channel *ch, void *user)
{
	static const struct idl_channel_callbacks echo = { NULL, echo_message, NULL, diag_closed };
	static const struct idl_channel_callbacks sink = { NULL, sink_message, NULL, diag_closed };
	struct idl_device *d = user;
	const char *label = idl_channel_label(ch);

	if (!strcmp(label, "idrop") && d->cb.transfer_channel) {
		d->cb.transfer_channel(p, ch, d->user);
	} else if (!strcmp(label, "echo") || !strcmp(label, "sink")) {
		struct diag *k = g_new0(struct diag, 1);
		k->peer = p;
		g_hash_table_insert(d->diags, ch, k);
		idl_channel_set_callbacks(ch, label[0] == 'e' ? &echo : &sink, d);
	} else {
		/* The label is the peer's: quoted, and the log handler escapes the rest. */
		char *q = idl_text_quote(label, strlen(label));
		g_message("closing a channel with unknown label %s", q);
		g_free(q);
		idl_channel_close(ch);
	}
}

static void on_peer_closed(struct idl_peer *p, void *user)
{
	struct idl_device *d = user;

	g_hash_table_foreach_remove(d->diags, diag_of_peer, p);
	if (d->cb.peer_closed)
		d->cb.peer_closed(p, d->user);
}

void idl_device_peer_hello(struct idl_device *d, struct idl_peer *p)
{
	idl_signal_peer_seen(d->signal, p, true);
}

/* ---- the advert ---- */

static void on_established(const char *name, void *user)
{
	struct idl_device *d = user;

	g_strlcpy(d->dev.name, name, sizeof(d->dev.name));
	if (d->cb.advertised)
		d->cb.advertised(name, d->user);
}

static void on_advert_failed(const GError *err, void *user)
{
	struct idl_device *d = user;

	if (d->cb.advert_failed)
		d->cb.advert_failed(err, d->user);
}

/* For the Host check: the name the page is reached by. */
static const char *local_name(void *user)
{
	return idl_mdns_host_name(user);
}

int idl_device_new(const struct idl_device_options *o, const struct idl_device_callbacks *cb, void *user,
		   struct idl_device **out, GError **err)
{
	static const struct idl_signal_callbacks scb = { on_channel, on_peer_closed };
	struct idl_http_options hopt = { .interface = o->interface, .port = o->port, .port_fallback = o->port_fallback };
	struct idl_mdns_options mopt = { .backend = o->backend, .interface = o->interface, .publish = true };
	struct idl_device *d = g_new0(struct idl_device, 1);
	int r;

	d->cb = *cb;
	d->user = user;
	if (!idl_name_valid(o->name, strlen(o->name))) {
		g_set_error_literal(err, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
				    "the device's name breaks the name rules (base/name.h)");
		r = -EINVAL;
		goto fail;
	}
	d->name = g_strdup(o->name);
	g_strlcpy(d->dev.name, o->name, sizeof(d->dev.name));
	g_strlcpy(d->dev.fingerprint, idl_identity_fingerprint(o->id), sizeof(d->dev.fingerprint));
	d->dev.caps = IDL_CAP_INFO | IDL_CAP_WEBRTC;
	d->diags = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	if ((r = idl_http_new(&hopt, &d->http, err)) < 0)
		goto fail;
	idl_api_register(d->http, &d->dev);
	idl_page_register(d->http);
	idl_signal_new(d->http, o->id, o->interface, &scb, d, &d->signal);
	if (!o->no_discovery) {
		if ((r = idl_mdns_new(&mopt, &d->mdns, err)) < 0)
			goto fail;
		idl_http_set_local_name(d->http, local_name, d->mdns);
		d->devices = idl_devices_new(d->http, d->mdns, d->dev.fingerprint);
	}
	d->tabs = idl_tabs_new(d->http, d->mdns, &d->dev, idl_http_port(d->http));
	idl_signal_set_tabs(d->signal, d->tabs);
	*out = d;
	return 0;
fail:
	idl_device_free(d);
	return r;
}

int idl_device_start(struct idl_device *d, GError **err)
{
	static const struct idl_mdns_advert_callbacks acb = { on_established, on_advert_failed };
	struct idl_txt txt = { .version = IDL_PROTOCOL_VERSION, .kind = 'd', .caps = d->dev.caps };
	uint8_t wire[IDL_TXT_WIRE_MAX];
	int len;

	if (!d->mdns || d->advert)
		return 0;
	g_strlcpy(txt.fingerprint, d->dev.fingerprint, sizeof(txt.fingerprint));
	g_strlcpy(txt.name, d->name, sizeof(txt.name));
	len = idl_txt_encode(&txt, wire, sizeof(wire));
	g_assert(len > 0);   /* the name was checked by idl_device_new, the rest is ours */
	return idl_mdns_advertise(d->mdns, d->name, idl_http_port(d->http), wire, (size_t)len, &acb, d, &d->advert,
				  err);
}

void idl_device_free(struct idl_device *d)
{
	if (!d)
		return;
	idl_mdns_advert_free(d->advert);
	idl_tabs_free(d->tabs);
	idl_devices_free(d->devices);
	idl_mdns_free(d->mdns);
	idl_http_free(d->http);
	idl_signal_free(d->signal);
	if (d->diags)
		g_hash_table_destroy(d->diags);
	g_free(d->name);
	g_free(d);
}

uint16_t idl_device_port(const struct idl_device *d)
{
	return idl_http_port(d->http);
}

const char *idl_device_name(const struct idl_device *d)
{
	return d->dev.name;
}

const char *idl_device_fingerprint(const struct idl_device *d)
{
	return d->dev.fingerprint;
}

const char *idl_device_discovery_name(const struct idl_device *d)
{
	return d->mdns ? idl_mdns_backend_name(d->mdns) : "none";
}

const char *idl_device_host_name(const struct idl_device *d)
{
	return d->mdns ? idl_mdns_host_name(d->mdns) : NULL;
}
