/* http: libmicrohttpd in its external-epoll mode on the GLib main loop (see
 * http.h). MHD's epoll fd is watched with g_unix_fd_add and its timeout
 * re-armed after every run, so no thread of its own exists. */
#include "web/http.h"
#include "web/origin.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <microhttpd.h>

#include "base/text.h"

struct route {
	char *method;
	char *path;
	idl_http_handler fn;
	void *user;
};

struct idl_http {
	struct MHD_Daemon *daemon;
	int listen_fd;
	uint16_t port;
	guint io_source;
	guint timer_source;
	guint kick_source;      /* MHD_run soon: a connection was resumed */
	GArray *routes;         /* struct route */
	GPtrArray *cors;        /* paths open to LAN pages' origins (char *) */
	idl_http_name_fn local_name;   /* this device's .local name, for Host */
	void *local_name_user;
	GList *suspended;       /* struct idl_http_conn * waiting for a reply or a write */
};

/* Per-request state, kept in MHD's con_cls between calls. */
struct idl_http_conn {
	struct idl_http *h;
	struct MHD_Connection *mhd;
	GByteArray *body;
	bool too_large;
	char *cors;             /* the Origin allowed (echoed), NULL: none */
	bool suspended;
	struct idl_http_deferred *deferred;
	struct idl_http_stream *stream;
};

struct idl_http_deferred {
	struct idl_http_conn *c;
	bool replied;
	bool sent;
	struct idl_http_response resp;
};

struct idl_http_stream {
	struct idl_http_conn *c;
	const char *content_type;
	GByteArray *queue;      /* written, not yet taken by MHD */
	bool closing;           /* end the response once the queue is out */
	bool gone;              /* the client went away: end it now */
	guint watch;            /* the socket, while suspended: end of file = gone */
	idl_http_stream_closed_fn closed;   /* NULL once the owner closed it */
	void *user;
};

static void rearm(struct idl_http *h);

static void run_mhd(struct idl_http *h)
{
	MHD_run(h->daemon);
	rearm(h);
}

static gboolean on_timer(gpointer user)
{
	struct idl_http *h = user;

	h->timer_source = 0;
	run_mhd(h);
	return G_SOURCE_REMOVE;
}

static void rearm(struct idl_http *h)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (h->timer_source)
		g_source_remove(h->timer_source);
	h->timer_source = 0;
	if (MHD_get_timeout(h->daemon, &ms) == MHD_YES)
		h->timer_source = g_timeout_add((guint)MIN(ms, 60000), on_timer, h);
}

static gboolean on_ready(gint fd, GIOCondition cond, gpointer user)
{
	struct idl_http *h = user;

	(void)fd;
	(void)cond;
	run_mhd(h);
	return G_SOURCE_CONTINUE;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char *msg = g_strdup_vprintf(fmt, ap);

	(void)cls;
	g_debug("http: %s", g_strstrip(msg));
	g_free(msg);
}

void idl_http_error(struct idl_http_response *resp, unsigned status, const char *message)
{
	JsonBuilder *b = json_builder_new();
	JsonGenerator *gen = json_generator_new();
	JsonNode *root;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "error");
	json_builder_add_string_value(b, message);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(gen, root);
	g_free(resp->body);
	resp->status = status;
	resp->content_type = "application/json";
	resp->body = json_generator_to_data(gen, &resp->body_len);
	json_node_unref(root);
	g_object_unref(gen);
	g_object_unref(b);
}

static enum MHD_Result send_response(struct MHD_Connection *conn, struct idl_http_response *resp,
				     const char *allow, const char *cors)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(resp->body_len, resp->body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		g_free(resp->body);
		return MHD_NO;
	}
	resp->body = NULL;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	if (resp->retry_after) {
		char v[16];
		g_snprintf(v, sizeof(v), "%u", resp->retry_after);
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, v);
	}
	if (cors) {
		MHD_add_response_header(r, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, cors);
		MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Origin");
	}
	if (resp->csp) {
		MHD_add_response_header(r, "Content-Security-Policy", resp->csp);
		MHD_add_response_header(r, "X-Frame-Options", "DENY");
		MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	}
	ret = MHD_queue_response(conn, resp->status, r);
	MHD_destroy_response(r);
	return ret;
}

