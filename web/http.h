/* http: the device's embedded HTTP server (libmicrohttpd) driven by the GLib
 * main loop, with a small table of routes. It carries the advertised port
 * (/api/info), the signalling endpoint (web/signal.c), the page (web/page.c)
 * and the browser tabs' event streams and offer relay (web/tabs.c), which is
 * why a handler may also answer later (idl_http_defer) or keep its response
 * open (idl_http_stream_open). HEAD is answered wherever GET is. */
#ifndef IDL_HTTP_H
#define IDL_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#define IDL_HTTP_DEFAULT_PORT 7757
#define IDL_HTTP_MAX_BODY (64 * 1024)

struct idl_http;

struct idl_http_options {
	const char *interface;   /* NULL: listen on every interface */
	uint16_t port;           /* 0: any free port */
	bool port_fallback;      /* port taken: take any free one instead of failing */
};

struct idl_http_conn;

struct idl_http_request {
	struct idl_http_conn *conn;  /* private to http.c */
	const char *method;
	const char *path;
	const char *content_type;/* NULL when absent */
	const char *remote;      /* the client's address ("10.0.0.2", "fe80::1"), "" if unknown */
	const uint8_t *body;     /* borrowed for the call; NUL-terminated */
	size_t body_len;
};

struct idl_http_response {
	unsigned status;
	const char *content_type;/* static string */
	const char *csp;         /* static Content-Security-Policy for a page, or NULL */
	unsigned retry_after;    /* seconds, sent as Retry-After when not 0 (429, 503) */
	char *body;              /* owned by the server once the handler returns */
	size_t body_len;
};

/* A handler fills resp; it runs on the main loop and must not block. */
typedef void (*idl_http_handler)(const struct idl_http_request *req,
				 struct idl_http_response *resp, void *user);

/* Starts listening (IPv6 dual-stack when the system has it, else IPv4).
 * *out is owned by the caller. Returns 0, or a negative errno value with
 * *err saying what to do (port taken, no such interface). */
int idl_http_new(const struct idl_http_options *opt, struct idl_http **out, GError **err);

/* NULL is a no-op; open connections are closed. */
void idl_http_free(struct idl_http *h);

/* The port actually bound. */
uint16_t idl_http_port(const struct idl_http *h);

/* Adds a route for an exact method and path; user is borrowed and must
 * outlive the server. Requests for unknown paths get 404, for a known path
 * with another method 405. */
void idl_http_route(struct idl_http *h, const char *method, const char *path,
		    idl_http_handler fn, void *user);

/* Lets the pages of devices on the LAN POST to path (CORS): for an Origin
 * that web/origin.h calls a LAN page, OPTIONS preflights are answered and
 * responses carry Access-Control-Allow-Origin: <that origin>. For endpoints
 * a page of another device must reach; never for one that hands out a
 * token. On every other path, and from every other origin, a request with
 * an Origin not its own Host gets 403 without reaching the handler.
 * Whatever the path, a Host that is not an IP literal, localhost or the
 * local name (idl_http_set_local_name) gets 421 Misdirected Request: DNS
 * rebinding reaches nothing. */
void idl_http_allow_cors(struct idl_http *h, const char *path);

/* The device's own .local host name ("vm.local"), asked for every request
 * (it may change after an mDNS conflict); NULL when it has none. user is
 * borrowed and must outlive the server. */
typedef const char *(*idl_http_name_fn)(void *user);
void idl_http_set_local_name(struct idl_http *h, idl_http_name_fn fn, void *user);

/* Fills resp with a JSON error body {"error": message}. */
void idl_http_error(struct idl_http_response *resp, unsigned status, const char *message);

/* The value of query argument key ("?to=ID"), or NULL. Borrowed for the
 * handler's call. */
const char *idl_http_query(const struct idl_http_request *req, const char *key);

/* Answering later: a handler calls idl_http_defer instead of filling resp
 * (resp is then ignored), keeps the token and gives it to
 * idl_http_deferred_reply exactly once, from the main loop, within a time it
 * bounds itself. The token belongs to the server; it is invalid after the
 * reply. The connection waits, suspended, meanwhile. */
struct idl_http_deferred;
struct idl_http_deferred *idl_http_defer(const struct idl_http_request *req);
/* Sends resp (its body is taken over, as from a handler). */
void idl_http_deferred_reply(struct idl_http_deferred *d, struct idl_http_response *resp);

/* A response that stays open (server-sent events): a handler calls
 * idl_http_stream_open instead of filling resp; the server answers 200 with
 * content_type and sends whatever is written, as it is written. closed is
 * called once, from the main loop, when the client goes away (its socket
 * shows end of file or an error, or a write fails); s is invalid after it.
 * The stream belongs to the server; the owner ends it early with
 * idl_http_stream_close (no closed callback then). */
struct idl_http_stream;
typedef void (*idl_http_stream_closed_fn)(struct idl_http_stream *s, void *user);
struct idl_http_stream *idl_http_stream_open(const struct idl_http_request *req, const char *content_type,
					     idl_http_stream_closed_fn closed, void *user);
/* Queues len bytes (copied). Returns 0, or -ENOBUFS when more than
 * IDL_HTTP_STREAM_QUEUE_MAX bytes wait for a client that does not read:
 * the caller should close the stream. */
#define IDL_HTTP_STREAM_QUEUE_MAX (256 * 1024)
int idl_http_stream_write(struct idl_http_stream *s, const char *data, size_t len);
void idl_http_stream_close(struct idl_http_stream *s);

#endif
