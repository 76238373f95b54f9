/* http: libmicrohttpd in its external-epoll mode on the GLib main loop (see
 * http.h). MHD's epoll fd is watched with g_unix_fd_add and its timeout
 * re-armed after every run, so no thread of its own exists. */
#include "web/http.h"

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
	GArray *routes;         /* struct route */
};

/* Per-request state, kept in MHD's con_cls between calls. */
struct request {
	GByteArray *body;
	bool too_large;
};

static void rearm(struct idl_http *h);

static gboolean on_timer(gpointer user)
{
	struct idl_http *h = user;

	h->timer_source = 0;
	MHD_run(h->daemon);
	rearm(h);
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
	MHD_run(h->daemon);
	rearm(h);
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
				     const char *allow)
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

static enum MHD_Result dispatch(struct idl_http *h, struct MHD_Connection *conn, const char *method,
				const char *url, struct request *rq)
{
	struct idl_http_response resp = { .status = 200, .content_type = "application/json" };
	GString *allow = NULL;
	enum MHD_Result ret;

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
				.method = method,
				.path = url,
				.content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
									    MHD_HTTP_HEADER_CONTENT_TYPE),
				.remote = remote,
				.body = rq->body->data,
				.body_len = rq->body->len,
			};
			if (ci && ci->client_addr)
				address_string(ci->client_addr, remote, sizeof(remote));
			rt->fn(&req, &resp, rt->user);
			if (!resp.body)
				resp.body = g_strdup("");
			return send_response(conn, &resp, NULL);
		}
		if (!allow)
			allow = g_string_new(rt->method);
		else
			g_string_append_printf(allow, ", %s", rt->method);
	}
	if (allow) {
		idl_http_error(&resp, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed on this path");
		ret = send_response(conn, &resp, allow->str);
		g_string_free(allow, TRUE);
		return ret;
	}
	idl_http_error(&resp, MHD_HTTP_NOT_FOUND, "no such path");
	return send_response(conn, &resp, NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct idl_http *h = cls;
	struct request *rq = *con_cls;

	(void)version;
	if (!rq) {
		/* First call: headers only. Remember the request and let MHD come
		 * back with the body, if any. */
		rq = g_new0(struct request, 1);
		rq->body = g_byte_array_new();
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_size) {
		if (rq->body->len + *upload_size > IDL_HTTP_MAX_BODY)
			rq->too_large = true;
		else
			g_byte_array_append(rq->body, (const guint8 *)upload, (guint)*upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->too_large) {
		struct idl_http_response resp = { 0 };
		idl_http_error(&resp, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
		return send_response(conn, &resp, NULL);
	}
	g_byte_array_append(rq->body, (const guint8 *)"", 1);   /* NUL for text parsers */
	g_byte_array_set_size(rq->body, rq->body->len - 1);
	return dispatch(h, conn, method, url, rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode code)
{
	struct request *rq = *con_cls;

	(void)cls;
	(void)conn;
	(void)code;
	if (!rq)
		return;
	g_byte_array_unref(rq->body);
	g_free(rq);
	*con_cls = NULL;
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
	r = open_listener(opt, opt->port, err);
	if (r == -EADDRINUSE && opt->port_fallback && opt->port) {
		g_message("port %u is taken, using a free one", opt->port);
		g_clear_error(err);
		r = open_listener(opt, 0, err);
	}
	if (r < 0)
		goto fail;
	h->listen_fd = r;
	h->daemon = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, h,
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