/* The client's address as text; a v4-mapped IPv6 address as plain IPv4, so
 * one host has one key whichever socket family took it. */
static void address_string(const struct sockaddr *sa, char *out, size_t len)
{
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)len);
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, &a->s6_addr[12], out, (socklen_t)len);
		else
			inet_ntop(AF_INET6, a, out, (socklen_t)len);
	}
}

static void suspend(struct idl_http_conn *c)
{
	if (c->suspended)
		return;
	MHD_suspend_connection(c->mhd);
	c->suspended = true;
	c->h->suspended = g_list_prepend(c->h->suspended, c);
}

static gboolean on_kick(gpointer user)
{
	struct idl_http *h = user;

	h->kick_source = 0;
	run_mhd(h);
	return G_SOURCE_REMOVE;
}

/* In external polling mode a resumed connection moves only when MHD_run
 * runs again, and resume may be called from inside MHD_run (a handler):
 * run it once more from the loop. */
static void resume(struct idl_http_conn *c)
{
	if (!c->suspended)
		return;
	c->suspended = false;
	c->h->suspended = g_list_remove(c->h->suspended, c);
	MHD_resume_connection(c->mhd);
	if (!c->h->kick_source)
		c->h->kick_source = g_idle_add(on_kick, c->h);
}

static enum MHD_Result reply_deferred(struct idl_http_conn *c)
{
	struct idl_http_deferred *d = c->deferred;

	d->sent = true;
	if (!d->resp.body)
		d->resp.body = g_strdup("");
	return send_response(c->mhd, &d->resp, NULL, c->cors);
}

/* A client of an event stream sends nothing after its request: the socket
 * turning readable means end of file (the tab closed) or an error. */
static gboolean on_stream_socket(gint fd, GIOCondition cond, gpointer user)
{
	struct idl_http_stream *st = user;

	(void)fd;
	(void)cond;
	st->watch = 0;
	st->gone = true;
	resume(st->c);
	return G_SOURCE_REMOVE;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct idl_http_stream *st = cls;
	const union MHD_ConnectionInfo *ci;
	size_t n;

	(void)pos;
	/* The tab left: the stream's usual end, not an application error
	 * (END_WITH_ERROR would have libmicrohttpd log "Closing connection
	 * (application error generating response)" for every closed tab). */
	if (st->gone)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (st->queue->len) {
		n = MIN(max, st->queue->len);
		memcpy(buf, st->queue->data, n);
		g_byte_array_remove_range(st->queue, 0, (guint)n);
		return (ssize_t)n;
	}
	if (st->closing)
		return MHD_CONTENT_READER_END_OF_STREAM;
	/* Nothing to send: park the connection until a write (or the client
	 * leaving) resumes it; returning 0 unsuspended would spin. */
	suspend(st->c);
	ci = MHD_get_connection_info(st->c->mhd, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci && !st->watch)
		st->watch = g_unix_fd_add(ci->connect_fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stream_socket, st);
	return 0;
}

static enum MHD_Result start_stream(struct idl_http_conn *c)
{
	struct idl_http_stream *st = c->stream;
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read, st, NULL);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, st->content_type);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	/* A stream ends with its connection: nothing may follow on it once
	 * the tab has left (stream_read ends it as a normal end of stream). */
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = MHD_queue_response(c->mhd, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static bool path_is_cors(const struct idl_http *h, const char *url)
{
	for (guint i = 0; i < h->cors->len; i++)
		if (strcmp(g_ptr_array_index(h->cors, i), url) == 0)
			return true;
	return false;
}

static enum MHD_Result preflight(struct MHD_Connection *conn, const char *origin)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, origin);
	MHD_add_response_header(r, MHD_HTTP_HEADER_VARY, "Origin");
	MHD_add_response_header(r, "Access-Control-Allow-Methods", "POST, OPTIONS");
	MHD_add_response_header(r, "Access-Control-Allow-Headers", "Content-Type");
	MHD_add_response_header(r, "Access-Control-Max-Age", "600");
	ret = MHD_queue_response(conn, MHD_HTTP_NO_CONTENT, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result dispatch(struct idl_http *h, struct idl_http_conn *c, const char *method,
				const char *url)
{
	struct idl_http_response resp = { .status = 200, .content_type = "application/json" };
	struct MHD_Connection *conn = c->mhd;
	GString *allow = NULL;
	enum MHD_Result ret;

	const char *host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ORIGIN);
	const char *local = h->local_name ? h->local_name(h->local_name_user) : NULL;
	bool cors_path = path_is_cors(h, url);

	/* A name other than ours is DNS rebinding (a page on the internet
	 * whose name now points here), or a mistake. */
	if (!idl_origin_host_ok(host, local)) {
		char *q = idl_text_quote(host ? host : "", host ? strlen(host) : 0);

		g_debug("http: 421 for Host %s (%s %s)", q, method, url);
		g_free(q);
		idl_http_error(&resp, 421, "this device answers only requests addressed to it by IP address or by its "
					   ".local name: open its page by one of the addresses serve prints");
		return send_response(conn, &resp, NULL, NULL);
	}
	/* A page of another origin: only devices' own pages on the LAN, and
	 * only where the path allows it (never the event stream, never
	 * anything that hands out a token). */
	if (origin && !idl_origin_same(origin, host)) {
		if (!cors_path || !idl_origin_is_lan_page(origin)) {
			char *q = idl_text_quote(origin, strlen(origin));

			g_debug("http: 403 for Origin %s (%s %s)", q, method, url);
			g_free(q);
			idl_http_error(&resp, MHD_HTTP_FORBIDDEN,
				       cors_path ? "cross-origin requests are taken only from the pages of devices on the "
						   "local network (http:// with a private address or a .local name)"
						 : "this path takes no cross-origin requests: open this device's own page");
			return send_response(conn, &resp, NULL, NULL);
		}
		c->cors = g_strdup(origin);
		if (strcmp(method, MHD_HTTP_METHOD_OPTIONS) == 0)
			return preflight(conn, origin);
	}
	/* libmicrohttpd sends no body for HEAD: the GET route answers it. */
	if (strcmp(method, MHD_HTTP_METHOD_HEAD) == 0)
		method = MHD_HTTP_METHOD_GET;
	for (guint i = 0; i < h->routes->len; i++) {
		struct route *rt = &g_array_index(h->routes, struct route, i);
		if (strcmp(rt->path, url) != 0)
			continue;
		if (strcmp(rt->method, method) == 0) {
			char remote[INET6_ADDRSTRLEN] = "";
			const union MHD_ConnectionInfo *ci =
				MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
			struct idl_http_request req = {
				.conn = c,
				.method = method,
				.path = url,
				.content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
									    MHD_HTTP_HEADER_CONTENT_TYPE),
				.remote = remote,
				.body = c->body->data,
				.body_len = c->body->len,
			};
			if (ci && ci->client_addr)
				address_string(ci->client_addr, remote, sizeof(remote));
			rt->fn(&req, &resp, rt->user);
			if (c->stream) {
				g_free(resp.body);
				return start_stream(c);
			}
			if (c->deferred) {
				g_free(resp.body);
				if (c->deferred->replied)
					return reply_deferred(c);
				suspend(c);
				return MHD_YES;
			}
			if (!resp.body)
				resp.body = g_strdup("");
			return send_response(conn, &resp, NULL, c->cors);
		}
		if (!allow)
			allow = g_string_new(rt->method);
		else
			g_string_append_printf(allow, ", %s", rt->method);
	}
	if (allow) {
		idl_http_error(&resp, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed on this path");
		ret = send_response(conn, &resp, allow->str, c->cors);
		g_string_free(allow, TRUE);
		return ret;
	}
	idl_http_error(&resp, MHD_HTTP_NOT_FOUND, "no such path");
	return send_response(conn, &resp, NULL, NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct idl_http *h = cls;
	struct idl_http_conn *c = *con_cls;

	(void)version;
	if (!c) {
		/* First call: headers only. Remember the request and let MHD come
		 * back with the body, if any. */
		c = g_new0(struct idl_http_conn, 1);
		c->h = h;
		c->mhd = conn;
		c->body = g_byte_array_new();
		*con_cls = c;
		return MHD_YES;
	}
	if (c->deferred) {
		/* Resumed: the reply is there, or this is a spurious call. */
		if (c->deferred->replied && !c->deferred->sent)
			return reply_deferred(c);
		return MHD_YES;
	}
	if (*upload_size) {
		if (c->body->len + *upload_size > IDL_HTTP_MAX_BODY)
			c->too_large = true;
		else
			g_byte_array_append(c->body, (const guint8 *)upload, (guint)*upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (c->too_large) {
		struct idl_http_response resp = { 0 };
		idl_http_error(&resp, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
		return send_response(conn, &resp, NULL, NULL);
	}
	g_byte_array_append(c->body, (const guint8 *)"", 1);   /* NUL for text parsers */
	g_byte_array_set_size(c->body, c->body->len - 1);
	return dispatch(h, c, method, url);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode code)
{
	struct idl_http_conn *c = *con_cls;

	(void)cls;
	(void)conn;
	(void)code;
	if (!c)
		return;
	if (c->suspended)
		c->h->suspended = g_list_remove(c->h->suspended, c);
	if (c->stream) {
		struct idl_http_stream *st = c->stream;
		if (st->watch)
			g_source_remove(st->watch);
		if (st->closed)
			st->closed(st, st->user);
		g_byte_array_unref(st->queue);
		g_free(st);
	}
	if (c->deferred) {
		g_free(c->deferred->resp.body);
		g_free(c->deferred);
	}
	g_byte_array_unref(c->body);
	g_free(c->cors);
	g_free(c);
	*con_cls = NULL;
}

const char *idl_http_query(const struct idl_http_request *req, const char *key)
{
	return MHD_lookup_connection_value(req->conn->mhd, MHD_GET_ARGUMENT_KIND, key);
}

struct idl_http_deferred *idl_http_defer(const struct idl_http_request *req)
{
	struct idl_http_conn *c = req->conn;

	g_return_val_if_fail(!c->deferred && !c->stream, NULL);
	c->deferred = g_new0(struct idl_http_deferred, 1);
	c->deferred->c = c;
	return c->deferred;
}

void idl_http_deferred_reply(struct idl_http_deferred *d, struct idl_http_response *resp)
{
	g_return_if_fail(!d->replied);
	d->resp = *resp;
	resp->body = NULL;
	d->replied = true;
	resume(d->c);
}

struct idl_http_stream *idl_http_stream_open(const struct idl_http_request *req, const char *content_type,
					     idl_http_stream_closed_fn closed, void *user)
{
	struct idl_http_conn *c = req->conn;
	struct idl_http_stream *st;

	g_return_val_if_fail(!c->deferred && !c->stream, NULL);
	st = g_new0(struct idl_http_stream, 1);
	st->c = c;
	st->content_type = content_type;
	st->queue = g_byte_array_new();
	st->closed = closed;
	st->user = user;
	c->stream = st;
	return st;
}

int idl_http_stream_write(struct idl_http_stream *s, const char *data, size_t len)
{
	if (s->closing || s->gone)
		return -EPIPE;
	if (s->queue->len + len > IDL_HTTP_STREAM_QUEUE_MAX)
		return -ENOBUFS;
	g_byte_array_append(s->queue, (const guint8 *)data, (guint)len);
	if (s->watch) {
		g_source_remove(s->watch);
		s->watch = 0;
	}
	resume(s->c);
	return 0;
}

void idl_http_stream_close(struct idl_http_stream *s)
{
	s->closed = NULL;
	s->closing = true;
	if (s->watch) {
		g_source_remove(s->watch);
		s->watch = 0;
	}
	resume(s->c);
}

/* Binds a listening socket ourselves, so that a taken default port can fall
 * back to a free one and --interface can pin it with SO_BINDTODEVICE. */
static int open_listener(const struct idl_http_options *opt, uint16_t port, GError **err)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd, one = 1, zero = 0, e;
	bool v6 = true;

	fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		v6 = false;
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (v6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (opt->interface &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, opt->interface, (socklen_t)strlen(opt->interface)) < 0)
		goto fail;
	if ((v6 ? bind(fd, (struct sockaddr *)&a6, sizeof(a6)) : bind(fd, (struct sockaddr *)&a4, sizeof(a4))) < 0)
		goto fail;
	if (listen(fd, 64) < 0)
		goto fail;
	return fd;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	if (e == EADDRINUSE)
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
			    "TCP port %u is already in use: pick another with --port, or --port 0 for any", port);
	else if (opt->interface && (e == ENODEV || e == EINVAL))
		g_set_error(err, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
			    "cannot listen on interface %s: %s", opt->interface, g_strerror(e));
	else
		g_set_error(err, G_IO_ERROR, g_io_error_from_errno(e),
			    "cannot listen on TCP port %u: %s", port, g_strerror(e));
	return -e;
}

int idl_http_new(const struct idl_http_options *opt, struct idl_http **out, GError **err)
{
	struct idl_http *h = g_new0(struct idl_http, 1);
	const union MHD_DaemonInfo *info;
	int r;

	h->listen_fd = -1;
	h->routes = g_array_new(FALSE, TRUE, sizeof(struct route));
	h->cors = g_ptr_array_new_with_free_func(g_free);
	r = open_listener(opt, opt->port, err);
	if (r == -EADDRINUSE && opt->port_fallback && opt->port) {
		g_message("port %u is taken, using a free one", opt->port);
		g_clear_error(err);
		r = open_listener(opt, 0, err);
	}
	if (r < 0)
		goto fail;
	h->listen_fd = r;
	h->daemon = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL,
				     on_request, h,
				     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				     MHD_OPTION_LISTEN_SOCKET, h->listen_fd,
				     MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
				     MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)16,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
				     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024),
				     MHD_OPTION_END);
	if (!h->daemon) {
		g_set_error_literal(err, G_IO_ERROR, G_IO_ERROR_FAILED,
				    "cannot start the HTTP server (libmicrohttpd refused its options)");
		r = -EIO;
		goto fail;
	}
	h->listen_fd = -1;   /* MHD_stop_daemon closes it from now on */
	info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : opt->port;
	info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	h->io_source = g_unix_fd_add(info->epoll_fd, G_IO_IN, on_ready, h);
	rearm(h);
	*out = h;
	return 0;
fail:
	idl_http_free(h);
	return r;
}

void idl_http_free(struct idl_http *h)
{
	if (!h)
		return;
	if (h->io_source)
		g_source_remove(h->io_source);
	if (h->timer_source)
		g_source_remove(h->timer_source);
	/* MHD cannot stop with suspended connections: whatever an owner left
	 * behind is ended here, without calling back into it. */
	while (h->suspended) {
		struct idl_http_conn *c = h->suspended->data;
		if (c->stream)
			idl_http_stream_close(c->stream);
		else if (c->deferred && !c->deferred->replied) {
			struct idl_http_response resp = { 0 };
			idl_http_error(&resp, MHD_HTTP_SERVICE_UNAVAILABLE, "the device is shutting down");
			idl_http_deferred_reply(c->deferred, &resp);
		} else
			resume(c);
	}
	if (h->kick_source)
		g_source_remove(h->kick_source);
	if (h->daemon)
		MHD_stop_daemon(h->daemon);
	if (h->listen_fd >= 0)
		close(h->listen_fd);
	for (guint i = 0; i < h->routes->len; i++) {
		struct route *rt = &g_array_index(h->routes, struct route, i);
		g_free(rt->method);
		g_free(rt->path);
	}
	g_array_free(h->routes, TRUE);
	g_ptr_array_unref(h->cors);
	g_free(h);
}

uint16_t idl_http_port(const struct idl_http *h)
{
	return h->port;
}

void idl_http_route(struct idl_http *h, const char *method, const char *path,
		    idl_http_handler fn, void *user)
{
	struct route rt = { g_strdup(method), g_strdup(path), fn, user };

	g_array_append_val(h->routes, rt);
}

void idl_http_allow_cors(struct idl_http *h, const char *path)
{
	g_ptr_array_add(h->cors, g_strdup(path));
}

void idl_http_set_local_name(struct idl_http *h, idl_http_name_fn fn, void *user)
{
	h->local_name = fn;
	h->local_name_user = user;
}
